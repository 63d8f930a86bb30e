import type { View } from '@attnkit/tensor-core';

function rowsOf(x: View): [number, number] {
  const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  let total = 1;
  for (const s of x.shape) total *= s;
  return [n === 0 ? 0 : total / n, n];
}

/**
 * Fused LayerNorm over the last dim of a contiguous float32 view, two-pass (mean, then squared
 * deviations) with float64 accumulators; `weight`/`bias` are contiguous 1-D views or null.
 */
export function layerNormKernel(
  x: View,
  src: Float32Array,
  weight: View | null,
  w: Float32Array | null,
  bias: View | null,
  bv: Float32Array | null,
  eps: number,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Float32Array {
  const [rows, n] = rowsOf(x);
  const out = alloc(rows * n);
  const wo = weight ? weight.offset : 0;
  const ws = weight?.strides.length ? weight.strides[0] : 1;
  const bo = bias ? bias.offset : 0;
  const bs = bias?.strides.length ? bias.strides[0] : 1;
  for (let r = 0; r < rows; r++) {
    const base = x.offset + r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += src[base + i];
    const mean = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const d = src[base + i] - mean;
      q += d * d;
    }
    const rstd = 1 / Math.sqrt(q / n + eps);
    const o = r * n;
    for (let i = 0; i < n; i++) {
      let y = (src[base + i] - mean) * rstd;
      if (w) y *= w[wo + i * ws];
      if (bv) y += bv[bo + i * bs];
      out[o + i] = y;
    }
  }
  return out;
}

/** Fused RMSNorm over the last dim of a contiguous float32 view: x / sqrt(mean(x²) + eps) * weight. */
export function rmsNormKernel(
  x: View,
  src: Float32Array,
  weight: View | null,
  w: Float32Array | null,
  eps: number,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Float32Array {
  const [rows, n] = rowsOf(x);
  const out = alloc(rows * n);
  const wo = weight ? weight.offset : 0;
  const ws = weight?.strides.length ? weight.strides[0] : 1;
  for (let r = 0; r < rows; r++) {
    const base = x.offset + r * n;
    let q = 0;
    for (let i = 0; i < n; i++) q += src[base + i] * src[base + i];
    const inv = 1 / Math.sqrt(q / n + eps);
    const o = r * n;
    for (let i = 0; i < n; i++) out[o + i] = w ? src[base + i] * inv * w[wo + i * ws] : src[base + i] * inv;
  }
  return out;
}
