import { gaussian, keyedRng } from '../random/prng';

/**
 * Factor storage for one side (learners or resources): dense rows in Float32Arrays that double in capacity as new
 * ids appear, plus bias, exact event count and last-update time per row.
 */
export class FactorTable {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();
  vectors: Float32Array;
  biases: Float32Array;
  /** exact number of events applied to each row (a crash-recovery test compares these) */
  counts: Float64Array;
  /** event time (ms) of the last update of each row; NaN before the first */
  lastT: Float64Array;

  constructor(
    readonly dim: number,
    capacity = 256,
  ) {
    this.vectors = new Float32Array(capacity * dim);
    this.biases = new Float32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.lastT = new Float64Array(capacity).fill(Number.NaN);
  }

  get size(): number {
    return this.ids.length;
  }

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  /** Row of `id`, created with its deterministic initial vector if new. */
  ensure(id: string, seed: number, initStd: number): number {
    const existing = this.index.get(id);
    if (existing !== undefined) return existing;
    const row = this.ids.length;
    if (row >= this.biases.length) this.grow(row + 1);
    this.ids.push(id);
    this.index.set(id, row);
    initVector(id, seed, initStd, this.dim, this.vectors.subarray(row * this.dim, (row + 1) * this.dim));
    return row;
  }

  /** The row's vector as a view (mutations write through). */
  row(r: number): Float32Array {
    return this.vectors.subarray(r * this.dim, (r + 1) * this.dim);
  }

  private grow(min: number): void {
    let cap = Math.max(16, this.biases.length);
    while (cap < min) cap *= 2;
    const v = new Float32Array(cap * this.dim);
    v.set(this.vectors);
    this.vectors = v;
    const b = new Float32Array(cap);
    b.set(this.biases);
    this.biases = b;
    const c = new Float64Array(cap);
    c.set(this.counts);
    this.counts = c;
    const t = new Float64Array(cap).fill(Number.NaN);
    t.set(this.lastT);
    this.lastT = t;
  }

  /** Plain-data snapshot; numbers survive JSON exactly (float32 values are exact doubles). */
  toJSON(): FactorTableData {
    const n = this.size;
    return {
      dim: this.dim,
      ids: [...this.ids],
      vectors: Array.from(this.vectors.subarray(0, n * this.dim)),
      biases: Array.from(this.biases.subarray(0, n)),
      counts: Array.from(this.counts.subarray(0, n)),
      lastT: Array.from(this.lastT.subarray(0, n), (x) => (Number.isNaN(x) ? null : x)),
    };
  }

  static fromJSON(d: FactorTableData): FactorTable {
    const t = new FactorTable(d.dim, Math.max(16, d.ids.length));
    d.ids.forEach((id, r) => {
      t.ids.push(id);
      t.index.set(id, r);
    });
    t.vectors.set(d.vectors);
    t.biases.set(d.biases);
    t.counts.set(d.counts);
    t.lastT.set(d.lastT.map((x) => (x === null ? Number.NaN : x)));
    return t;
  }
}

export interface FactorTableData {
  dim: number;
  ids: string[];
  vectors: number[];
  biases: number[];
  counts: number[];
  lastT: (number | null)[];
}

/**
 * Deterministic N(0, std) initial vector of an id: the learner stage (reading a replica that may not have the item
 * yet) and the item stage (owning it) must start a new resource from the same point without talking to each other.
 */
export function initVector(
  id: string,
  seed: number,
  std: number,
  dim: number,
  out: Float32Array<ArrayBufferLike> = new Float32Array(dim),
): Float32Array<ArrayBufferLike> {
  const rng = keyedRng(seed, id, -1);
  for (let f = 0; f < dim; f++) out[f] = gaussian(rng, std);
  return out;
}
