/**
 * Sentence pooling over a transformer's last hidden state, exactly as sentence-transformers' Pooling + Normalize
 * modules do it, kept pure so it is unit-tested without a model.
 */
import { normalizeInPlace } from '../../models/content/vector';

export type PoolingMode = 'mean' | 'cls';

/**
 * @param hidden  last_hidden_state, row-major [batch, seq, dim]
 * @param mask    attention mask, row-major [batch, seq] (1 = real token, 0 = padding)
 * @returns one unit-length vector per batch row
 */
export function poolAndNormalize(
  hidden: Float32Array,
  mask: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
  dim: number,
  mode: PoolingMode = 'mean',
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(dim);
    const base = b * seq * dim;
    if (mode === 'cls') {
      v.set(hidden.subarray(base, base + dim));
    } else {
      // accumulate in float64: 256 tokens x float32 rounding would otherwise show in the 4th digit
      const acc = new Float64Array(dim);
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (Number(mask[b * seq + s]) === 0) continue;
        count++;
        const o = base + s * dim;
        for (let d = 0; d < dim; d++) acc[d] += hidden[o + d];
      }
      // clamp like sentence-transformers (torch.clamp(sum_mask, min=1e-9)): an all-padding row gives a zero vector
      const denom = Math.max(count, 1e-9);
      for (let d = 0; d < dim; d++) v[d] = acc[d] / denom;
    }
    out.push(normalizeInPlace(v));
  }
  return out;
}
