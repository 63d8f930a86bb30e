import { minimum, mul } from '../../index.js';
import { type ConformanceCase, ref, seeded } from '../case.js';
import { at, build, permuteRef, sliceRef, transposeRef } from './ref-util.js';

/** Layout ops (views and copies): reshape, permute, transpose, expand, slice, narrow, at, squeeze, contiguous, cast. */
export const viewCases: ConformanceCase[] = [
  {
    op: 'reshape',
    name: 'of a transposed view (copies), with -1',
    inputs: [seeded([3, 4], 1300)],
    view: ([x]) => [x.transpose(0, 1)],
    run: (x) => mul(x.reshape(2, -1), 2),
    ref: (x) => {
      const t = transposeRef(x, 0, 1);
      return { shape: [2, 6], data: t.data.map((v) => 2 * v) };
    },
    grad: [0],
  },
  {
    op: 'reshape',
    name: 'zero-size',
    inputs: [ref([0, 4], [])],
    run: (x) => x.reshape([2, 0, 3]),
    ref: () => ({ shape: [2, 0, 3], data: new Float64Array(0) }),
  },
  {
    op: 'permute',
    name: 'rank 3 [2,3,4] -> [2,0,1]',
    inputs: [seeded([2, 3, 4], 1301)],
    run: (x) => mul(x.permute(2, 0, 1), 3),
    ref: (x) => {
      const p = permuteRef(x, [2, 0, 1]);
      return { shape: p.shape, data: p.data.map((v) => 3 * v) };
    },
    grad: [0],
  },
  {
    op: 'expand',
    name: '[3,1] -> [2,3,4] (gradient sums the broadcast)',
    inputs: [seeded([3, 1], 1302)],
    run: (x) => mul(x.expand(2, 3, 4), seeded([2, 3, 4], 1303).data[0]).contiguous(),
    ref: (x) => build([2, 3, 4], ([, j]) => x.data[j] * seeded([2, 3, 4], 1303).data[0]),
    grad: [0],
  },
  {
    op: 'slice',
    name: 'sliceDim with a step, narrow and at',
    inputs: [seeded([5, 6], 1304)],
    run: (x) =>
      x
        .sliceDim(1, 1, 6, 2)
        .narrow(0, 1, 3)
        .add(x.at(-1).sliceDim(0, 0, 3)),
    ref: (x) => {
      const s = sliceRef(sliceRef(x, 1, 1, 6, 2), 0, 1, 4);
      return build([3, 3], ([i, j]) => at(s, [i, j]) + at(x, [4, j]));
    },
    grad: [0],
  },
  {
    op: 'slice',
    name: 'negative and out-of-range bounds clamp like Python',
    inputs: [seeded([6], 1305)],
    run: (x) => x.sliceDim(0, -4, 100),
    ref: (x) => sliceRef(x, 0, 2, 6),
    grad: [0],
  },
  {
    op: 'squeeze',
    name: 'squeeze and unsqueeze',
    inputs: [seeded([1, 3, 1], 1306)],
    run: (x) => x.squeeze().unsqueeze(0).unsqueeze(-1).squeeze(0),
    ref: (x) => ({ shape: [3, 1], data: x.data.slice() }),
    grad: [0],
  },
  {
    op: 'contiguous',
    name: 'of a permuted view',
    inputs: [seeded([2, 3, 2], 1307)],
    view: ([x]) => [x.permute(1, 2, 0)],
    run: (x) => x.contiguous(),
    ref: (x) => permuteRef(x, [1, 2, 0]),
    grad: [0],
  },
  {
    op: 'cast',
    name: 'float32 -> int32 truncates, -> bool, -> float16 rounds',
    inputs: [ref([5], [1.7, -1.7, 0, 65504, 1e-8])],
    run: (x) =>
      x
        .cast('int32')
        .cast('float32')
        .add(x.cast('bool').cast('float32'))
        .add(x.cast('float16').cast('float32')),
    ref: () => ref([5], [1 + 1 + 1.7001953125, -1 + 1 - 1.7001953125, 0, 65504 + 1 + 65504, 0 + 1 + 0]),
  },
  {
    op: 'cast',
    // values from torch: x.to(torch.bfloat16).float() (ties to even: 1 + 2^-8 -> 1, 1 + 3·2^-8 ->
    // 1 + 2^-6), then bfloat16 -> float16 (1e30 overflows to inf) and back
    name: 'float32 -> bfloat16 rounds to nearest even, bfloat16 -> float16 -> float32',
    inputs: [ref([6], [1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.3, 1e30, 0, 2.5])],
    run: (x) => {
      const b = x.cast('bfloat16');
      return b.cast('float32').add(minimum(b.cast('float16').cast('float32'), 1e31));
    },
    ref: () => ref([6], [2, 2 * 1.015625, 2 * -3.296875, 1.0002555517425873e30 + 1e31, 0, 5]),
  },
  {
    op: 'cast',
    name: 'gradient flows through float casts',
    inputs: [seeded([4], 1308)],
    run: (x) => mul(x.cast('float16').cast('float32'), 1).add(x),
    ref: (x) => ({ shape: [4], data: x.data.map((v) => v + v) }),
    grad: [0],
    // Declared for the value only: the float16 round trip rounds to 11 bits (2^-11 = 4.9e-4
    // relative), which the float64 reference does not model. The gradient (identity through casts)
    // keeps the derived bound.
    rtol: 1e-3,
  },
];
