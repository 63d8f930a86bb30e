// RoPE (both layouts, theta, offsets, explicit positions, partial rotary dims), ALiBi slopes and
// biased attention, sinusoidal encodings and learned embeddings, against the PyTorch fixtures.
// Tolerance: 1e-4 relative (atol 1e-5) on CPU.
import '@attnkit/backend-cpu';
import { randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  alibiBias,
  alibiSlopes,
  LearnedPositionalEmbedding,
  RotaryEmbedding,
  type RotaryLayout,
  scaledDotProductAttention,
  sinusoidalPositionalEncoding,
} from '../src/index.js';
import { compare, fixtureIndex, loadFixture, mismatch } from './helpers.js';

const byKind = (kind: string) => fixtureIndex().filter((c) => c.kind === kind);

describe('RotaryEmbedding matches the torch reference (rtol 1e-4)', () => {
  const cases = byKind('rope');
  it('covers every rope fixture', () => expect(cases.length).toBeGreaterThanOrEqual(9));
  for (const { name } of cases) {
    it(name, () => {
      const fx = loadFixture(name);
      const rope = new RotaryEmbedding({
        rotaryDim: fx.param<number>('rotary_dim'),
        theta: fx.param<number>('theta'),
        layout: fx.param<RotaryLayout>('layout'),
      });
      const invFreq = fx.array('inv_freq');
      expect(mismatch(rope.invFreq, [rope.invFreq.length], invFreq, 1e-6, 0)).toBeNull();
      const offset = fx.param<number | null>('offset');
      const x = fx.tensor('x').requiresGrad_(true);
      const y =
        offset === null
          ? rope.apply(x, { positions: Array.from(fx.array('positions').data) })
          : rope.apply(x, { offset });
      expect(compare(y, fx.array('output'))).toBeNull();
      // a rotation preserves the norm of every rotated pair, so d(sum y²)/dx = 2x
      y.mul(y).sum().backward();
      const g = (x.grad as Tensor).dataSync();
      const xs = fx.array('x').data;
      expect(mismatch(g, x.shape, { shape: [...x.shape], data: Array.from(xs, (v) => 2 * v) })).toBeNull();
    });
  }

  it('per-sequence positions [B, L] rotate each batch element by its own positions', () => {
    const fx = loadFixture('rope_rotate_half_theta1e4_offset7');
    const rope = new RotaryEmbedding({ rotaryDim: 16 });
    const x = fx.tensor('x'); // [2, 3, 4, 16] at positions 7..10
    const positions = tensor([7, 8, 9, 10, 0, 1, 2, 3], [2, 4], 'int32');
    const y = rope.apply(x, { positions });
    const want0 = fx.array('output');
    const y0 = y.at(0).dataSync();
    const n = want0.data.length / 2;
    expect(mismatch(y0, [n], { shape: [n], data: want0.data.slice(0, n) })).toBeNull();
    const y1 = rope.apply(x.at(1).unsqueeze(0), { offset: 0 }).dataSync();
    expect(mismatch(y.at(1).dataSync(), [n], { shape: [n], data: y1 })).toBeNull();
  });

  it('rejects bad options', () => {
    expect(() => new RotaryEmbedding({ rotaryDim: 5 })).toThrow(/'rotaryDim' must be even, got 5/);
    const rope = new RotaryEmbedding({ rotaryDim: 8 });
    expect(() => rope.apply(randn([1, 1, 3, 4]))).toThrow(/head dim 4, smaller than rotaryDim 8/);
    expect(() => rope.apply(randn([1, 1, 3, 8]), { positions: [0, 1] })).toThrow(
      /'positions' has 2 entries, expected L = 3/,
    );
  });
});

describe('ALiBi', () => {
  for (const { name } of byKind('alibi_slopes')) {
    it(`${name}: slopes equal the reference`, () => {
      const fx = loadFixture(name);
      const want = fx.param<number[]>('slopes_values');
      const got = alibiSlopes(fx.param<number>('num_heads'));
      expect(got.length).toBe(want.length);
      for (const [i, s] of got.entries()) expect(s).toBeCloseTo(want[i], 12);
    });
  }
  for (const { name } of byKind('alibi_attention')) {
    it(`${name}: biased causal attention (rtol 1e-4)`, () => {
      const fx = loadFixture(name);
      const [, h, lq] = fx.array('q').shape;
      const lk = fx.array('k').shape[2];
      const bias = alibiBias(h, lq, lk);
      expect(compare(bias.reshape([h, lq, lk]), fx.array('bias'))).toBeNull();
      for (const implementation of ['reference', 'fused'] as const) {
        const y = scaledDotProductAttention(fx.tensor('q'), fx.tensor('k'), fx.tensor('v'), {
          mask: bias,
          causal: true,
          implementation,
        });
        expect(compare(y, fx.array('output'))).toBeNull();
      }
    });
  }
  it('rejects a bad head count', () => {
    expect(() => alibiSlopes(0)).toThrow(/alibiSlopes: 'numHeads' must be a positive integer, got 0/);
  });
});

describe('sinusoidal and learned position encodings', () => {
  for (const { name } of byKind('sinusoidal')) {
    it(`${name} equals the 2017 formula (rtol 1e-4)`, () => {
      const fx = loadFixture(name);
      const pe = sinusoidalPositionalEncoding(fx.param<number>('max_len'), fx.param<number>('d_model'));
      expect(compare(pe, fx.array('pe'))).toBeNull();
    });
  }
  it('an odd dModel ends with a sine column (hand-derived)', () => {
    const pe = sinusoidalPositionalEncoding(3, 3).arraySync() as number[][];
    expect(pe[2][0]).toBeCloseTo(Math.sin(2), 6);
    expect(pe[2][1]).toBeCloseTo(Math.cos(2), 6);
    expect(pe[2][2]).toBeCloseTo(Math.sin(2 / 10000 ** (2 / 3)), 6);
  });
  it('learned embeddings slice the table by offset or gather by index', () => {
    const wpe = new LearnedPositionalEmbedding({ maxPositions: 6, dim: 3 });
    const table = wpe.weight.arraySync() as number[][];
    expect(wpe.forward(2, { offset: 3 }).arraySync()).toEqual([table[3], table[4]]);
    expect(wpe.forward(tensor([5, 0], [2], 'int32')).arraySync()).toEqual([table[5], table[0]]);
    expect(() => wpe.forward(4, { offset: 3 })).toThrow(/positions 3..6 exceed the table of 6 positions/);
    expect(Object.keys(wpe.stateDict())).toEqual(['weight']);
  });
});
