/**
 * `npm start`: the whole product on one machine. Brings the local stack up (only the services not pointed elsewhere),
 * creates topics, registers schemas, starts every pipeline stage, the read API and a demo event source, prints where
 * to look, and on Ctrl-C (SIGINT) or SIGTERM stops everything it started, the stack included, leaving no process.
 * The pipeline runs as the processes of lib/config/layout.ts: one learner-stage process per core (`learner-0` ..,
 * LEARNSTREAM_LEARNER_INSTANCES to change, each a member of the learner consumer group) and one process for the item,
 * catalogue and experiment stages (`pipeline`), each with its own /metrics port, all scraped by Prometheus (the
 * config is rendered from infra/prometheus/prometheus.yml with one target per process).
 * A child that dies on its own (a learner instance, the other stages, the API, the demo source) is restarted on its
 * own with exponential backoff (scripts/start/backoff.ts) while the services and the other children keep running:
 * Prometheus outlives a crashed stage, so LearnstreamStageDown can fire for that instance, the other learner
 * instances take over its partitions meanwhile, and the API keeps serving what Redis holds. Only a signal stops
 * everything.
 *
 *   npm start                  everything, with the demo source
 *   npm start -- --no-demo     no demo events (publish your own)
 *   npm start -- --keep-stack  leave Kafka/registry/Redis running on exit (faster restarts while developing)
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type Config } from '../lib/config';
import { ConfigError, LearnstreamError, errorMessage } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { checkLearnerPartitions, ensureTopics } from '../lib/kafka/topics';
import { learnerInstanceCount, pipelineProcesses } from '../lib/config/layout';
import { createRegistryClient } from '../lib/registry/client';
import { registerSchemas } from '../lib/serde/register';
import { renderPrometheusConfig, stackDown, stackUp, type ServiceName } from '../infra/stack/index';
import { installModel } from '../infra/model/install';
import { readManifest, resolveEncoderDir } from '../lib/encoder';
import { Supervisor } from './start/supervisor';

const ROOT = path.join(__dirname, '..');
const say = (msg: string) => process.stdout.write(`learnstream: ${msg}\n`);

async function prepareKafkaAndRegistry(config: Config): Promise<void> {
  const admin = createKafka(config, 'start').admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, config);
    say(created.length ? `created ${created.length} topics` : 'topics already exist');
    await checkLearnerPartitions(admin, config, learnerInstanceCount(config));
  } finally {
    await admin.disconnect();
  }
  const subjects = await registerSchemas(createRegistryClient(config), config);
  say(`registered ${subjects.length} schemas (compatibility BACKWARD)`);
}

/**
 * The content encoder's model: without it new resources would start from a random factor instead of their text, so a
 * fresh clone installs it (once, into the cache) like the stack's jars. A configured LEARNSTREAM_ENCODER_DIR is used
 * as it is. A failed install does not stop the product: the pipeline then runs without the encoder and says so.
 */
async function ensureEncoderModel(config: Config): Promise<void> {
  const dir = resolveEncoderDir(config);
  if (readManifest(dir)) return;
  if (config.model.encoderDir) {
    say(`no sentence-embedding model in ${dir} (LEARNSTREAM_ENCODER_DIR): new resources start without content vectors`);
    return;
  }
  say('installing the sentence-embedding model (first start only)...');
  try {
    const { manifest } = await installModel();
    say(`installed ${manifest.name} (${manifest.precision}) into ${dir}`);
  } catch (err) {
    say(`model install failed, continuing without the content encoder: ${errorMessage(err)}`);
  }
}

async function waitForReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  const t0 = Date.now();
  const config = loadConfig();
  const demo = !argv.includes('--no-demo');
  const keepStack = argv.includes('--keep-stack');

  const processes = pipelineProcesses(config);
  const learners = processes.filter((p) => p.instance !== undefined);
  // One scrape target per pipeline process, on the configured ports (a Prometheus kept running reloads it).
  const prometheusConfig = renderPrometheusConfig(config);
  const up = await stackUp(config, { withPrometheus: true, prometheusConfig, log: say });
  const started: ServiceName[] = up.started;
  if (up.outcomes.prometheus !== 'started')
    await fetch(`http://127.0.0.1:${config.stack.prometheusPort}/-/reload`, { method: 'POST' }).catch(() => undefined);
  let stopping = false;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const supervisor = new Supervisor({
    // The pid lines let an operator (and test/faults/supervisor-restart.test.ts) find each child.
    onStart: (name, pid, restart) => {
      // the learner instances yield the cores to the API and the pipeline process when both are busy (layout.ts)
      const nice = processes.find((p) => p.name === name)?.nice ?? 0;
      if (nice !== 0 && pid !== undefined) {
        try {
          os.setPriority(pid, nice);
        } catch {
          // not permitted here: it runs at the default priority
        }
      }
      say(restart === 0 ? `${name} started (pid ${pid})` : `${name} restarted (pid ${pid}, restart ${restart})`);
    },
    onUnexpectedExit: (x) => {
      if (stopping) return;
      const how = x.signal ? `killed by ${x.signal}` : `exit code ${x.code}`;
      say(
        `${x.name} (pid ${x.pid}) exited unexpectedly (${how}) after ${seconds(x.ranMs)}; restarting in ${seconds(x.restartInMs)}, everything else keeps running`,
      );
    },
  });

  const shutdown = async (code: number): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    stopping = true;
    say('stopping...');
    await supervisor.stop();
    if (!keepStack && started.length > 0) await stackDown(config, { services: started, log: say });
    say('stopped; nothing left running (check with npm run stack:status)');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    await Promise.all([prepareKafkaAndRegistry(config), ensureEncoderModel(config)]);
    // Each process is supervised (and restarted) on its own: a crashed learner instance restarts alone.
    // every process gets the base LEARNSTREAM_METRICS_PORT; --instance i puts a learner on metrics.port + 1 + i
    for (const p of processes) supervisor.start(p.name, [path.join(ROOT, 'pipelines', 'main.ts'), ...p.args]);
    // The demo page is on for this command only (it posts the visitor's clicks with a server-side write key); an
    // explicit LEARNSTREAM_API_DEMO_PAGE=false (or the config file) still turns it off.
    const apiEnv = { LEARNSTREAM_API_DEMO_PAGE: process.env.LEARNSTREAM_API_DEMO_PAGE ?? 'true' };
    const demoPage = loadConfig({ env: { ...process.env, ...apiEnv } }).api.demoPage;
    supervisor.start('api', [path.join(ROOT, 'api', 'server.ts')], apiEnv);
    const apiUrl = `http://${config.api.host}:${config.api.port}`;
    if (!(await waitForReady(`${apiUrl}/healthz`, 60_000))) throw new LearnstreamError(`API did not answer ${apiUrl}/healthz within 60 s`);
    if (demo) supervisor.start('demo', [path.join(ROOT, 'scripts', 'demo.ts')]);
    // "ready" means the pipeline too: the non-learner process' /readyz answers 200 once its stages and every learner
    // instance have started. Reads made before that share the cores with the processes starting up, and were slow.
    const pipelineReady = `http://127.0.0.1:${config.metrics.port}/readyz`;
    if (!(await waitForReady(pipelineReady, 180_000)))
      say(`the pipeline is not ready after 180 s (${pipelineReady} says why); the API serves what Redis holds meanwhile`);
    const readKey = config.api.apiKeys.find((k) => k.scopes.includes('read'))?.key ?? '<a read key>';
    say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.stdout.write(
      [
        '',
        ...(demoPage ? [`  demo page      ${apiUrl}/demo   (pick a learner, click, watch the list and the knowledge change)`] : []),
        `  API            ${apiUrl}   (health ${apiUrl}/healthz, ready ${apiUrl}/readyz, OpenAPI ${apiUrl}/openapi.json)`,
        `  try            curl -H 'x-api-key: ${readKey}' ${apiUrl}/v1/learners/demo-learner-1/recommendations?explain=true`,
        `  metrics        ${apiUrl}/metrics (API), http://127.0.0.1:${config.metrics.port}/metrics (item, catalogue, experiment stages), ${learners.map((l) => `:${l.metricsPort}`).join(' ')} (learner instances ${learners.map((l) => l.instance).join(', ')})`,
        `  pipeline ready http://127.0.0.1:${config.metrics.port}/readyz   (every stage, all ${learners.length} learner instances)`,
        `  Prometheus     http://127.0.0.1:${config.stack.prometheusPort}`,
        `  Ctrl-C stops everything this command started.`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    say(`start failed: ${errorMessage(err)}`);
    await shutdown(1);
  }
  return new Promise<number>(() => undefined); // runs until a signal
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof LearnstreamError || err instanceof ConfigError;
  process.stderr.write(`learnstream: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
