/**
 * Cold start inside a stream recommender: wraps any {@link StreamRecommender} and adds what the content encoder
 * knows about resources that have little or no interaction evidence yet.
 *
 * 1. Factor from text: when resources are published before anyone touched them ({@link publish}), they get their
 *    starting factor and bias from the {@link ContentFactorMap} (trained online on established resources) instead of
 *    random initialisation, so the collaborative part already ranks them sensibly.
 * 2. Content affinity: cold resources (fewer than `coldEvents` events) get a bonus proportional to their cosine to the
 *    learner's recent positive resources, fading out linearly as evidence accumulates. Established resources are
 *    left to the collaborative/sequential signals, which know them better than text does.
 *
 * Pure: content vectors come in as data (dense index -> unit vector), the collaborative model through a narrow port.
 */
import type { StreamEvent, StreamRecommender } from '../eval/types';
import { ContentFactorMap, type ContentFactorMapOptions } from './cold-start';

/** What the wrapper needs from the collaborative model (implemented by models/collab OnlineCollab). */
export interface FactorPort {
  /** Current factor of a resource, or undefined when unknown. */
  resourceRow(resourceId: string): { vector: Float32Array; bias: number; count: number } | undefined;
  /**
   * Creates the resource if it is unknown, with this starting factor (undefined = the model's own default
   * initialisation); false (no change) if it exists.
   */
  initResource(resourceId: string, vector?: Float32Array, bias?: number, atMs?: number): boolean;
}

export interface ColdStartRecommenderOptions {
  /** Weight of the content-affinity bonus (added to the base score; the hybrid scores are max-normalised to ~1); default 0.25, chosen on a cold-start split with seed 2 (reported figures use seed 1). */
  contentWeight: number;
  /** Resources with fewer events than this get the bonus, fading linearly to 0; default 10. */
  coldEvents: number;
  /** Recent positive resources per learner that define their content profile; default 5. */
  recentItems: number;
  /** Give published resources their factor from the content map (needs `factors`); default true. */
  mapFactors: boolean;
  map: Partial<Omit<ContentFactorMapOptions, 'factorDim'>>;
}

const DEFAULTS: ColdStartRecommenderOptions = { contentWeight: 0.25, coldEvents: 10, recentItems: 5, mapFactors: true, map: {} };

export class ColdStartRecommender implements StreamRecommender {
  readonly name: string;
  readonly options: ColdStartRecommenderOptions;
  readonly map?: ContentFactorMap;
  private events = new Float64Array(1024);
  private readonly recent = new Map<number, number[]>();
  /** Indices of resources that currently get the content bonus (published or seen, and still cold). */
  private cold = new Set<number>();
  private readonly profile: Float32Array;
  /** content vectors copied into one row-major matrix: the bonus loop runs over thousands of cold rows per ranking */
  private readonly flat: Float32Array;
  private readonly hasContent: Uint8Array;
  private readonly dim: number;

  /**
   * @param base     the recommender whose scores are extended
   * @param content  content vector per dense resource index (unit length); missing = no content
   * @param factors  the collaborative model behind `base`, for factor initialisation (optional)
   * @param factorDim dimension of `factors`' vectors
   */
  constructor(
    private readonly base: StreamRecommender,
    private readonly content: readonly (Float32Array | undefined)[],
    private readonly factors?: FactorPort,
    factorDim?: number,
    options: Partial<ColdStartRecommenderOptions> = {},
    name?: string,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.name = name ?? `${base.name}+content`;
    const dim = content.find((v) => v)?.length ?? 384;
    this.dim = dim;
    this.profile = new Float32Array(dim);
    this.flat = new Float32Array(content.length * dim);
    this.hasContent = new Uint8Array(content.length);
    content.forEach((v, i) => {
      if (!v) return;
      this.flat.set(v, i * dim);
      this.hasContent[i] = 1;
    });
    if (factors && factorDim && this.options.mapFactors)
      this.map = new ContentFactorMap({ ...this.options.map, contentDim: dim, factorDim });
  }

  /** Resources become available (published in the catalogue) at time `t` (seconds) before their first interaction. */
  publish(items: readonly number[], t?: number): void {
    const at = t === undefined ? undefined : t * 1000;
    for (const i of items) {
      if (this.eventsOf(i) < this.options.coldEvents) this.cold.add(i);
      if (!this.factors) continue;
      const x = this.content[i];
      if (x && this.map) {
        const p = this.map.predict(x);
        this.factors.initResource(String(i), p.vector, p.bias, at);
      } else {
        // without the map a published resource still exists in the model, from its default initialisation
        this.factors.initResource(String(i), undefined, 0, at);
      }
    }
  }

  score(user: number, out: Float64Array, nItems: number, t: number): void {
    this.base.score(user, out, nItems, t);
    const w = this.options.contentWeight;
    if (w === 0 || this.cold.size === 0) return;
    const hist = this.recent.get(user);
    if (!hist || hist.length === 0) return;
    // the learner's content profile: mean direction of their recent positives, newer ones weighted higher
    const prof = this.profile;
    prof.fill(0);
    let any = false;
    hist.forEach((item, j) => {
      const v = this.content[item];
      if (!v) return;
      any = true;
      const wj = 1 / (1 + j);
      for (let d = 0; d < prof.length; d++) prof[d] += wj * v[d];
    });
    if (!any) return;
    let norm = 0;
    for (let d = 0; d < prof.length; d++) norm += prof[d] * prof[d];
    norm = Math.sqrt(norm) || 1;
    const cap = this.options.coldEvents;
    const { flat, dim } = this;
    for (const i of this.cold) {
      if (i >= nItems || !this.hasContent[i] || out[i] === -Infinity) continue;
      let s0 = 0,
        s1 = 0;
      const o = i * dim;
      let d = 0;
      for (; d + 1 < dim; d += 2) {
        s0 += flat[o + d] * prof[d];
        s1 += flat[o + d + 1] * prof[d + 1];
      }
      if (d < dim) s0 += flat[o + d] * prof[d];
      out[i] += w * (1 - this.eventsOf(i) / cap) * ((s0 + s1) / norm);
    }
  }

  learn(ev: StreamEvent): void {
    this.base.learn(ev);
    if (ev.item >= this.events.length) {
      const next = new Float64Array(Math.max(ev.item + 1, this.events.length * 2));
      next.set(this.events);
      this.events = next;
    }
    const n = ++this.events[ev.item];
    if (n < this.options.coldEvents) this.cold.add(ev.item);
    else this.cold.delete(ev.item);
    if (isPositive(ev)) {
      let h = this.recent.get(ev.user);
      if (!h) this.recent.set(ev.user, (h = []));
      const at = h.indexOf(ev.item);
      if (at >= 0) h.splice(at, 1);
      h.unshift(ev.item);
      if (h.length > this.options.recentItems) h.length = this.options.recentItems;
    }
    // the event moved this resource's factor: keep the map's target for it current
    const x = this.content[ev.item];
    if (this.map && this.factors && x) {
      const row = this.factors.resourceRow(String(ev.item));
      if (row) this.map.observe(String(ev.item), x, row.vector, row.bias, row.count);
    }
  }

  private eventsOf(i: number): number {
    return i < this.events.length ? this.events[i] : 0;
  }
}

function isPositive(ev: StreamEvent): boolean {
  if (ev.kind === 'rating') return ev.value >= 4;
  return ev.kind !== 'dislike' && ev.kind !== 'skip' && ev.kind !== 'view';
}
