import {
  applyItemUpdate as applyGradient,
  decayFactor,
  initVector,
  learnerStep,
  newLearner,
  resolveOptions,
  type CollabOptions,
  type Interaction,
  type InteractionKind,
  type ItemFactorsView,
  type ItemGradient,
  type LearnerFactors,
  type LearnerStepResult,
} from '../../models/collab';
import { gaussian, keyedRng } from '../../models/random/prng';
import type { ItemTable } from './item-table';

/**
 * The pipeline's view of the collaborative model (models/collab), split along state ownership: the learner stage
 * runs `learnerStep` against its item table (replica or owned) and routes the gradients to the item owner, which runs
 * `applyGradient` on its authoritative row. Both are pure and deterministic (negatives come from a PRNG keyed by
 * seed, learner and the learner's event count), which is what makes replay after a crash reproduce the same state.
 */
export interface CollabModel {
  readonly dim: number;
  readonly options: CollabOptions;
  newLearner(): LearnerFactors;
  /** Initial factors of a resource: from its content vector when given (cold start), else the seeded init. */
  newItemFactors(itemId: string, content?: Float32Array): Float32Array;
  learnerStep(learner: LearnerFactors, table: ItemTable, ev: Interaction): LearnerStepResult;
  /** Owner side: apply one gradient to row `i` of the authoritative table, in place. */
  applyGradient(table: ItemTable, i: number, g: ItemGradient): void;
}

export function createCollabModel(partial: Partial<CollabOptions>): CollabModel {
  const opts = resolveOptions(partial);
  const dim = opts.dim;
  let projection: Float32Array | null = null;
  const view = (table: ItemTable): ItemFactorsView => ({
    get size() {
      return table.size;
    },
    idAt: (i) => table.ids[i],
    vector: (id) => {
      const i = table.indexOf(id);
      return i < 0 ? undefined : table.row(i);
    },
    bias: (id, now) => {
      const i = table.indexOf(id);
      return i < 0 ? 0 : table.bias[i] * decayFactor(now - table.lastT[i], opts.itemBiasHalfLifeMs);
    },
  });
  return {
    dim,
    options: opts,
    newLearner: () => newLearner(dim),
    newItemFactors(itemId, content) {
      if (!content || content.length === 0) return initVector(itemId, opts.seed, opts.initStd, dim);
      // Cold start from text: a fixed seeded random projection of the (unit-norm) sentence embedding into factor
      // space, scaled to the init spread, so similar texts start close together and a new resource scores like its
      // textual neighbours' direction. (A learned mapping belongs to models/; this is the pipeline's fallback.)
      const c = content.length;
      if (!projection || projection.length !== dim * c) {
        const rng = keyedRng(opts.seed, 'content-projection', c);
        projection = new Float32Array(dim * c);
        for (let k = 0; k < projection.length; k++) projection[k] = gaussian(rng, 1);
      }
      const out = new Float32Array(dim);
      for (let d = 0; d < dim; d++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += projection[d * c + k] * content[k];
        out[d] = s * opts.initStd * 3;
      }
      return out;
    },
    learnerStep: (learner, table, ev) => learnerStep(learner, view(table), ev, opts),
    applyGradient(table, i, g) {
      const next = applyGradient({ vector: table.row(i), bias: table.bias[i], count: table.counts[i], lastT: table.lastT[i] }, g, opts);
      table.factors.set(next.vector, i * dim);
      table.writes++;
      table.bias[i] = next.bias;
      table.counts[i] = next.count;
      table.lastT[i] = next.lastT;
    },
  };
}

/** Maps the learning.interactions event types onto the model's interaction kinds. */
export function interactionKind(type: string): { kind: InteractionKind; useValue: 'value' | 'dwell' | 'none' } {
  switch (type) {
    case 'rate':
      return { kind: 'rating', useValue: 'value' };
    case 'start':
      return { kind: 'click', useValue: 'none' };
    case 'progress':
      return { kind: 'dwell', useValue: 'dwell' };
    case 'like':
      return { kind: 'bookmark', useValue: 'none' };
    case 'view':
    case 'click':
    case 'complete':
    case 'bookmark':
    case 'dislike':
    case 'skip':
      return { kind: type, useValue: 'none' };
    default:
      return { kind: 'view', useValue: 'none' };
  }
}
