/**
 * The demo page (GET /demo, plain HTML + JS from ./static, no build step) and the two server-side helpers it needs:
 *
 *   GET  /demo/config.json  the read-only API key the page reads with, and the demo learners to offer
 *   POST /demo/events       one click, completion or quiz answer, or the impressions of a list shown, turned into
 *                           events and posted to this server's own POST /v1/events with a write key that stays on
 *                           the server
 *   GET  /demo/metrics      a few figures from the pipeline's /metrics and this API's own registry
 *
 * Everything else the page does is the public read API with the read key. Mounted only with config.api.demoPage:
 * POST /demo/events needs no key, so it must not be on in production.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type Request, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from '../../lib/config';
import { pipelineProcesses } from '../../lib/config/layout';
import type { Logger } from '../../lib/log';
import type { ServingStore } from '../../serving/types';
import { HttpProblem } from '../../lib/problems';
import { demoAction, demoEnvelopes } from './events';
import { demoKeys } from './keys';
import { histogramFigures, parseSamples, pipelineFigures } from './pipeline-metrics';

export interface DemoOptions {
  config: Config;
  store: ServingStore;
  /** This API's metrics (its read latency is shown next to the pipeline's figures). */
  registry: Registry;
  logger: Logger;
  now: () => number;
  /**
   * The pipeline's metrics endpoints, summed. Default every process of lib/config/layout.ts: the item/catalogue
   * process on config.metrics.port and each learner instance on metrics.port + 1 + i.
   */
  pipelineMetricsUrl?: string | string[];
}

/** Learners the demo source (scripts/demo.ts) creates, offered in the page's picker. */
const DEMO_LEARNERS = Array.from({ length: 10 }, (_, i) => `demo-learner-${i + 1}`);
const RECOMMENDATIONS_ROUTE = '/v1/learners/:userId/recommendations';

const STATIC = path.join(__dirname, 'static');
const FILES: Record<string, { file: string; type: string }> = {
  '/demo': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/demo/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** The address this request came in on, so the demo's events go through this very server's /v1/events. */
function selfUrl(req: Request): string {
  const host = req.socket.localAddress ?? '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${req.socket.localPort}`;
}

export function demoRouter(o: DemoOptions): Router {
  const r = express.Router();
  const keys = demoKeys(o.config.api.apiKeys);
  const metricsUrls =
    o.pipelineMetricsUrl === undefined
      ? pipelineProcesses(o.config).map((p) => `http://127.0.0.1:${p.metricsPort}/metrics`)
      : [o.pipelineMetricsUrl].flat();
  if (!keys.browserRead) o.logger.warn('demo page: no read-only API key configured (scopes exactly read); /demo will answer 503');
  if (!keys.serverWrite) o.logger.warn('demo page: no API key with write and without admin scope; the demo cannot send events');
  // Read once: the page is a few kB and never changes while the process runs.
  const files = Object.fromEntries(
    Object.entries(FILES).map(([route, f]) => [route, { body: fs.readFileSync(path.join(STATIC, f.file)), type: f.type }]),
  );

  for (const [route, f] of Object.entries(files)) {
    r.get(route, (_req, res) => {
      res.locals.route = route;
      if (!keys.browserRead) throw new HttpProblem('dependency-unavailable', 'the demo page needs an API key whose only scope is read');
      res.setHeader('cache-control', 'no-cache');
      // Only this origin's files, no inline script: the page holds an API key.
      res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
      res.type(f.type).send(f.body);
    });
  }

  r.get('/demo/config.json', (_req, res) => {
    res.locals.route = '/demo/config.json';
    if (!keys.browserRead) throw new HttpProblem('dependency-unavailable', 'the demo page needs an API key whose only scope is read');
    res.setHeader('cache-control', 'no-store');
    res.json({ readKey: keys.browserRead.key, learners: DEMO_LEARNERS, canWrite: keys.serverWrite !== undefined });
  });

  r.post('/demo/events', express.json({ limit: '4kb' }), async (req, res) => {
    res.locals.route = '/demo/events';
    if (!keys.serverWrite)
      throw new HttpProblem('dependency-unavailable', 'no API key with write and without admin scope is configured for the demo');
    const parsed = demoAction.safeParse(req.body);
    if (!parsed.success) {
      throw new HttpProblem('invalid-request', 'not a demo action', {
        errors: parsed.error.issues.map((i) => ({ param: i.path.join('.') || 'body', message: i.message })),
      });
    }
    const a = parsed.data;
    const skills = a.action === 'answer' ? ((await o.store.getResources([a.resourceId]))[0]?.skills ?? []) : [];
    const envelopes = demoEnvelopes(a, skills, o.now());
    const reply = await fetch(`${selfUrl(req)}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': keys.serverWrite.key,
        'x-request-id': String(res.getHeader('x-request-id') ?? ''),
      },
      body: JSON.stringify(envelopes),
      signal: AbortSignal.timeout(10_000),
    });
    // The collector's own answer (202, or its problem), with the event id the page can show.
    res
      .status(reply.status)
      .json({ eventId: envelopes[0].eventId, kind: envelopes[0].kind, events: envelopes.length, collector: await reply.json() });
  });

  r.get('/demo/metrics', async (_req, res) => {
    res.locals.route = '/demo/metrics';
    res.setHeader('cache-control', 'no-store');
    const recommendations = histogramFigures(
      parseSamples(await o.registry.metrics()),
      'learnstream_http_request_duration_seconds',
      (l) => l.route === RECOMMENDATIONS_ROUTE,
    );
    let pipeline = null;
    let error: string | undefined;
    // Every pipeline process' figures together (counters and histogram buckets add up); one that does not answer is
    // named in `error`, the others still count.
    const texts = await Promise.all(
      metricsUrls.map(async (url) => {
        try {
          const m = await fetch(url, { signal: AbortSignal.timeout(1000) });
          if (!m.ok) throw new Error(`HTTP ${m.status}`);
          return await m.text();
        } catch (err) {
          error = `${error ? `${error}; ` : ''}pipeline metrics at ${url} unavailable: ${err instanceof Error ? err.message : String(err)}`;
          return null;
        }
      }),
    );
    const got = texts.filter((t): t is string => t !== null);
    if (got.length > 0) pipeline = pipelineFigures(got.join('\n'));
    res.json({ scrapedAt: o.now(), pipeline, error, api: { recommendations } });
  });
  return r;
}
