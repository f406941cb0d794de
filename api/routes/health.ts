/**
 * /healthz: the process is alive (no dependency checks, so an orchestrator does not restart us for Redis being down).
 * /readyz: every injected check passes within its timeout; 503 with the failing checks otherwise.
 */
import { Router } from 'express';

/** A readiness check: resolves true/false, or throws (= not ready, message reported). */
export type HealthCheck = () => Promise<boolean>;

export interface HealthOptions {
  checks: Record<string, HealthCheck>;
  /** Per-check timeout in ms. Default 1000. */
  timeoutMs?: number;
  draining: () => boolean;
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const ok = await Promise.race([
      check(),
      new Promise<boolean>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok, latencyMs: Math.round(performance.now() - start), ...(ok ? {} : { error: 'check failed' }) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - start), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(opts: HealthOptions): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const names = Object.keys(opts.checks);
    const results = await Promise.all(names.map((n) => runCheck(opts.checks[n], opts.timeoutMs ?? 1000)));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const draining = opts.draining();
    const ready = !draining && results.every((x) => x.ok);
    res.status(ready ? 200 : 503).json({ status: draining ? 'draining' : ready ? 'ready' : 'not-ready', checks });
  });
  return r;
}
