import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { PrerequisiteError } from '../../lib/errors';
import { ensureDir, type StackPaths } from './paths';
import { isPortOpen, pollUntil } from './ports';
import { requireJava } from './tools';
import { isAlive, ourProcess, removePid, spawnDetached, stopProcess, writePid } from './process';

export type ServiceName = 'kafka' | 'registry' | 'redis' | 'prometheus';

export interface StackContext {
  config: Config;
  paths: StackPaths;
  /** Progress lines for humans (stack:up prints them; tests may silence them). */
  log: (msg: string) => void;
  /** Accept a healthy service on our port that this checkout did not start (tests in a fresh clone next to a running stack). */
  reuseReachable?: boolean;
}

/**
 * started: this call started it; running: ours, already up; reused: something we did not start answers correctly on
 * the port (only with `reuseReachable`); external: configured to use an existing service.
 */
export type UpOutcome = 'started' | 'running' | 'reused' | 'external';

export interface ServiceStatus {
  service: ServiceName;
  /** false = configured to use an existing service; we neither start nor stop it. */
  managed: boolean;
  /** Process started by us and still alive. */
  pid?: number;
  port: number;
  /** Something answers on the port / URL. */
  reachable: boolean;
  detail?: string;
}

/** How to launch and probe one locally managed service. */
export interface LaunchSpec {
  service: ServiceName;
  port: number;
  /** Downloads, config files, storage formatting. Runs only when the service has to be started. */
  prepare: () => Promise<void>;
  command: () => { cmd: string; args: string[]; cwd?: string; env?: NodeJS.ProcessEnv };
  /** Substring of the process command line proving a pid is ours. */
  marker: string;
  ready: () => Promise<boolean>;
  /** Optional first-use work after a fresh start (e.g. creating Kafka's internal topics). */
  warmUp?: () => Promise<void>;
  /** SIGTERM grace before SIGKILL, ms. */
  graceMs: number;
  /** Runs on the JVM: checked once, before anything starts. */
  needsJava?: boolean;
  /** Other ports the service binds (Kafka's controller port), checked before start too. */
  extraPorts?: number[];
  /** The file that says why a start failed, when it is not the captured stdout (Kafka logs through log4j). */
  logFile?: string;
}

/**
 * Checks what can be checked before starting anything (ports taken by others, Java), so a doomed `up` fails in a
 * second with every problem listed, instead of starting half the stack and rolling it back.
 */
export async function preflight(ctx: StackContext, specs: LaunchSpec[]): Promise<void> {
  const problems: string[] = [];
  let needJava = false;
  for (const spec of specs) {
    if (ourProcess(ctx.paths.pids, spec.service)) continue;
    if (await isPortOpen(spec.port)) {
      if (ctx.reuseReachable && (await spec.ready().catch(() => false))) continue;
      problems.push(portInUse(spec).message);
      continue;
    }
    for (const port of spec.extraPorts ?? []) {
      if (await isPortOpen(port)) problems.push(portInUse(spec, port).message);
    }
    needJava ||= spec.needsJava === true;
  }
  if (needJava) {
    try {
      requireJava(17);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length === 1) throw new PrerequisiteError(problems[0]);
  if (problems.length > 1) throw new PrerequisiteError(`${problems.length} problems:\n- ${problems.join('\n- ')}`);
}

function portInUse(spec: LaunchSpec, port = spec.port): PrerequisiteError {
  const variable = port === spec.port ? envPort(spec.service) : 'KAFKA_CONTROLLER_PORT';
  return new PrerequisiteError(
    `${spec.service}: port ${port} is already in use by a process this checkout did not start`,
    `stop that process, or pick another port (LEARNSTREAM_${variable}), or point learnstream at it as an existing service`,
  );
}

export function logFile(ctx: StackContext, service: ServiceName): string {
  return path.join(ensureDir(ctx.paths.logs), `${service}.out`);
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Brings one service up: a no-op when our process is already there (waits for readiness in case it is still starting);
 * refuses a port taken by somebody else; otherwise prepares, starts detached, records the pid and waits until ready.
 * A start that never becomes ready is stopped again, so a failed `up` leaves nothing behind.
 */
export async function launch(ctx: StackContext, spec: LaunchSpec, opts: { prepared?: boolean } = {}): Promise<UpOutcome> {
  const timeoutMs = ctx.config.stack.readyTimeoutSec * 1000;
  const out = logFile(ctx, spec.service);
  const existing = ourProcess(ctx.paths.pids, spec.service);
  if (existing) {
    const res = await pollUntil(spec.ready, { timeoutMs, alive: () => isAlive(existing.pid) });
    if (!res.ok) throw notReady(spec.service, ctx, out, res.lastError);
    return 'running';
  }
  if (await isPortOpen(spec.port)) {
    if (ctx.reuseReachable && (await spec.ready().catch(() => false))) return 'reused';
    throw portInUse(spec);
  }
  if (!opts.prepared) await spec.prepare();
  const { cmd, args, cwd, env } = spec.command();
  const startedAt = Date.now();
  const pid = await spawnDetached(cmd, args, { logFile: out, cwd, env });
  writePid(ctx.paths.pids, { service: spec.service, pid, port: spec.port, marker: spec.marker, startedAt: new Date().toISOString() });
  const res = await pollUntil(spec.ready, { timeoutMs, alive: () => isAlive(pid) });
  if (!res.ok) {
    await stopProcess(pid, spec.graceMs);
    removePid(ctx.paths.pids, spec.service);
    const why = res.died ? `${spec.service} exited during start-up` : undefined;
    throw notReady(spec.service, ctx, spec.logFile ?? out, res.lastError, why);
  }
  if (spec.warmUp) await spec.warmUp();
  ctx.log(`${spec.service}: started pid ${pid} on port ${spec.port} in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  return 'started';
}

function envPort(service: ServiceName): string {
  return { kafka: 'KAFKA_PORT', registry: 'REGISTRY_PORT', redis: 'REDIS_PORT', prometheus: 'PROMETHEUS_PORT' }[service];
}

function notReady(service: ServiceName, ctx: StackContext, out: string, lastError: unknown, why?: string): PrerequisiteError {
  const reason = why ?? `${service} did not become ready within ${ctx.config.stack.readyTimeoutSec}s`;
  const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  return new PrerequisiteError(`${reason}${last}\n--- last lines of ${out} ---\n${tail(out)}`, `see ${out}`);
}

/** Stops our process of a service, if any. Returns what happened, for the CLI. */
export async function halt(ctx: StackContext, service: ServiceName, graceMs: number): Promise<'stopped' | 'killed' | 'not running'> {
  const rec = ourProcess(ctx.paths.pids, service);
  if (!rec) return 'not running';
  const how = await stopProcess(rec.pid, graceMs);
  removePid(ctx.paths.pids, service);
  ctx.log(`${service}: ${how} pid ${rec.pid}`);
  return how;
}

export async function probeStatus(
  ctx: StackContext,
  service: ServiceName,
  managed: boolean,
  port: number,
  ready: () => Promise<boolean>,
): Promise<ServiceStatus> {
  const rec = managed ? ourProcess(ctx.paths.pids, service) : undefined;
  const reachable = await ready().catch(() => false);
  return { service, managed, pid: rec?.pid, port, reachable };
}
