/**
 * Cold start: a linear map from content vectors (sentence embeddings of resource text) into the collaborative factor
 * space, learned online from resources whose factors are already established, so a brand-new resource gets a factor
 * (and bias) from its text alone, and a new learner gets a starting vector from the interests in their profile.
 *
 * The map is ridge regression W = (XᵀX + λI)⁻¹ XᵀY over the established resources (x = content vector plus a
 * constant 1, y = [factor, bias]). It is kept exact as factors keep moving: XᵀX changes only when a resource joins
 * (its text does not change), and XᵀY is updated by x (y_new − y_old)ᵀ whenever a known resource's factor is
 * re-observed, O(d·k) per update. Solving is O(d³) (d = 385: ~10 ms), so it happens lazily, at most once per
 * `refreshEvery` changes. Pure and deterministic: same observations in the same order, same predictions.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { meanDirection } from './vector';

/** Options of {@link ContentFactorMap}. */
export interface ContentFactorMapOptions {
  /** Dimension of content vectors; default 384 (all-MiniLM-L6-v2). */
  contentDim: number;
  /** Dimension of collaborative factors (config model.dim). */
  factorDim: number;
  /** Ridge strength λ on the content weights (not on the intercept); default 1. Content vectors are unit length. */
  lambda: number;
  /** A resource counts as established, and trains the map, once it has this many events; default 5. */
  minEvents: number;
  /** Re-solve after this many changed observations (new or updated resources); default 50. */
  refreshEvery: number;
  /** Resources needed before the map predicts anything but the mean; default 20. */
  minItems: number;
}

export const DEFAULT_CONTENT_MAP_OPTIONS: Omit<ContentFactorMapOptions, 'factorDim'> = {
  contentDim: 384,
  lambda: 1,
  minEvents: 5,
  refreshEvery: 50,
  minItems: 20,
};

/** A factor predicted from content. */
export interface PredictedFactor {
  vector: Float32Array;
  bias: number;
}

/** Serialized state: plain JSON. */
export interface ContentFactorMapState {
  version: 1;
  options: ContentFactorMapOptions;
  items: { id: string; content: number[]; target: number[] }[];
  /** The sufficient statistics and the current solution, so a restored map predicts bit-identically. */
  xtx: number[];
  xty: number[];
  weights: number[] | null;
  changes: number;
}

export class ContentFactorMap {
  readonly options: ContentFactorMapOptions;
  private readonly d: number; // content dim + 1 (intercept)
  private readonly m: number; // factor dim + 1 (bias)
  private readonly xtx: Float64Array; // d x d
  private readonly xty: Float64Array; // d x m
  private readonly items = new Map<string, { x: Float32Array; y: Float64Array }>();
  private weights: Float64Array | null = null; // d x m
  private changes = 0;

  constructor(options: Partial<ContentFactorMapOptions> & { factorDim: number }) {
    this.options = { ...DEFAULT_CONTENT_MAP_OPTIONS, ...options };
    this.d = this.options.contentDim + 1;
    this.m = this.options.factorDim + 1;
    this.xtx = new Float64Array(this.d * this.d);
    this.xty = new Float64Array(this.d * this.m);
  }

  /** Resources currently training the map. */
  get size(): number {
    return this.items.size;
  }

  /**
   * Reports a resource's current factor. Resources with fewer than `minEvents` events are ignored (their factor is
   * still mostly initialisation noise); call again whenever the factor has moved (e.g. on each item-factor update).
   */
  observe(id: string, content: Float32Array, factor: ArrayLike<number>, bias: number, events: number): void {
    if (events < this.options.minEvents) return;
    if (content.length !== this.options.contentDim || factor.length !== this.options.factorDim) {
      throw new RangeError(
        `content/factor dimension ${content.length}/${factor.length}, expected ${this.options.contentDim}/${this.options.factorDim}`,
      );
    }
    const y = new Float64Array(this.m);
    for (let f = 0; f < factor.length; f++) y[f] = factor[f];
    y[this.m - 1] = bias;
    const prev = this.items.get(id);
    const x = prev?.x ?? content;
    if (!prev) this.addOuter(x, 1);
    // XᵀY += x (y - y_prev)ᵀ; for a new item y_prev = 0
    const { d, m } = this;
    for (let a = 0; a < d; a++) {
      const xa = a === d - 1 ? 1 : x[a];
      if (xa === 0) continue;
      const row = a * m;
      for (let f = 0; f < m; f++) this.xty[row + f] += xa * (y[f] - (prev ? prev.y[f] : 0));
    }
    this.items.set(id, { x, y });
    this.changes++;
  }

  /** Stops a resource from training the map (e.g. it was deleted or erased). */
  forget(id: string): void {
    const prev = this.items.get(id);
    if (!prev) return;
    this.addOuter(prev.x, -1);
    const { d, m } = this;
    for (let a = 0; a < d; a++) {
      const xa = a === d - 1 ? 1 : prev.x[a];
      for (let f = 0; f < m; f++) this.xty[a * m + f] -= xa * prev.y[f];
    }
    this.items.delete(id);
    this.changes++;
  }

  /** Factor and bias for a resource known only by its content vector. */
  predict(content: Float32Array): PredictedFactor {
    const W = this.solved();
    const { d, m } = this;
    const out = new Float64Array(m);
    if (W) {
      for (let a = 0; a < d; a++) {
        const xa = a === d - 1 ? 1 : content[a];
        if (xa === 0) continue;
        for (let f = 0; f < m; f++) out[f] += xa * W[a * m + f];
      }
    } else if (this.items.size > 0) {
      // too few examples for a map: the mean factor is the least-wrong guess
      for (const { y } of this.items.values()) for (let f = 0; f < m; f++) out[f] += y[f] / this.items.size;
    }
    return { vector: Float32Array.from(out.subarray(0, m - 1)), bias: out[m - 1] };
  }

  /**
   * A starting vector for a new learner from the content vectors of their declared interests: the factor a resource
   * about those interests would get. Undefined when there are no interests.
   */
  learnerFromInterests(interestVectors: readonly Float32Array[]): Float32Array | undefined {
    const centre = meanDirection(interestVectors);
    return centre ? this.predict(centre).vector : undefined;
  }

  serialize(): ContentFactorMapState {
    return {
      version: 1,
      options: { ...this.options },
      items: [...this.items].map(([id, { x, y }]) => ({ id, content: Array.from(x), target: Array.from(y) })),
      xtx: Array.from(this.xtx),
      xty: Array.from(this.xty),
      weights: this.weights ? Array.from(this.weights) : null,
      changes: this.changes,
    };
  }

  static deserialize(state: ContentFactorMapState): ContentFactorMap {
    const map = new ContentFactorMap(state.options);
    for (const it of state.items) map.items.set(it.id, { x: Float32Array.from(it.content), y: Float64Array.from(it.target) });
    map.xtx.set(state.xtx);
    map.xty.set(state.xty);
    map.weights = state.weights ? Float64Array.from(state.weights) : null;
    map.changes = state.changes;
    return map;
  }

  private addOuter(x: Float32Array, sign: 1 | -1): void {
    const d = this.d;
    for (let a = 0; a < d; a++) {
      const xa = a === d - 1 ? 1 : x[a];
      if (xa === 0) continue;
      const row = a * d;
      for (let b = 0; b < d; b++) this.xtx[row + b] += sign * xa * (b === d - 1 ? 1 : x[b]);
    }
  }

  private solved(): Float64Array | null {
    if (this.items.size < this.options.minItems) return null;
    if (this.weights && this.changes < this.options.refreshEvery) return this.weights;
    const { d, m } = this;
    const A = new Matrix(d, d);
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) A.set(a, b, this.xtx[a * d + b]);
      // the intercept is not shrunk; a tiny ridge keeps the system positive definite
      A.set(a, a, A.get(a, a) + (a === d - 1 ? 1e-9 : this.options.lambda));
    }
    const B = new Matrix(d, m);
    for (let a = 0; a < d; a++) for (let f = 0; f < m; f++) B.set(a, f, this.xty[a * m + f]);
    const X = new CholeskyDecomposition(A).solve(B);
    const W = new Float64Array(d * m);
    for (let a = 0; a < d; a++) for (let f = 0; f < m; f++) W[a * m + f] = X.get(a, f);
    this.weights = W;
    this.changes = 0;
    return W;
  }
}
