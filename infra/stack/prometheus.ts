import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { pipelineProcesses } from '../../lib/config/layout';
import { ensureDir, REPO_ROOT, stackPaths } from './paths';
import { halt, launch, preflight, probeStatus, type LaunchSpec, type ServiceStatus, type StackContext, type UpOutcome } from './service';
import { ensureDebianPackage, which } from './tools';

/** The Prometheus config the observability engineer maintains; a minimal generated one is used until it exists. */
export const DEFAULT_PROMETHEUS_CONFIG = path.join(REPO_ROOT, 'infra', 'prometheus', 'prometheus.yml');

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

function fallbackConfig(ctx: StackContext): string {
  const file = path.join(ensureDir(path.join(ctx.paths.data, 'prometheus')), 'generated.yml');
  const { api } = ctx.config;
  fs.writeFileSync(
    file,
    [
      'global:',
      '  scrape_interval: 5s',
      'scrape_configs:',
      '  - job_name: learnstream-api',
      '    static_configs:',
      `      - targets: ['${api.host}:${api.port}']`,
      '  - job_name: learnstream-pipeline',
      '    static_configs:',
      `      - targets: [${pipelineProcesses(ctx.config)
        .map((p) => `'127.0.0.1:${p.metricsPort}'`)
        .join(', ')}]`,
      '',
    ].join('\n'),
  );
  return file;
}

export interface RenderPrometheusOptions {
  /** Learner instances to scrape (default the configuration's, lib/config/layout.ts). */
  learners?: number;
  /** API /metrics port (default config.api.port). */
  apiPort?: number;
  /** Scrape and evaluation interval, e.g. '1s' for tests (default the file's 5s). */
  interval?: string;
  /** Where to write it (default <dataDir>/prometheus/prometheus.yml). */
  file?: string;
}

/**
 * The scrape config `npm start` runs Prometheus with: infra/prometheus/prometheus.yml (the maintained file: jobs,
 * rules, intervals) with its targets set from the configuration: the API on api.port, Prometheus on its port, and the
 * pipeline job with one target per process of the layout (lib/config/layout.ts: the item/catalogue/experiment
 * process on metrics.port, learner instance i on metrics.port + 1 + i), each labelled `process` (`pipeline`,
 * `learner-<i>`). No `stage` target label: the metrics carry their own `stage` label (stage durations, checkpoints,
 * rebuilds), which Prometheus would otherwise rename to `exported_stage`, breaking the rules and panels by stage. Rule files become absolute paths. Returns the written file.
 */
export function renderPrometheusConfig(config: Config, opts: RenderPrometheusOptions = {}): string {
  const lines = fs.readFileSync(DEFAULT_PROMETHEUS_CONFIG, 'utf8').split('\n');
  const rulesDir = path.join(path.dirname(DEFAULT_PROMETHEUS_CONFIG), 'rules');
  const out: string[] = [];
  let job = '';
  let skipping = false;
  for (const line of lines) {
    const jobMatch = /^ {2}- job_name: (\S+)/.exec(line);
    if (jobMatch) {
      job = jobMatch[1];
      skipping = false;
    }
    if (skipping) {
      // the old targets end where the next job, comment or blank line starts
      if (/^ {6}/.test(line)) continue;
      skipping = false;
    }
    if (job === 'learnstream-pipeline' && /^ {4}static_configs:/.test(line)) {
      out.push(line);
      for (const p of pipelineProcesses(config, opts.learners)) {
        // `process` only: a target label named like a metric label (the metrics' own `stage`) would rename that one
        out.push(`      - targets: ['127.0.0.1:${p.metricsPort}']`, '        labels:', `          process: ${p.name}`);
      }
      skipping = true;
      continue;
    }
    let l = line
      .replace('127.0.0.1:18080', `127.0.0.1:${opts.apiPort ?? config.api.port}`)
      .replace('127.0.0.1:19090', `127.0.0.1:${config.stack.prometheusPort}`)
      .replace(/^(\s+- )rules\//, `$1${rulesDir}/`);
    if (opts.interval) l = l.replace(/^(\s+(scrape_interval|evaluation_interval|scrape_timeout)): \S+/, `$1: ${opts.interval}`);
    out.push(l);
  }
  const file = opts.file ?? path.join(ensureDir(path.join(stackPaths(config).data, 'prometheus')), 'prometheus.yml');
  fs.writeFileSync(file, out.join('\n'));
  return file;
}

/** Makes sure `prometheus` and `promtool` are installed (Debian package), without starting anything. */
export async function ensurePrometheusInstalled(
  log: (msg: string) => void = () => undefined,
): Promise<{ prometheus: string; promtool: string }> {
  const prometheus = await ensureDebianPackage('prometheus', 'prometheus', log);
  const promtool = which('promtool') ?? (await ensureDebianPackage('promtool', 'prometheus', log));
  return { prometheus, promtool };
}

export function prometheusSpec(ctx: StackContext, configFile?: string): LaunchSpec {
  const port = ctx.config.stack.prometheusPort;
  const storage = path.join(ctx.paths.data, 'prometheus', 'tsdb');
  let cfg = configFile ?? (fs.existsSync(DEFAULT_PROMETHEUS_CONFIG) ? DEFAULT_PROMETHEUS_CONFIG : '');
  return {
    service: 'prometheus',
    port,
    marker: `--storage.tsdb.path=${storage}`,
    graceMs: 10_000,
    prepare: async () => {
      await ensurePrometheusInstalled(ctx.log);
      ensureDir(storage);
      if (!cfg) cfg = fallbackConfig(ctx);
    },
    command: () => ({
      cmd: which('prometheus') ?? 'prometheus',
      args: [
        `--config.file=${path.resolve(cfg)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${storage}`,
        '--storage.tsdb.retention.time=2d',
        // Lets tests reload a changed config with POST /-/reload instead of restarting.
        '--web.enable-lifecycle',
      ],
      cwd: path.dirname(storage),
    }),
    ready: () => httpOk(`http://127.0.0.1:${port}/-/ready`),
  };
}

export async function prometheusUp(ctx: StackContext, configFile?: string): Promise<UpOutcome> {
  const spec = prometheusSpec(ctx, configFile);
  await preflight(ctx, [spec]);
  return launch(ctx, spec);
}

/**
 * Starts Prometheus on config.stack.prometheusPort with the given config file (no-op when ours is already running;
 * it then keeps its config: POST /-/reload after changing the file). For the observability tests and `stack:up
 * --with-prometheus`.
 */
export async function startPrometheus(
  config: Config,
  configFile?: string,
  log: (msg: string) => void = () => undefined,
): Promise<UpOutcome> {
  return prometheusUp({ config, paths: stackPaths(config), log }, configFile);
}

export async function prometheusDown(ctx: StackContext): Promise<string> {
  return halt(ctx, 'prometheus', 10_000);
}

export async function prometheusStatus(ctx: StackContext): Promise<ServiceStatus> {
  const port = ctx.config.stack.prometheusPort;
  const status = await probeStatus(ctx, 'prometheus', true, port, () => httpOk(`http://127.0.0.1:${port}/-/ready`));
  return { ...status, detail: status.reachable ? `http://127.0.0.1:${port}` : 'started only on request (--with-prometheus)' };
}
