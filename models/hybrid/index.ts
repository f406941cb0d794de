export { HybridRecommender, type HybridOptions } from './blend';
