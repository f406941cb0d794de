/**
 * Alerts tell the truth on a healthy system (issue #18, item 4), in npm start's process layout (issue #19, item 2;
 * lib/config/layout.ts): the item/catalogue/experiment process and two learner-stage processes, each started with the
 * arguments `npm start` gives it (`pipelines/main.ts`, one learner instance per core of this 2-core machine, the
 * consumer group spreading the 2 partitions), the read API with the collector (real Redis, Kafka, registry), the demo
 * event source (`scripts/demo.ts`, its own process: a catalogue, 40 profiles, ~20 clicks, completions and quiz answers
 * a second) and a reader polling recommendations and knowledge like the demo page, scraped by a real Prometheus with
 * the config `npm start` renders (infra/stack/prometheus.ts: one target per process, intervals at 1 s here) that
 * evaluates the real recording and alerting rules every second. Past a warm-up, Prometheus' /api/v1/alerts must list
 * nothing pending or firing, sampled for a while, while the load is shown to be real (events consumed, lists written,
 * requests served, every rule healthy, all five targets up, both learner instances holding a partition), and every
 * learnstream gauge each process exports is one that process sets: its own stages' consumer lag (each partition on one
 * process only), its own serving-view rebuild gauge at 0, the quality gauges on the learner instances only, the
 * in-flight gauge on the API only. Warm-up: 30 s of demo load and until that load shows in Prometheus (the thresholds
 * asserted at the end), then 12 s sampled at every rule evaluation (1 s). Bounded: about 55 s idle.
 *
 * It runs with the serial suites (test/faults, `--runInBand`), not among the parallel integration files: it judges the
 * read API's latency SLO, and with other suites running beside it on this 2-core machine the API's recommendations
 * were 7% over 50 ms (the fast burn tier pending, truthfully: the API was slow), while alone it saw none over 50 ms
 * at a load average of 5-8 from other work.
 *
 * The `for:` durations (2 to 30 min) are longer than the test, so nothing can fire; but an alert whose expression is
 * true shows as pending at the next evaluation, and that is what this asserts against. The freshness alert's
 * 10-minute start-up window holds throughout, by design (docs/operations.md), and so does the quiz-quality alert's
 * full window (1,000 attempts: the demo sends about 320 in this time). What this test found pending on the healthy
 * demo, and was fixed: the pipeline's quiz AUC exported as 0 before it was measured, the AUC of a fresh process'
 * first few hundred predictions, and the latency alert on a handful of slow requests at demo traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunningApi } from '../../api/server';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { registerSchemas } from '../../lib/serde';
import { renderPrometheusConfig, startPrometheus, stackDown } from '../../infra/stack/index';
import { pipelineProcesses } from '../../lib/config/layout';
import { freePort as freeOsPort, testConfig, testRegistry, waitFor } from '../helpers';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';
import { freePort, StageProcess, stageEnv } from '../pipeline-support/procs';
import { startTestApi, type TestApi } from '../pipeline-support/api';

jest.setTimeout(150_000);

const ROOT = path.resolve(__dirname, '../..');
/** The demo runs at least this long before the watch, and until its load shows in Prometheus. */
const WARM_UP_MS = 30_000;
/** Sampled once a second: Prometheus evaluates the rules every second here, so every evaluation is seen. */
const WATCH_MS = 12_000;
const SAMPLE_MS = 1000;

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  value: string;
}

describe('Prometheus lists no pending or firing alert on a healthy demo past warm-up', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-alerts-'));
  let h: PipelineHarness;
  let pipeline: StageProcess[] = [];
  let demo: ChildProcess | undefined;
  let demoOut = '';
  let api: RunningApi;
  let testApi: TestApi | undefined;
  let promConfig: Config;
  let promUrl: string;
  let reading = true;
  let reader: Promise<void> = Promise.resolve();
  let demoStarted = 0;
  let readyAfterMs = 0;
  const statuses = new Map<number, number>();
  const slow: [number, number][] = [];
  const t0 = Date.now();

  const prom = async <T>(p: string): Promise<T> => {
    const body = (await (await fetch(`${promUrl}${p}`)).json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${p}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const scalar = async (q: string): Promise<number> => {
    const r = await prom<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`);
    return r.result.length > 0 ? Number(r.result[0].value[1]) : NaN;
  };

  beforeAll(async () => {
    h = await createHarness(testConfig('alerts', { kafka: { partitions: 2 }, pipeline: { learnerInstances: 2 } }));
    // what npm start does before the demo source starts
    await registerSchemas(testRegistry(h.config), h.config);
    // npm start's processes on a free base port: `pipeline` on it, learner-i on base + 1 + i (lib/config/layout.ts)
    const metricsPort = freePort(3);
    const promPort = await freeOsPort();
    promUrl = `http://127.0.0.1:${promPort}`;
    promConfig = {
      ...h.config,
      dataDir: tmp,
      metrics: { ...h.config.metrics, port: metricsPort },
      stack: { ...h.config.stack, prometheusPort: promPort },
    };
    const env = stageEnv(h.config, { LEARNSTREAM_METRICS_PORT: String(metricsPort), LEARNSTREAM_LEARNER_INSTANCES: '2' });
    // the encoder is left out to keep start-up and CPU within the test's budget; the processes are otherwise npm start's
    pipeline = pipelineProcesses(promConfig).map(
      (p) => new StageProcess(p.name, [...p.args, '--no-encoder', '--state-dir', path.join(tmp, 'state')], env, tmp),
    );
    expect(pipeline.map((p) => p.name)).toEqual(['pipeline', 'learner-0', 'learner-1']);
    const layout = pipelineProcesses(promConfig);
    for (const [i, p] of pipeline.entries()) {
      p.start();
      // the niceness npm start's supervisor gives each (learner instances yield the cores to the API)
      if (layout[i].nice !== 0) os.setPriority(p.pid!, layout[i].nice);
    }

    const logger = createLogger({ level: 'warn' });
    testApi = await startTestApi({ config: h.config, store: h.store, kafka: h.kafka, registry: testRegistry(h.config), logger });
    api = testApi.api;

    // the scrape config npm start renders, with this test's ports and every interval at 1 s
    const yml = renderPrometheusConfig(promConfig, { apiPort: api.port, interval: '1s', file: path.join(tmp, 'prometheus.yml') });
    await startPrometheus(promConfig, yml);

    // the demo source of npm start, on this test's topics
    for (const p of pipeline)
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`).then(
            (r) => r.ok,
            () => false,
          )) || undefined,
        { message: `${p.name} /metrics`, timeoutMs: 60_000 },
      );
    demoStarted = Date.now();
    demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--rate', '20', '--learners', '40', '--resources', '300'], {
      cwd: ROOT,
      env: { ...process.env, ...stageEnv(h.config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout?.on('data', (d: Buffer) => (demoOut += d.toString()));
    demo.stderr?.on('data', (d: Buffer) => (demoOut += d.toString()));

    // the demo page's reads: each learner's list and knowledge, twice a second, from when npm start says `ready`:
    // the pipeline process' /readyz, which covers the learner instances (scripts/start.ts)
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      { message: 'pipeline /readyz (with both learner instances)', timeoutMs: 60_000, intervalMs: 250 },
    );
    readyAfterMs = Date.now() - t0;
    reader = (async () => {
      let i = 0;
      while (reading) {
        const user = `demo-learner-${1 + (i++ % 40)}`;
        for (const p of [`/v1/learners/${user}/recommendations?explain=true`, `/v1/learners/${user}/knowledge`]) {
          const started = performance.now();
          const res = await fetch(`http://127.0.0.1:${api.port}${p}`, { headers: { 'x-api-key': 'dev-read-key' } }).catch(() => null);
          const ms = performance.now() - started;
          if (ms > 50) slow.push([Math.round((Date.now() - t0) / 1000), Math.round(ms)]);
          if (res) {
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            await res.arrayBuffer();
          }
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
  }, 90_000);

  afterAll(async () => {
    reading = false;
    await reader;
    if (demo && demo.exitCode === null) {
      const exited = new Promise((r) => demo!.once('exit', r));
      demo.kill('SIGTERM');
      await exited;
    }
    await stackDown(promConfig, { services: ['prometheus'] }).catch(() => undefined);
    await Promise.all(pipeline.map((p) => p.stop()));
    await testApi?.stop();
    await h?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const consumedByTopic = async () => {
    const consumed = await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent('sum by (topic, type) (learnstream_pipeline_events_consumed_total{job="learnstream-pipeline"})')}`,
    );
    return (suffix: string) => consumed.result.filter((r) => r.metric.topic.endsWith(suffix)).reduce((n, r) => n + Number(r.value[1]), 0);
  };
  const personalLists = () => scalar('sum(learnstream_pipeline_lists_written_total{source="personal"})');
  const servedReads = () =>
    scalar(
      'sum(learnstream_http_request_duration_seconds_count{job="learnstream-api",route="/v1/learners/:userId/recommendations",status="200"})',
    );

  /**
   * Every learnstream gauge each process exports, as Prometheus scraped it, is one that process sets (issue #18 item
   * 4): a gauge is exported from its creation, so a family registered by a process that never sets it (the API's quiz
   * AUC 0 once) shows a false value. Per process: the consumer lag of its own stages' groups only, each (group, topic,
   * partition) on one process only (a revoked partition's series goes with it), its own serving-view rebuild gauge at
   * 0, the online-quality gauges on the learner instances only, the in-flight gauge on the API only.
   */
  const expectOwnGauges = async () => {
    const metadata = await prom<Record<string, { type: string }[]>>('/api/v1/metadata');
    const gauge = (name: string) => metadata[name]?.some((m) => m.type === 'gauge') ?? false;
    const series = await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent('{job=~"learnstream-.+", __name__=~"learnstream_.+"}')}`,
    );
    const gauges = series.result.filter((r) => gauge(r.metric.__name__));
    const who = (m: Record<string, string>) => m.process;
    const families = new Map<string, Set<string>>();
    for (const r of gauges) families.set(who(r.metric), (families.get(who(r.metric)) ?? new Set()).add(r.metric.__name__));
    const byProcess = Object.fromEntries([...families].map(([p, f]) => [p, [...f].sort()]));
    process.stdout.write(`gauges by process: ${JSON.stringify(byProcess)}\n`);
    const lag = 'learnstream_kafka_consumer_lag_messages';
    const rebuild = 'learnstream_serving_rebuild_pending_keys';
    // every stage runner reports its readiness pause from its start (0 when not paused)
    const paused = 'learnstream_pipeline_consumption_paused_seconds';
    const quality = [
      'learnstream_quality_list_hit_rate_ratio',
      'learnstream_quality_popular_hit_rate_ratio',
      'learnstream_quality_quiz_auc_ratio',
    ];
    const experiment = ['learnstream_experiment_attributed_messages', 'learnstream_experiment_exposed_learners'];
    // what each process sets (must), and what it sets once measured or configured (may)
    const own: Record<string, { must: string[]; may: string[]; groups: string[]; rebuildStages: string[] }> = {
      api: { must: ['learnstream_http_in_flight_requests'], may: [], groups: [], rebuildStages: [] },
      // the experiment stage consumes only when an experiment is configured (none here)
      pipeline: {
        must: [lag, rebuild, paused],
        may: experiment,
        groups: ['item', 'catalog', ...(h.config.experiments.length > 0 ? ['experiment'] : [])],
        rebuildStages: ['catalog'],
      },
      'learner-0': { must: [lag, rebuild, paused], may: quality, groups: ['learner'], rebuildStages: ['learner-0'] },
      'learner-1': { must: [lag, rebuild, paused], may: quality, groups: ['learner'], rebuildStages: ['learner-1'] },
    };
    expect(Object.keys(byProcess).sort()).toEqual(Object.keys(own).sort());
    for (const [p, o] of Object.entries(own)) {
      const f = byProcess[p] ?? [];
      expect([p, o.must.filter((n) => !f.includes(n))]).toEqual([p, []]);
      expect([p, f.filter((n) => !o.must.includes(n) && !o.may.includes(n))]).toEqual([p, []]);
      const of = (name: string) => gauges.filter((r) => r.metric.__name__ === name && who(r.metric) === p).map((r) => r.metric);
      const prefix = h.config.kafka.topicPrefix;
      expect([p, [...new Set(of(lag).map((m) => m.group.slice(m.group.lastIndexOf('-') + 1)))].sort()]).toEqual([p, [...o.groups].sort()]);
      for (const m of of(lag)) expect(m.topic.startsWith(prefix)).toBe(true);
      expect([
        p,
        of(rebuild)
          .map((m) => m.stage)
          .sort(),
      ]).toEqual([p, o.rebuildStages]);
    }
    // the metrics' own labels reach Prometheus as they are (no target label renamed one to exported_*)
    expect(series.result.filter((r) => Object.keys(r.metric).some((k) => k.startsWith('exported_'))).map((r) => r.metric)).toEqual([]);
    for (const r of gauges.filter((g) => g.metric.__name__ === rebuild)) expect([who(r.metric), r.value[1]]).toEqual([who(r.metric), '0']);
    // a healthy demo never pauses consumption long enough for /readyz to name it (30 s)
    for (const r of gauges.filter((g) => g.metric.__name__ === paused))
      expect([who(r.metric), Number(r.value[1]) < 30]).toEqual([who(r.metric), true]);
    // each partition's lag on one process only, and each learner instance holding at least one partition of its input
    const lagKeys = gauges.filter((r) => r.metric.__name__ === lag).map((r) => `${r.metric.group} ${r.metric.topic} ${r.metric.partition}`);
    expect(lagKeys.length).toBe(new Set(lagKeys).size);
    const interactions = (p: string) =>
      gauges
        .filter((r) => r.metric.__name__ === lag && who(r.metric) === p && r.metric.topic.endsWith('learning.interactions'))
        .map((r) => r.metric.partition);
    expect([...interactions('learner-0'), ...interactions('learner-1')].sort()).toEqual(['0', '1']);
    expect(interactions('learner-0').length).toBe(1);
  };

  it('after warm-up, nothing is pending or firing while the demo load runs, and the load is real', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, demoStarted + WARM_UP_MS - Date.now())));
    // past the minimum, the warm-up lasts until the load asserted below is there (a loaded machine needs longer)
    await waitFor(
      async () => {
        const byTopic = await consumedByTopic();
        return (
          byTopic('learning.interactions') > 300 &&
          byTopic('learning.quiz-attempts') > 100 &&
          (await personalLists()) > 100 &&
          (await servedReads()) > 50
        );
      },
      { message: 'the demo load visible in Prometheus', timeoutMs: 60_000, intervalMs: 1000 },
    );
    const seen: string[] = [];
    const until = Date.now() + WATCH_MS;
    let samples = 0;
    while (Date.now() < until) {
      const { alerts } = await prom<{ alerts: PromAlert[] }>('/api/v1/alerts');
      for (const a of alerts)
        if (a.state !== 'inactive') seen.push(`${a.labels.alertname} ${a.state} ${JSON.stringify(a.labels)} value ${a.value}`);
      samples++;
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    // what the alerts looked at, for the log: the latency SLO ratio, the quiz AUC, the slow reads (s since start, ms)
    const slo = await scalar('learnstream:http_recommendations_within_slo:ratio_rate5m');
    const auc = await scalar('learnstream_quality_quiz_auc_ratio');
    process.stdout.write(
      `alerts: pipeline ready ${(readyAfterMs / 1000).toFixed(1)} s after the test started; ${samples} samples; within 50 ms (5m) ${slo}; quiz AUC ${auc}; reads > 50 ms ${JSON.stringify(slow.slice(0, 20))}\n`,
    );
    expect(samples).toBeGreaterThanOrEqual(10);
    expect(seen).toEqual([]);

    // the quiet was measured on a working system, not on an empty one
    const groups = await prom<{ groups: { rules: { name: string; type: string; health: string }[] }[] }>('/api/v1/rules');
    const rules = groups.groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.type === 'alerting').length).toBeGreaterThanOrEqual(8);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    // every target of the rendered config, one per process, up
    const { activeTargets } = await prom<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('/api/v1/targets');
    expect(activeTargets.map((t) => `${t.labels.process ?? t.labels.job} ${t.health}`).sort()).toEqual([
      'api up',
      'learner-0 up',
      'learner-1 up',
      'pipeline up',
      'prometheus up',
    ]);
    await expectOwnGauges();
    const byTopic = await consumedByTopic();
    expect(byTopic('learning.interactions')).toBeGreaterThan(300);
    expect(byTopic('learning.quiz-attempts')).toBeGreaterThan(100);
    expect(await personalLists()).toBeGreaterThan(100);
    expect(await servedReads()).toBeGreaterThan(50);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(demoOut).toMatch(/learner profiles published; streaming/);
    expect(demoOut).not.toMatch(/demo: .*(error|invalid)/i);
    // npm start's layout keeps stage state in the Kafka changelog (the default state store), never in files
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(`${h.config.kafka.topicPrefix}learnstream.state-changelog`);
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
    const stateFiles = fs.readdirSync(path.join(tmp, 'state'), { recursive: true }).map(String);
    expect(stateFiles.filter((f) => /group-\d+\.json$/.test(f))).toEqual([]);
  });
});
