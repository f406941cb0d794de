import type { Config } from '../../lib/config';
import { PrerequisiteError } from '../../lib/errors';
import { kafkaDown, kafkaSpec, kafkaStatus } from './kafka';
import { withStackLock } from './lock';
import { stackPaths } from './paths';
import { isPortOpen } from './ports';
import { ourProcess } from './process';
import { prometheusDown, prometheusSpec, prometheusStatus } from './prometheus';
import { registryDown, registrySpec, registryStatus } from './registry';
import { redisDown, redisSpec, redisStatus } from './redis';
import { launch, preflight, type LaunchSpec, type ServiceName, type ServiceStatus, type StackContext, type UpOutcome } from './service';

export type { ServiceName, ServiceStatus, UpOutcome } from './service';
export {
  startPrometheus,
  ensurePrometheusInstalled,
  renderPrometheusConfig,
  DEFAULT_PROMETHEUS_CONFIG,
  type RenderPrometheusOptions,
} from './prometheus';
export { stackPaths } from './paths';
export { withStackLock } from './lock';

export interface StackUpOptions {
  /** Also start Prometheus (default false: only the observability tests and dashboards need it). */
  withPrometheus?: boolean;
  /** Prometheus config file; default infra/prometheus/prometheus.yml, or a generated minimal one. */
  prometheusConfig?: string;
  /** Progress lines; default: none. */
  log?: (msg: string) => void;
  /** Use a healthy service found on a port instead of failing with "port in use" (default false). */
  reuseReachable?: boolean;
}

export interface StackUpResult {
  outcomes: Partial<Record<ServiceName, UpOutcome>>;
  /** What this call started (and so what a caller that wants to undo it should stop). */
  started: ServiceName[];
  seconds: number;
}

function context(config: Config, log?: (msg: string) => void): StackContext {
  return { config, paths: stackPaths(config), log: log ?? (() => undefined) };
}

/**
 * Brings up every managed service (Kafka, registry, Redis; Prometheus on request) and waits until each is ready.
 * Safe to call twice: what already runs is left alone. Services configured as external are not touched.
 */
export async function stackUp(config: Config, opts: StackUpOptions = {}): Promise<StackUpResult> {
  const ctx = { ...context(config, opts.log), reuseReachable: opts.reuseReachable };
  const t0 = Date.now();
  return withStackLock(ctx.paths.data, async () => {
    const outcomes: StackUpResult['outcomes'] = {};
    const started: ServiceName[] = [];
    const record = (name: ServiceName) => (o: UpOutcome) => {
      outcomes[name] = o;
      if (o === 'started') started.push(name);
    };
    const wanted: [ServiceName, LaunchSpec | undefined][] = [
      ['redis', redisSpec(ctx)],
      ['kafka', kafkaSpec(ctx)],
      ['registry', registrySpec(ctx)],
      ...(opts.withPrometheus ? [['prometheus', prometheusSpec(ctx, opts.prometheusConfig)] as [ServiceName, LaunchSpec]] : []),
    ];
    for (const [name, spec] of wanted) if (!spec) outcomes[name] = 'external';
    const specs = wanted.map(([, spec]) => spec).filter((s): s is LaunchSpec => s !== undefined);
    await preflight(ctx, specs);
    // Downloads and storage formatting first, one after the other: a failed download then leaves nothing started.
    // (Services already answering on their port, ours or reused, need no preparation.)
    const toStart: LaunchSpec[] = [];
    for (const spec of specs) if (!ourProcess(ctx.paths.pids, spec.service) && !(await isPortOpen(spec.port))) toStart.push(spec);
    for (const spec of toStart) await spec.prepare();
    // JVM start-ups overlap (much of their time is single-threaded class loading).
    const results = await Promise.allSettled(
      specs.map((spec) => launch(ctx, spec, { prepared: toStart.includes(spec) }).then(record(spec.service))),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      // Leave nothing half-started behind: stop what this call started, then report every distinct failure.
      for (const name of started) await stopOne(ctx, name);
      const messages = [...new Set(failed.map((f) => errMessage(f.reason)))];
      throw messages.length === 1 ? failed[0].reason : new PrerequisiteError(`${messages.length} problems:\n- ${messages.join('\n- ')}`);
    }
    return { outcomes, started, seconds: (Date.now() - t0) / 1000 };
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function stopOne(ctx: StackContext, name: ServiceName): Promise<string> {
  switch (name) {
    case 'prometheus':
      return prometheusDown(ctx);
    case 'registry':
      return registryDown(ctx);
    case 'kafka':
      return kafkaDown(ctx);
    case 'redis':
      return redisDown(ctx);
  }
}

/**
 * Stops the services this checkout started (pid files in dataDir, each verified to still be our process); by default
 * all of them, or only `services`. Never touches external services or processes it did not start.
 */
export async function stackDown(
  config: Config,
  opts: { services?: ServiceName[]; log?: (msg: string) => void } = {},
): Promise<Record<ServiceName, string>> {
  const ctx = context(config, opts.log);
  const wanted = new Set(opts.services ?? (['prometheus', 'registry', 'kafka', 'redis'] as ServiceName[]));
  return withStackLock(ctx.paths.data, async () => {
    const out = {} as Record<ServiceName, string>;
    // Clients first, then what they depend on.
    for (const name of ['prometheus', 'registry', 'kafka', 'redis'] as ServiceName[]) {
      out[name] = wanted.has(name) ? await stopOne(ctx, name) : 'skipped';
    }
    return out;
  });
}

/** One entry per service: managed or external, our pid, port, reachable. */
export async function stackStatus(config: Config): Promise<ServiceStatus[]> {
  const ctx = context(config);
  return Promise.all([kafkaStatus(ctx), registryStatus(ctx), redisStatus(ctx), prometheusStatus(ctx)]);
}

/** True when every configured service answers (managed or external); Prometheus is not required. */
export async function stackReachable(config: Config): Promise<boolean> {
  const all = await stackStatus(config);
  return all.filter((s) => s.service !== 'prometheus').every((s) => s.reachable);
}
