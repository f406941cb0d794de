/**
 * A tiny /metrics HTTP server for pipeline stages (the API serves /metrics on its own port). node:http only: a stage
 * needs no framework to expose one text endpoint.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** The bound port (useful when 0 was asked for). */
  port: number;
  /** Stops listening; safe to call twice. */
  close(): Promise<void>;
}

/** What /readyz reports: ready, or the reasons why not (one line each). */
export interface Readiness {
  ready: boolean;
  reasons: string[];
  /**
   * What an operator should know that does not make the process unready (a partition group that replayed its input
   * because its changelog state could not be rebuilt); shown in the JSON only when there are some.
   */
  notes?: string[];
}

export interface ServeMetricsOptions {
  /** Answers GET /readyz: 200 when ready, else 503 with the reasons. Without it /readyz is 200 while the process runs. */
  readiness?: () => Readiness;
}

/**
 * Serves `registry` at GET /metrics, a plain 200 at /healthz (the process runs) and GET /readyz (JSON
 * `{"status":"ready"|"unready","reasons":[...],"notes":[...]}`, notes only when there are some, 200 or 503).
 * @param port TCP port; 0 picks a free one.
 * @param host bind address, default 127.0.0.1 (metrics are for the local Prometheus, not the internet).
 */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host = '127.0.0.1',
  opts: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      let r: Readiness;
      try {
        r = opts.readiness ? opts.readiness() : { ready: true, reasons: [] };
      } catch (err) {
        r = { ready: false, reasons: [`readiness check failed: ${err instanceof Error ? err.message : String(err)}`] };
      }
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' });
      const body = { status: r.ready ? 'ready' : 'unready', reasons: r.reasons, ...(r.notes?.length ? { notes: r.notes } : {}) };
      res.end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  // Prometheus keeps connections alive between scrapes; do not let them hold the process open on close().
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
