import type { Conv2dParams } from '@attnkit/tensor-core';
import type { ConvGeometry } from './conv2d-threads.js';
import { matmulKernel } from './matmul.js';

/** A strided float32 operand: data, shape, strides (elements) and offset. */
export interface StridedF32 {
  data: Float32Array;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

/**
 * Where conv2d's GEMMs run: the default multiplies on the calling thread (matmulKernel over plain
 * arrays); the backend passes one over the heap that splits each product across the worker pool.
 */
export interface ConvProduct {
  /** A float32 scratch array of `n` elements that `product` reads in place (freed by `done`). */
  scratch(n: number): Float32Array;
  /** C[co + i*n + j] = Σ_q A[ao + i*k + q] · B[q*n + j] for i < m, j < n (C zero before). */
  product(
    A: Float32Array,
    ao: number,
    B: Float32Array,
    C: Float32Array,
    co: number,
    m: number,
    k: number,
    n: number,
  ): void;
  /**
   * Optionally unrolls the receptive fields of output rows [oh0, oh0 + rows) of image n, group g
   * into `cols` ([Cg·KH·KW, rows·OW]) itself, e.g. across threads; returns false to leave it to
   * the calling thread's loop (the same values either way).
   */
  im2col?(
    x: StridedF32,
    cols: Float32Array,
    geometry: ConvGeometry,
    n: number,
    g: number,
    oh0: number,
    rows: number,
  ): boolean;
  /**
   * Optionally runs the direct loop of small groups (`out` [N, O, OH, OW] zero before, weights Wm
   * contiguous [O, Cg·KH·KW]) itself, e.g. across threads; returns false to leave it to the calling
   * thread's loop (the same values either way: the same multiply-adds in the same order).
   */
  direct?(x: StridedF32, Wm: Float32Array, out: Float32Array, geometry: ConvGeometry): boolean;
  /** Releases the scratch arrays. */
  done(): void;
}

const plainProduct: ConvProduct = {
  scratch: (n) => new Float32Array(n),
  product: (A, ao, B, C, co, m, k, n) => matmulKernel(A, ao, k, 1, B, 0, n, 1, C, co, m, k, n),
  done: () => {},
};

/** Most floats the im2col buffer holds at once (16 MiB); larger images go in bands of output rows. */
const COLS_MAX = 1 << 22;

/**
 * 2-D convolution (torch semantics) as im2col + GEMM: for each image and group, the receptive
 * fields of a band of output rows are unrolled into a [Cg·kH·kW, rows·outW] matrix (zeros where
 * the window reads padding) and multiplied by the group's weights [Og, Cg·kH·kW] with the blocked
 * GEMM (`gemm`; by default on the calling thread). x [N, C, H, W] and w [O, C/groups, kH, kW]
 * may have any strides. Returns [N, O, outH, outW].
 */
export function conv2dKernel(
  x: StridedF32,
  w: StridedF32,
  p: Conv2dParams,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
  gemm: ConvProduct = plainProduct,
): Float32Array {
  try {
    return conv2dWith(x, w, p, alloc, gemm);
  } finally {
    gemm.done();
  }
}

function conv2dWith(
  x: StridedF32,
  w: StridedF32,
  p: Conv2dParams,
  alloc: (n: number) => Float32Array,
  gemm: ConvProduct,
): Float32Array {
  const [N, , H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const G = p.groups;
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  const L = OH * OW;
  const out = alloc(N * O * L);
  if (N === 0 || O === 0 || L === 0) return out;
  const K = Cg * KH * KW;
  const Og = O / G;
  // Weights as a contiguous [O, K] matrix.
  const Wm = gemm.scratch(O * K);
  {
    const [w0, w1, w2, w3] = w.strides;
    let q = 0;
    for (let o = 0; o < O; o++)
      for (let c = 0; c < Cg; c++)
        for (let a = 0; a < KH; a++) {
          const base = w.offset + o * w0 + c * w1 + a * w2;
          for (let e = 0; e < KW; e++) Wm[q++] = w.data[base + e * w3];
        }
  }
  if (K === 0) return out;
  const geometry: ConvGeometry = {
    N,
    H,
    W,
    O,
    Cg,
    KH,
    KW,
    OH,
    OW,
    stride: p.stride,
    padding: p.padding,
    dilation: p.dilation,
    groups: G,
  };
  // Few output channels per group (depthwise) gain nothing from a GEMM: loop directly.
  if (Og < 4 || K < 8) {
    if (!gemm.direct?.(x, Wm, out, geometry)) direct(x, Wm, out, N, O, Cg, H, W, KH, KW, OH, OW, p);
    return out;
  }
  const X = x.data;
  const [xs0, xs1, xs2, xs3] = x.strides;
  const band = Math.max(1, Math.min(OH, Math.floor(COLS_MAX / Math.max(1, K * OW))));
  const cols = gemm.scratch(K * band * OW);
  const tmp = band < OH ? gemm.scratch(Og * band * OW) : null;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      for (let oh0 = 0; oh0 < OH; oh0 += band) {
        const rows = Math.min(band, OH - oh0);
        const Lb = rows * OW;
        // im2col: row r = (c, a, e), column (oh, ow).
        if (gemm.im2col?.(x, cols, geometry, n, g, oh0, rows)) {
          multiply(gemm, Wm, cols, tmp, out, n, g, O, Og, K, L, Lb, oh0, OW);
          continue;
        }
        let r = 0;
        for (let c = 0; c < Cg; c++) {
          const xc = x.offset + n * xs0 + (g * Cg + c) * xs1;
          for (let a = 0; a < KH; a++) {
            for (let e = 0; e < KW; e++, r++) {
              const rowBase = r * Lb;
              const colOff = e * dw - pw;
              for (let i = 0; i < rows; i++) {
                const ih = (oh0 + i) * sh - ph + a * dh;
                const dst = rowBase + i * OW;
                if (ih < 0 || ih >= H) {
                  cols.fill(0, dst, dst + OW);
                  continue;
                }
                const src = xc + ih * xs2;
                for (let j = 0; j < OW; j++) {
                  const iw = j * sw + colOff;
                  cols[dst + j] = iw >= 0 && iw < W ? X[src + iw * xs3] : 0;
                }
              }
            }
          }
        }
        multiply(gemm, Wm, cols, tmp, out, n, g, O, Og, K, L, Lb, oh0, OW);
      }
    }
  }
  return out;
}

/** The group's GEMM of one band: out[n, g·Og + o, oh0 + rows] = Wm[g·Og + o] · cols (through `tmp` for bands). */
function multiply(
  gemm: ConvProduct,
  Wm: Float32Array,
  cols: Float32Array,
  tmp: Float32Array | null,
  out: Float32Array,
  n: number,
  g: number,
  O: number,
  Og: number,
  K: number,
  L: number,
  Lb: number,
  oh0: number,
  OW: number,
): void {
  const outBase = (n * O + g * Og) * L;
  if (!tmp) {
    gemm.product(Wm, g * Og * K, cols, out, outBase, Og, K, Lb);
  } else {
    tmp.fill(0, 0, Og * Lb);
    gemm.product(Wm, g * Og * K, cols, tmp, 0, Og, K, Lb);
    for (let o = 0; o < Og; o++) out.set(tmp.subarray(o * Lb, (o + 1) * Lb), outBase + o * L + oh0 * OW);
  }
}

/** The direct loop (one multiply-add per tap per output), for small groups. */
function direct(
  x: StridedF32,
  Wm: Float32Array,
  out: Float32Array,
  N: number,
  O: number,
  Cg: number,
  H: number,
  W: number,
  KH: number,
  KW: number,
  OH: number,
  OW: number,
  p: Conv2dParams,
): void {
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const Og = O / p.groups;
  const X = x.data;
  const [xs0, xs1, xs2, xs3] = x.strides;
  const K = Cg * KH * KW;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      const outBase = (n * O + o) * OH * OW;
      for (let c = 0; c < Cg; c++) {
        const xc = x.offset + n * xs0 + (g * Cg + c) * xs1;
        for (let a = 0; a < KH; a++) {
          for (let e = 0; e < KW; e++) {
            const wv = Wm[o * K + (c * KH + a) * KW + e];
            if (wv === 0) continue;
            for (let i = 0; i < OH; i++) {
              const ih = i * sh - ph + a * dh;
              if (ih < 0 || ih >= H) continue;
              const rowBase = xc + ih * xs2;
              const ob = outBase + i * OW;
              for (let j = 0; j < OW; j++) {
                const iw = j * sw - pw + e * dw;
                if (iw < 0 || iw >= W) continue;
                out[ob + j] += wv * X[rowBase + iw * xs3];
              }
            }
          }
        }
      }
    }
  }
}
