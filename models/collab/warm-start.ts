import { keyedRng } from '../random/prng';
import { foldIn, type FoldInObservation } from './fold-in';
import { OnlineCollab } from './model';
import { eventWeight, resolveOptions, type CollabOptions, type Interaction } from './options';
import { initVector } from './table';

/** Options of {@link warmStart}. */
export interface WarmStartOptions {
  /** alternating least-squares sweeps (learners, then resources); default 5 */
  sweeps?: number;
  /** L2 regularisation of each least-squares solve; default 0.1 */
  reg?: number;
}

/**
 * Batch warm start: fit learner and resource factors to a history with a few sweeps of alternating least squares
 * (ml-matrix Cholesky per row, see {@link foldIn}), instead of one pass of SGD, then continue online. Targets are 1
 * for positive events (confidence = event weight), 0 for negative feedback and for sampled negatives (the same
 * count and confidence as online, drawn once per learner from a keyed PRNG). Biases start at 0; event counts and
 * last-event times are set from the history, so the result is a model that "has seen" these events.
 */
export function warmStart(events: readonly Interaction[], options: Partial<CollabOptions> = {}, ws: WarmStartOptions = {}): OnlineCollab {
  const opts = resolveOptions(options);
  const sweeps = ws.sweeps ?? 5;
  const reg = ws.reg ?? 0.1;
  const dim = opts.dim;
  const itemIds: string[] = [];
  const itemIndex = new Map<string, number>();
  const itemCount: number[] = [];
  const itemLast: number[] = [];
  const learners = new Map<string, { obs: { item: number; y: number; w: number }[]; count: number; last: number }>();
  for (const ev of events) {
    let i = itemIndex.get(ev.resourceId);
    if (i === undefined) {
      i = itemIds.length;
      itemIndex.set(ev.resourceId, i);
      itemIds.push(ev.resourceId);
      itemCount.push(0);
      itemLast.push(Number.NaN);
    }
    itemCount[i]++;
    itemLast[i] = Number.isNaN(itemLast[i]) ? ev.timestamp : Math.max(itemLast[i], ev.timestamp);
    const l = learners.get(ev.learnerId) ?? { obs: [], count: 0, last: Number.NaN };
    learners.set(ev.learnerId, l);
    l.count++;
    l.last = Number.isNaN(l.last) ? ev.timestamp : Math.max(l.last, ev.timestamp);
    const w = eventWeight(ev, opts.weights);
    if (w !== 0) l.obs.push({ item: i, y: w > 0 ? 1 : 0, w: Math.abs(w) });
  }
  // sampled negatives, once per learner
  for (const [id, l] of learners) {
    const rng = keyedRng(opts.seed, id, -2);
    const positives = l.obs.filter((o) => o.y === 1).length;
    const seen = new Set(l.obs.map((o) => o.item));
    for (let k = 0; k < positives * opts.negatives && seen.size < itemIds.length; k++) {
      const j = Math.floor(rng() * itemIds.length);
      if (seen.has(j)) continue;
      seen.add(j);
      l.obs.push({ item: j, y: 0, w: opts.negativeWeight });
    }
  }
  const Q = itemIds.map((id) => initVector(id, opts.seed, opts.initStd, dim));
  const P = new Map<string, Float32Array>();
  const byItem: { learner: string; y: number; w: number }[][] = itemIds.map(() => []);
  for (const [id, l] of learners) for (const o of l.obs) byItem[o.item].push({ learner: id, y: o.y, w: o.w });
  for (let s = 0; s < sweeps; s++) {
    for (const [id, l] of learners) {
      const obs: FoldInObservation[] = l.obs.map((o) => ({ vector: Q[o.item], target: o.y, weight: o.w }));
      P.set(id, obs.length ? foldIn(obs, dim, reg) : new Float32Array(dim));
    }
    for (let i = 0; i < itemIds.length; i++) {
      const obs: FoldInObservation[] = byItem[i].map((o) => ({ vector: P.get(o.learner)!, target: o.y, weight: o.w }));
      if (obs.length) Q[i] = foldIn(obs, dim, reg);
    }
  }
  const model = new OnlineCollab(opts);
  itemIds.forEach((id, i) => model.setResourceRow(id, { vector: Q[i], bias: 0, count: itemCount[i], lastT: itemLast[i] }));
  for (const [id, l] of learners) model.setLearnerRow(id, { vector: P.get(id)!, bias: 0, count: l.count, lastT: l.last });
  return model;
}
