/**
 * Redis ServingStore. Every value a reader needs at once is one key, so every write is one atomic command (a list is
 * a single SET of its binary encoding, lib/serving/listCodec.ts: readers see the old list or the new one, never a mix). Popularity rankings are ZSETs with
 * forward decay (lib/serving/decay.ts) trimmed to a bounded size. Every command is timed and reported as a
 * `redis.command` instrumentation event; Redis failures surface as retriable DependencyError.
 *
 * Keys (all under the configured prefix, e.g. `ls:`):
 *   rec:<userId>        RecommendationList (listCodec,   res:<resourceId>   JSON ResourceMeta
 *                       binary format 3)
 *   sim:<resourceId>    JSON SimilarItem[]               know:<userId>      JSON KnowledgeState
 *   done:<userId>       SET of completed resource ids    interests:<userId> JSON string[]
 *   pop                 ZSET overall popularity          pop:t:<topic>      ZSET popularity within a topic
 *   co:<resourceId>     ZSET co-engaged partners         co:changed         SET resources whose partners changed
 *   cur:n               HASH id -> JSON CurriculumNode   cur:s:<skill>      SET resources training the skill
 *   cur:v               HASH id -> float32 vector        cur:vv             version of cur:v (INCR per change)
 *   rev:<userId>        JSON ReviewState (FSRS cards)
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { Config } from '../config';
import { DependencyError, LearnstreamError } from '../errors';
import { noopEmitter, type Emitter } from '../metrics/instrumentation';
import { createRedis } from '../redis/client';
import { decayedScore, decayWeight, DEFAULT_HALF_LIFE_MS } from './decay';
import { decodeList, decodeView, encodeList } from './listCodec';
import { decodeVector, encodeVector, type ContentVectors, type CurriculumNode, type CurriculumStore } from './curriculum';
import type { KnowledgeState, ReviewState, PopularityIncrement, RecommendationList, RecommendationView, ResourceMeta, ServingStore, SimilarItem, StoredResourceReads } from './types';

export interface RedisStoreOptions {
  redis: Redis;
  /** Prefix of every key, e.g. `ls:` (config.redis.keyPrefix); tests use a random one. */
  keyPrefix: string;
  emit?: Emitter;
  /** Popularity half-life in ms. Default 7 days. */
  popularityHalfLifeMs?: number;
  /** Members kept per popularity ZSET (the tail is trimmed on write). Default 5000. */
  maxPopularMembers?: number;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /** close() also quits the client (true when the store created it). Default false. */
  ownsClient?: boolean;
}

/** Co-engaged partners kept per resource. */
const MAX_CO_PARTNERS = 200;

export class RedisServingStore implements ServingStore, StoredResourceReads, CurriculumStore {
  private readonly r: Redis;
  private readonly p: string;
  private readonly emit: Emitter;
  private readonly halfLifeMs: number;
  private readonly maxPopular: number;
  private readonly now: () => number;
  private readonly ownsClient: boolean;
  private closing?: Promise<void>;

  constructor(opts: RedisStoreOptions) {
    this.r = opts.redis;
    this.p = opts.keyPrefix;
    this.emit = opts.emit ?? noopEmitter;
    this.halfLifeMs = opts.popularityHalfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    this.maxPopular = opts.maxPopularMembers ?? 5000;
    this.now = opts.now ?? Date.now;
    this.ownsClient = opts.ownsClient ?? false;
  }

  private key(kind: string, id?: string): string {
    return id === undefined ? `${this.p}${kind}` : `${this.p}${kind}:${id}`;
  }

  /** Runs one command (or MULTI), reports its duration, turns connection failures into DependencyError. */
  private async run<T>(command: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const out = await fn();
      this.emit.emit('redis.command', { command, durationMs: performance.now() - start, ok: true });
      return out;
    } catch (err) {
      this.emit.emit('redis.command', { command, durationMs: performance.now() - start, ok: false });
      if (err instanceof LearnstreamError) throw err;
      throw new DependencyError('redis', `redis ${command} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private async multi(command: string, build: (m: ReturnType<Redis['multi']>) => void): Promise<unknown[]> {
    return this.run(command, async () => {
      const m = this.r.multi();
      build(m);
      const res = await m.exec();
      if (!res) throw new DependencyError('redis', `redis ${command}: transaction aborted`);
      const failed = res.find(([e]) => e);
      if (failed?.[0]) throw failed[0];
      return res.map(([, v]) => v);
    });
  }

  private parse<T>(raw: string | null, what: string): T | null {
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as T;
    } catch {
      // Derived data: a corrupt value is treated as missing (the pipeline rewrites it) rather than failing reads.
      this.corrupt(what);
      return null;
    }
  }

  private corrupt(what: string): void {
    this.emit.emit('redis.command', { command: `corrupt:${what}`, durationMs: 0, ok: false });
  }

  async putRecommendations(list: RecommendationList): Promise<void> {
    await this.run('set', () => this.r.set(this.key('rec', list.userId), encodeList(list)));
  }
  /** One pipeline of SETs (not a transaction: each list stands alone), one round trip for a re-rank batch. */
  async putRecommendationsMany(lists: readonly RecommendationList[]): Promise<void> {
    if (lists.length === 0) return;
    if (lists.length === 1) return this.putRecommendations(lists[0]);
    await this.run('set_many', async () => {
      const pl = this.r.pipeline();
      for (const list of lists) pl.set(this.key('rec', list.userId), encodeList(list));
      const res = await pl.exec();
      const failed = res?.find(([e]) => e);
      if (failed?.[0]) throw failed[0];
    });
  }
  async getRecommendations(userId: string): Promise<RecommendationList | null> {
    return this.readList(userId, decodeList);
  }
  async getRecommendationView(userId: string): Promise<RecommendationView | null> {
    return this.readList(userId, decodeView);
  }
  /** One GET of the learner's list, decoded whole or as a lazy view; corrupt values and items are counted. */
  private async readList<T>(userId: string, decode: (raw: Buffer, onCorruptItem: () => void) => T | null): Promise<T | null> {
    // As bytes: format 3 is binary (formats 1 and 2, text, are decoded from the bytes too).
    const raw = await this.run('get', () => this.r.getBuffer(this.key('rec', userId)));
    if (raw === null) return null;
    const out = decode(raw, () => this.corrupt('rec'));
    if (!out) this.corrupt('rec');
    return out;
  }
  async putResource(meta: ResourceMeta): Promise<void> {
    await this.run('set', () => this.r.set(this.key('res', meta.resourceId), JSON.stringify(meta)));
  }
  async getResources(ids: string[]): Promise<(ResourceMeta | null)[]> {
    const raw = await this.getStoredResources(ids);
    return raw.map((v) => this.parse<ResourceMeta>(v, 'res'));
  }
  async getStoredResources(ids: readonly string[]): Promise<(string | null)[]> {
    if (ids.length === 0) return [];
    return this.run('mget', () => this.r.mget(ids.map((id) => this.key('res', id))));
  }
  parseStoredResource(stored: string): ResourceMeta | null {
    return this.parse<ResourceMeta>(stored, 'res');
  }
  async deleteResource(resourceId: string): Promise<void> {
    const [meta] = await this.getResources([resourceId]);
    const rankings = [this.key('pop'), ...(meta?.topics ?? []).map((t) => this.key('pop:t', t))];
    await this.multi('multi', (m) => {
      m.del(this.key('res', resourceId), this.key('sim', resourceId), this.key('co', resourceId));
      for (const z of rankings) m.zrem(z, resourceId);
    });
  }
  async putSimilar(resourceId: string, items: SimilarItem[]): Promise<void> {
    await this.run('set', () => this.r.set(this.key('sim', resourceId), JSON.stringify(items)));
  }
  async getSimilar(resourceId: string): Promise<SimilarItem[] | null> {
    return this.parse<SimilarItem[]>(await this.run('get', () => this.r.get(this.key('sim', resourceId))), 'sim');
  }
  async incrementCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void> {
    if (pairs.length === 0) return;
    const touched = new Set<string>();
    await this.multi('multi', (m) => {
      for (const { a, b, by } of pairs) {
        m.zincrby(this.key('co', a), by, b);
        m.zincrby(this.key('co', b), by, a);
        touched.add(a).add(b);
      }
      // Bounded per item: keep the strongest MAX_CO_PARTNERS partners (ranks 0.. are the weakest).
      for (const id of touched) m.zremrangebyrank(this.key('co', id), 0, -(MAX_CO_PARTNERS + 1));
      m.sadd(this.key('co:changed'), ...touched);
    });
  }
  async getCoEngaged(resourceId: string, limit: number): Promise<{ resourceId: string; score: number }[]> {
    if (limit <= 0) return [];
    const flat = await this.run('zrevrange', () => this.r.zrevrange(this.key('co', resourceId), 0, limit - 1, 'WITHSCORES'));
    const out: { resourceId: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ resourceId: flat[i], score: Number(flat[i + 1]) });
    return out;
  }
  async takeCoEngagementChanges(max: number): Promise<string[]> {
    if (max <= 0) return [];
    return (await this.run('spop', () => this.r.spop(this.key('co:changed'), max))) ?? [];
  }
  async putKnowledge(state: KnowledgeState): Promise<void> {
    await this.run('set', () => this.r.set(this.key('know', state.userId), JSON.stringify(state)));
  }
  async getKnowledge(userId: string): Promise<KnowledgeState | null> {
    return this.parse<KnowledgeState>(await this.run('get', () => this.r.get(this.key('know', userId))), 'know');
  }
  async putReviews(state: ReviewState): Promise<void> {
    await this.run('set', () => this.r.set(this.key('rev', state.userId), JSON.stringify(state)));
  }
  async getReviews(userId: string): Promise<ReviewState | null> {
    return this.parse<ReviewState>(await this.run('get', () => this.r.get(this.key('rev', userId))), 'rev');
  }
  async addCompleted(userId: string, resourceIds: string[]): Promise<void> {
    if (resourceIds.length === 0) return;
    await this.run('sadd', () => this.r.sadd(this.key('done', userId), ...resourceIds));
  }
  async getCompleted(userId: string): Promise<Set<string>> {
    return new Set(await this.run('smembers', () => this.r.smembers(this.key('done', userId))));
  }
  async incrementPopularity(resourceId: string, by: number, topics: string[], at?: number): Promise<void> {
    await this.incrementPopularityMany([{ resourceId, by, topics, at }]);
  }
  async incrementPopularityMany(increments: readonly PopularityIncrement[]): Promise<void> {
    if (increments.length === 0) return;
    const touched = new Set<string>();
    await this.multi('multi', (m) => {
      for (const { resourceId, by, topics, at } of increments) {
        const w = by * decayWeight(at ?? this.now(), this.halfLifeMs);
        for (const z of [this.key('pop'), ...[...new Set(topics)].map((t) => this.key('pop:t', t))]) {
          m.zincrby(z, w, resourceId);
          touched.add(z);
        }
      }
      // Keep each ZSET bounded: drop everything below the top maxPopular (ranks 0.. are the lowest scores). Once per
      // ranking after all its increments, as the calls one by one would leave it.
      for (const z of touched) m.zremrangebyrank(z, 0, -(this.maxPopular + 1));
    });
  }
  async getPopular(limit: number, topic?: string, now?: number): Promise<{ resourceId: string; score: number }[]> {
    if (limit <= 0) return [];
    const z = topic === undefined ? this.key('pop') : this.key('pop:t', topic);
    const flat = await this.run('zrevrange', () => this.r.zrevrange(z, 0, limit - 1, 'WITHSCORES'));
    const t = now ?? this.now();
    const out: { resourceId: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ resourceId: flat[i], score: decayedScore(Number(flat[i + 1]), t, this.halfLifeMs) });
    return out;
  }
  async putProfileInterests(userId: string, interests: string[]): Promise<void> {
    await this.run('set', () => this.r.set(this.key('interests', userId), JSON.stringify(interests)));
  }
  async getProfileInterests(userId: string): Promise<string[] | null> {
    return this.parse<string[]>(await this.run('get', () => this.r.get(this.key('interests', userId))), 'interests');
  }
  // Curriculum (lib/serving/curriculum.ts): cur:n hash id -> JSON node, cur:s:<skill> set of ids, cur:v hash id ->
  // float32 vector, cur:vv its version counter (the API reloads the vectors only when it moved).
  async putCurriculumNode(node: CurriculumNode): Promise<void> {
    const old = this.parse<CurriculumNode>(await this.run('hget', () => this.r.hget(this.key('cur:n'), node.resourceId)), 'cur');
    await this.multi('multi', (m) => {
      m.hset(this.key('cur:n'), node.resourceId, JSON.stringify(node));
      for (const s of old?.skills ?? []) if (!node.skills.includes(s)) m.srem(this.key('cur:s', s), node.resourceId);
      for (const s of node.skills) m.sadd(this.key('cur:s', s), node.resourceId);
    });
  }
  async deleteCurriculumNode(resourceId: string): Promise<void> {
    const old = this.parse<CurriculumNode>(await this.run('hget', () => this.r.hget(this.key('cur:n'), resourceId)), 'cur');
    await this.multi('multi', (m) => {
      m.hdel(this.key('cur:n'), resourceId);
      for (const s of old?.skills ?? []) m.srem(this.key('cur:s', s), resourceId);
      m.hdel(this.key('cur:v'), resourceId);
      m.incr(this.key('cur:vv'));
    });
  }
  async getCurriculumNodes(ids: readonly string[]): Promise<(CurriculumNode | null)[]> {
    if (ids.length === 0) return [];
    const raw = await this.run('hmget', () => this.r.hmget(this.key('cur:n'), ...ids));
    return raw.map((v) => this.parse<CurriculumNode>(v, 'cur'));
  }
  async listCurriculumNodes(): Promise<CurriculumNode[]> {
    const raw = await this.run('hvals', () => this.r.hvals(this.key('cur:n')));
    return raw.map((v) => this.parse<CurriculumNode>(v, 'cur')).filter((n): n is CurriculumNode => n !== null);
  }
  async getSkillResources(skill: string): Promise<string[]> {
    return (await this.run('smembers', () => this.r.smembers(this.key('cur:s', skill)))).sort();
  }
  async putContentVector(resourceId: string, vector: Float32Array | null): Promise<void> {
    await this.multi('multi', (m) => {
      if (vector) m.hset(this.key('cur:v'), resourceId, encodeVector(vector));
      else m.hdel(this.key('cur:v'), resourceId);
      m.incr(this.key('cur:vv'));
    });
  }
  async getContentVectors(sinceVersion?: number): Promise<ContentVectors | null> {
    // version first: a write landing between the two reads makes the next call reload, never hides a change
    const version = Number((await this.run('get', () => this.r.get(this.key('cur:vv')))) ?? 0);
    if (sinceVersion !== undefined && version === sinceVersion) return null;
    const raw = await this.run('hgetall', () => this.r.hgetallBuffer(this.key('cur:v')));
    const vectors = new Map<string, Float32Array>();
    for (const [id, b] of Object.entries(raw)) vectors.set(id, decodeVector(b));
    return { version, vectors };
  }

  async eraseLearner(userId: string): Promise<void> {
    await this.run('del', () =>
      this.r.del(this.key('rec', userId), this.key('know', userId), this.key('done', userId), this.key('interests', userId), this.key('rev', userId)),
    );
  }
  async ping(): Promise<boolean> {
    try {
      return (await this.run('ping', () => this.r.ping())) === 'PONG';
    } catch {
      return false;
    }
  }
  close(): Promise<void> {
    this.closing ??= this.ownsClient ? this.r.quit().then(() => undefined, () => this.r.disconnect()) : Promise.resolve();
    return this.closing;
  }
}

/**
 * A Redis store on a new client from the config (key prefix config.redis.keyPrefix); close() quits the client.
 * `client` adds ioredis options (e.g. enableAutoPipelining for the API).
 */
export function createRedisServingStore(config: Config, opts: Partial<Omit<RedisStoreOptions, 'redis' | 'ownsClient'>> = {}, client: RedisOptions = {}): RedisServingStore {
  return new RedisServingStore({ keyPrefix: config.redis.keyPrefix, ...opts, redis: createRedis(config, client), ownsClient: true });
}
