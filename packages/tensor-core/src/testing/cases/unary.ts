import {
  abs,
  ceil,
  cos,
  erf,
  exp,
  floor,
  gelu,
  isnan,
  log,
  logicalNot,
  neg,
  reciprocal,
  relu,
  round,
  rsqrt,
  sigmoid,
  sign,
  silu,
  sin,
  softplus,
  sqrt,
  tanh,
} from '../../index.js';
import type { Tensor } from '../../tensor.js';
import { type ConformanceCase, mapRef, ref, seeded } from '../case.js';
import { erf64, roundHalfEven64, transposeRef } from './ref-util.js';

type F = (x: number) => number;
const sigmoid64: F = (x) => 1 / (1 + Math.exp(-x));
const gelu64: F = (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2));

/** Three cases per differentiable unary op: values with grads, a transposed view, and a zero-size input. */
function unaryCases(
  op: string,
  run: (x: Tensor) => Tensor,
  f: F,
  lo: number,
  hi: number,
  differentiable = true,
  seed = op.length * 31 + op.charCodeAt(0),
): ConformanceCase[] {
  const grad = differentiable ? [0] : undefined;
  return [
    {
      op,
      name: `values in [${lo}, ${hi}) with gradient`,
      inputs: [seeded([3, 5], seed, lo, hi)],
      run,
      ref: (x) => mapRef(x, f),
      grad,
    },
    {
      op,
      name: 'transposed (non-contiguous) view',
      inputs: [seeded([4, 3], seed + 1, lo, hi)],
      view: ([x]) => [x.transpose(0, 1)],
      run,
      ref: (x) => mapRef(transposeRef(x, 0, 1), f),
      grad,
    },
    {
      op,
      name: 'zero-size [0, 3]',
      inputs: [ref([0, 3], [])],
      run,
      ref: (x) => mapRef(x, f),
    },
  ];
}

/** Every elementwise unary op against float64 math. */
export const unaryCases_: ConformanceCase[] = [
  ...unaryCases('neg', neg, (x) => -x, -3, 3),
  ...unaryCases('abs', abs, Math.abs, -3, 3),
  ...unaryCases('sign', sign, Math.sign, -3, 3, false),
  ...unaryCases('exp', exp, Math.exp, -5, 5),
  ...unaryCases('log', log, Math.log, 0.01, 10),
  ...unaryCases('sqrt', sqrt, Math.sqrt, 0.01, 10),
  ...unaryCases('rsqrt', rsqrt, (x) => 1 / Math.sqrt(x), 0.05, 10),
  ...unaryCases('sin', sin, Math.sin, -6, 6),
  ...unaryCases('cos', cos, Math.cos, -6, 6),
  ...unaryCases('tanh', tanh, Math.tanh, -4, 4),
  ...unaryCases('sigmoid', sigmoid, sigmoid64, -8, 8),
  ...unaryCases('relu', relu, (x) => Math.max(x, 0), -3, 3),
  ...unaryCases('gelu', (x) => gelu(x), gelu64, -5, 5),
  ...unaryCases('silu', silu, (x) => x * sigmoid64(x), -6, 6),
  ...unaryCases('softplus', softplus, (x) => (x > 20 ? x : Math.log1p(Math.exp(x))), -30, 30),
  ...unaryCases('erf', erf, erf64, -3, 3),
  ...unaryCases('floor', floor, Math.floor, -5, 5, false),
  ...unaryCases('ceil', ceil, Math.ceil, -5, 5, false),
  ...unaryCases('round', round, roundHalfEven64, -5, 5, false),
  ...unaryCases('reciprocal', reciprocal, (x) => 1 / x, 0.1, 4),
  {
    op: 'round',
    name: 'halves round to even',
    inputs: [ref([6], [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])],
    run: round,
    ref: (x) => mapRef(x, roundHalfEven64),
  },
  {
    op: 'gelu',
    name: "approximate 'tanh' against float64",
    inputs: [seeded([4, 6], 40, -5, 5)],
    run: (x) => gelu(x, { approximate: 'tanh' }),
    ref: (x) => mapRef(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))),
    grad: [0],
  },
  {
    op: 'log',
    name: 'tiny magnitudes: log(1e-38), log(1e-30), log(0) = -inf',
    inputs: [ref([4], [1e-38, 1e-30, 1, 0])],
    run: log,
    ref: (x) => mapRef(x, (v) => Math.log(Math.fround(v))),
  },
  {
    op: 'exp',
    name: 'overflow to inf and underflow to 0',
    inputs: [ref([4], [-200, -80, 80, 200])],
    run: exp,
    ref: (x) => mapRef(x, (v) => Math.fround(Math.exp(v))),
  },
  {
    op: 'sigmoid',
    name: 'saturates without NaN at +-100',
    inputs: [ref([4], [-100, -30, 30, 100])],
    run: sigmoid,
    ref: (x) => mapRef(x, sigmoid64),
  },
  {
    op: 'softplus',
    name: 'large magnitudes (threshold 20)',
    inputs: [ref([5], [-100, -20, 19.5, 20.5, 1e4])],
    run: (x) => softplus(x),
    ref: (x) => mapRef(x, (v) => (v > 20 ? v : Math.log1p(Math.exp(v)))),
  },
  {
    op: 'softplus',
    name: 'beta 2, threshold 1 (linear above beta * x > threshold)',
    inputs: [seeded([3, 5], 41, -3, 3)],
    run: (x) => softplus(x, { beta: 2, threshold: 1 }),
    ref: (x) => mapRef(x, (v) => (2 * v > 1 ? v : Math.log1p(Math.exp(2 * v)) / 2)),
    grad: [0],
  },
  {
    op: 'erf',
    name: 'tiny and large inputs',
    inputs: [ref([5], [1e-10, -1e-6, 4, -6, 10])],
    run: erf,
    ref: (x) => mapRef(x, erf64),
  },
  {
    op: 'logicalNot',
    name: 'bool',
    inputs: [ref([5], [1, 0, 0, 1, 1], 'bool')],
    run: logicalNot,
    ref: (x) => mapRef(x, (v) => (v ? 0 : 1)),
  },
  {
    op: 'isnan',
    name: 'NaN, inf and finite',
    inputs: [ref([4], [Number.NaN, Number.POSITIVE_INFINITY, 0, -1])],
    run: isnan,
    ref: (x) => mapRef(x, (v) => (Number.isNaN(v) ? 1 : 0)),
  },
  {
    op: 'neg',
    name: 'int32 stays int32',
    inputs: [ref([4], [-3, 0, 2, 7], 'int32')],
    run: neg,
    ref: (x) => mapRef(x, (v) => -v),
  },
  {
    op: 'abs',
    name: 'int32',
    inputs: [ref([4], [-3, 0, 2, -7], 'int32')],
    run: abs,
    ref: (x) => mapRef(x, Math.abs),
  },
  {
    op: 'exp',
    name: 'int32 input computes in float32',
    inputs: [ref([3], [0, 1, 2], 'int32')],
    run: exp,
    ref: (x) => mapRef(x, Math.exp),
  },
];

export { unaryCases_ as unaryCases };
