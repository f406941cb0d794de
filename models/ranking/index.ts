/** The product ranker: collaborative + content + difficulty fit + prerequisites + diversity, with reasons. */
export { rank, resolveRankOptions, type RankInput, type RankOptionsInput, type RankResult } from './rank';
export { computeFeatures, difficultyFit, percentiles } from './features';
export { mmrSelect } from './mmr';
export { preselect } from './candidates';
export { reasonsFor } from './reasons';
export * from './types';
