/**
 * /healthz: the process is alive (no dependency checks, so an orchestrator does not restart us for Redis being down).
 * /readyz: every injected check passes within its timeout; 503 with the failing checks otherwise.
 * /readyz?checks=redis,model: only those checks. An orchestrator's readiness probe names what reads need (infra/k8s/):
 * a Kafka outage then keeps the read API in service (only POST /v1/events and DELETE answer 503) instead of taking every
 * instance out of the load balancer at once. An unknown name fails, so a typo in a probe is loud, not always-ready.
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
  r.get('/readyz', async (req, res) => {
    const asked = typeof req.query.checks === 'string' ? req.query.checks.split(',').filter((n) => n.length > 0) : [];
    const names = asked.length > 0 ? [...new Set(asked)] : Object.keys(opts.checks);
    const unknown: HealthCheck = () => Promise.reject(new Error('unknown check'));
    const results = await Promise.all(
      names.map((n) => runCheck(Object.hasOwn(opts.checks, n) ? opts.checks[n] : unknown, opts.timeoutMs ?? 1000)),
    );
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const draining = opts.draining();
    const ready = !draining && results.every((x) => x.ok);
    res.status(ready ? 200 : 503).json({ status: draining ? 'draining' : ready ? 'ready' : 'not-ready', checks });
  });
  return r;
}
