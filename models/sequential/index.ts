/** Sequential signals: what learners engage with next after what they just did. */
export { ItemTransitions, type TransitionOptions, type TransitionLink, type TransitionState } from './transitions';
export { SparseRows, type SparseRowsData } from './sparseRows';
