import {
  add,
  clamp,
  div,
  eq,
  ge,
  gt,
  le,
  logicalAnd,
  logicalOr,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  pow,
  remainder,
  sub,
  where,
} from '../../index.js';
import type { Tensor } from '../../tensor.js';
import { type ConformanceCase, mapRef, type RefArray, ref, seeded, zipRef } from '../case.js';
import { build, transposeRef } from './ref-util.js';

type F2 = (a: number, b: number) => number;
const pyMod: F2 = (a, b) => {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
};
const fr = Math.fround;

/** Broadcasting, views, scalars and zero-size cases for one binary op. */
function binaryCases(
  op: string,
  run: (a: Tensor | number, b: Tensor | number) => Tensor,
  f: F2,
  lo: number,
  hi: number,
  grad: number[] | undefined,
  seed: number,
  bLo = lo,
  bHi = hi,
): ConformanceCase[] {
  return [
    {
      op,
      name: 'same shape [3,4]',
      inputs: [seeded([3, 4], seed, lo, hi), seeded([3, 4], seed + 1, bLo, bHi)],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(a, b, f),
      grad,
    },
    {
      op,
      name: 'broadcast [2,1,3] with [4,1]',
      inputs: [seeded([2, 1, 3], seed + 2, lo, hi), seeded([4, 1], seed + 3, bLo, bHi)],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(a, b, f),
      grad,
    },
    {
      op,
      name: 'scalar tensor [] with [2,3]',
      inputs: [seeded([], seed + 4, lo, hi), seeded([2, 3], seed + 5, bLo, bHi)],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(a, b, f),
      grad,
    },
    {
      op,
      name: 'size-1 dims both sides [1,3] with [2,1]',
      inputs: [seeded([1, 3], seed + 6, lo, hi), seeded([2, 1], seed + 7, bLo, bHi)],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(a, b, f),
      grad,
    },
    {
      op,
      name: 'transposed view with a contiguous tensor',
      inputs: [seeded([4, 3], seed + 8, lo, hi), seeded([3, 4], seed + 9, bLo, bHi)],
      view: ([a, b]) => [a.transpose(0, 1), b],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(transposeRef(a, 0, 1), b, f),
      grad,
    },
    {
      op,
      name: 'expanded view (stride 0) with a sliced view',
      inputs: [seeded([1, 4], seed + 10, lo, hi), seeded([3, 8], seed + 11, bLo, bHi)],
      view: ([a, b]) => [a.expand([3, 4]), b.sliceDim(1, 1, 8, 2)],
      run: (a, b) => run(a, b),
      ref: (a, b) =>
        zipRef(
          a,
          build([3, 4], (i) => b.data[i[0] * 8 + 1 + 2 * i[1]]),
          f,
        ),
      grad,
    },
    {
      op,
      name: 'zero-size [0,3] with [1,3]',
      inputs: [ref([0, 3], []), seeded([1, 3], seed + 12, bLo, bHi)],
      run: (a, b) => run(a, b),
      ref: (a, b) => zipRef(a, b, f),
    },
    {
      op,
      name: 'JS number as the second operand',
      inputs: [seeded([5], seed + 13, lo, hi)],
      run: (a) => run(a, fr((bLo + bHi) / 2 + 0.25)),
      ref: (a) => mapRef(a, (x) => f(x, fr((bLo + bHi) / 2 + 0.25))),
      grad: grad?.includes(0) ? [0] : undefined,
    },
    {
      op,
      name: 'JS number as the first operand',
      inputs: [seeded([5], seed + 14, bLo, bHi)],
      run: (b) => run(fr((lo + hi) / 2 + 0.25), b),
      ref: (b) => mapRef(b, (x) => f(fr((lo + hi) / 2 + 0.25), x)),
      grad: grad?.includes(1) ? [0] : undefined,
    },
  ];
}

const ints = (shape: number[], vals: number[]): RefArray => ref(shape, vals, 'int32');
const bools = (shape: number[], vals: number[]): RefArray => ref(shape, vals, 'bool');

/** Every binary op (arithmetic, comparisons, logical), where and clamp. */
export const binaryCases_: ConformanceCase[] = [
  ...binaryCases('add', add, (a, b) => a + b, -2, 2, [0, 1], 100),
  ...binaryCases('sub', sub, (a, b) => a - b, -2, 2, [0, 1], 120),
  ...binaryCases('mul', mul, (a, b) => a * b, -2, 2, [0, 1], 140),
  ...binaryCases('div', div, (a, b) => a / b, -2, 2, [0, 1], 160, 0.5, 2),
  ...binaryCases('pow', pow, (a, b) => a ** b, 0.2, 3, [0, 1], 180, -2, 2),
  ...binaryCases('maximum', maximum, Math.max, -2, 2, [0, 1], 200),
  ...binaryCases('minimum', minimum, Math.min, -2, 2, [0, 1], 220),
  ...binaryCases('remainder', remainder, pyMod, -5, 5, [0], 240, 0.7, 2),
  ...binaryCases('eq', eq, (a, b) => (a === b ? 1 : 0), -2, 2, undefined, 260),
  ...binaryCases('ne', ne, (a, b) => (a !== b ? 1 : 0), -2, 2, undefined, 280),
  ...binaryCases('lt', lt, (a, b) => (a < b ? 1 : 0), -2, 2, undefined, 300),
  ...binaryCases('le', le, (a, b) => (a <= b ? 1 : 0), -2, 2, undefined, 320),
  ...binaryCases('gt', gt, (a, b) => (a > b ? 1 : 0), -2, 2, undefined, 340),
  ...binaryCases('ge', ge, (a, b) => (a >= b ? 1 : 0), -2, 2, undefined, 360),
  {
    op: 'eq',
    name: 'equal elements compare equal, NaN never',
    inputs: [ref([4], [1, 2, Number.NaN, 0]), ref([4], [1, 3, Number.NaN, -0])],
    run: (a, b) => eq(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => (x === y ? 1 : 0)),
  },
  {
    op: 'le',
    name: 'int32 operands',
    inputs: [ints([4], [1, 2, 3, -4]), ints([4], [2, 2, 1, -4])],
    run: (a, b) => le(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => (x <= y ? 1 : 0)),
  },
  {
    op: 'add',
    name: 'int32 + int32 stays int32',
    inputs: [ints([2, 2], [1, -2, 3, 2147483000]), ints([2], [5, 6])],
    run: (a, b) => add(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => x + y),
  },
  {
    op: 'add',
    name: 'int32 + float32 promotes to float32',
    inputs: [ints([3], [1, 2, 3]), seeded([3], 99)],
    run: (a, b) => add(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => x + y),
  },
  {
    op: 'mul',
    name: 'int32 tensor times a fractional number computes in float32',
    inputs: [ints([3], [1, 2, 3])],
    run: (a) => mul(a, 0.5),
    ref: (a) => mapRef(a, (x) => x * 0.5),
  },
  {
    op: 'div',
    name: 'int32 / int32 is true division',
    inputs: [ints([4], [7, -7, 1, 0]), ints([4], [2, 2, 3, 5])],
    run: (a, b) => div(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => x / y),
  },
  {
    op: 'div',
    name: 'division by zero gives inf and NaN',
    inputs: [ref([3], [1, -1, 0]), ref([3], [0, 0, 0])],
    run: (a, b) => div(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => x / y),
  },
  {
    op: 'pow',
    name: 'x ** 2 with a JS number exponent (negative bases)',
    inputs: [seeded([6], 401, -3, 3)],
    run: (a) => pow(a, 2),
    ref: (a) => mapRef(a, (x) => x ** 2),
    grad: [0],
  },
  {
    op: 'pow',
    name: 'x ** 0.5 and x ** -1',
    inputs: [seeded([6], 402, 0.5, 4)],
    run: (a) => add(pow(a, 0.5), pow(a, -1)),
    ref: (a) => mapRef(a, (x) => x ** 0.5 + x ** -1),
    grad: [0],
  },
  {
    op: 'pow',
    name: 'large and small magnitudes',
    inputs: [ref([4], [10, 1e-3, 1e10, 2])],
    run: (a) => pow(a, 3),
    ref: (a) => mapRef(a, (x) => fr(fr(x) ** 3)),
  },
  {
    op: 'maximum',
    name: 'ties split the gradient evenly',
    inputs: [ref([3], [1, 2, 3]), ref([3], [1, 0, 3])],
    run: (a, b) => mul(maximum(a, b), 1),
    ref: (a, b) => zipRef(a, b, Math.max),
  },
  {
    op: 'remainder',
    name: 'int32 operands keep the sign of the divisor',
    inputs: [ints([4], [7, -7, 7, -7]), ints([4], [3, 3, -3, -3])],
    run: (a, b) => remainder(a, b),
    ref: (a, b) => zipRef(a, b, pyMod),
  },
  {
    op: 'logicalAnd',
    name: 'bool with broadcasting',
    inputs: [bools([2, 2], [1, 0, 1, 1]), bools([2], [1, 0])],
    run: (a, b) => logicalAnd(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => (x && y ? 1 : 0)),
  },
  {
    op: 'logicalOr',
    name: 'bool with broadcasting',
    inputs: [bools([2, 2], [1, 0, 0, 0]), bools([2], [0, 1])],
    run: (a, b) => logicalOr(a, b),
    ref: (a, b) => zipRef(a, b, (x, y) => (x || y ? 1 : 0)),
  },
  {
    op: 'where',
    name: 'broadcast condition [3,1], a [1,4], b [3,4]',
    inputs: [bools([3, 1], [1, 0, 1]), seeded([1, 4], 501), seeded([3, 4], 502)],
    run: (c, a, b) => where(c, a, b),
    ref: (c, a, b) => build([3, 4], (i) => (c.data[i[0]] ? a.data[i[1]] : b.data[i[0] * 4 + i[1]])),
    grad: [1, 2],
  },
  {
    op: 'where',
    name: 'number operands',
    inputs: [bools([4], [1, 0, 0, 1]), seeded([4], 503)],
    run: (c, a) => add(where(c, a, -1), where(c, 2, a)),
    ref: (c, a) => build([4], (i) => (c.data[i[0]] ? a.data[i[0]] + 2 : -1 + a.data[i[0]])),
    grad: [1],
  },
  {
    op: 'where',
    name: 'transposed views and a zero-size output',
    inputs: [bools([2, 3], [1, 0, 1, 0, 1, 1]), seeded([3, 2], 504), seeded([0, 2, 3], 505)],
    view: ([c, a, b]) => [c, a.transpose(0, 1), b],
    run: (c, a, b) => add(where(c, a, 0), where(c, b, 1)),
    ref: (_c, _a, _b) => ({ shape: [0, 2, 3], data: new Float64Array(0) }),
  },
  {
    op: 'where',
    name: 'int32 branches stay int32',
    inputs: [bools([3], [1, 0, 1]), ints([3], [1, 2, 3]), ints([3], [-1, -2, -3])],
    run: (c, a, b) => where(c, a, b),
    ref: (c, a, b) => build([3], (i) => (c.data[i[0]] ? a.data[i[0]] : b.data[i[0]])),
  },
  {
    op: 'clamp',
    name: 'min and max (gradient inside the range)',
    inputs: [seeded([3, 5], 601, -3, 3)],
    run: (a) => clamp(a, -1, 1.5),
    ref: (a) => mapRef(a, (x) => Math.min(Math.max(x, -1), 1.5)),
    grad: [0],
  },
  {
    op: 'clamp',
    name: 'min only',
    inputs: [seeded([7], 602, -3, 3)],
    run: (a) => clamp(a, 0.25),
    ref: (a) => mapRef(a, (x) => Math.max(x, 0.25)),
    grad: [0],
  },
  {
    op: 'clamp',
    name: 'max only, on a transposed view',
    inputs: [seeded([3, 2], 603, -3, 3)],
    view: ([a]) => [a.transpose(0, 1)],
    run: (a) => clamp(a, null, -0.5),
    ref: (a) => mapRef(transposeRef(a, 0, 1), (x) => Math.min(x, -0.5)),
    grad: [0],
  },
  {
    op: 'clamp',
    name: 'tensor bounds broadcast',
    inputs: [seeded([3, 4], 604, -3, 3), seeded([4], 605, -2, -1), seeded([3, 1], 606, 1, 2)],
    run: (a, lo, hi) => clamp(a, lo, hi),
    ref: (a, lo, hi) =>
      build([3, 4], (i) => Math.min(Math.max(a.data[i[0] * 4 + i[1]], lo.data[i[1]]), hi.data[i[0]])),
    grad: [0, 1, 2],
  },
  {
    op: 'clamp',
    name: 'int32',
    inputs: [ints([5], [-5, -1, 0, 3, 9])],
    run: (a) => clamp(a, -2, 4),
    ref: (a) => mapRef(a, (x) => Math.min(Math.max(x, -2), 4)),
  },
];

export { binaryCases_ as binaryCases };
