/**
 * Score one user vector against every item of a row-major factor matrix (`items[i * dim + f]`). Plain Float32Array
 * loops: measured faster than ml-matrix (boxed rows, allocation per product) for one-vs-all products at the
 * dimensions we use; see bench/ and docs/evaluation.md for the measurement.
 */
export function dotAll(
  user: Float32Array,
  items: Float32Array,
  n: number,
  dim: number,
  out: Float32Array | Float64Array,
  itemBias?: Float32Array,
): void {
  if (dim === 10) {
    // the common ISGD dimension, unrolled: the loop-carried dependency is what costs, not the multiplies
    const u0 = user[0],
      u1 = user[1],
      u2 = user[2],
      u3 = user[3],
      u4 = user[4];
    const u5 = user[5],
      u6 = user[6],
      u7 = user[7],
      u8 = user[8],
      u9 = user[9];
    for (let i = 0, o = 0; i < n; i++, o += 10) {
      out[i] =
        u0 * items[o] +
        u1 * items[o + 1] +
        u2 * items[o + 2] +
        u3 * items[o + 3] +
        u4 * items[o + 4] +
        u5 * items[o + 5] +
        u6 * items[o + 6] +
        u7 * items[o + 7] +
        u8 * items[o + 8] +
        u9 * items[o + 9] +
        (itemBias ? itemBias[i] : 0);
    }
    return;
  }
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    let s0 = 0,
      s1 = 0;
    let f = 0;
    for (; f + 1 < dim; f += 2) {
      s0 += user[f] * items[o + f];
      s1 += user[f + 1] * items[o + f + 1];
    }
    if (f < dim) s0 += user[f] * items[o + f];
    out[i] = s0 + s1 + (itemBias ? itemBias[i] : 0);
  }
}
