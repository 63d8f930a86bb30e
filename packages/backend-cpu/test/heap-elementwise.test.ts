// Elementwise kernels on the heap. layerNorm (gemm.wat's layer_norm, float64 in f64x2 lanes)
// against a float64 reference computed here and against the JavaScript kernel (norm.ts) it
// replaces for heap operands: odd widths (the lone last element), with and without weight and
// bias, a row offset. add/sub/mul/div of dense float32 operands (binary_f32) equal the float32
// rounding of the float64 operation on the host values, bit for bit, as the strided JavaScript
// loops (broadcast, transposed operands) do. Writes of contiguous rows (KV cache appends) copy exactly,
// and so do row gathers (an embedding lookup).
import '@attnkit/backend-cpu';
import {
  add,
  cat,
  div,
  embedding,
  indexSelect,
  layerNorm,
  mul,
  sub,
  tensor,
  zeros,
} from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { layerNormKernel } from '../src/kernels/norm.js';
import { rng } from './random.js';

/** LayerNorm of rows of n in float64 from the host values. */
function reference(
  x: Float32Array,
  n: number,
  w: Float32Array | null,
  b: Float32Array | null,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[r * n + i];
    const mean = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += (x[r * n + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / n + eps);
    for (let i = 0; i < n; i++)
      out[r * n + i] = (x[r * n + i] - mean) * rstd * (w ? w[i] : 1) + (b ? b[i] : 0);
  }
  return out;
}

describe('layerNorm on the heap', () => {
  it('equals a float64 reference and the JavaScript kernel (odd widths, optional affine)', () => {
    const r = rng(7);
    for (const [rows, n] of [
      [128, 768],
      [40, 7],
      [9, 301],
      [300, 1],
    ]) {
      for (const affine of [true, false]) {
        // values away from zero mean, as activations of a residual stream are
        const x = Float32Array.from({ length: rows * n }, () => 3 + (r() * 2 - 1) * 4);
        const w = affine ? Float32Array.from({ length: n }, () => r() * 2 - 1) : null;
        const b = affine ? Float32Array.from({ length: n }, () => r() * 2 - 1) : null;
        const eps = 1e-5;
        const X = tensor(x, [rows, n]);
        const got = layerNorm(
          X,
          [n],
          w ? tensor(w, [n]) : null,
          b ? tensor(b, [n]) : null,
          eps,
        ).dataSync() as Float32Array;
        const ref = reference(x, n, w, b, eps);
        const view = { storage: null, dtype: 'float32', shape: [rows, n], strides: [n, 1], offset: 0 };
        const wv = w ? { ...view, shape: [n], strides: [1] } : null;
        const js = layerNormKernel(view as never, x, wv as never, w, wv as never, b, eps);
        const label = `[${rows}, ${n}]${affine ? ' affine' : ''}`;
        // float64 throughout, rounded once: within half an ulp of float32 of the reference, and
        // within an ulp of norm.ts (whose sums run in another order)
        let worstRef = 0;
        let worstJs = 0;
        for (let i = 0; i < ref.length; i++) {
          worstRef = Math.max(worstRef, Math.abs(got[i] - ref[i]) / (2 ** -24 * Math.abs(ref[i]) + 1e-12));
          worstJs = Math.max(worstJs, Math.abs(got[i] - js[i]) / (2 ** -23 * Math.abs(js[i]) + 1e-12));
        }
        expect(worstRef, `${label}: error against float64, in half ulps`).toBeLessThanOrEqual(1);
        expect(worstJs, `${label}: difference from norm.ts, in ulps`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('reads a view of a row range in place (offset into the storage)', () => {
    const r = rng(8);
    const [rows, n] = [64, 33];
    const x = Float32Array.from({ length: rows * n }, () => r() * 2 - 1);
    const X = tensor(x, [rows, n]).sliceDim(0, 5, 60);
    const got = layerNorm(X, [n]).dataSync() as Float32Array;
    const ref = reference(x.subarray(5 * n, 60 * n), n, null, null, 1e-5);
    for (let i = 0; i < ref.length; i++)
      expect(Math.abs(got[i] - ref[i]), `element ${i}`).toBeLessThanOrEqual(
        2 ** -24 * Math.abs(ref[i]) + 1e-12,
      );
  });
});

describe('dense float32 add, sub, mul, div on the heap', () => {
  it('equal the float32 rounding of the float64 operation, dense, broadcast and transposed', () => {
    const r = rng(9);
    const [rows, n] = [37, 29]; // 1073 elements: quads and a tail
    const a = Float32Array.from({ length: rows * n }, () => r() * 8 - 4);
    const b = Float32Array.from({ length: rows * n }, () => r() * 8 - 4);
    const ops = { add, sub, mul, div };
    const f64 = {
      add: (x: number, y: number) => x + y,
      sub: (x: number, y: number) => x - y,
      mul: (x: number, y: number) => x * y,
      div: (x: number, y: number) => x / y,
    };
    for (const name of ['add', 'sub', 'mul', 'div'] as const) {
      const A = tensor(a, [rows, n]);
      const B = tensor(b, [rows, n]);
      const dense = ops[name](A, B).dataSync();
      const offset = ops[name](A.sliceDim(0, 1, rows - 1), B.sliceDim(0, 2, rows)).dataSync();
      const row = ops[name](A, B.sliceDim(0, 3, 4)).dataSync(); // broadcast: the strided loop
      const transposed = ops[name](A.T.contiguous(), B.T).dataSync(); // B transposed: the strided loop
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < n; j++) {
          const at = i * n + j;
          expect(dense[at], `${name} dense ${at}`).toBe(Math.fround(f64[name](a[at], b[at])));
          expect(row[at], `${name} broadcast ${at}`).toBe(Math.fround(f64[name](a[at], b[3 * n + j])));
          expect(transposed[j * rows + i], `${name} transposed ${at}`).toBe(
            Math.fround(f64[name](a[at], b[at])),
          );
          if (i < rows - 2)
            expect(offset[at], `${name} offset ${at}`).toBe(Math.fround(f64[name](a[at + n], b[at + 2 * n])));
        }
    }
  });

  it('writes of contiguous rows (concat, a KV cache append) copy the values exactly', () => {
    const r = rng(10);
    const x = Float32Array.from({ length: 2 * 4 * 16 * 8 }, () => r() * 2 - 1);
    const X = tensor(x, [2, 4, 16, 8]);
    const Y = cat([zeros([2, 4, 3, 8]), X], 2).dataSync();
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 4; h++)
        for (let t = 0; t < 19; t++)
          for (let d = 0; d < 8; d++) {
            const got = Y[((b * 4 + h) * 19 + t) * 8 + d];
            expect(got).toBe(t < 3 ? 0 : x[((b * 4 + h) * 16 + t - 3) * 8 + d]);
          }
  });

  it('copies of views with contiguous rows move the values exactly; casts still convert', () => {
    const r = rng(11);
    const x = Float32Array.from({ length: 2 * 16 * 4 * 8 }, () => r() * 2 - 1);
    // [B, L, H, D] viewed as [B, H, L, D] and made contiguous (splitting heads)
    const y = tensor(x, [2, 16, 4, 8]).transpose(1, 2).contiguous().dataSync();
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 4; h++)
        for (let t = 0; t < 16; t++)
          for (let d = 0; d < 8; d++)
            expect(y[((b * 4 + h) * 16 + t) * 8 + d]).toBe(x[((b * 16 + t) * 4 + h) * 8 + d]);
    for (const dtype of ['int8', 'int32'] as const) {
      const ints = Int32Array.from({ length: 1200 }, (_, i) => ((i * 7) % 255) - 127);
      const f = tensor(ints, [1200], dtype).cast('float32').dataSync();
      expect(Array.from(f), dtype).toEqual(Array.from(ints));
    }
  });

  it('row gathers (embedding lookups, indexSelect of rows) copy whole rows, from a row offset too', () => {
    const r = rng(12);
    const [rows, cols] = [50, 40];
    const w = Float32Array.from({ length: rows * cols }, () => r() * 2 - 1);
    const ids = [3, 0, 49, 3, 17, 48];
    const W = tensor(w, [rows, cols]);
    const byEmbedding = embedding(tensor(Int32Array.from(ids), [2, 3], 'int32'), W).dataSync();
    const bySelect = indexSelect(
      W.sliceDim(0, 1, rows),
      0,
      tensor(Int32Array.from(ids.map((i) => i % 49)), [6], 'int32'),
    ).dataSync();
    for (let t = 0; t < ids.length; t++)
      for (let c = 0; c < cols; c++) {
        expect(byEmbedding[t * cols + c]).toBe(w[ids[t] * cols + c]);
        expect(bySelect[t * cols + c]).toBe(w[((ids[t] % 49) + 1) * cols + c]);
      }
  });
});
