/**
 * "More like this": the nearest resources to one resource by content (cosine of unit vectors), for the read API's
 * similar-items endpoint (ServingStore.putSimilar). One pass of the scoring kernel over the catalogue's content
 * matrix plus the partial top-k, so the catalog stage can refresh neighbours whenever it embeds a resource.
 */
import { dotAll, topK } from '../kernel';
import type { Reason } from '../ranking/types';

export interface SimilarItem {
  resourceId: string;
  score: number;
  reasons: Reason[];
}

export interface ContentMatrix {
  /** row-major unit vectors, `ids.length` rows of `dim` */
  vectors: Float32Array;
  ids: readonly string[];
  dim: number;
  /** optional titles for the reason text */
  titles?: readonly (string | undefined)[];
}

/**
 * The `k` resources closest to `vector` (excluding `selfId` and anything below `minCosine`, default 0.3: below it
 * MiniLM neighbours are mostly noise), best first, each with a `content-similar` reason referring to `selfId`.
 */
export function contentNeighbours(
  vector: Float32Array,
  m: ContentMatrix,
  k: number,
  opts: { selfId?: string; selfTitle?: string; minCosine?: number } = {},
): SimilarItem[] {
  const n = m.ids.length;
  if (n === 0 || k <= 0) return [];
  const scores = new Float32Array(n);
  dotAll(vector, m.vectors, n, m.dim, scores);
  const min = opts.minCosine ?? 0.3;
  for (let i = 0; i < n; i++) if (scores[i] < min || m.ids[i] === opts.selfId) scores[i] = -Infinity;
  return Array.from(topK(scores, n, k), (i) => ({
    resourceId: m.ids[i],
    score: Math.round(scores[i] * 1e4) / 1e4,
    reasons: [
      { code: 'content-similar' as const, text: `Similar to ${opts.selfTitle ?? opts.selfId ?? 'this resource'}`, ref: opts.selfId },
    ],
  }));
}
