import { keyedRng } from '../random/prng';
import { eventWeight, type CollabOptions, type Interaction } from './options';
import { initVector } from './table';

/**
 * The per-event learning rule, split so the learner side and the item side can live in different stages:
 *
 *   learner stage:  learnerStep(learner, itemReplica, event) -> { learner', gradients }   (owns learner rows)
 *   item stage:     applyItemUpdate(item, gradient) -> item'                             (owns resource rows)
 *
 * Loss: confidence-weighted logistic loss on sigma(b_i + b_u + p_u . q_i), target 1 for the engaged resource of a
 * positive event, target 0 for sampled negatives and for negative feedback (dislike, skip, low rating).
 */

/** A learner's row, as owned by the learner stage. */
export interface LearnerFactors {
  vector: Float32Array;
  bias: number;
  /** exact number of events applied */
  count: number;
  /** event time (ms) of the last applied event; NaN before the first */
  lastT: number;
}

/** A resource's row, as owned by the item stage. */
export interface ItemFactors {
  vector: Float32Array;
  bias: number;
  /** exact number of events whose resource this is (sampled negatives do not count) */
  count: number;
  lastT: number;
}

/** Read-only view of the resource factors a learner stage holds (a replica of the item stage's output). */
export interface ItemFactorsView {
  /** number of resources known, the pool negatives are sampled from */
  readonly size: number;
  idAt(index: number): string;
  /** current vector; undefined for a resource not in the replica yet (the deterministic init vector is used) */
  vector(resourceId: string): Float32Array | undefined;
  /** bias decayed to time `now` (ms); 0 for an unknown resource */
  bias(resourceId: string, now: number): number;
}

/** What the learner stage sends to the owner of a resource (keyed by resourceId). */
export interface ItemGradient {
  resourceId: string;
  /** d loss / d q_i (without regularisation, which the owner adds) */
  grad: Float32Array;
  /** d loss / d b_i */
  gradBias: number;
  /** true for the event's own resource: the item stage counts it as an event */
  countsAsEvent: boolean;
  /** event time, ms */
  timestamp: number;
}

export interface LearnerStepResult {
  learner: LearnerFactors;
  gradients: ItemGradient[];
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** 2^(-dt / halfLife), 1 when the half-life is infinite or there is no previous time. */
export function decayFactor(dtMs: number, halfLifeMs: number): number {
  if (!Number.isFinite(halfLifeMs) || !(dtMs > 0)) return 1;
  return Math.pow(2, -dtMs / halfLifeMs);
}

/** A fresh learner row (zero factors: an unknown learner is scored by resource biases alone until they act). */
export function newLearner(dim: number): LearnerFactors {
  return { vector: new Float32Array(dim), bias: 0, count: 0, lastT: Number.NaN };
}

/**
 * Learner side of one event. Pure: returns the updated learner row and the gradients for every resource touched
 * (the event's own resource and the sampled negatives). Negatives are drawn from a PRNG keyed by
 * (seed, learnerId, learner.count), so the same learner history gives the same samples on any instance.
 */
export function learnerStep(learner: LearnerFactors, items: ItemFactorsView, ev: Interaction, opts: CollabOptions): LearnerStepResult {
  const dim = opts.dim;
  const p = Float32Array.from(learner.vector);
  const t = ev.timestamp;
  const decay = Number.isNaN(learner.lastT) ? 1 : decayFactor(t - learner.lastT, opts.learnerHalfLifeMs);
  if (decay !== 1) for (let f = 0; f < dim; f++) p[f] *= decay;
  let bu = learner.bias;

  const w = eventWeight(ev, opts.weights);
  const samples: { id: string; y: number; c: number; own: boolean }[] = [];
  if (w > 0) {
    samples.push({ id: ev.resourceId, y: 1, c: w, own: true });
    const rng = keyedRng(opts.seed, ev.learnerId, learner.count);
    const picked = new Set<string>([ev.resourceId]);
    for (let tries = 0; samples.length <= opts.negatives && tries < opts.negatives * 3 && items.size > 0; tries++) {
      const id = items.idAt(Math.floor(rng() * items.size));
      if (picked.has(id)) continue;
      picked.add(id);
      samples.push({ id, y: 0, c: opts.negativeWeight, own: false });
    }
  } else {
    samples.push({ id: ev.resourceId, y: 0, c: -w, own: true });
  }

  const gradients: ItemGradient[] = [];
  for (const s of samples) {
    const q = items.vector(s.id) ?? initVector(s.id, opts.seed, opts.initStd, dim);
    const bi = items.bias(s.id, t);
    let x = bi + bu;
    for (let f = 0; f < dim; f++) x += p[f] * q[f];
    const g = s.c * (sigmoid(x) - s.y);
    const grad = new Float32Array(dim);
    for (let f = 0; f < dim; f++) {
      grad[f] = g * p[f];
      p[f] -= opts.lr * (g * q[f] + opts.reg * p[f]);
    }
    bu -= opts.lr * (g + opts.regBias * bu);
    gradients.push({ resourceId: s.id, grad, gradBias: g, countsAsEvent: s.own, timestamp: t });
  }
  const lastT = Number.isNaN(learner.lastT) ? t : Math.max(learner.lastT, t);
  return { learner: { vector: p, bias: bu, count: learner.count + 1, lastT }, gradients };
}

/** Item side: apply one gradient (with regularisation and bias time decay) to a resource row. Pure. */
export function applyItemUpdate(item: ItemFactors, g: ItemGradient, opts: CollabOptions): ItemFactors {
  const dim = opts.dim;
  const q = Float32Array.from(item.vector);
  for (let f = 0; f < dim; f++) q[f] -= opts.lr * (g.grad[f] + opts.reg * q[f]);
  let b = item.bias * (Number.isNaN(item.lastT) ? 1 : decayFactor(g.timestamp - item.lastT, opts.itemBiasHalfLifeMs));
  b -= opts.lr * (g.gradBias + opts.regBias * b);
  const lastT = Number.isNaN(item.lastT) ? g.timestamp : Math.max(item.lastT, g.timestamp);
  return { vector: q, bias: b, count: item.count + (g.countsAsEvent ? 1 : 0), lastT };
}
