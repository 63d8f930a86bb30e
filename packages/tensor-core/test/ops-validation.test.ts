// Bad input gives errors that name the op, the argument and the shapes; plus behaviour the
// conformance table cannot express (multiple outputs, sampling statistics, memory).
import './reference-backend.js';
import {
  add,
  argmax,
  chunk,
  concat,
  embedding,
  Generator,
  gather,
  groupNorm,
  indexSelect,
  layerNorm,
  maskedFill,
  matmul,
  memory,
  multinomial,
  oneHot,
  ones,
  pad,
  randn,
  repeat,
  rmsNorm,
  scatterAdd,
  setBackend,
  softmax,
  sort,
  split,
  stack,
  sum,
  tensor,
  tidy,
  topk,
  tril,
  zeros,
} from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it } from 'vitest';

const ids = (v: number[], shape?: number[]) => tensor(v, shape ?? [v.length], 'int32');

beforeAll(() => {
  setBackend('reference');
});

describe('validation messages name the op and the shapes', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'matmul inner dims',
      () => matmul(ones([2, 3]), ones([4, 5])),
      /^matmul: inner dimensions differ: \[2,3\] @ \[4,5\] \(3 != 4\)$/,
    ],
    [
      'matmul batch',
      () => matmul(ones([2, 2, 3]), ones([3, 3, 1])),
      /matmul: shapes \[2\] and \[3\] do not broadcast/,
    ],
    ['matmul scalar', () => matmul(ones([]), ones([3])), /matmul: both arguments need at least 1 dimension/],
    ['add broadcast', () => add(ones([2, 3]), ones([4])), /add: shapes \[2,3\] and \[4\] do not broadcast/],
    ['sum dim', () => sum(ones([2, 3]), 2), /sum: dim 2 is out of range for a tensor of rank 2/],
    ['argmax empty', () => argmax(zeros([0, 3]), 0), /argmax: cannot reduce over dim 0 of size 0/],
    [
      'concat sizes',
      () => concat([ones([2, 3]), ones([2, 4])], 0),
      /concat: tensors\[1\] has shape \[2,4\] but tensors\[0\] has \[2,3\]/,
    ],
    ['concat empty', () => concat([]), /concat: expected a non-empty array/],
    [
      'concat not a tensor',
      () => concat([ones([1]), 3 as never]),
      /concat: argument 'tensors\[1\]' must be a Tensor/,
    ],
    [
      'stack shapes',
      () => stack([ones([2]), ones([3])]),
      /stack: every tensor must have the same shape; tensors\[0\] is \[2\] and tensors\[1\] is \[3\]/,
    ],
    [
      'split sections',
      () => split(ones([5]), [2, 2]),
      /split: sections \[2,2\] sum to 4, but dim 0 of \[5\] has size 5/,
    ],
    ['chunk count', () => chunk(ones([5]), 0), /chunk: chunks must be a positive integer, got 0/],
    ['pad odd', () => pad(ones([2, 2]), [1]), /pad: padding must be an even-length array/],
    [
      'pad too many',
      () => pad(ones([2]), [1, 1, 1, 1]),
      /pad: padding of length 4 pads 2 dims, but the input \[2\] has 1/,
    ],
    [
      'pad reflect too wide',
      () => pad(ones([1, 3]), [3, 0], 'reflect'),
      /pad: reflect padding \(3, 0\) of dim 1 .*at most 2/,
    ],
    ['pad mode', () => pad(ones([1, 3]), [1, 0], 'wrap' as never), /pad: mode must be/],
    ['tril rank', () => tril(ones([3])), /tril: expected a tensor with at least 2 dims, got \[3\]/],
    [
      'repeat sizes',
      () => repeat(ones([2, 3]), [2]),
      /repeat: got 1 repeat sizes \[2\] for a tensor of rank 2 \[2,3\]/,
    ],
    [
      'gather dtype',
      () => gather(ones([2, 2]), 1, ones([2, 2])),
      /gather: argument 'index' must be an int32 tensor of indices, got float32/,
    ],
    [
      'gather rank',
      () => gather(ones([2, 2]), 1, ids([0, 1])),
      /gather: index \[2\] must have the same rank as input \[2,2\]/,
    ],
    [
      'gather range',
      () => gather(ones([2, 2]), 1, ids([0, 2, 1, 0], [2, 2])),
      /gather: index holds 2, out of range for dim 1 of input \[2,2\] \(expected 0..1\)/,
    ],
    [
      'scatterAdd shapes',
      () => scatterAdd(ones([2, 2]), 0, ids([0, 0, 0], [3, 1]), ones([2, 1])),
      /scatterAdd: index \[3,1\] must be no larger than src \[2,1\]/,
    ],
    [
      'indexSelect 2-D index',
      () => indexSelect(ones([3]), 0, ids([0, 1], [1, 2])),
      /indexSelect: index must be 1-D, got \[1,2\]/,
    ],
    [
      'embedding range',
      () => embedding(ids([0, 5]), ones([5, 2])),
      /embedding: input holds 5, out of range for a weight of 5 embeddings/,
    ],
    [
      'embedding weight',
      () => embedding(ids([0]), ones([5])),
      /embedding: weight must be 2-D \[numEmbeddings, embeddingDim\], got \[5\]/,
    ],
    ['oneHot range', () => oneHot(ids([0, 3]), 3), /oneHot: indices holds 3, out of range for 3 classes/],
    [
      'maskedFill dtype',
      () => maskedFill(ones([2]), ones([2]), 0),
      /maskedFill: mask must be a bool tensor, got float32/,
    ],
    [
      'maskedFill shape',
      () => maskedFill(ones([2]), tensor([true, false, true]), 0),
      /maskedFill: shapes \[2\] and \[3\] do not broadcast/,
    ],
    ['softmax dim', () => softmax(ones([2, 3]), 2), /softmax: dim 2 is out of range for a tensor of rank 2/],
    [
      'layerNorm shape',
      () => layerNorm(ones([2, 3]), [4]),
      /layerNorm: normalizedShape \[4\] must match the trailing dims of the input \[2,3\]/,
    ],
    [
      'layerNorm weight',
      () => layerNorm(ones([2, 3]), [3], ones([2])),
      /layerNorm: weight has shape \[2\], expected \[3\]/,
    ],
    ['rmsNorm dtype', () => rmsNorm(ids([1, 2]), 2), /rmsNorm: expected a float input, got int32/],
    [
      'groupNorm groups',
      () => groupNorm(ones([2, 6, 3]), 4),
      /groupNorm: numGroups 4 must be a positive integer dividing the 6 channels of \[2,6,3\]/,
    ],
    ['topk k', () => topk(ones([2, 3]), 4), /topk: k must be an integer in 0..3 for dim 1 of \[2,3\], got 4/],
    ['sort dim', () => sort(ones([2, 3]), 5), /sort: dim 5 is out of range/],
    [
      'multinomial rank',
      () => multinomial(ones([1, 2, 3]), 1),
      /multinomial: probs must be 1-D or 2-D, got \[1,2,3\]/,
    ],
    [
      'multinomial negative',
      () => multinomial(tensor([0.5, -0.1]), 1),
      /multinomial: probs must be finite and non-negative; row 0 holds -0.1/,
    ],
    [
      'multinomial too many',
      () => multinomial(tensor([0.5, 0.5, 0]), 3),
      /multinomial: row 0 has 2 non-zero categories, fewer than the 3 samples/,
    ],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => {
      expect(fn).toThrow(re);
    });
  }
});

describe('ops with several outputs or random draws', () => {
  it('split and chunk follow torch sizes', () => {
    expect(split(ones([5, 2]), 2).map((t) => t.shape)).toEqual([
      [2, 2],
      [2, 2],
      [1, 2],
    ]);
    // torch.chunk(6 elements, 4) gives 3 chunks of 2
    expect(chunk(ones([6]), 4).map((t) => t.shape[0])).toEqual([2, 2, 2]);
    expect(chunk(ones([5]), 5).length).toBe(5);
  });

  it('sort returns values and int32 indices; topk of ties keeps the lower index first', () => {
    const s = sort(tensor([[3, 1, 2]]), -1, true);
    expect(s.values.arraySync()).toEqual([[3, 2, 1]]);
    expect(s.indices.dtype).toBe('int32');
    expect(s.indices.arraySync()).toEqual([[0, 2, 1]]);
    expect(topk(tensor([1, 5, 5, 2]), 2).indices.arraySync()).toEqual([1, 2]);
  });

  it('multinomial with replacement matches the distribution (20000 seeded draws)', () => {
    const p = [0.1, 0.2, 0.0, 0.7];
    const n = 20000;
    const s = multinomial(tensor(p), n, { replacement: true, generator: new Generator(123) }).dataSync();
    const counts = [0, 0, 0, 0];
    for (const v of s) counts[v]++;
    for (let i = 0; i < 4; i++) {
      // 5 standard deviations of a binomial count
      const sd = Math.sqrt(n * p[i] * (1 - p[i]));
      expect(Math.abs(counts[i] - n * p[i])).toBeLessThanOrEqual(5 * sd + 1e-9);
    }
  });

  it('multinomial without replacement: first draw follows the distribution, draws are distinct', () => {
    const p = [0.5, 0.3, 0.2];
    const g = new Generator(9);
    const counts = [0, 0, 0];
    const n = 3000;
    const rows = tensor(Array.from({ length: n }, () => p));
    const s = multinomial(rows, 3, { generator: g }).arraySync() as number[][];
    for (const row of s) {
      expect(new Set(row).size).toBe(3);
      counts[row[0]]++;
    }
    for (let i = 0; i < 3; i++) {
      const sd = Math.sqrt(n * p[i] * (1 - p[i]));
      expect(Math.abs(counts[i] - n * p[i])).toBeLessThanOrEqual(5 * sd);
    }
  });

  it('the same seed gives the same samples', () => {
    const p = tensor([[0.2, 0.3, 0.5]]);
    const a = multinomial(p, 8, { replacement: true, generator: new Generator(4) }).arraySync();
    const b = multinomial(p, 8, { replacement: true, generator: new Generator(4) }).arraySync();
    expect(a).toEqual(b);
  });

  it('Tensor methods mirror the functions', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(x.softmax(0).arraySync()).toEqual(softmax(x, 0).arraySync());
    expect(x.flip(1).arraySync()).toEqual([
      [2, 1],
      [4, 3],
    ]);
    expect(x.tril().arraySync()).toEqual([
      [1, 0],
      [3, 4],
    ]);
    expect(x.repeat(1, 2).arraySync()).toEqual([
      [1, 2, 1, 2],
      [3, 4, 3, 4],
    ]);
    expect(x.cumsum(0).arraySync()).toEqual([
      [1, 2],
      [4, 6],
    ]);
    expect(x.topk(1).values.arraySync()).toEqual([[2], [4]]);
    expect(x.pad([1, 0]).arraySync()).toEqual([
      [0, 1, 2],
      [0, 3, 4],
    ]);
    expect(x.indexSelect(0, ids([1])).arraySync()).toEqual([[3, 4]]);
    expect(x.chunk(2, 1)[1].arraySync()).toEqual([[2], [4]]);
  });

  it('tidy frees every intermediate of the new ops (forward and backward)', () => {
    const w = randn([6, 4]).requiresGrad_();
    const before = memory().reference.numTensors;
    for (let i = 0; i < 3; i++) {
      tidy(() => {
        const x = embedding(ids([1, 2, 5, 0]), w);
        const h = layerNorm(concat([x, pad(x, [0, 0, 1, -1])], 1), [8]);
        const y = softmax(h, 0).mul(sort(h, 1).values).sum();
        y.backward();
        w.grad?.dispose();
        w.grad = null;
      });
    }
    expect(memory().reference.numTensors).toBe(before);
  });
});
