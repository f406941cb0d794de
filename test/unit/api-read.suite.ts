/**
 * Read-API behaviour, run against any ServingStore (memory in unit, real Redis in integration). Every response is
 * validated against the OpenAPI document by the client.
 */
import type { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import type { ServingStore } from '../../serving/types';
import { apiClient } from './api-client';
import { seed } from './api-fixture';

export interface SuiteEnv {
  store: ServingStore;
  registry: Registry;
  cleanup(): Promise<void>;
}

const READ = 'test-read-key';
const WRITE = 'test-write-key';
const ADMIN = 'test-admin-key';

export function apiReadSuite(name: string, makeEnv: () => Promise<SuiteEnv>): void {
  describe(`read API (${name})`, () => {
    // Generous: the shared 2-core machine can be busy; a timed-out test would leave a request that fails the suite later.
    jest.setTimeout(30_000);
    let env: SuiteEnv;
    let api: RunningApi;
    let call: ReturnType<typeof apiClient>;
    const erasures: { userId: string; reason: string | null }[] = [];

    beforeAll(async () => {
      env = await makeEnv();
      await seed(env.store);
      const config = loadConfig({
        env: {},
        overrides: {
          api: {
            apiKeys: [
              { key: READ, scopes: ['read'], name: 'reader' },
              { key: WRITE, scopes: ['read', 'write'], name: 'writer' },
              { key: ADMIN, scopes: ['read', 'write', 'admin'], name: 'admin' },
            ],
          },
        },
      });
      api = await startApi({
        config,
        store: env.store,
        registry: env.registry,
        port: 0,
        logger: createLogger({ level: 'error' }),
        publishErasure: (r) => {
          erasures.push({ userId: r.userId, reason: r.reason });
          return Promise.resolve();
        },
        health: { store: () => env.store.ping() },
      });
      call = apiClient(`http://127.0.0.1:${api.port}`, READ);
    });
    afterAll(async () => {
      await api.stop();
      await env.cleanup();
    });

    const ids = (body: { items: { resourceId: string }[] }) => body.items.map((i) => i.resourceId);

    it('serves the cached personal list without completed or inactive resources, without scores unless explain=true', async () => {
      const r = await call('GET', '/v1/learners/u-personal/recommendations');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ userId: 'u-personal', source: 'personal', fallback: false, modelVersion: 'mf-v1' });
      expect(ids(r.body).slice(0, 3)).toEqual(['r-alg-video', 'r-alg-quiz', 'r-calc-course']);
      expect(ids(r.body)).not.toContain('r-geo-video');
      expect(ids(r.body)).not.toContain('r-old');
      expect(r.body.items[0]).toEqual({
        resourceId: 'r-alg-video',
        title: 'Title of r-alg-video',
        type: 'video',
        topics: ['algebra'],
        skills: ['linear-eq'],
        source: 'personal',
      });
      expect(r.headers.get('x-request-id')).toBeTruthy();
    });

    it('explains: score and reason codes per item', async () => {
      const r = await call('GET', '/v1/learners/u-personal/recommendations?explain=true&limit=2');
      expect(r.body.count).toBe(2);
      expect(r.body.items[0]).toMatchObject({
        resourceId: 'r-alg-video',
        score: 0.9,
        reasons: [{ code: 'similar-learners', text: 'because', ref: 'x' }],
      });
      expect(r.body.items[1].reasons[0].code).toBe('right-level');
    });

    it('filters server-side by type, topic and skill', async () => {
      expect(ids((await call('GET', '/v1/learners/u-personal/recommendations?type=quiz')).body)).toEqual(['r-alg-quiz']);
      expect(ids((await call('GET', '/v1/learners/u-personal/recommendations?skill=derivatives')).body)).toEqual(['r-calc-course']);
      // Nothing of the personal list is about geometry (the video is completed): the page is filled from popularity, labelled.
      const geo = await call('GET', '/v1/learners/u-personal/recommendations?topic=geometry&explain=true');
      expect(ids(geo.body)).toEqual(['r-geo-article']);
      expect(geo.body).toMatchObject({ source: 'popular', fallback: true });
      expect(geo.body.items[0].reasons[0].code).toBe('popular');
      expect((await call('GET', '/v1/learners/u-personal/recommendations?type=book')).body).toMatchObject({ count: 0, items: [] });
    });

    it('gives a brand-new learner a labelled popular fallback, never an error', async () => {
      const r = await call('GET', '/v1/learners/brand-new-learner/recommendations?limit=3&explain=true');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ source: 'popular', fallback: true, modelVersion: null, generatedAt: null });
      expect(ids(r.body)).toEqual(['r-calc-course', 'r-geo-article', 'r-alg-quiz']);
      expect(
        r.body.items.every(
          (i: { source: string; reasons: { code: string }[] }) => i.source === 'popular' && i.reasons[0].code === 'popular',
        ),
      ).toBe(true);
    });

    it('falls back to popular within declared interests first, then popular overall', async () => {
      const r = await call('GET', '/v1/learners/u-interests/recommendations?limit=3&explain=true');
      expect(r.body).toMatchObject({ source: 'popular-in-interest', fallback: true });
      expect(ids(r.body)).toEqual(['r-geo-article', 'r-geo-video', 'r-calc-course']);
      expect(r.body.items[0].reasons[0]).toEqual({ code: 'popular-in-interest', text: 'Popular in geometry', ref: 'geometry' });
      expect(r.body.items[2].source).toBe('popular');
    });

    it('serves a cold-start list written by the pipeline with its label', async () => {
      const r = await call('GET', '/v1/learners/u-cold/recommendations?limit=1&explain=true');
      expect(r.body).toMatchObject({
        source: 'cold-start:interests',
        fallback: true,
        items: [{ resourceId: 'r-geo-article', reasons: [{ code: 'matches-interest' }] }],
      });
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=101', 'limit'],
      ['type=podcast', 'type'],
      ['explain=maybe', 'explain'],
      ['limt=5', 'limt'],
      ['limit=1&limit=2', 'limit'],
    ])('rejects %s with 400 problem+json naming the parameter', async (qs, param) => {
      const r = await call('GET', `/v1/learners/u1/recommendations?${qs}`);
      expect(r.status).toBe(400);
      expect(r.contentType).toContain('application/problem+json');
      expect(r.body.type).toBe('https://learnstream.dev/problems/invalid-request');
      expect(r.body.errors.map((e: { param: string }) => e.param)).toContain(param);
      expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
    });

    it('lists every problem of a request at once, and validates path ids', async () => {
      const r = await call('GET', '/v1/learners/u1/recommendations?limit=-1&type=nope&explain=2');
      expect(r.body.errors).toHaveLength(3);
      const long = await call('GET', `/v1/learners/${'x'.repeat(129)}/recommendations`);
      expect(long.status).toBe(400);
      expect(long.body.errors[0].param).toBe('userId');
    });

    it('401 without a key or with an unknown key, 403 with a key lacking the scope; Bearer works', async () => {
      const none = await call('GET', '/v1/learners/u1/recommendations', { key: null });
      expect(none.status).toBe(401);
      expect(none.body.type).toBe('https://learnstream.dev/problems/unauthenticated');
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expect((await call('GET', '/v1/learners/u1/recommendations', { key: 'not-a-known-key' })).status).toBe(401);
      const forbidden = await call('DELETE', '/v1/learners/u1', { key: READ });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.type).toBe('https://learnstream.dev/problems/forbidden');
      expect((await call('DELETE', '/v1/learners/u1', { key: WRITE })).status).toBe(403);
      expect((await call('GET', '/v1/learners/u1/knowledge', { key: null, headers: { authorization: `Bearer ${READ}` } })).status).toBe(
        200,
      );
    });

    it('returns per-skill knowledge, empty for an unknown learner', async () => {
      const k = await call('GET', '/v1/learners/u-personal/knowledge');
      expect(k.body.skills.map((s: { skill: string }) => s.skill)).toEqual(['angles', 'linear-eq']);
      expect(k.body.skills[1]).toEqual({ skill: 'linear-eq', mastery: 0.7, uncertainty: 0.3, attempts: 12 });
      expect((await call('GET', '/v1/learners/nobody/knowledge')).body).toEqual({ userId: 'nobody', updatedAt: null, skills: [] });
    });

    it('lists the due FSRS reviews, least likely recalled first; empty for an unknown learner', async () => {
      const day = 86_400_000;
      const now = Date.now();
      const card = (id: string, due: number, stability: number, last: number) => ({
        id,
        kind: 'resource' as const,
        due,
        stability,
        difficulty: 5,
        state: 2,
        reps: 2,
        lapses: 0,
        lastReview: last,
        scheduled: 3,
        step: 0,
      });
      await env.store.putReviews({
        userId: 'u-reviews',
        updatedAt: now,
        cards: [
          card('r-alg-quiz', now - day, 3, now - 4 * day),
          card('r-geo-video', now - 2 * day, 1, now - 6 * day),
          card('r-calc-course', now + 5 * day, 9, now - day),
        ],
      });
      const r = await call('GET', '/v1/learners/u-reviews/reviews?limit=5');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ userId: 'u-reviews', cards: 3, totalDue: 2, nextDue: now + 5 * day });
      expect(r.body.due.map((d: { id: string }) => d.id)).toEqual(['r-geo-video', 'r-alg-quiz']);
      expect(r.body.due[0].retrievability).toBeLessThan(r.body.due[1].retrievability);
      expect((await call('GET', '/v1/learners/u-reviews/reviews?limit=1')).body.due.length).toBe(1);
      expect((await call('GET', '/v1/learners/nobody/reviews')).body).toMatchObject({
        userId: 'nobody',
        updatedAt: null,
        cards: 0,
        due: [],
        totalDue: 0,
        nextDue: null,
      });
      expect((await call('GET', '/v1/learners/u-reviews/reviews?limit=0')).status).toBe(400);
    });

    it('serves similar resources, falls back to popular in the same topic, 404s unknown resources', async () => {
      // r-old is inactive and r-gone has no catalogue entry (deleted): neither is served.
      const s = await call('GET', '/v1/resources/r-alg-video/similar');
      expect(s.body).toMatchObject({
        source: 'similar',
        count: 1,
        items: [{ resourceId: 'r-alg-quiz', title: 'Title of r-alg-quiz', reasons: [{ code: 'content-similar' }] }],
      });
      const fb = await call('GET', '/v1/resources/r-geo-video/similar');
      expect(fb.body).toMatchObject({ source: 'popular-in-topic', items: [{ resourceId: 'r-geo-article' }] });
      const missing = await call('GET', '/v1/resources/no-such-thing/similar');
      expect(missing.status).toBe(404);
      expect(missing.body.type).toBe('https://learnstream.dev/problems/not-found');
    });

    it('DELETE publishes an erasure request (admin scope, 202) and hides the learner right away', async () => {
      await env.store.putRecommendations({
        userId: 'u-erase',
        items: [{ resourceId: 'r-alg-video', score: 1, reasons: [] }],
        modelVersion: 'm',
        generatedAt: 1,
        source: 'personal',
      });
      const r = await call('DELETE', '/v1/learners/u-erase?reason=gdpr', { key: ADMIN });
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ userId: 'u-erase', status: 'accepted' });
      expect(erasures).toContainEqual({ userId: 'u-erase', reason: 'gdpr' });
      expect(await env.store.getRecommendations('u-erase')).toBeNull();
      expect((await call('GET', '/v1/learners/u-erase/recommendations')).body.source).toBe('popular');
    });

    it('answers unknown routes with 404 problem+json', async () => {
      const r = await call('GET', '/v1/nothing-here', { validate: false });
      expect(r.status).toBe(404);
      expect(r.contentType).toContain('application/problem+json');
    });

    it('serves health, readiness, the OpenAPI document and request metrics by route template', async () => {
      expect((await call('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
      const ready = await call('GET', '/readyz', { key: null });
      expect(ready.status).toBe(200);
      expect(ready.body.checks.store.ok).toBe(true);
      const doc = await call('GET', '/openapi.json', { key: null });
      expect(doc.body.openapi).toBe('3.1.0');
      const metrics = await call('GET', '/metrics', { key: null });
      expect(metrics.body).toMatch(
        /learnstream_http_request_duration_seconds_count\{method="GET",route="\/v1\/learners\/:userId\/recommendations",status="200"\} \d+/,
      );
      expect(metrics.body).toMatch(
        /learnstream_http_request_duration_seconds_count\{method="GET",route="\/v1\/learners\/:userId\/recommendations",status="400"\} \d+/,
      );
      expect(metrics.body).toMatch(/learnstream_api_fallbacks_total\{source="popular"\} \d+/);
    });
  });
}
