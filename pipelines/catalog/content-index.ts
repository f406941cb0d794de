import type { SimilarItem } from '../../serving/types';
import { contentNeighbours } from '../../models/content/similar';
import { b64ToF32, f32ToB64 } from '../../consumers/state/codec';
import { InvariantError } from '../../lib/errors';

export interface Neighbour {
  id: string;
  score: number;
}

/** One partition group's rows in a checkpoint: [resourceId, title, unit content vector as base64]. */
export interface ContentIndexJSON {
  rows: [string, string, string][];
}

/**
 * The content vectors of the resources this catalogue instance embedded, one contiguous matrix (so a neighbour search
 * is one models/kernel pass), with each resource's `k` nearest neighbours by cosine kept up to date as resources come
 * and go. Every change returns the ids whose neighbour lists changed, so the caller rewrites exactly those lists.
 * Bounded: `k` neighbours per resource; an upsert touches its own list and at most `k` others; a removal recomputes
 * at most `maxRecompute` lists and only drops the resource from the rest.
 */
export class ContentIndex {
  private ids: string[] = [];
  private titles: string[] = [];
  private groups: number[] = [];
  /** Content neighbours per row; undefined = not computed yet (restored rows), computed on first use. */
  private lists: (Neighbour[] | undefined)[] = [];
  private readonly pos = new Map<string, number>();
  private matrix = new Float32Array(0);
  private dim = 0;

  constructor(
    readonly k = 20,
    readonly minCosine = 0.3,
    private readonly maxRecompute = 50,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.pos.has(id);
  }

  title(id: string): string | undefined {
    const i = this.pos.get(id);
    return i === undefined ? undefined : this.titles[i];
  }

  /** A copy of the content vector of `id` (rows move on removal), or undefined. */
  vector(id: string): Float32Array | undefined {
    const i = this.pos.get(id);
    return i === undefined ? undefined : this.row(i).slice();
  }

  /** Ids of every row (a copy). */
  allIds(): string[] {
    return this.ids.slice();
  }

  /** Ids of the rows of one partition group. */
  idsOf(group: number): string[] {
    return this.ids.filter((_id, j) => this.groups[j] === group);
  }

  /** Cosine of two indexed resources (unit vectors), undefined if either is unknown. */
  cosine(a: string, b: string): number | undefined {
    const i = this.pos.get(a);
    const j = this.pos.get(b);
    if (i === undefined || j === undefined) return undefined;
    let s = 0;
    for (let d = 0; d < this.dim; d++) s += this.matrix[i * this.dim + d] * this.matrix[j * this.dim + d];
    return s;
  }

  /** The content neighbours of an indexed resource, best first (computed now if not known yet). */
  neighbours(id: string): Neighbour[] {
    const i = this.pos.get(id);
    if (i === undefined) return [];
    return (this.lists[i] ??= this.search(i));
  }

  /** Adds or replaces a resource; returns the ids whose neighbour lists changed (its own first). */
  upsert(id: string, vector: Float32Array, title: string, group: number): string[] {
    const at = this.pos.get(id);
    if (at !== undefined && this.sameVector(at, vector)) {
      this.titles[at] = title;
      this.groups[at] = group;
      return [id];
    }
    const changed = new Set<string>(at !== undefined ? this.remove(id) : []);
    const i = this.add(id, vector, title, group);
    const mine = this.search(i);
    this.lists[i] = mine;
    const out = [id];
    for (const n of mine) {
      const j = this.pos.get(n.id)!;
      const list = this.lists[j];
      if (list === undefined) {
        this.lists[j] = this.search(j); // includes the new row
      } else if (list.length < this.k || n.score > list[list.length - 1].score) {
        list.push({ id, score: n.score });
        list.sort((x, y) => y.score - x.score);
        if (list.length > this.k) list.length = this.k;
      } else continue;
      changed.add(n.id);
    }
    for (const c of changed) if (c !== id && this.pos.has(c)) out.push(c);
    return out;
  }

  /** Removes a resource; returns the ids whose neighbour lists contained it (now rewritten without it). */
  remove(id: string): string[] {
    const i = this.pos.get(id);
    if (i === undefined) return [];
    const last = this.ids.length - 1;
    if (i !== last) {
      this.ids[i] = this.ids[last];
      this.titles[i] = this.titles[last];
      this.groups[i] = this.groups[last];
      this.lists[i] = this.lists[last];
      this.matrix.copyWithin(i * this.dim, last * this.dim, (last + 1) * this.dim);
      this.pos.set(this.ids[i], i);
    }
    this.ids.pop();
    this.titles.pop();
    this.groups.pop();
    this.lists.pop();
    this.pos.delete(id);
    // Removals are rare, so a scan of the lists beats keeping a reverse index up to date on every upsert.
    const changed: string[] = [];
    for (let j = 0; j < this.ids.length; j++) {
      const list = this.lists[j];
      if (!list?.some((n) => n.id === id)) continue;
      this.lists[j] = changed.length < this.maxRecompute ? this.search(j) : list.filter((n) => n.id !== id);
      changed.push(this.ids[j]);
    }
    return changed;
  }

  /** Forgets the rows of a partition group that moved to another instance (their stored lists stay valid). */
  dropGroup(group: number): void {
    for (let j = this.ids.length - 1; j >= 0; j--) {
      if (this.groups[j] !== group) continue;
      const id = this.ids[j];
      const last = this.ids.length - 1;
      for (const a of [this.ids, this.titles, this.groups, this.lists] as unknown[][]) a[j] = a[last];
      this.matrix.copyWithin(j * this.dim, last * this.dim, (last + 1) * this.dim);
      if (j !== last) this.pos.set(this.ids[j], j);
      for (const a of [this.ids, this.titles, this.groups, this.lists] as unknown[][]) a.pop();
      this.pos.delete(id);
    }
  }

  toJSON(group: number): ContentIndexJSON {
    const rows: ContentIndexJSON['rows'] = [];
    for (let j = 0; j < this.ids.length; j++) if (this.groups[j] === group) rows.push([this.ids[j], this.titles[j], f32ToB64(this.row(j))]);
    return { rows };
  }

  /** Restores a group's rows; their neighbour lists are recomputed lazily, the stored ones stay as they are. */
  restore(group: number, json: ContentIndexJSON | undefined): void {
    for (const [id, title, v] of json?.rows ?? []) {
      if (this.pos.has(id)) continue;
      this.add(id, b64ToF32(v), title, group);
    }
  }

  /** Blended similar-items list: content neighbours plus co-engaged partners (see blendSimilar). */
  similar(id: string, coEngaged: readonly { resourceId: string; score: number }[], limit = this.k): SimilarItem[] {
    return blendSimilar(id, this.title(id), this.neighbours(id), coEngaged, (b) => this.cosine(id, b), this.minCosine, limit);
  }

  private row(j: number): Float32Array {
    return this.matrix.subarray(j * this.dim, (j + 1) * this.dim);
  }

  private sameVector(j: number, v: Float32Array): boolean {
    if (v.length !== this.dim) return false;
    const r = this.row(j);
    for (let d = 0; d < this.dim; d++) if (r[d] !== v[d]) return false;
    return true;
  }

  private add(id: string, vector: Float32Array, title: string, group: number): number {
    if (this.dim === 0) this.dim = vector.length;
    if (vector.length !== this.dim)
      throw new InvariantError(`content vector of ${id} has ${vector.length} dimensions, the index ${this.dim}`);
    const i = this.ids.length;
    if ((i + 1) * this.dim > this.matrix.length) {
      const grown = new Float32Array(Math.max(64, (i + 1) * 2) * this.dim);
      grown.set(this.matrix);
      this.matrix = grown;
    }
    this.matrix.set(vector, i * this.dim);
    this.ids.push(id);
    this.titles.push(title);
    this.groups.push(group);
    this.lists.push(undefined);
    this.pos.set(id, i);
    return i;
  }

  private search(i: number): Neighbour[] {
    const n = this.ids.length;
    const m = { vectors: this.matrix.subarray(0, n * this.dim), ids: this.ids, dim: this.dim };
    return contentNeighbours(this.row(i), m, this.k, { selfId: this.ids[i], minCosine: this.minCosine }).map((s) => ({
      id: s.resourceId,
      score: s.score,
    }));
  }
}

/** Weight of content similarity in the blend; the rest is co-engagement confidence. */
const CONTENT_WEIGHT = 0.7;
/** Co-engagement count at which its confidence is one half (count / (count + this)). */
const CO_HALF = 3;
/** A partner found by co-engagement alone needs at least this many learners in common. */
const MIN_CO_ONLY = 2;

/**
 * "More like this" for one resource: its content neighbours and its co-engaged partners (learners who engaged with it
 * also engaged with them), scored 0.7 × cosine + 0.3 × count / (count + 3), best first, with a `content-similar`
 * reason when the cosine clears `minCosine` and a `co-engaged` reason when learners share it. Partners without a
 * content vector here (unknown or removed resources) are left out.
 */
export function blendSimilar(
  selfId: string,
  selfTitle: string | undefined,
  content: readonly Neighbour[],
  coEngaged: readonly { resourceId: string; score: number }[],
  cosine: (other: string) => number | undefined,
  minCosine: number,
  limit: number,
): SimilarItem[] {
  const co = new Map(coEngaged.filter((c) => c.resourceId !== selfId).map((c) => [c.resourceId, c.score]));
  const candidates = new Map<string, number>(content.map((n) => [n.id, n.score]));
  for (const [id, count] of co) {
    if (candidates.has(id) || count < MIN_CO_ONLY) continue;
    const c = cosine(id);
    if (c !== undefined) candidates.set(id, c);
  }
  const name = selfTitle ?? selfId;
  const out: SimilarItem[] = [];
  for (const [id, cos] of candidates) {
    const count = co.get(id) ?? 0;
    const score = CONTENT_WEIGHT * Math.max(0, cos) + (1 - CONTENT_WEIGHT) * (count / (count + CO_HALF));
    const reasons: SimilarItem['reasons'] = [];
    if (cos >= minCosine) reasons.push({ code: 'content-similar', text: `Similar to ${name}`, ref: selfId });
    if (count > 0) reasons.push({ code: 'co-engaged', text: `Learners who engaged with ${name} also engaged with this`, ref: selfId });
    out.push({ resourceId: id, score: Math.round(score * 1e4) / 1e4, reasons });
  }
  out.sort((a, b) => b.score - a.score || (a.resourceId < b.resourceId ? -1 : 1));
  return out.slice(0, limit);
}
