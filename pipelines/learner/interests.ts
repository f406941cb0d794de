import { topK } from '../../models/kernel/topk';
import type { EmbedFn } from '../../models/content/text';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { ContentTable } from '../model/content-table';

export interface InterestIndexOptions {
  /** The content encoder (the catalogue stage's); undefined = interests match by catalogue topic only. */
  embed?: EmbedFn;
  /** Content vectors of the catalogue (the learner instance's replica of model.content-vectors). */
  content: ContentTable;
  logger: Logger;
  emit: Emitter;
  /** Interest strings whose vectors are kept (oldest evicted first). Default 20,000 (~30 MB at 384 dims). */
  maxVectors?: number;
  /**
   * Interests whose cosine to every catalogue slot is kept (one Float32Array per interest, catalogue-sized). Default
   * 512: at 10,000 resources 20 MB; an evicted interest costs one pass over the catalogue (~3 ms) when next used.
   */
  maxScored?: number;
  /** A nearest-resources list per interest is recomputed at most this often (ms) while the catalogue changes. Default 1000. */
  refreshMs?: number;
  /** Interest strings per encoder call. Default 32 (two-word texts: padding costs little). */
  batchSize?: number;
  /** After a failed embedding, the same string is not retried for this long (ms). Default 60,000. */
  retryMs?: number;
  now?: () => number;
}

interface Scored {
  /** cosine to every slot of the content table; -Infinity where the slot is absent */
  scores: Float32Array;
  /** slots [0, upTo) are computed */
  upTo: number;
  top: Int32Array | null;
  topK: number;
  topVersion: number;
  topAt: number;
}

/** Interests are compared case- and space-insensitively (the encoder is uncased). */
export function interestKey(label: string): string {
  return label.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Declared interests (free-text strings from learner profiles) as content vectors, and their similarity to every
 * resource's content vector. Vectors are cached per interest string, so a popular interest is embedded once for all
 * learners, and embedding happens on profile change (batched across the profiles of one tick), never on a re-rank.
 * Cosines to the catalogue are kept per interest and updated slot by slot as content vectors arrive, so ranking
 * reads a cosine per candidate instead of computing 384-dim dot products on the hot path.
 */
export class InterestIndex {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly scored = new Map<string, Scored>();
  private readonly waiting = new Map<string, ((ok: boolean) => void)[]>();
  private readonly failedAt = new Map<string, number>();
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();
  private readonly maxVectors: number;
  private readonly maxScored: number;
  private readonly refreshMs: number;
  private readonly batchSize: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly o: InterestIndexOptions) {
    this.maxVectors = o.maxVectors ?? 20000;
    this.maxScored = o.maxScored ?? 512;
    this.refreshMs = o.refreshMs ?? 1000;
    this.batchSize = o.batchSize ?? 32;
    this.retryMs = o.retryMs ?? 60000;
    this.now = o.now ?? Date.now;
    if (!o.embed) o.logger.info('no content encoder: declared interests match resources by catalogue topic only');
  }

  /** True when interests can be embedded (an encoder is present). */
  get enabled(): boolean {
    return this.o.embed !== undefined;
  }

  get content(): ContentTable {
    return this.o.content;
  }

  has(label: string): boolean {
    return this.vectors.has(interestKey(label));
  }

  /**
   * Embeds the labels not cached yet (batched with those of other callers in the same tick). Resolves true when every
   * label has a vector, false without an encoder or when embedding failed (logged; that label is not retried for
   * `retryMs`). Never rejects.
   */
  ensure(labels: readonly string[]): Promise<boolean> {
    const embed = this.o.embed;
    if (!embed) return Promise.resolve(false);
    const missing = [...new Set(labels.map(interestKey))].filter((k) => k.length > 0 && !this.vectors.has(k));
    if (missing.length === 0) return Promise.resolve(true);
    const now = this.now();
    if (missing.some((k) => now - (this.failedAt.get(k) ?? -Infinity) < this.retryMs)) return Promise.resolve(false);
    const waits: Promise<boolean>[] = [];
    for (const k of missing) {
      waits.push(
        new Promise<boolean>((resolve) => {
          const list = this.waiting.get(k);
          if (list) list.push(resolve);
          else this.waiting.set(k, [resolve]);
        }),
      );
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.running = this.running.then(() => this.embedWaiting(embed));
      });
    }
    return Promise.all(waits).then((oks) => oks.every(Boolean));
  }

  private async embedWaiting(embed: EmbedFn): Promise<void> {
    const batch = [...this.waiting.keys()];
    const resolvers = new Map(batch.map((k) => [k, this.waiting.get(k)!]));
    for (const k of batch) this.waiting.delete(k);
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const keys = batch.slice(i, i + this.batchSize);
      let ok = false;
      try {
        const vs = await embed(keys);
        keys.forEach((k, j) => this.store(k, vs[j]));
        ok = true;
      } catch (err) {
        const at = this.now();
        for (const k of keys) this.failedAt.set(k, at);
        if (this.failedAt.size > 10000) this.failedAt.clear();
        this.o.logger.warn('embedding declared interests failed: matching them by catalogue topic', { err, interests: keys.length });
      }
      for (const k of keys) for (const r of resolvers.get(k) ?? []) r(ok);
    }
  }

  private store(key: string, v: Float32Array): void {
    this.vectors.delete(key);
    this.vectors.set(key, v);
    this.failedAt.delete(key);
    if (this.vectors.size > this.maxVectors) {
      const oldest = this.vectors.keys().next().value as string;
      this.vectors.delete(oldest);
      this.scored.delete(oldest);
    }
  }

  /** Cosine of `label` to every content slot (absent slots -Infinity), or undefined when the label has no vector. */
  cosines(label: string): Float32Array | undefined {
    const key = interestKey(label);
    const v = this.vectors.get(key);
    if (!v) return undefined;
    let s = this.scored.get(key);
    const table = this.o.content;
    if (!s) {
      s = { scores: new Float32Array(Math.max(256, table.size)), upTo: 0, top: null, topK: 0, topVersion: -1, topAt: 0 };
      if (this.scored.size >= this.maxScored) this.scored.delete(this.scored.keys().next().value as string);
    } else this.scored.delete(key); // re-inserted below: most recently used last
    this.scored.set(key, s);
    if (s.upTo < table.size) {
      if (s.scores.length < table.size) {
        const grown = new Float32Array(Math.max(table.size, 2 * s.scores.length));
        grown.set(s.scores.subarray(0, s.upTo));
        s.scores = grown;
      }
      for (let slot = s.upTo; slot < table.size; slot++) s.scores[slot] = this.cosineAt(v, slot);
      s.upTo = table.size;
    }
    return s.scores;
  }

  /** The `k` content slots most similar to `label`, best first (cached; refreshed at most every refreshMs while the catalogue changes). */
  nearest(label: string, k: number): Int32Array | undefined {
    const scores = this.cosines(label);
    if (!scores) return undefined;
    const s = this.scored.get(interestKey(label))!;
    const table = this.o.content;
    const now = this.now();
    const stale = s.top === null || s.topK < k || (s.topVersion !== table.version && now - s.topAt >= this.refreshMs);
    if (stale) {
      s.top = topK(scores, table.size, k);
      s.topK = k;
      s.topVersion = table.version;
      s.topAt = now;
    }
    return s.top!.length > k ? s.top!.subarray(0, k) : s.top!;
  }

  /** A content slot was set or removed: keeps every cached cosine row exact for that slot. */
  contentChanged(slot: number): void {
    for (const [key, s] of this.scored) {
      if (slot >= s.upTo) continue;
      s.scores[slot] = this.cosineAt(this.vectors.get(key)!, slot);
    }
  }

  /**
   * Interests in current use (those with a cosine row, at most maxScored) whose cosine to content slot `slot` is at
   * least `min`: who wants a new resource. Only those: reading their kept cosine is O(1) each, while every cached
   * string would be 20,000 dot products per new resource; a learner whose interest has no row yet sees the resource
   * at their next re-rank (new-resource and interest-neighbour candidates).
   */
  matching(slot: number, min: number): Set<string> {
    const out = new Set<string>();
    for (const [key, s] of this.scored) {
      const c = slot < s.upTo ? s.scores[slot] : this.cosineAt(this.vectors.get(key)!, slot);
      if (c >= min) out.add(key);
    }
    return out;
  }

  private cosineAt(v: Float32Array, slot: number): number {
    const table = this.o.content;
    if (table.present[slot] !== 1) return -Infinity;
    const d = table.dim;
    if (v.length !== d) return -Infinity;
    const m = table.matrix;
    let s = 0;
    // both sides are unit length (pooling normalises), so the dot product is the cosine
    for (let k = 0, o = slot * d; k < d; k++, o++) s += v[k] * m[o];
    return s;
  }
}
