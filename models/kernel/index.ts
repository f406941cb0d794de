/** Fast scoring kernel: one user against all items, then partial top-k. */
export { dotAll } from './dot';
export { topK, rankOf } from './topk';
