import type { View } from '@attnkit/tensor-core';

/**
 * Fused softmax (or log-softmax) along the last dim of a contiguous float32 view: per row, the max,
 * then exp(x - max) and its sum (accumulated in float64), then the normalisation.
 */
export function softmaxKernel(
  x: View,
  src: Float32Array,
  log: boolean,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Float32Array {
  const shape = x.shape;
  const n = shape.length ? shape[shape.length - 1] : 1;
  let total = 1;
  for (const s of shape) total *= s;
  const out = alloc(total);
  const rows = n === 0 ? 0 : total / n;
  for (let r = 0; r < rows; r++) {
    const base = x.offset + r * n;
    const o = r * n;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = src[base + i];
      if (v > m || Number.isNaN(v)) m = v;
    }
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(src[base + i] - m);
      if (!log) out[o + i] = e;
      s += e;
    }
    if (log) {
      const ls = Math.log(s);
      for (let i = 0; i < n; i++) out[o + i] = src[base + i] - m - ls;
    } else {
      const inv = 1 / s;
      for (let i = 0; i < n; i++) out[o + i] *= inv;
    }
  }
  return out;
}
