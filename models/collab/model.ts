import { dotAll } from '../kernel';
import { resolveOptions, type CollabOptions, type Interaction } from './options';
import {
  applyItemUpdate,
  decayFactor,
  learnerStep,
  type ItemFactors,
  type ItemFactorsView,
  type ItemGradient,
  type LearnerFactors,
  type LearnerStepResult,
} from './step';
import { FactorTable, type FactorTableData } from './table';
import { foldIn } from './fold-in';

/** Serialized state of {@link OnlineCollab}: plain JSON, restores to identical predictions. */
export interface CollabState {
  version: 1;
  options: CollabOptions;
  learners: FactorTableData;
  resources: FactorTableData;
  /** reference time (ms) of the scaled-bias cache; part of the state so a restored model scores bit-identically */
  biasRef: number;
}

/**
 * The online collaborative model in one process (deterministic mode): `observe` runs the learner step and applies the
 * resulting item gradients synchronously. The pipeline uses the same {@link learnerStep} / {@link applyItemUpdate}
 * split across its learner and item stages; `learnerRow` / `setLearnerRow` / `applyGradient` expose that split on
 * this in-memory state.
 */
export class OnlineCollab {
  readonly options: CollabOptions;
  private learners: FactorTable;
  private resources: FactorTable;
  private readonly view: ItemFactorsView;
  /**
   * Cache of b_i * 2^((lastT_i - biasRef) / halfLife): the decayed bias at time `now` is then this times one shared
   * factor 2^(-(now - biasRef) / halfLife), instead of one pow per resource per ranking (the hot loop).
   */
  private scaledBias = new Float64Array(256);
  private biasRef = Number.NaN;
  private biasTmp = new Float32Array(256);

  constructor(options: Partial<CollabOptions> = {}, state?: { learners: FactorTable; resources: FactorTable; biasRef: number }) {
    this.options = resolveOptions(options);
    this.learners = state?.learners ?? new FactorTable(this.options.dim);
    this.resources = state?.resources ?? new FactorTable(this.options.dim);
    const res = () => this.resources;
    const opts = this.options;
    this.view = {
      get size() {
        return res().size;
      },
      idAt: (i) => res().ids[i],
      vector: (id) => {
        const r = res().indexOf(id);
        return r === undefined ? undefined : res().row(r);
      },
      bias: (id, now) => {
        const r = res().indexOf(id);
        if (r === undefined) return 0;
        const table = res();
        return table.biases[r] * decayFactor(now - table.lastT[r], opts.itemBiasHalfLifeMs);
      },
    };
    if (state) {
      this.biasRef = state.biasRef;
      this.rebuildBiasCache();
    }
  }

  private scaleOf(r: number): number {
    const hl = this.options.itemBiasHalfLifeMs;
    const t = this.resources.lastT[r];
    if (!Number.isFinite(hl) || Number.isNaN(t)) return 1;
    return Math.pow(2, (t - this.biasRef) / hl);
  }

  private rebuildBiasCache(): void {
    const n = this.resources.size;
    if (this.scaledBias.length < n) this.scaledBias = new Float64Array(Math.max(256, n * 2));
    for (let r = 0; r < n; r++) this.scaledBias[r] = this.resources.biases[r] * this.scaleOf(r);
  }

  /** Learn from one interaction: learner step, then every item gradient, in order. */
  observe(ev: Interaction): void {
    const result = this.learnerStep(ev);
    this.setLearnerRow(ev.learnerId, result.learner);
    for (const g of result.gradients) this.applyGradient(g);
  }

  /** Learner side only, against this model's resource table as the read-only replica. Does not change state. */
  learnerStep(ev: Interaction): LearnerStepResult {
    return learnerStep(this.learnerRow(ev.learnerId), this.view, ev, this.options);
  }

  /** A copy of a learner's row (a zero row for an unknown learner). */
  learnerRow(learnerId: string): LearnerFactors {
    const r = this.learners.indexOf(learnerId);
    if (r === undefined) return { vector: new Float32Array(this.options.dim), bias: 0, count: 0, lastT: Number.NaN };
    return {
      vector: Float32Array.from(this.learners.row(r)),
      bias: this.learners.biases[r],
      count: this.learners.counts[r],
      lastT: this.learners.lastT[r],
    };
  }

  setLearnerRow(learnerId: string, row: LearnerFactors): void {
    const r = this.ensureLearner(learnerId);
    this.learners.row(r).set(row.vector);
    this.learners.biases[r] = row.bias;
    this.learners.counts[r] = row.count;
    this.learners.lastT[r] = row.lastT;
  }

  /**
   * Place a learner by least squares against the current resource vectors (see {@link foldIn}); resources not known
   * yet are skipped. Event counts are left alone: fold-in sets a starting point, it is not an event.
   */
  foldInLearner(learnerId: string, engaged: readonly { resourceId: string; weight?: number }[], reg = 0.1): void {
    const obs = [];
    for (const e of engaged) {
      const r = this.resources.indexOf(e.resourceId);
      if (r === undefined) continue;
      obs.push({ vector: this.resources.row(r), target: 1, weight: e.weight ?? 1 });
    }
    if (obs.length === 0) return;
    const row = this.learnerRow(learnerId);
    row.vector = foldIn(obs, this.options.dim, reg);
    this.setLearnerRow(learnerId, row);
  }

  /** Item side: apply one gradient to the resource's row, creating the row if the resource is new. */
  applyGradient(g: ItemGradient): void {
    const t = this.resources;
    const r = t.ensure(g.resourceId, this.options.seed, this.options.initStd);
    const next = applyItemUpdate({ vector: t.row(r), bias: t.biases[r], count: t.counts[r], lastT: t.lastT[r] }, g, this.options);
    t.row(r).set(next.vector);
    t.biases[r] = next.bias;
    t.counts[r] = next.count;
    t.lastT[r] = next.lastT;
    if (Number.isNaN(this.biasRef)) this.biasRef = next.lastT;
    const hl = this.options.itemBiasHalfLifeMs;
    if (Number.isFinite(hl) && (next.lastT - this.biasRef) / hl > 500) {
      // keep 2^x finite: move the reference forward and recompute the cache from the rows (the source of truth)
      this.biasRef = next.lastT;
      this.rebuildBiasCache();
    }
    if (this.scaledBias.length <= r) {
      const b = new Float64Array(Math.max(256, this.scaledBias.length * 2, r + 1));
      b.set(this.scaledBias);
      this.scaledBias = b;
    }
    this.scaledBias[r] = t.biases[r] * this.scaleOf(r);
  }

  /** Overwrite (or create) a resource's whole row: batch warm start and restoring an owner's row. */
  setResourceRow(resourceId: string, row: ItemFactors): void {
    const t = this.resources;
    const r = t.ensure(resourceId, this.options.seed, this.options.initStd);
    t.row(r).set(row.vector);
    t.biases[r] = row.bias;
    t.counts[r] = row.count;
    t.lastT[r] = row.lastT;
    if (Number.isNaN(this.biasRef) && !Number.isNaN(row.lastT)) this.biasRef = row.lastT;
    if (this.scaledBias.length <= r) {
      const b = new Float64Array(Math.max(256, this.scaledBias.length * 2, r + 1));
      b.set(this.scaledBias);
      this.scaledBias = b;
    }
    this.scaledBias[r] = t.biases[r] * this.scaleOf(r);
  }

  /** A copy of a resource's row, or undefined if the resource is unknown (cold start trains its text -> factor map on these). */
  resourceRow(resourceId: string): ItemFactors | undefined {
    const t = this.resources;
    const r = t.indexOf(resourceId);
    if (r === undefined) return undefined;
    return { vector: Float32Array.from(t.row(r)), bias: t.biases[r], count: t.counts[r], lastT: t.lastT[r] };
  }

  /**
   * Cold start: creates a resource before its first event, starting from `vector` / `bias` (e.g. predicted from its
   * text by models/content ContentFactorMap); `vector` undefined = the default deterministic initialisation. Returns
   * false and changes nothing if the resource already exists (its learned factor wins over any prior). `at` (ms) is
   * when the prior was made: the bias decays from then like a learned one (omitted: no decay reference, lastT NaN).
   * The event count stays 0.
   */
  initResource(resourceId: string, vector?: Float32Array, bias = 0, at?: number): boolean {
    const t = this.resources;
    if (t.indexOf(resourceId) !== undefined) return false;
    const r = t.ensure(resourceId, this.options.seed, this.options.initStd);
    if (vector) t.row(r).set(vector);
    t.biases[r] = bias;
    if (at !== undefined) {
      t.lastT[r] = at;
      if (Number.isNaN(this.biasRef)) this.biasRef = at;
    }
    if (this.scaledBias.length <= r) {
      const b = new Float64Array(Math.max(256, this.scaledBias.length * 2, r + 1));
      b.set(this.scaledBias);
      this.scaledBias = b;
    }
    this.scaledBias[r] = t.biases[r] * this.scaleOf(r);
    return true;
  }

  /** Dense index of a resource in score arrays, or undefined if never seen. */
  resourceIndex(resourceId: string): number | undefined {
    return this.resources.indexOf(resourceId);
  }

  resourceIdAt(index: number): string {
    return this.resources.ids[index];
  }

  get resourceCount(): number {
    return this.resources.size;
  }

  get learnerCount(): number {
    return this.learners.size;
  }

  /** Exact number of events applied to a learner / a resource (0 if unknown). */
  learnerEvents(learnerId: string): number {
    const r = this.learners.indexOf(learnerId);
    return r === undefined ? 0 : this.learners.counts[r];
  }

  resourceEvents(resourceId: string): number {
    const r = this.resources.indexOf(resourceId);
    return r === undefined ? 0 : this.resources.counts[r];
  }

  /**
   * Score every known resource for a learner at time `now` (ms): decayed resource bias + p_u . q_i, written to
   * out[0 .. resourceCount) in resource index order. An unknown learner gets the biases (a recent-popularity prior).
   */
  scoreAll(learnerId: string, now: number, out: Float64Array): void {
    const n = this.resources.size;
    const t = this.resources;
    if (this.biasTmp.length < n) this.biasTmp = new Float32Array(n * 2);
    const bias = this.biasTmp;
    const hl = this.options.itemBiasHalfLifeMs;
    const shared = Number.isFinite(hl) && !Number.isNaN(this.biasRef) ? Math.pow(2, -(now - this.biasRef) / hl) : 1;
    const sb = this.scaledBias;
    for (let i = 0; i < n; i++) bias[i] = sb[i] * shared;
    const lr = this.learners.indexOf(learnerId);
    if (lr === undefined) {
      for (let i = 0; i < n; i++) out[i] = bias[i];
      return;
    }
    const u = Float32Array.from(this.learners.row(lr));
    const decay = decayFactor(now - this.learners.lastT[lr], this.options.learnerHalfLifeMs);
    if (decay !== 1) for (let f = 0; f < u.length; f++) u[f] *= decay;
    dotAll(u, t.vectors, n, this.options.dim, out, bias);
  }

  /** Predicted probability-like score for one pair (the model's logit through a sigmoid). */
  predict(learnerId: string, resourceId: string, now: number): number {
    const out = new Float64Array(this.resources.size);
    this.scoreAll(learnerId, now, out);
    const i = this.resources.indexOf(resourceId);
    const x = i === undefined ? 0 : out[i];
    return 1 / (1 + Math.exp(-x));
  }

  serialize(): CollabState {
    return {
      version: 1,
      options: this.options,
      learners: this.learners.toJSON(),
      resources: this.resources.toJSON(),
      biasRef: Number.isNaN(this.biasRef) ? 0 : this.biasRef,
    };
  }

  static deserialize(state: CollabState): OnlineCollab {
    return new OnlineCollab(state.options, {
      learners: FactorTable.fromJSON(state.learners),
      resources: FactorTable.fromJSON(state.resources),
      biasRef: state.resources.ids.length === 0 ? Number.NaN : state.biasRef,
    });
  }

  private ensureLearner(id: string): number {
    // learners start at zero (not random): with no events there is nothing to say about them
    const r = this.learners.indexOf(id);
    if (r !== undefined) return r;
    const row = this.learners.ensure(id, this.options.seed, 0);
    return row;
  }
}
