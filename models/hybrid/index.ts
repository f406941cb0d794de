export { HybridRecommender, type HybridOptions, type HybridState } from './blend';
