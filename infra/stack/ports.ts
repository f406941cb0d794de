import * as net from 'node:net';

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns true or `timeoutMs` passes. Returns the last error seen (for the message) or
 * undefined on success. `alive` lets the wait stop early when the process we wait for has already died.
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; alive?: () => boolean },
): Promise<{ ok: true } | { ok: false; lastError?: unknown; died?: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return { ok: true };
    } catch (err) {
      lastError = err;
    }
    if (opts.alive && !opts.alive()) return { ok: false, lastError, died: true };
    if (Date.now() >= deadline) return { ok: false, lastError };
    await sleep(opts.intervalMs ?? 250);
  }
}
