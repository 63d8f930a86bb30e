import { add, exp, gelu, matmul, mul, sum } from '../../index.js';
import { type ConformanceCase, mapRef, ref, seeded, zipRef } from '../case.js';

function matmulRef(a: { shape: number[]; data: Float64Array }, b: { shape: number[]; data: Float64Array }) {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < k; p++) out[i * n + j] += a.data[i * k + p] * b.data[p * n + j];
  return { shape: [m, n], data: out };
}

/** Starter cases; the rest of the suite lives beside this file, one file per op family. */
export const elementwiseCases: ConformanceCase[] = [
  {
    op: 'add',
    name: 'broadcast [2,1,3] + [4,3]',
    inputs: [seeded([2, 1, 3], 1), seeded([4, 3], 2)],
    run: (a, b) => add(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => x + y),
    grad: [0, 1],
  },
  {
    op: 'mul',
    name: 'transposed view * itself',
    inputs: [seeded([3, 4], 3)],
    view: ([a]) => [a.transpose(0, 1)],
    run: (a) => mul(a, a),
    ref: (a) => {
      const t = ref([4, 3], (i) => a.data[(i % 3) * 4 + Math.floor(i / 3)]);
      return zipRef(t, t, (x, y) => x * y);
    },
    grad: [0],
  },
  {
    op: 'exp',
    name: 'large and small magnitudes',
    inputs: [ref([5], [-80, -1, 0, 1, 80])],
    run: (a) => exp(a),
    ref: (a) => mapRef(a, Math.exp),
    grad: [0],
  },
  {
    op: 'gelu',
    name: "approximate 'tanh'",
    inputs: [seeded([7], 4, -4, 4)],
    run: (a) => gelu(a, { approximate: 'tanh' }),
    ref: (a) => mapRef(a, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
    grad: [0],
  },
  {
    op: 'matmul',
    name: '[5,7] @ [7,3]',
    inputs: [seeded([5, 7], 5), seeded([7, 3], 6)],
    run: (a, b) => matmul(a, b),
    ref: matmulRef,
    grad: [0, 1],
  },
  {
    op: 'sum',
    name: 'long reduction of 100000 elements',
    inputs: [seeded([100000], 7, 0, 1)],
    run: (a) => sum(a),
    ref: (a) => ref([], [a.data.reduce((s, v) => s + v, 0)]),
    // Declared (too many inputs for a Jacobian): positive terms (condition 1); a blocked or pairwise
    // sum of 1e5 rounds about log2(1e5) = 17 times: 1e-6, declared with 10x room.
    rtol: 1e-5,
  },
];
