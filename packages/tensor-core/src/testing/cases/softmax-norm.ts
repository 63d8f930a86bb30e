import { groupNorm, layerNorm, logSoftmax, rmsNorm, softmax } from '../../index.js';
import { type ConformanceCase, type RefArray, ref, seeded } from '../case.js';
import { alongDim, build, lse, permuteRef, transposeRef } from './ref-util.js';

const softmax64 = (row: number[]) => {
  const l = lse(row);
  return row.map((v) => Math.exp(v - l));
};
const logSoftmax64 = (row: number[]) => {
  const l = lse(row);
  return row.map((v) => v - l);
};

/** Normalises each group of the trailing `n` elements (row-major), then applies weight/bias. */
function normRef(
  x: RefArray,
  n: number,
  kind: 'layer' | 'rms',
  eps: number,
  w?: RefArray,
  b?: RefArray,
): RefArray {
  const out = new Float64Array(x.data.length);
  for (let base = 0; base < x.data.length; base += n) {
    const row = Array.from(x.data.subarray(base, base + n));
    const mean = kind === 'layer' ? row.reduce((s, v) => s + v, 0) / n : 0;
    const ms = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const r = 1 / Math.sqrt(ms + eps);
    for (let i = 0; i < n; i++) {
      let y = (row[i] - mean) * r;
      if (w) y *= w.data[i];
      if (b) y += b.data[i];
      out[base + i] = y;
    }
  }
  return { shape: [...x.shape], data: out };
}

function groupNormRef(x: RefArray, groups: number, eps: number, w?: RefArray, b?: RefArray): RefArray {
  const nb = x.shape[0];
  const per = x.data.length / nb / groups;
  const normed = normRef({ shape: [nb * groups, per], data: x.data }, per, 'layer', eps);
  return build(x.shape, (idx) => {
    const flat = idx.reduce((o, v, i) => o * x.shape[i] + v, 0);
    let y = normed.data[flat];
    if (w) y *= w.data[idx[1]];
    if (b) y += b.data[idx[1]];
    return y;
  });
}

/** softmax, logSoftmax, layerNorm, rmsNorm, groupNorm. */
export const softmaxNormCases: ConformanceCase[] = [
  {
    op: 'softmax',
    name: 'last dim of [3,5]',
    inputs: [seeded([3, 5], 1100, -3, 3)],
    run: (x) => softmax(x),
    ref: (x) => alongDim(x, 1, softmax64),
    grad: [0],
  },
  {
    op: 'softmax',
    name: 'dim 0 and dim 1 of [2,3,4]',
    inputs: [seeded([2, 3, 4], 1101, -3, 3)],
    run: (x) => softmax(x, 0).add(softmax(x, 1)),
    ref: (x) => {
      const a = alongDim(x, 0, softmax64);
      const b = alongDim(x, 1, softmax64);
      return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i]) };
    },
    grad: [0],
  },
  {
    op: 'softmax',
    name: 'last dim of a transposed view',
    inputs: [seeded([4, 3], 1102, -3, 3)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => softmax(x, -1),
    ref: (x) => alongDim(transposeRef(x, 0, 1), 1, softmax64),
    grad: [0],
  },
  {
    op: 'softmax',
    name: '1e4 entries per row (long reduction)',
    inputs: [seeded([2, 10000], 1103, -10, 10)],
    run: (x) => softmax(x),
    ref: (x) => alongDim(x, 1, softmax64),
    // Declared (too many inputs for a Jacobian): each output is exp(x_i - max) / sum, the sum of 1e4
    // positive terms rounds about log2(1e4) = 14 times and exp's argument carries |x| <= 20: well
    // under 1e-4 relative.
    rtol: 1e-4,
    atol: 1e-9,
  },
  {
    op: 'softmax',
    name: 'large magnitudes (+-1e4) stay finite',
    inputs: [ref([2, 4], [1e4, 1e4 - 1, -1e4, 0, -1e4, -1e4 - 2, -1e4 - 1, -3e4])],
    run: (x) => softmax(x),
    ref: (x) => alongDim(x, 1, softmax64),
  },
  {
    op: 'softmax',
    name: '-inf entries get 0 (masked attention)',
    inputs: [ref([2, 3], [0, Number.NEGATIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, 2, 2])],
    run: (x) => softmax(x).add(softmax(x, 0)),
    ref: (x) => {
      const a = alongDim(x, 1, softmax64);
      const b = alongDim(x, 0, softmax64);
      return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i]) };
    },
  },
  {
    op: 'softmax',
    name: 'zero-size batch and a scalar',
    inputs: [ref([0, 3], []), seeded([], 1104)],
    run: (x, s) => softmax(x).sum().add(softmax(s, 0)),
    ref: () => ref([], [1]),
  },
  {
    op: 'logSoftmax',
    name: 'last dim with gradient',
    inputs: [seeded([3, 6], 1110, -4, 4)],
    run: (x) => logSoftmax(x),
    ref: (x) => alongDim(x, 1, logSoftmax64),
    grad: [0],
  },
  {
    op: 'logSoftmax',
    name: 'dim 1 of a permuted rank-3 view',
    inputs: [seeded([3, 2, 4], 1111, -4, 4)],
    view: ([x]) => [x.permute(1, 2, 0)],
    run: (x) => logSoftmax(x, 1),
    ref: (x) => alongDim(permuteRef(x, [1, 2, 0]), 1, logSoftmax64),
    grad: [0],
  },
  {
    op: 'logSoftmax',
    name: 'large magnitudes: no overflow, no log(0)',
    inputs: [ref([2, 3], [1e4, 0, -1e4, -5e3, -5e3, 5e3])],
    run: (x) => logSoftmax(x),
    ref: (x) => alongDim(x, 1, logSoftmax64),
  },
  {
    op: 'logSoftmax',
    name: '1e4 entries',
    inputs: [seeded([1, 10000], 1112, -20, 20)],
    run: (x) => logSoftmax(x, 1),
    ref: (x) => alongDim(x, 1, logSoftmax64),
    // Declared (too many inputs for a Jacobian): x - max - log(sum) with |x| <= 20 loses about
    // 20 * 14 u absolutely in the log of a 1e4-term sum: under 1e-4.
    rtol: 1e-5,
    atol: 1e-4,
  },
  {
    op: 'layerNorm',
    name: 'last dim with weight and bias',
    inputs: [seeded([2, 3, 8], 1120, -2, 2), seeded([8], 1121, 0.5, 1.5), seeded([8], 1122)],
    run: (x, w, b) => layerNorm(x, [8], w, b),
    ref: (x, w, b) => normRef(x, 8, 'layer', 1e-5, w, b),
    grad: [0, 1, 2],
  },
  {
    op: 'layerNorm',
    name: 'two trailing dims, no affine, eps 1e-3',
    inputs: [seeded([3, 2, 4], 1123, -2, 2)],
    run: (x) => layerNorm(x, [2, 4], null, null, 1e-3),
    ref: (x) => normRef(x, 8, 'layer', 1e-3),
    grad: [0],
  },
  {
    op: 'layerNorm',
    name: 'non-contiguous input (transposed) and weight (strided slice), number normalizedShape',
    inputs: [seeded([5, 3], 1124, -2, 2), seeded([10], 1125, 0.5, 1.5)],
    view: ([x, w]) => [x.transpose(0, 1), w.sliceDim(0, 0, 10, 2)],
    run: (x, w) => layerNorm(x, 5, w),
    ref: (x, w) =>
      normRef(
        transposeRef(x, 0, 1),
        5,
        'layer',
        1e-5,
        ref([5], (i) => w.data[2 * i]),
      ),
    grad: [0, 1],
  },
  {
    op: 'layerNorm',
    name: 'large offset and scale (two-pass)',
    inputs: [seeded([2, 64], 1126, 1000, 1001)],
    run: (x) => layerNorm(x, [64]),
    ref: (x) => normRef({ shape: x.shape, data: x.data.map(Math.fround) }, 64, 'layer', 1e-5),
    // Declared tighter than the derived bound (whose condition term grows with the 1000 offset):
    // this case exists to require the two-pass (mean-subtracted) variance.
    rtol: 1e-3,
    atol: 1e-3,
  },
  {
    op: 'layerNorm',
    name: 'zero-size batch',
    inputs: [ref([0, 4], []), seeded([4], 1127)],
    run: (x, w) => layerNorm(x, [4], w),
    ref: () => ({ shape: [0, 4], data: new Float64Array(0) }),
  },
  {
    op: 'rmsNorm',
    name: 'last dim with weight, eps 1e-6',
    inputs: [seeded([2, 3, 8], 1130, -2, 2), seeded([8], 1131, 0.5, 1.5)],
    run: (x, w) => rmsNorm(x, [8], w, 1e-6),
    ref: (x, w) => normRef(x, 8, 'rms', 1e-6, w),
    grad: [0, 1],
  },
  {
    op: 'rmsNorm',
    name: 'two trailing dims, no weight, default eps, on a transposed view',
    inputs: [seeded([4, 3, 2], 1132, -2, 2)],
    view: ([x]) => [x.transpose(0, 2)],
    run: (x) => rmsNorm(x, [3, 4]),
    ref: (x) => normRef(permuteRef(x, [2, 1, 0]), 12, 'rms', 1.1920928955078125e-7),
    grad: [0],
  },
  {
    op: 'groupNorm',
    name: '[2,6,2,2] in 3 groups with weight and bias',
    inputs: [seeded([2, 6, 2, 2], 1140, -2, 2), seeded([6], 1141, 0.5, 1.5), seeded([6], 1142)],
    run: (x, w, b) => groupNorm(x, 3, w, b),
    ref: (x, w, b) => groupNormRef(x, 3, 1e-5, w, b),
    grad: [0, 1, 2],
  },
  {
    op: 'groupNorm',
    name: '[2,4,5] one group per channel, no affine, eps 1e-3',
    inputs: [seeded([2, 4, 5], 1143, -2, 2)],
    run: (x) => groupNorm(x, 4, null, null, 1e-3),
    ref: (x) => groupNormRef(x, 4, 1e-3),
    grad: [0],
  },
  {
    op: 'groupNorm',
    name: '[1,4,3] one group (layer norm over C and L)',
    inputs: [seeded([1, 4, 3], 1144, -2, 2), seeded([4], 1145, 0.5, 1.5)],
    run: (x, w) => groupNorm(x, 1, w),
    ref: (x, w) => groupNormRef(x, 1, 1e-5, w),
    grad: [0, 1],
  },
];
