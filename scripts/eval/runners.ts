import { evalColdStart } from './coldstart';
import { evalInterests } from './interests';
import { evalKernels } from './kernels';
import { KNOWLEDGE_RUNNERS } from './knowledge';
import { evalMovielens } from './recommendation';
import { REVIEW_RUNNERS } from './review';
import { evalSimulated } from './simulated';
import type { EvalRunner } from './types';

/**
 * Dataset name -> evaluation. Recommendation datasets live in ./recommendation.ts; knowledge datasets (statics,
 * oulad, ednet), cold start, cold learners from their interests (`edx-interests`) and the scoring-kernel timing (`kernels`, synthetic data) register here too, each as one
 * entry calling its own module.
 */
export const RUNNERS: Record<string, EvalRunner> = {
  movielens: evalMovielens,
  'movielens-latest-small': evalMovielens,
  'ml-100k': evalMovielens,
  ...KNOWLEDGE_RUNNERS,
  ...REVIEW_RUNNERS,
  'movielens-coldstart': evalColdStart,
  kernels: evalKernels,
  'edx-interests': evalInterests,
  simulated: evalSimulated,
};
