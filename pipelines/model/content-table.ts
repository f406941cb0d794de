/**
 * Content vectors by resource id in one row-major Float32Array (`matrix[slot * dim + k]`), so a pass of one query
 * vector over the whole catalogue touches contiguous memory. Slots are stable: a removed resource keeps its slot
 * (absent, zeroed) and a re-upsert reuses it, so per-slot caches built on top stay valid. `dim` is fixed by the first
 * vector (the encoder's output size).
 */
export class ContentTable {
  ids: string[] = [];
  private readonly pos = new Map<string, number>();
  matrix = new Float32Array(0);
  present = new Uint8Array(0);
  dim = 0;
  /** Incremented on every change: caches over the table compare it to know they are stale. */
  version = 0;

  get size(): number {
    return this.ids.length;
  }

  slotOf(id: string): number {
    return this.pos.get(id) ?? -1;
  }

  /** The vector of `id` (a view into the table), or undefined when absent. */
  vector(id: string): Float32Array | undefined {
    const s = this.pos.get(id);
    return s === undefined || this.present[s] !== 1 ? undefined : this.matrix.subarray(s * this.dim, (s + 1) * this.dim);
  }

  /** Sets the vector of `id`; returns its slot. A vector of another length than the table's is refused (-1). */
  set(id: string, v: Float32Array): number {
    if (this.dim === 0) this.dim = v.length;
    if (v.length !== this.dim || v.length === 0) return -1;
    let s = this.pos.get(id);
    if (s === undefined) {
      s = this.ids.length;
      this.ids.push(id);
      this.pos.set(id, s);
      if ((s + 1) * this.dim > this.matrix.length) this.grow(s + 1);
    }
    this.matrix.set(v, s * this.dim);
    this.present[s] = 1;
    this.version++;
    return s;
  }

  /** Marks `id` absent (tombstone); returns its slot or -1. */
  remove(id: string): number {
    const s = this.pos.get(id);
    if (s === undefined || this.present[s] !== 1) return -1;
    this.present[s] = 0;
    this.matrix.fill(0, s * this.dim, (s + 1) * this.dim);
    this.version++;
    return s;
  }

  private grow(rows: number): void {
    const cap = Math.max(rows, 2 * (this.matrix.length / Math.max(1, this.dim)), 256);
    const m = new Float32Array(cap * this.dim);
    m.set(this.matrix);
    const p = new Uint8Array(cap);
    p.set(this.present);
    this.matrix = m;
    this.present = p;
  }
}
