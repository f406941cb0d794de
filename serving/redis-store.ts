/**
 * Redis ServingStore. Every value a reader needs at once is one key, so every write is one atomic command (a list is
 * a single SET of its binary encoding, serving/list-codec/format-4.ts: readers see the old list or the new one, never a mix). Popularity rankings are ZSETs with
 * forward decay (serving/decay.ts) trimmed to a bounded size. Every command is timed and reported as a
 * `redis.command` instrumentation event; Redis failures surface as retriable DependencyError.
 *
 * Keys (all under the configured prefix, e.g. `ls:`):
 *   rec:<userId>        RecommendationList (list-codec, res:<resourceId>   JSON ResourceMeta
 *                       binary format 4)
 *   dict:k, dict:v      HASHes of list format 4's dictionary: entry -> number, number -> entry
 *   sim:<resourceId>    JSON SimilarItem[]               know:<userId>      JSON KnowledgeState
 *   done:<userId>       SET of completed resource ids    interests:<userId> JSON string[]
 *   pop                 ZSET overall popularity          pop:t:<topic>      ZSET popularity within a topic
 *   co:<resourceId>     ZSET co-engaged partners         co:changed         SET resources whose partners changed
 *   cur:n               HASH id -> JSON CurriculumNode   cur:s:<skill>      SET resources training the skill
 *   cur:v               HASH id -> float32 vector        cur:vv             version of cur:v (INCR per change)
 *   rev:<userId>        JSON ReviewState (FSRS cards)
 *   epoch               STRING serving view id           epoch:gen:<stage>:<instance> STRING write generation
 *                       (pipelines/serving-epoch.ts)     of one stage instance (7-day TTL)
 *   rtag:<userId>       JSON {experiment, variant} the list rec:<userId> was ranked under (written with it in one
 *                       MULTI when the list has one; read with it in one MGET)
 */
import type { ChainableCommander, Cluster, Redis, RedisOptions } from 'ioredis';
import type { Config } from '../lib/config';
import { DependencyError } from '../lib/errors';
import { toRedisError } from '../lib/redis/errors';
import { noopEmitter, type Emitter } from '../lib/metrics/instrumentation';
import { createServingRedis, type ServingRedis } from '../lib/redis/client';
import { decayedScore, decayWeight, DEFAULT_HALF_LIFE_MS } from './decay';
import { decodeStoredView, listOfView } from './list-codec';
import { ListDictionary, type DictionaryBackend } from './list-dictionary';
import { decodeVector, encodeVector, type ContentVectors, type CurriculumNode, type CurriculumStore } from './curriculum';
import type {
  KnowledgeState,
  ReviewState,
  PopularityIncrement,
  RecommendationList,
  RecommendationView,
  ResourceMeta,
  ServingStore,
  SimilarItem,
  StoredResourceReads,
} from './types';

export interface RedisStoreOptions {
  /** One Redis, or a Redis Cluster (ioredis Cluster: keys then carry hash tags, see "Cluster" at the top). */
  redis: ServingRedis;
  /** Prefix of every key, e.g. `ls:` (config.redis.keyPrefix); tests use a random one. */
  keyPrefix: string;
  emit?: Emitter;
  /** Popularity half-life in ms. Default 7 days. */
  popularityHalfLifeMs?: number;
  /** Members kept per popularity ZSET (the tail is trimmed on write). Default 5000. */
  maxPopularMembers?: number;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /**
   * How often the store compares the serving epoch key with the one it saw last and, when it changed, forgets the
   * list dictionary's numbers (ms; 0 = only on reconnect). Default 5000.
   */
  epochCheckMs?: number;
  /** close() also quits the client (true when the store created it). Default false. */
  ownsClient?: boolean;
  /**
   * After eraseLearner, ask Redis to rewrite its append-only file within this many ms (BGREWRITEAOF on every master,
   * when AOF is on; one request for all erasures in that time): until a rewrite, the AOF on disk still holds every
   * write of the erased learner's keys (config privacy.aofRewriteMs; 0 or absent = never).
   */
  aofRewriteAfterEraseMs?: number;
  /** Told what each AOF rewrite request did, per Redis (e.g. `Background append only file rewriting started`). */
  onAofRewrite?: (outcome: { ok: boolean; replies: string[]; error?: string }) => void;
}

/**
 * Numbers of dictionary entries (KEYS[1] = entry -> number, KEYS[2] = number -> entry), the next free number (the
 * count so far) for each new one: atomic, so writers in several processes agree on every number.
 */
const ASSIGN_SCRIPT = `
local out = {}
for i = 1, #ARGV do
  local n = redis.call('HGET', KEYS[1], ARGV[i])
  if not n then
    n = redis.call('HLEN', KEYS[1])
    redis.call('HSET', KEYS[1], ARGV[i], n)
    redis.call('HSET', KEYS[2], n, ARGV[i])
  end
  out[i] = tonumber(n)
end
return out`;

/** The MULTI commands the store uses, so that on a cluster they can be routed to one MULTI per slot group. */
interface Tx {
  del(...keys: string[]): void;
  zrem(key: string, ...members: string[]): void;
  zincrby(key: string, by: number, member: string): void;
  /** ZADD GT: sets the score only when it is higher than the member's (or the member is new). */
  zaddGt(key: string, score: number, member: string): void;
  zremrangebyrank(key: string, start: number, stop: number): void;
  sadd(key: string, ...members: string[]): void;
  srem(key: string, ...members: string[]): void;
  hset(key: string, field: string, value: string | Buffer): void;
  hdel(key: string, ...fields: string[]): void;
  incr(key: string): void;
  set(key: string, value: string | Buffer): void;
}

/**
 * On a cluster, kinds kept together in one hash slot because one command or MULTI spans them: every popularity
 * ranking (a batch of increments is one MULTI), the curriculum (nodes, skill sets, vectors and their version) and the
 * list dictionary (its Lua script reads and writes both hashes). Every other key is tagged with its id, so one
 * learner's keys (rec, know, done, interests) share a slot, and one resource's (res, sim, co).
 */
const GROUP_TAG: Partial<Record<string, string>> = {
  pop: 'pop',
  'pop:t': 'pop',
  'cur:n': 'cur',
  'cur:s': 'cur',
  'cur:v': 'cur',
  'cur:vv': 'cur',
  'dict:k': 'dict',
  'dict:v': 'dict',
};

/** The part of a key Redis Cluster hashes to pick its slot: the first non-empty {...}, else the whole key. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Lifetime of a stage instance's generation mark (`epoch:gen:<stage>:<instance>`), refreshed at every check. */
const MARK_TTL_SECONDS = 7 * 24 * 3600;

/** Co-engaged partners kept per resource. */
const MAX_CO_PARTNERS = 200;

export class RedisServingStore implements ServingStore, StoredResourceReads, CurriculumStore {
  private readonly r: ServingRedis;
  private readonly cluster: boolean;
  private readonly p: string;
  private readonly emit: Emitter;
  private readonly halfLifeMs: number;
  private readonly maxPopular: number;
  private readonly now: () => number;
  private readonly ownsClient: boolean;
  private closing?: Promise<void>;
  private readonly dict: ListDictionary;

  constructor(private readonly opts: RedisStoreOptions) {
    this.r = opts.redis;
    this.cluster = 'isCluster' in opts.redis && opts.redis.isCluster;
    this.p = opts.keyPrefix;
    if (this.cluster && /[{}]/.test(this.p))
      throw new RangeError(`key prefix ${this.p}: no braces on Redis Cluster (they would be the hash tag)`);
    this.emit = opts.emit ?? noopEmitter;
    this.halfLifeMs = opts.popularityHalfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    this.maxPopular = opts.maxPopularMembers ?? 5000;
    this.now = opts.now ?? Date.now;
    this.ownsClient = opts.ownsClient ?? false;
    this.dict = new ListDictionary(this.dictionaryBackend());
    // The dictionary's numbers are only valid for the Redis they were read from. A reconnect may reach a Redis that
    // came back empty (or from an older AOF), and a FLUSHALL keeps the connection: both show as another epoch
    // (pipelines/serving-epoch.ts), which the timer notices within epochCheckMs. Either way the caches go.
    this.r.on('ready', () => this.dict.reset());
    const every = opts.epochCheckMs ?? 5000;
    if (every > 0) {
      this.epochTimer = setInterval(() => void this.checkEpoch(), every);
      this.epochTimer.unref();
    }
  }

  private epochTimer?: NodeJS.Timeout;
  private seenEpoch: string | null | undefined;

  /** Resets the list dictionary's caches when the epoch key differs from the one seen before. */
  async checkEpoch(): Promise<void> {
    let now: string | null;
    try {
      now = await this.r.get(this.key('epoch'));
    } catch {
      return; // not connected: the 'ready' reset covers the reconnect
    }
    if (this.seenEpoch !== undefined && now !== this.seenEpoch) this.dict.reset();
    this.seenEpoch = now;
  }

  /** Forgets the list dictionary's numbers (the serving view was lost): see ListDictionary.reset. */
  resetDictionary(): void {
    this.dict.reset();
  }

  /** The list dictionary (serving/list-dictionary.ts) as two hashes: dict:k entry -> number, dict:v number -> entry. */
  private dictionaryBackend(): DictionaryBackend {
    const k = this.key('dict:k');
    const v = this.key('dict:v');
    return {
      assign: async (entries) => {
        const out = await this.run('eval', () => this.r.eval(ASSIGN_SCRIPT, 2, k, v, ...entries));
        return (out as (number | string)[]).map(Number);
      },
      lookup: (refs) => this.run('hmget', () => this.r.hmget(v, ...refs.map(String))),
    };
  }

  private key(kind: string, id?: string): string {
    if (!this.cluster) return id === undefined ? `${this.p}${kind}` : `${this.p}${kind}:${id}`;
    const group = GROUP_TAG[kind];
    if (group !== undefined) return `${this.p}{${group}}${kind}${id === undefined ? '' : `:${id}`}`;
    return id === undefined ? `${this.p}${kind}` : `${this.p}${kind}:{${id}}`;
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
      throw toRedisError(err, command);
    }
  }

  /**
   * One MULTI of the commands `build` adds. On a cluster, one MULTI per hash slot group (keys with the same hashed part,
   * see hashedPart), sent together: atomic within a group, which is what each caller needs (a learner's keys, the
   * popularity ZSETs, the curriculum and the dictionary each share a tag).
   */
  private async multi(command: string, build: (m: Tx) => void): Promise<void> {
    await this.run(command, async () => {
      const groups = new Map<string, ChainableCommander>();
      const on = (key: string): ChainableCommander => {
        const h = this.cluster ? hashedPart(key) : '';
        let m = groups.get(h);
        if (!m) groups.set(h, (m = this.r.multi()));
        return m;
      };
      build({
        del: (...keys) => {
          if (this.cluster) for (const k of keys) on(k).del(k);
          else if (keys.length > 0) on(keys[0]).del(...keys);
        },
        zrem: (k, ...members) => void on(k).zrem(k, ...members),
        zincrby: (k, by, member) => void on(k).zincrby(k, by, member),
        zaddGt: (k, score, member) => void on(k).zadd(k, 'GT', score, member),
        zremrangebyrank: (k, start, stop) => void on(k).zremrangebyrank(k, start, stop),
        sadd: (k, ...members) => void on(k).sadd(k, ...members),
        srem: (k, ...members) => void on(k).srem(k, ...members),
        hset: (k, field, value) => void on(k).hset(k, field, value),
        hdel: (k, ...fields) => void on(k).hdel(k, ...fields),
        incr: (k) => void on(k).incr(k),
        set: (k, value) => void on(k).set(k, value),
      });
      const results = await Promise.all([...groups.values()].map((m) => m.exec()));
      for (const res of results) {
        if (!res) throw new DependencyError('redis', `redis ${command}: transaction aborted`);
        const failed = res.find(([e]) => e);
        if (failed?.[0]) throw failed[0];
      }
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
    await this.dict.write(list, async (value) => {
      const ref = list.ref;
      if (!ref) {
        await this.run('set', () => this.r.set(this.key('rec', list.userId), value));
        return;
      }
      // rec:<id> and rtag:<id> share the hash tag {<id>} on a cluster: one slot, so one MULTI
      await this.multi('set', (m) => {
        m.set(this.key('rec', list.userId), value);
        m.set(this.key('rtag', list.userId), JSON.stringify(ref));
      });
    });
  }
  /**
   * Several learners' lists (a re-rank batch): their new dictionary entries numbered in one script call, and the
   * untagged lists written as one pipeline (one socket write, one round trip) instead of a SET each; a tagged list is
   * its own MULTI as in putRecommendations. On a cluster, a SET each (a pipeline cannot span nodes).
   */
  async putRecommendationLists(lists: readonly RecommendationList[]): Promise<void> {
    if (lists.length === 0) return;
    await this.dict.writeMany(lists, async (values) => {
      const tagged: Promise<void>[] = [];
      const plain: number[] = [];
      for (let j = 0; j < lists.length; j++) {
        const list = lists[j];
        const ref = list.ref;
        if (ref)
          tagged.push(
            this.multi('set', (m) => {
              m.set(this.key('rec', list.userId), values[j]);
              m.set(this.key('rtag', list.userId), JSON.stringify(ref));
            }),
          );
        else plain.push(j);
      }
      let sets: Promise<unknown>;
      if (plain.length === 0) sets = Promise.resolve();
      else if (this.cluster || plain.length === 1)
        sets = Promise.all(plain.map((j) => this.run('set', () => this.r.set(this.key('rec', lists[j].userId), values[j]))));
      else
        sets = this.run('set', async () => {
          const pipe = this.r.pipeline();
          for (const j of plain) pipe.set(this.key('rec', lists[j].userId), values[j]);
          const res = await pipe.exec();
          const failed = res?.find(([e]) => e);
          if (failed?.[0]) throw failed[0];
        });
      await Promise.all([sets, ...tagged]);
    });
  }
  async getRecommendations(userId: string): Promise<RecommendationList | null> {
    const view = await this.getRecommendationView(userId);
    const out = view && listOfView(view);
    if (out && view.ref) out.ref = view.ref;
    return out;
  }
  /**
   * One GET of the learner's list as a lazy view, plus one HMGET of dictionary entries this process has not seen yet
   * (format 4; none once the catalogue's entries are cached). Corrupt values and items are counted.
   */
  async getRecommendationView(userId: string): Promise<RecommendationView | null> {
    // As bytes: formats 3 and 4 are binary (formats 1 and 2, text, are decoded from the bytes too). With the list, its
    // experiment tag (rtag:<id>, same slot on a cluster) in the same MGET.
    const [raw, tag] = await this.run('mget', () => this.r.mgetBuffer(this.key('rec', userId), this.key('rtag', userId)));
    if (raw === null) return null;
    const onCorruptItem = () => this.corrupt('rec');
    // the format is the one the value's header names (format 4 resolved through the dictionary)
    const out = await decodeStoredView(raw, this.dict, onCorruptItem);
    if (!out) this.corrupt('rec');
    const ref = tag === null ? null : this.parse<RecommendationList['ref']>(tag.toString('utf8'), 'rtag');
    if (out && ref) (out as { ref?: RecommendationList['ref'] }).ref = ref;
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
    const keys = ids.map((id) => this.key('res', id));
    if (!this.cluster) return this.run('mget', () => this.r.mget(keys));
    // A cluster serves MGET of one slot only: one MGET per slot group, sent together (auto-pipelined per node).
    return this.run('mget', async () => {
      const byGroup = new Map<string, number[]>();
      keys.forEach((k, i) => {
        const h = hashedPart(k);
        const at = byGroup.get(h);
        if (at) at.push(i);
        else byGroup.set(h, [i]);
      });
      const out = new Array<string | null>(keys.length);
      await Promise.all(
        [...byGroup.values()].map(async (at) => {
          const got = await this.r.mget(at.map((i) => keys[i]));
          at.forEach((i, j) => (out[i] = got[j]));
        }),
      );
      return out;
    });
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
  async addCompletedMany(entries: ReadonlyMap<string, readonly string[]>): Promise<void> {
    let any = false;
    for (const ids of entries.values()) any ||= ids.length > 0;
    if (!any) return;
    // one MULTI (one per hash slot on a cluster): one socket write for the batch, where one SADD each was one write each
    await this.multi('sadd', (m) => {
      for (const [userId, ids] of entries) if (ids.length > 0) m.sadd(this.key('done', userId), ...ids);
    });
  }
  async getCompleted(userId: string): Promise<Set<string>> {
    return new Set(await this.run('smembers', () => this.r.smembers(this.key('done', userId))));
  }
  async incrementPopularity(resourceId: string, by: number, topics: string[], at?: number): Promise<void> {
    await this.incrementPopularityMany([{ resourceId, by, topics, at }]);
  }
  async incrementPopularityMany(increments: readonly PopularityIncrement[]): Promise<void> {
    await this.writePopularity(increments, (m, z, w, resourceId) => m.zincrby(z, w, resourceId));
  }
  async raisePopularityMany(entries: readonly PopularityIncrement[]): Promise<void> {
    await this.writePopularity(entries, (m, z, w, resourceId) => m.zaddGt(z, w, resourceId));
  }
  /**
   * Writes each entry's decayed weight to the global and per-topic popularity ZSETs with `write` (add or raise), in
   * one multi() (a transaction per hash slot on Redis Cluster).
   */
  private async writePopularity(
    entries: readonly PopularityIncrement[],
    write: (m: Tx, z: string, w: number, resourceId: string) => void,
  ): Promise<void> {
    if (entries.length === 0) return;
    const touched = new Set<string>();
    await this.multi('multi', (m) => {
      for (const { resourceId, by, topics, at } of entries) {
        const w = by * decayWeight(at ?? this.now(), this.halfLifeMs);
        for (const z of [this.key('pop'), ...[...new Set(topics)].map((t) => this.key('pop:t', t))]) {
          write(m, z, w, resourceId);
          touched.add(z);
        }
      }
      // Keep each ZSET bounded: drop everything below the top maxPopular (ranks 0.. are the lowest scores). Once per
      // ranking after all its writes, as the calls one by one would leave it.
      for (const z of touched) m.zremrangebyrank(z, 0, -(this.maxPopular + 1));
    });
  }

  async raiseCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void> {
    if (pairs.length === 0) return;
    const touched = new Set<string>();
    await this.multi('multi', (m) => {
      for (const { a, b, by } of pairs) {
        m.zaddGt(this.key('co', a), by, b);
        m.zaddGt(this.key('co', b), by, a);
        touched.add(a).add(b);
      }
      for (const id of touched) m.zremrangebyrank(this.key('co', id), 0, -(MAX_CO_PARTNERS + 1));
      m.sadd(this.key('co:changed'), ...touched);
    });
  }
  async getPopular(limit: number, topic?: string, now?: number): Promise<{ resourceId: string; score: number }[]> {
    if (limit <= 0) return [];
    const z = topic === undefined ? this.key('pop') : this.key('pop:t', topic);
    const flat = await this.run('zrevrange', () => this.r.zrevrange(z, 0, limit - 1, 'WITHSCORES'));
    const t = now ?? this.now();
    const out: { resourceId: string; score: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ resourceId: flat[i], score: decayedScore(Number(flat[i + 1]), t, this.halfLifeMs) });
    return out;
  }
  async putProfileInterests(userId: string, interests: string[]): Promise<void> {
    await this.run('set', () => this.r.set(this.key('interests', userId), JSON.stringify(interests)));
  }
  async getProfileInterests(userId: string): Promise<string[] | null> {
    return this.parse<string[]>(await this.run('get', () => this.r.get(this.key('interests', userId))), 'interests');
  }
  // Curriculum (serving/curriculum.ts): cur:n hash id -> JSON node, cur:s:<skill> set of ids, cur:v hash id ->
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
    // One DEL: on a cluster the four keys share the learner's hash tag, so one slot.
    await this.run('del', () =>
      this.r.del(
        this.key('rec', userId),
        this.key('know', userId),
        this.key('done', userId),
        this.key('interests', userId),
        this.key('rev', userId),
        this.key('rtag', userId),
      ),
    );
    this.scheduleAofRewrite();
  }

  private aofTimer?: NodeJS.Timeout;

  private scheduleAofRewrite(): void {
    const ms = this.opts.aofRewriteAfterEraseMs ?? 0;
    if (ms <= 0 || this.aofTimer || this.closing) return;
    this.aofTimer = setTimeout(() => {
      this.aofTimer = undefined;
      void this.rewriteAof();
    }, ms);
    // a process that stops first asks at close() instead; only a kill leaves it to Redis' own rewrite schedule
    this.aofTimer.unref();
  }

  /**
   * BGREWRITEAOF on the Redis (every master of a cluster) where AOF is on: the new file holds the data as it is now,
   * and Redis deletes the old ones, with whatever erased keys they held. A rewrite already running is queued by Redis
   * itself ("scheduled"). Never throws: the outcome goes to onAofRewrite.
   */
  async rewriteAof(): Promise<{ ok: boolean; replies: string[]; error?: string }> {
    const nodes: Redis[] = this.cluster ? (this.r as Cluster).nodes('master') : [this.r as Redis];
    const replies: string[] = [];
    let outcome: { ok: boolean; replies: string[]; error?: string };
    try {
      for (const n of nodes) {
        const info = await n.info('persistence');
        if (!/^aof_enabled:1\r?$/m.test(info)) replies.push('aof off');
        else replies.push(String(await n.bgrewriteaof()));
      }
      outcome = { ok: true, replies };
    } catch (err) {
      outcome = { ok: false, replies, error: err instanceof Error ? err.message : String(err) };
    }
    this.opts.onAofRewrite?.(outcome);
    return outcome;
  }
  /** The serving view's epoch id (`<prefix>epoch`), null when the key is missing: see pipelines/serving-epoch.ts. */
  async readEpoch(): Promise<string | null> {
    return this.run('get', () => this.r.get(this.key('epoch')));
  }
  /** Calls `listener` each time the client (re)connects and is ready: the epoch check then runs at once. */
  onReconnect(listener: () => void): void {
    this.r.on('ready', listener);
  }
  /** Sets the epoch id unless one is there (SET NX) and returns whichever id the key now holds. */
  async claimEpoch(candidate: string): Promise<string> {
    return this.run('set', async () => {
      await this.r.set(this.key('epoch'), candidate, 'NX');
      return (await this.r.get(this.key('epoch'))) ?? candidate;
    });
  }
  /** A stage instance's write generation (pipelines/serving-epoch.ts), null when missing. */
  async readMark(name: string): Promise<number | null> {
    const raw = await this.run('get', () => this.r.get(this.key('epoch:gen', name)));
    return raw === null ? null : Number(raw);
  }
  /** Kept 7 days after the last write: an instance gone longer finds its mark missing and rewrites once. */
  async writeMark(name: string, generation: number): Promise<void> {
    await this.run('set', () => this.r.set(this.key('epoch:gen', name), String(generation), 'EX', MARK_TTL_SECONDS));
  }
  async ping(): Promise<boolean> {
    try {
      return (await this.run('ping', () => this.r.ping())) === 'PONG';
    } catch {
      return false;
    }
  }
  close(): Promise<void> {
    if (this.epochTimer) clearInterval(this.epochTimer);
    const pendingRewrite = this.aofTimer && !this.closing ? (clearTimeout(this.aofTimer), this.rewriteAof()) : Promise.resolve();
    this.aofTimer = undefined;
    this.closing ??= pendingRewrite.then(() =>
      this.ownsClient
        ? this.r.quit().then(
            () => undefined,
            () => this.r.disconnect(),
          )
        : undefined,
    );
    return this.closing;
  }
}

/**
 * A Redis store on a new client from the config (key prefix config.redis.keyPrefix; a Cluster client when
 * config.redis.clusterNodes are set); close() quits the client.
 * `client` adds ioredis options (e.g. enableAutoPipelining for the API).
 */
export function createRedisServingStore(
  config: Config,
  opts: Partial<Omit<RedisStoreOptions, 'redis' | 'ownsClient'>> = {},
  client: RedisOptions = {},
): RedisServingStore {
  return new RedisServingStore({ keyPrefix: config.redis.keyPrefix, ...opts, redis: createServingRedis(config, client), ownsClient: true });
}
