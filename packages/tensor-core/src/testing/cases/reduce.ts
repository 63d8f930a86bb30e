import { argmax, argmin, logsumexp, matmul, max, mean, min, prod, std, sum, variance } from '../../index.js';
import { type ConformanceCase, type RefArray, ref, seeded } from '../case.js';
import { at, build, lse, reduceRef, transposeRef } from './ref-util.js';

const sum64 = (v: number[]) => v.reduce((s, x) => s + x, 0);
const mean64 = (v: number[]) => sum64(v) / v.length;
const var64 = (correction: number) => (v: number[]) => {
  const m = mean64(v);
  return v.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(v.length - correction, 0);
};
const max64 = (v: number[]) => v.reduce((m, x) => Math.max(m, x), Number.NEGATIVE_INFINITY);
const min64 = (v: number[]) => v.reduce((m, x) => Math.min(m, x), Number.POSITIVE_INFINITY);
const argmax64 = (v: number[]) => v.indexOf(max64(v));
const argmin64 = (v: number[]) => v.indexOf(min64(v));
const prod64 = (v: number[]) => v.reduce((s, x) => s * x, 1);

type Red = (v: number[]) => number;
const all = (x: RefArray) => x.shape.map((_, i) => i);

/** Common reduction cases: all dims, one dim, several dims with keepdim, a transposed view, a zero-size dim. */
function reductionCases(
  op: string,
  run: (
    x: import('../../tensor.js').Tensor,
    dim?: number | number[],
    keepdim?: boolean,
  ) => import('../../tensor.js').Tensor,
  f: Red,
  grad: boolean,
  emptyValue: number | null,
  seed: number,
  lo = -2,
  hi = 2,
): ConformanceCase[] {
  const g = grad ? [0] : undefined;
  const cases: ConformanceCase[] = [
    {
      op,
      name: 'all dims of [3,4]',
      inputs: [seeded([3, 4], seed, lo, hi)],
      run: (x) => run(x),
      ref: (x) => reduceRef(x, all(x), f),
      grad: g,
    },
    {
      op,
      name: 'dim 1 of [2,3,4]',
      inputs: [seeded([2, 3, 4], seed + 1, lo, hi)],
      run: (x) => run(x, 1),
      ref: (x) => reduceRef(x, [1], f),
      grad: g,
    },
    {
      op,
      name: 'dims [0,2] of [2,3,4] with keepdim',
      inputs: [seeded([2, 3, 4], seed + 2, lo, hi)],
      run: (x) => run(x, [0, -1], true),
      ref: (x) => reduceRef(x, [0, 2], f, true),
      grad: g,
    },
    {
      op,
      name: 'last dim of a transposed view',
      inputs: [seeded([5, 3], seed + 3, lo, hi)],
      view: ([x]) => [x.transpose(0, 1)],
      run: (x) => run(x, -1),
      ref: (x) => reduceRef(transposeRef(x, 0, 1), [1], f),
      grad: g,
    },
    {
      op,
      name: 'zero-size kept dim [0,3] over dim 1',
      inputs: [ref([0, 3], [])],
      run: (x) => run(x, 1),
      ref: () => ({ shape: [0], data: new Float64Array(0) }),
    },
  ];
  if (emptyValue !== null) {
    cases.push({
      op,
      name: `reducing a size-0 dim gives ${emptyValue}`,
      inputs: [ref([2, 0], [])],
      run: (x) => run(x, 1),
      ref: () => ref([2], [emptyValue, emptyValue]),
    });
  }
  return cases;
}

/** Every reduction, plus batched matmul with broadcasting and 1-D operands. */
export const reduceCases: ConformanceCase[] = [
  ...reductionCases('sum', (x, d, k) => sum(x, d, k), sum64, true, 0, 700),
  ...reductionCases('mean', (x, d, k) => mean(x, d, k), mean64, true, Number.NaN, 710),
  ...reductionCases('max', (x, d, k) => max(x, d, k), max64, true, null, 720),
  ...reductionCases('min', (x, d, k) => min(x, d, k), min64, true, null, 730),
  ...reductionCases('prod', (x, d, k) => prod(x, d, k), prod64, true, 1, 740, 0.5, 1.5),
  ...reductionCases('var', (x, d, k) => variance(x, d, { keepdim: k }), var64(1), true, null, 750),
  ...reductionCases(
    'std',
    (x, d, k) => std(x, d, { keepdim: k }),
    (v) => Math.sqrt(var64(1)(v)),
    true,
    null,
    760,
  ),
  ...reductionCases('logsumexp', (x, d, k) => logsumexp(x, d, k), lse, true, null, 770),
  {
    op: 'var',
    name: 'correction 0 (biased)',
    inputs: [seeded([3, 6], 780)],
    run: (x) => variance(x, 1, { correction: 0 }),
    ref: (x) => reduceRef(x, [1], var64(0)),
    grad: [0],
  },
  {
    op: 'var',
    name: 'large offset (two-pass stays accurate)',
    inputs: [seeded([1000], 781, 1e4, 1e4 + 1)],
    run: (x) => variance(x),
    ref: (x) => {
      const v = Array.from(x.data, Math.fround);
      return ref([], [var64(1)(v)]);
    },
    // Declared tighter than the derived bound (whose condition term, n * u * sum|x|, would admit the
    // one-pass E[x^2] - E[x]^2): this case exists to require the two-pass algorithm.
    rtol: 1e-3,
  },
  {
    op: 'sum',
    name: 'int32 sums to int32',
    inputs: [ref([2, 3], [1, 2, 3, -4, 5, 6], 'int32')],
    run: (x) => sum(x, 1),
    ref: (x) => reduceRef(x, [1], sum64),
  },
  {
    op: 'sum',
    name: 'bool counts',
    inputs: [ref([2, 3], [1, 0, 1, 1, 1, 1], 'bool')],
    run: (x) => sum(x, 1),
    ref: (x) => reduceRef(x, [1], sum64),
  },
  {
    op: 'mean',
    name: 'long reduction of 65536 elements per row',
    inputs: [seeded([2, 65536], 790, 0, 1)],
    run: (x) => mean(x, 1),
    ref: (x) => reduceRef(x, [1], mean64),
    // Declared (too many inputs for a Jacobian): positive terms, so the condition is 1; a blocked or
    // pairwise sum of n = 65536 rounds about log2(n) = 16 times: 16u = 1e-6, declared with 10x room.
    rtol: 1e-5,
  },
  {
    op: 'max',
    name: 'gradient shared among tied maxima',
    inputs: [ref([2, 3], [1, 3, 3, -1, -1, -2])],
    run: (x) => max(x, 1),
    ref: (x) => reduceRef(x, [1], max64),
    grad: [0],
  },
  {
    op: 'max',
    name: 'NaN propagates',
    inputs: [ref([2, 3], [1, Number.NaN, 3, -1, -1, -2])],
    run: (x) => max(x, 1),
    ref: () => ref([2], [Number.NaN, -1]),
  },
  {
    op: 'max',
    name: 'int32',
    inputs: [ref([2, 3], [1, 7, 3, -1, -9, -2], 'int32')],
    run: (x) => max(x, 1),
    ref: (x) => reduceRef(x, [1], max64),
  },
  {
    op: 'argmax',
    name: 'dim 1 (first index on ties)',
    inputs: [ref([3, 4], [1, 5, 5, 0, -1, -2, -3, -1, 2, 2, 2, 2])],
    run: (x) => argmax(x, 1),
    ref: (x) => reduceRef(x, [1], argmax64),
  },
  {
    op: 'argmax',
    name: 'flattened, keepdim on dim 0 of a transposed view',
    inputs: [seeded([3, 4], 791)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => argmax(x, 0, true),
    ref: (x) => reduceRef(transposeRef(x, 0, 1), [0], argmax64, true),
  },
  {
    op: 'argmax',
    name: 'over all elements',
    inputs: [seeded([3, 4], 792)],
    run: (x) => argmax(x),
    ref: (x) => ref([], [argmax64(Array.from(x.data))]),
  },
  {
    op: 'argmin',
    name: 'dim 0 and over all elements',
    inputs: [seeded([3, 4], 793)],
    run: (x) => argmin(x, 0),
    ref: (x) => reduceRef(x, [0], argmin64),
  },
  {
    op: 'argmin',
    name: 'int32 input, first index on ties',
    inputs: [ref([5], [3, -1, 4, -1, 5], 'int32')],
    run: (x) => argmin(x),
    ref: () => ref([], [1]),
  },
  {
    op: 'logsumexp',
    name: 'a row of -inf gives -inf; large magnitudes do not overflow',
    inputs: [
      ref(
        [3, 3],
        [
          Number.NEGATIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          1e4,
          1e4,
          -1e4,
          -1e4,
          -1e4 - 1,
          Number.NEGATIVE_INFINITY,
        ],
      ),
    ],
    run: (x) => logsumexp(x, 1),
    ref: (x) => reduceRef(x, [1], lse),
  },
  {
    op: 'logsumexp',
    name: 'keepdim over dim 0 with gradient',
    inputs: [seeded([4, 3], 794, -10, 10)],
    run: (x) => logsumexp(x, 0, true),
    ref: (x) => reduceRef(x, [0], lse, true),
    grad: [0],
  },
  {
    op: 'prod',
    name: 'int32',
    inputs: [ref([2, 3], [1, 2, 3, -4, 5, 6], 'int32')],
    run: (x) => prod(x, 1),
    ref: (x) => reduceRef(x, [1], prod64),
  },
  // ---- matmul ----
  {
    op: 'matmul',
    name: 'batched with batch broadcasting [2,1,3,4] @ [5,4,2]',
    inputs: [seeded([2, 1, 3, 4], 800), seeded([5, 4, 2], 801)],
    run: (a, b) => matmul(a, b),
    ref: (a, b) =>
      build([2, 5, 3, 2], ([i, j, m, n]) => {
        let s = 0;
        for (let k = 0; k < 4; k++) s += at(a, [i, 0, m, k]) * at(b, [j, k, n]);
        return s;
      }),
    grad: [0, 1],
  },
  {
    op: 'matmul',
    name: '1-D @ 2-D, 2-D @ 1-D and 1-D @ 1-D',
    inputs: [seeded([3], 802), seeded([3, 4], 803), seeded([4], 804)],
    run: (v, m, w) => {
      const a = matmul(v, m); // [4]
      const b = matmul(m, w); // [3]
      const c = matmul(a, w); // []
      return sum(a).add(sum(b)).add(c);
    },
    ref: (v, m, w) => {
      let total = 0;
      const a = [0, 0, 0, 0];
      for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) a[j] += v.data[i] * m.data[i * 4 + j];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) total += m.data[i * 4 + j] * w.data[j];
      for (let j = 0; j < 4; j++) total += a[j] + a[j] * w.data[j];
      return ref([], [total]);
    },
    grad: [0, 1, 2],
  },
  {
    op: 'matmul',
    name: 'batched 1-D operand [2,3,4] @ [4]',
    inputs: [seeded([2, 3, 4], 805), seeded([4], 806)],
    run: (a, b) => matmul(a, b),
    ref: (a, b) =>
      build([2, 3], ([i, m]) => {
        let s = 0;
        for (let k = 0; k < 4; k++) s += at(a, [i, m, k]) * b.data[k];
        return s;
      }),
    grad: [0, 1],
  },
  {
    op: 'matmul',
    name: 'transposed operands (views, not copies)',
    inputs: [seeded([4, 3], 807), seeded([5, 4], 808)],
    view: ([a, b]) => [a.transpose(0, 1), b.transpose(0, 1)],
    run: (a, b) => matmul(a, b),
    ref: (a, b) =>
      build([3, 5], ([m, n]) => {
        let s = 0;
        for (let k = 0; k < 4; k++) s += at(a, [k, m]) * at(b, [n, k]);
        return s;
      }),
    grad: [0, 1],
  },
  {
    op: 'matmul',
    name: 'inner size 0 gives zeros; M = 0 gives an empty result',
    inputs: [ref([2, 0], []), ref([0, 3], []), ref([0, 4], []), seeded([4, 2], 809)],
    run: (a, b, c, d) => matmul(a, b).sum().add(matmul(c, d).sum()).add(matmul(a, b)),
    ref: () => ref([2, 3], [0, 0, 0, 0, 0, 0]),
  },
  {
    op: 'matmul',
    name: 'larger [33,65] @ [65,17] (crosses block edges)',
    inputs: [seeded([33, 65], 810), seeded([65, 17], 811)],
    run: (a, b) => matmul(a, b),
    ref: (a, b) =>
      build([33, 17], ([m, n]) => {
        let s = 0;
        for (let k = 0; k < 65; k++) s += a.data[m * 65 + k] * b.data[k * 17 + n];
        return s;
      }),
    // Declared (a Jacobian of 3250 inputs is slow): 65 products of terms below 1 in magnitude, so
    // sum |a||b| is about 16 and a blocked dot product rounds about log2(65) = 7 times: 7 * 16u = 7e-6.
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    op: 'matmul',
    name: 'int32 operands compute in float32',
    inputs: [ref([2, 2], [1, 2, 3, 4], 'int32'), ref([2, 1], [5, 6], 'int32')],
    run: (a, b) => matmul(a, b),
    ref: () => ref([2, 1], [17, 39]),
  },
];
