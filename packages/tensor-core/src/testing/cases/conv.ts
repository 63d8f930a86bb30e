// Conformance cases for conv1d, conv2d and convTranspose2d, against direct float64 loops.
import { conv1d, conv2d, convTranspose2d } from '../../index.js';
import { type ConformanceCase, type RefArray, seeded } from '../case.js';
import { at, build } from './ref-util.js';

interface Conv2dRefOptions {
  stride?: [number, number];
  /** [top, bottom, left, right] */
  pad?: [number, number, number, number];
  dilation?: [number, number];
  groups?: number;
}

/** Direct cross-correlation: x [N, C, H, W], w [O, C/g, kH, kW], optional bias [O]. */
export function conv2dRef(
  x: RefArray,
  w: RefArray,
  bias: RefArray | null,
  o: Conv2dRefOptions = {},
): RefArray {
  const [n, c, h, wd] = x.shape;
  const [oc, cg, kh, kw] = w.shape;
  const [sh, sw] = o.stride ?? [1, 1];
  const [pt, pb, pl, pr] = o.pad ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilation ?? [1, 1];
  const g = o.groups ?? 1;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  void c;
  return build([n, oc, oh, ow], ([b, f, i, j]) => {
    const grp = Math.floor(f / (oc / g));
    let s = bias ? bias.data[f] : 0;
    for (let q = 0; q < cg; q++) {
      for (let a = 0; a < kh; a++) {
        for (let e = 0; e < kw; e++) {
          const r = i * sh - pt + a * dh;
          const col = j * sw - pl + e * dw;
          if (r < 0 || r >= h || col < 0 || col >= wd) continue;
          s += at(x, [b, grp * cg + q, r, col]) * at(w, [f, q, a, e]);
        }
      }
    }
    return s;
  });
}

/** Direct transposed convolution (a scatter): x [N, Cin, H, W], w [Cin, Cout/g, kH, kW]. */
export function convTranspose2dRef(
  x: RefArray,
  w: RefArray,
  bias: RefArray | null,
  stride: [number, number],
  padding: [number, number],
  outputPadding: [number, number],
  dilation: [number, number],
  groups: number,
): RefArray {
  const [n, cin, h, wd] = x.shape;
  const [, og, kh, kw] = w.shape;
  const ci = cin / groups;
  const oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outputPadding[0] + 1;
  const ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outputPadding[1] + 1;
  const cout = og * groups;
  const out = new Float64Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < cin; c++) {
      const g = Math.floor(c / ci);
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++) {
          const v = at(x, [b, c, i, j]);
          for (let o = 0; o < og; o++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const r = i * stride[0] - padding[0] + a * dilation[0];
                const col = j * stride[1] - padding[1] + e * dilation[1];
                if (r < 0 || r >= oh || col < 0 || col >= ow) continue;
                out[((b * cout + g * og + o) * oh + r) * ow + col] += v * at(w, [c, o, a, e]);
              }
        }
    }
  if (bias) for (let k = 0; k < out.length; k++) out[k] += bias.data[Math.floor(k / (oh * ow)) % cout];
  return { shape: [n, cout, oh, ow], data: out };
}

const r3to4 = (x: RefArray): RefArray => ({ shape: [x.shape[0], x.shape[1], 1, x.shape[2]], data: x.data });
const r4to3 = (x: RefArray): RefArray => ({ shape: [x.shape[0], x.shape[1], x.shape[3]], data: x.data });

/** Cases for every convolution: strides, padding (numbers, asymmetric, 'same'), dilation, groups. */
export const convCases: ConformanceCase[] = [
  {
    op: 'conv2d',
    name: '3x3, bias, stride 1, no padding',
    inputs: [seeded([2, 3, 5, 6], 101), seeded([4, 3, 3, 3], 102), seeded([4], 103)],
    run: (x, w, b) => conv2d(x, w, b),
    ref: (x, w, b) => conv2dRef(x, w, b),
    grad: [0, 1, 2],
  },
  {
    op: 'conv2d',
    name: 'stride [2,1], padding [1,2], dilation [2,1]',
    inputs: [seeded([1, 2, 7, 6], 104), seeded([3, 2, 3, 2], 105)],
    run: (x, w) => conv2d(x, w, null, { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }),
    ref: (x, w) => conv2dRef(x, w, null, { stride: [2, 1], pad: [1, 1, 2, 2], dilation: [2, 1] }),
    grad: [0, 1],
  },
  {
    op: 'conv2d',
    name: 'groups 2 and a depthwise layer',
    inputs: [seeded([1, 4, 5, 5], 106), seeded([6, 2, 3, 3], 107)],
    run: (x, w) => conv2d(x, w, null, { groups: 2, padding: 1, stride: 2 }),
    ref: (x, w) => conv2dRef(x, w, null, { groups: 2, pad: [1, 1, 1, 1], stride: [2, 2] }),
    grad: [0, 1],
  },
  {
    op: 'conv2d',
    name: "padding 'same' with an even kernel (extra zero at the end)",
    inputs: [seeded([1, 2, 5, 4], 108), seeded([2, 2, 2, 4], 109)],
    run: (x, w) => conv2d(x, w, null, { padding: 'same' }),
    ref: (x, w) => conv2dRef(x, w, null, { pad: [0, 1, 1, 2] }),
    grad: [0, 1],
  },
  {
    op: 'conv2d',
    name: 'transposed (non-contiguous) input view',
    inputs: [seeded([1, 2, 4, 5], 110), seeded([3, 2, 2, 2], 111)],
    view: ([x, w]) => [x.transpose(2, 3), w],
    run: (x, w) => conv2d(x, w),
    ref: (x, w) =>
      conv2dRef(
        build([1, 2, 5, 4], ([b, c, i, j]) => at(x, [b, c, j, i])),
        w,
        null,
      ),
    grad: [0, 1],
  },
  {
    op: 'conv1d',
    name: 'stride 2, padding 1, dilation 2, groups 2',
    inputs: [seeded([2, 4, 9], 112), seeded([4, 2, 3], 113), seeded([4], 114)],
    run: (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 }),
    ref: (x, w, b) =>
      r4to3(
        conv2dRef(r3to4(x), r3to4(w), b, { stride: [1, 2], pad: [0, 0, 1, 1], dilation: [1, 2], groups: 2 }),
      ),
    grad: [0, 1, 2],
  },
  {
    op: 'convTranspose2d',
    name: 'stride 2, padding 1, outputPadding 1, bias',
    inputs: [seeded([1, 3, 3, 4], 115), seeded([3, 2, 3, 3], 116), seeded([2], 117)],
    run: (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    ref: (x, w, b) => convTranspose2dRef(x, w, b, [2, 2], [1, 1], [1, 1], [1, 1], 1),
    grad: [0, 1, 2],
  },
  {
    op: 'convTranspose2d',
    name: 'groups 2, dilation 2, stride [1,2], padding [2,0]',
    inputs: [seeded([2, 4, 3, 3], 118), seeded([4, 1, 3, 2], 119)],
    run: (x, w) => convTranspose2d(x, w, null, { groups: 2, dilation: 2, stride: [1, 2], padding: [2, 0] }),
    ref: (x, w) => convTranspose2dRef(x, w, null, [1, 2], [2, 0], [0, 0], [2, 2], 2),
    grad: [0, 1],
  },
];
