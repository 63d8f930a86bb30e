// Conformance cases for maxPool2d, avgPool2d and interpolate, against direct float64 loops with
// torch's output-size, divisor and source-index rules.
import { avgPool2d, interpolate, maxPool2d } from '../../index.js';
import { type ConformanceCase, type RefArray, seeded } from '../case.js';
import { at, build } from './ref-util.js';

function outSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
}

interface PoolRefOptions {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d?: [number, number];
  ceil?: boolean;
  includePad?: boolean;
}

function maxPoolRef(x: RefArray, o: PoolRefOptions): RefArray {
  const [n, c, h, w] = x.shape;
  const d = o.d ?? [1, 1];
  const oh = outSize(h, o.k[0], o.s[0], o.p[0], d[0], o.ceil ?? false);
  const ow = outSize(w, o.k[1], o.s[1], o.p[1], d[1], o.ceil ?? false);
  return build([n, c, oh, ow], ([b, ch, i, j]) => {
    let m = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < o.k[0]; a++)
      for (let e = 0; e < o.k[1]; e++) {
        const r = i * o.s[0] - o.p[0] + a * d[0];
        const col = j * o.s[1] - o.p[1] + e * d[1];
        if (r >= 0 && r < h && col >= 0 && col < w) m = Math.max(m, at(x, [b, ch, r, col]));
      }
    return m;
  });
}

function avgPoolRef(x: RefArray, o: PoolRefOptions): RefArray {
  const [n, c, h, w] = x.shape;
  const oh = outSize(h, o.k[0], o.s[0], o.p[0], 1, o.ceil ?? false);
  const ow = outSize(w, o.k[1], o.s[1], o.p[1], 1, o.ceil ?? false);
  return build([n, c, oh, ow], ([b, ch, i, j]) => {
    const h0 = i * o.s[0] - o.p[0];
    const w0 = j * o.s[1] - o.p[1];
    const h1 = Math.min(h0 + o.k[0], h + o.p[0]);
    const w1 = Math.min(w0 + o.k[1], w + o.p[1]);
    let s = 0;
    let count = 0;
    for (let r = Math.max(h0, 0); r < Math.min(h1, h); r++)
      for (let col = Math.max(w0, 0); col < Math.min(w1, w); col++) {
        s += at(x, [b, ch, r, col]);
        count++;
      }
    return s / ((o.includePad ?? true) ? (h1 - h0) * (w1 - w0) : count);
  });
}

/** torch's bilinear (align_corners or half-pixel) resampling in float64. */
function bilinearRef(x: RefArray, size: [number, number], align: boolean): RefArray {
  const [n, c, h, w] = x.shape;
  const src = (o: number, inS: number, outS: number) => {
    if (align) return outS > 1 ? (o * (inS - 1)) / (outS - 1) : 0;
    return Math.max(((o + 0.5) * inS) / outS - 0.5, 0);
  };
  return build([n, c, size[0], size[1]], ([b, ch, i, j]) => {
    const y = src(i, h, size[0]);
    const xx = src(j, w, size[1]);
    const y0 = Math.min(Math.floor(y), h - 1);
    const x0 = Math.min(Math.floor(xx), w - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const x1 = Math.min(x0 + 1, w - 1);
    const ly = y - y0;
    const lx = xx - x0;
    const v = (r: number, col: number) => at(x, [b, ch, r, col]);
    return (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
  });
}

function nearestRef(x: RefArray, size: [number, number]): RefArray {
  const [n, c, h, w] = x.shape;
  return build([n, c, size[0], size[1]], ([b, ch, i, j]) =>
    at(x, [
      b,
      ch,
      Math.min(Math.floor((i * h) / size[0]), h - 1),
      Math.min(Math.floor((j * w) / size[1]), w - 1),
    ]),
  );
}

/** Cases for pooling (padding, ceil mode, dilation, divisor rules) and interpolation. */
export const poolCases: ConformanceCase[] = [
  {
    op: 'maxPool2d',
    name: 'kernel 3, stride 2, padding 1',
    inputs: [seeded([2, 2, 7, 6], 201)],
    run: (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }),
    ref: (x) => maxPoolRef(x, { k: [3, 3], s: [2, 2], p: [1, 1] }),
    grad: [0],
  },
  {
    op: 'maxPool2d',
    name: 'kernel [2,3], dilation [2,1], ceil mode',
    inputs: [seeded([1, 2, 9, 8], 202)],
    run: (x) => maxPool2d(x, [2, 3], { stride: [2, 1], padding: [1, 1], dilation: [2, 1], ceilMode: true }),
    ref: (x) => maxPoolRef(x, { k: [2, 3], s: [2, 1], p: [1, 1], d: [2, 1], ceil: true }),
    grad: [0],
  },
  {
    op: 'avgPool2d',
    name: 'kernel 3, stride 2, padding 1, padded zeros counted',
    inputs: [seeded([1, 3, 6, 7], 203)],
    run: (x) => avgPool2d(x, 3, { stride: 2, padding: 1 }),
    ref: (x) => avgPoolRef(x, { k: [3, 3], s: [2, 2], p: [1, 1] }),
    grad: [0],
  },
  {
    op: 'avgPool2d',
    name: 'ceil mode, padding not counted',
    inputs: [seeded([1, 2, 7, 8], 204)],
    run: (x) =>
      avgPool2d(x, [3, 2], { stride: [2, 3], padding: [1, 0], ceilMode: true, countIncludePad: false }),
    ref: (x) => avgPoolRef(x, { k: [3, 2], s: [2, 3], p: [1, 0], ceil: true, includePad: false }),
    grad: [0],
  },
  {
    op: 'interpolate',
    name: 'bilinear up to [7, 9]',
    inputs: [seeded([1, 2, 4, 5], 205)],
    run: (x) => interpolate(x, { size: [7, 9], mode: 'bilinear' }),
    ref: (x) => bilinearRef(x, [7, 9], false),
    grad: [0],
  },
  {
    op: 'interpolate',
    name: 'bilinear down with alignCorners',
    inputs: [seeded([2, 1, 6, 7], 206)],
    run: (x) => interpolate(x, { size: [4, 3], mode: 'bilinear', alignCorners: true }),
    ref: (x) => bilinearRef(x, [4, 3], true),
    grad: [0],
  },
  {
    op: 'interpolate',
    name: 'nearest to [5, 7] and down to [2, 3]',
    inputs: [seeded([1, 2, 3, 4], 207)],
    run: (x) => interpolate(x, { size: [5, 7] }),
    ref: (x) => nearestRef(x, [5, 7]),
    grad: [0],
  },
];
