import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
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
  const { api, metrics } = ctx.config;
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
      `      - targets: ['127.0.0.1:${metrics.port}']`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Makes sure `prometheus` and `promtool` are installed (Debian package), without starting anything. */
export async function ensurePrometheusInstalled(log: (msg: string) => void = () => undefined): Promise<{ prometheus: string; promtool: string }> {
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
export async function startPrometheus(config: Config, configFile?: string, log: (msg: string) => void = () => undefined): Promise<UpOutcome> {
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
