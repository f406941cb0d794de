import { CholeskyDecomposition, Matrix } from 'ml-matrix';

/** One observation for a least-squares fold-in: a resource vector, a target and its confidence. */
export interface FoldInObservation {
  vector: Float32Array;
  /** 1 for engaged, 0 for negative feedback */
  target: number;
  /** confidence weight, > 0 */
  weight: number;
}

/**
 * Least-squares fold-in of one learner against fixed resource vectors (one ALS half-step):
 *   p = argmin sum_j w_j (y_j - p . q_j)^2 + reg * |p|^2  =>  (Q^T W Q + reg I) p = Q^T W y.
 * Used to place a learner from a known history in one shot (a learner re-created after erasure of their online state,
 * a batch warm start, or interests mapped to resources) instead of waiting for many SGD steps. ml-matrix's Cholesky
 * fits: the system is small (dim x dim), symmetric and positive definite for reg > 0.
 */
export function foldIn(observations: readonly FoldInObservation[], dim: number, reg = 0.1): Float32Array {
  const A = Matrix.eye(dim, dim).mul(reg);
  const b = Matrix.zeros(dim, 1);
  for (const o of observations) {
    const q = o.vector;
    for (let r = 0; r < dim; r++) {
      const wq = o.weight * q[r];
      b.set(r, 0, b.get(r, 0) + wq * o.target);
      for (let c = 0; c < dim; c++) A.set(r, c, A.get(r, c) + wq * q[c]);
    }
  }
  const x = new CholeskyDecomposition(A).solve(b);
  return Float32Array.from(x.getColumn(0));
}
