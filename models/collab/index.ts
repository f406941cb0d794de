/** Online collaborative model: implicit-feedback SGD on learner and resource factors with biases. */
export * from './options';
export * from './step';
export { FactorTable, initVector, type FactorTableData } from './table';
export { OnlineCollab, type CollabState } from './model';
export { foldIn, type FoldInObservation } from './fold-in';
export { warmStart, type WarmStartOptions } from './warm-start';
