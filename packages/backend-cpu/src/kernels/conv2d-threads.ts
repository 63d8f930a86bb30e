/**
 * The parts of conv2d that are not GEMMs, over the heap and split across threads: the im2col
 * unrolling of one band of output rows (units: rows of the column matrix, one (channel, tap) each)
 * and the direct loop of small groups, e.g. depthwise convolution (units: one (image, output
 * channel) plane each). Thread t of T runs units t, t + T, ...
 *
 * {@link convUnits} is the kernel one thread runs. It is self-contained (no imports, no module
 * constants): the worker pool inlines its source text into the worker program. Each unit writes
 * only its own part of the output, with the same loops as conv2d.ts's single-threaded code (the
 * same multiply-adds in the same order for the direct loop; plain copies for im2col), so any
 * thread count gives the single-threaded result bit for bit.
 */

/** Float64 words of the parameter block {@link convUnits} reads. */
export const CONV_PARAMS = 32;

/** The geometry of one conv2d call (torch semantics), as conv2d.ts computes it. */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  O: number;
  /** Input channels per group. */
  Cg: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  stride: readonly [number, number] | readonly number[];
  padding: readonly [number, number] | readonly number[];
  dilation: readonly [number, number] | readonly number[];
  groups: number;
}

/**
 * One call of {@link convUnits}: 'im2col' unrolls the receptive fields of output rows
 * [oh0, oh0 + rows) of image n, group g into the column matrix at `out` ([Cg·KH·KW, rows·OW]);
 * 'direct' writes the whole output at `out` ([N, O, OH, OW], zero before) from the weights at `wm`
 * (contiguous [O, Cg·KH·KW]). `x` is the byte address of element [0, 0, 0, 0] of the input and its
 * strides in elements.
 */
export interface ConvCall {
  mode: 'im2col' | 'direct';
  geometry: ConvGeometry;
  x: [number, readonly number[]];
  wm: number;
  out: number;
  band: { n: number; g: number; oh0: number; rows: number };
}

/** Units of a call: rows of the column matrix (im2col) or (image, output channel) planes (direct). */
export function convUnitCount(call: ConvCall): number {
  const g = call.geometry;
  return call.mode === 'im2col' ? g.Cg * g.KH * g.KW : g.N * g.O;
}

/** Writes `call` as the parameter block into `P` (CONV_PARAMS float64 words). */
export function writeConvParams(P: Float64Array, call: ConvCall): void {
  const g = call.geometry;
  P.fill(0);
  P.set([call.mode === 'im2col' ? 0 : 1, g.N, g.H, g.W, g.O, g.Cg, g.KH, g.KW, g.OH, g.OW], 0);
  P.set([g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1], g.groups], 10);
  P[17] = call.x[0];
  P.set(call.x[1], 18);
  P[22] = call.wm;
  P[23] = call.out;
  P.set([call.band.n, call.band.g, call.band.oh0, call.band.rows], 24);
}

/** Runs units start, start + step, ... of the call whose parameter block is at byte `params`. */
export function convUnits(memory: WebAssembly.Memory, params: number, start: number, step: number): void {
  const buf = memory.buffer;
  // addresses come through the pool's Int32Array: read them unsigned (heaps past 2 GiB)
  const P = new Float64Array(buf, params >>> 0, 32);
  const F = new Float32Array(buf);
  const direct = P[0] === 1;
  const N = P[1];
  const H = P[2];
  const W = P[3];
  const O = P[4];
  const Cg = P[5];
  const KH = P[6];
  const KW = P[7];
  const OH = P[8];
  const OW = P[9];
  const sh = P[10];
  const sw = P[11];
  const ph = P[12];
  const pw = P[13];
  const dh = P[14];
  const dw = P[15];
  const G = P[16];
  const x0 = P[17] / 4;
  const xs0 = P[18];
  const xs1 = P[19];
  const xs2 = P[20];
  const xs3 = P[21];
  const wm0 = P[22] / 4;
  const out0 = P[23] / 4;
  const K = Cg * KH * KW;
  if (!direct) {
    const n = P[24];
    const g = P[25];
    const oh0 = P[26];
    const rows = P[27];
    const Lb = rows * OW;
    for (let r = start; r < K; r += step) {
      const c = Math.floor(r / (KH * KW));
      const a = Math.floor(r / KW) % KH;
      const e = r % KW;
      const xc = x0 + n * xs0 + (g * Cg + c) * xs1;
      const rowBase = out0 + r * Lb;
      const colOff = e * dw - pw;
      for (let i = 0; i < rows; i++) {
        const ih = (oh0 + i) * sh - ph + a * dh;
        const dst = rowBase + i * OW;
        if (ih < 0 || ih >= H) {
          F.fill(0, dst, dst + OW);
          continue;
        }
        const src = xc + ih * xs2;
        for (let j = 0; j < OW; j++) {
          const iw = j * sw + colOff;
          F[dst + j] = iw >= 0 && iw < W ? F[src + iw * xs3] : 0;
        }
      }
    }
    return;
  }
  const Og = O / G;
  for (let u = start; u < N * O; u += step) {
    const n = Math.floor(u / O);
    const o = u % O;
    const g = Math.floor(o / Og);
    const outBase = out0 + (n * O + o) * OH * OW;
    for (let c = 0; c < Cg; c++) {
      const xc = x0 + n * xs0 + (g * Cg + c) * xs1;
      for (let a = 0; a < KH; a++) {
        for (let e = 0; e < KW; e++) {
          const wv = F[wm0 + o * K + (c * KH + a) * KW + e];
          if (wv === 0) continue;
          for (let i = 0; i < OH; i++) {
            const ih = i * sh - ph + a * dh;
            if (ih < 0 || ih >= H) continue;
            const rowBase = xc + ih * xs2;
            const ob = outBase + i * OW;
            for (let j = 0; j < OW; j++) {
              const iw = j * sw - pw + e * dw;
              if (iw < 0 || iw >= W) continue;
              F[ob + j] += wv * F[rowBase + iw * xs3];
            }
          }
        }
      }
    }
  }
}
