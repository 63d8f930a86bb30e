// Conformance cases for the losses, against float64 formulas written from torch's definitions.
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  nllLoss,
  type Reduction,
} from '../../index.js';
import { type ConformanceCase, type RefArray, ref, seeded } from '../case.js';
import { lse } from './ref-util.js';

const scalar = (v: number): RefArray => ({ shape: [], data: Float64Array.of(v) });

function reduceRef(per: RefArray, reduction: Reduction, denom = per.data.length): RefArray {
  if (reduction === 'none') return per;
  const s = per.data.reduce((a, b) => a + b, 0);
  return scalar(reduction === 'sum' ? s : s / denom);
}

interface CeRefOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: Reduction;
  weight?: RefArray;
  /** The input holds log-probabilities already (nllLoss). */
  logProbs?: boolean;
}

/** torch's cross_entropy with class indices; input [N, C, d...], target [N, d...]. */
function crossEntropyRef(x: RefArray, t: RefArray, o: CeRefOptions = {}): RefArray {
  const [n, c, ...rest] = x.shape;
  const inner = rest.reduce((a, b) => a * b, 1);
  const ignore = o.ignoreIndex ?? -100;
  const ls = o.labelSmoothing ?? 0;
  const w = (k: number) => (o.weight ? o.weight.data[k] : 1);
  const per = new Float64Array(n * inner);
  let wsum = 0;
  let nllSum = 0;
  let smoothSum = 0;
  for (let b = 0; b < n; b++)
    for (let q = 0; q < inner; q++) {
      const row = Array.from({ length: c }, (_, k) => x.data[(b * c + k) * inner + q]);
      const l = o.logProbs ? 0 : lse(row);
      const logp = row.map((v) => v - l);
      const k = t.data[b * inner + q];
      if (k === ignore) continue;
      const nll = -w(k) * logp[k];
      const smooth = -logp.reduce((s, v, j) => s + w(j) * v, 0);
      per[b * inner + q] = (1 - ls) * nll + (ls / c) * smooth;
      wsum += w(k);
      nllSum += nll;
      smoothSum += smooth;
    }
  const reduction = o.reduction ?? 'mean';
  if (reduction === 'none') return { shape: [n, ...rest], data: per };
  if (reduction === 'sum') return scalar((1 - ls) * nllSum + (ls / c) * smoothSum);
  return scalar(((1 - ls) * nllSum) / wsum + ((ls / c) * smoothSum) / wsum);
}

/** torch's cross_entropy with class probabilities [N, C]. */
function crossEntropyProbRef(x: RefArray, p: RefArray, ls: number): RefArray {
  const [n, c] = x.shape;
  let s = 0;
  for (let b = 0; b < n; b++) {
    const row = Array.from(x.data.subarray(b * c, b * c + c));
    const l = lse(row);
    for (let k = 0; k < c; k++) s -= (p.data[b * c + k] * (1 - ls) + ls / c) * (row[k] - l);
  }
  return scalar(s / n);
}

function bceRef(x: RefArray, y: RefArray, pw: RefArray | null, reduction: Reduction): RefArray {
  const c = x.shape[x.shape.length - 1];
  const per = x.data.map((v, i) => {
    const lw = pw ? 1 + (pw.data[i % c] - 1) * y.data[i] : 1;
    return (1 - y.data[i]) * v + lw * Math.log1p(Math.exp(-v));
  });
  return reduceRef({ shape: [...x.shape], data: per }, reduction);
}

const targets = (shape: number[], values: number[]) => ref(shape, values, 'int32');

/** Cases for crossEntropy (ignoreIndex, labelSmoothing, weight, probabilities), nll, mse, l1, bce. */
export const lossCases: ConformanceCase[] = [
  {
    op: 'crossEntropy',
    name: '[N, C] mean',
    inputs: [seeded([5, 4], 301, -3, 3), targets([5], [0, 3, 1, 1, 2])],
    run: (x, t) => crossEntropy(x, t),
    ref: (x, t) => crossEntropyRef(x, t),
    grad: [0],
  },
  {
    op: 'crossEntropy',
    name: '[N, C, d] with ignoreIndex, labelSmoothing 0.1 and class weights',
    inputs: [
      seeded([2, 3, 4], 302, -2, 2),
      targets([2, 4], [0, -100, 2, 1, 1, 0, -100, 2]),
      seeded([3], 303, 0.5, 2),
    ],
    run: (x, t, w) => crossEntropy(x, t, { labelSmoothing: 0.1, weight: w }),
    ref: (x, t, w) => crossEntropyRef(x, t, { labelSmoothing: 0.1, weight: w }),
    grad: [0],
  },
  {
    op: 'crossEntropy',
    name: "reduction 'none' and 'sum' with a custom ignoreIndex",
    inputs: [
      seeded([4, 3, 2, 2], 304, -2, 2),
      targets([4, 2, 2], [0, 1, 2, 1, 1, 1, 0, 2, 2, 0, 1, 1, 0, 0, 2, 1]),
    ],
    run: (x, t) =>
      crossEntropy(x, t, { reduction: 'none', ignoreIndex: 1 }).add(
        crossEntropy(x, t, { reduction: 'sum', ignoreIndex: 1 }),
      ),
    ref: (x, t) => {
      const none = crossEntropyRef(x, t, { reduction: 'none', ignoreIndex: 1 });
      const s = crossEntropyRef(x, t, { reduction: 'sum', ignoreIndex: 1 }).data[0];
      return { shape: none.shape, data: none.data.map((v) => v + s) };
    },
    grad: [0],
  },
  {
    op: 'crossEntropy',
    name: 'logits of ±1e4 stay finite (log-sum-exp)',
    inputs: [ref([2, 3], [1e4, -1e4, 0, 5000, 5001, -2]), targets([2], [1, 2])],
    run: (x, t) => crossEntropy(x, t),
    ref: (x, t) => crossEntropyRef(x, t),
    // Declared: the derived condition term (|x| = 1e4) would admit a naive log(sum(exp)); this case
    // exists to require the max-subtracted log-sum-exp.
    rtol: 1e-4,
  },
  {
    op: 'crossEntropy',
    name: 'class-probability targets with labelSmoothing',
    inputs: [seeded([3, 4], 305, -2, 2), seeded([3, 4], 306, 0, 0.5)],
    run: (x, p) => crossEntropy(x, p, { labelSmoothing: 0.2 }),
    ref: (x, p) => crossEntropyProbRef(x, p, 0.2),
    grad: [0],
  },
  {
    op: 'nllLoss',
    name: 'weighted mean with an ignored target',
    inputs: [seeded([4, 3], 307, -3, 0), targets([4], [2, 0, -100, 1]), seeded([3], 308, 0.5, 1.5)],
    run: (x, t, w) => nllLoss(x, t, { weight: w }),
    ref: (x, t, w) => crossEntropyRef(x, t, { weight: w, logProbs: true }),
    grad: [0],
  },
  {
    op: 'mseLoss',
    name: 'mean over [3, 4]',
    inputs: [seeded([3, 4], 309), seeded([3, 4], 310)],
    run: (x, y) => mseLoss(x, y),
    ref: (x, y) => reduceRef({ shape: x.shape, data: x.data.map((v, i) => (v - y.data[i]) ** 2) }, 'mean'),
    grad: [0, 1],
  },
  {
    op: 'l1Loss',
    name: "reduction 'sum'",
    inputs: [seeded([2, 5], 311), seeded([2, 5], 312)],
    run: (x, y) => l1Loss(x, y, { reduction: 'sum' }),
    ref: (x, y) => reduceRef({ shape: x.shape, data: x.data.map((v, i) => Math.abs(v - y.data[i])) }, 'sum'),
    grad: [0, 1],
  },
  {
    op: 'binaryCrossEntropyWithLogits',
    name: 'posWeight, logits up to ±30',
    inputs: [seeded([3, 4], 313, -30, 30), seeded([3, 4], 314, 0, 1), seeded([4], 315, 0.5, 3)],
    run: (x, y, pw) => binaryCrossEntropyWithLogits(x, y, { posWeight: pw, reduction: 'none' }),
    ref: (x, y, pw) => bceRef(x, y, pw, 'none'),
    grad: [0, 1],
  },
];
