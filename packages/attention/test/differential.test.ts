// DiffAttention and DiffTransformerBlock against the float64 reference written from the
// Differential Transformer's equations (scripts/reference_diff_attention.py; no library ships
// differential attention): output and the gradients of x and of every parameter, 1e-4 relative.
// Then KV-cache decoding equal to the full causal forward, the weights option, and bad input.
import '@attnkit/backend-cpu';
import { fileURLToPath } from 'node:url';
import { concat, fromValues, mul, randn, sum, type Tensor } from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { DiffAttention, DiffTransformerBlock, diffLambdaInit, LayerKVCache } from '../src/index.js';
import { compare, loadFixture, mismatch, readStateDict } from './helpers.js';

const ROOT = fileURLToPath(new URL('./fixtures/diff-attention/', import.meta.url));

function checkCase(
  name: string,
  build: (fx: ReturnType<typeof loadFixture>) => Module,
  run: (m: Module, x: Tensor) => Tensor,
) {
  const fx = loadFixture(name, ROOT);
  const m = build(fx);
  const res = m.loadStateDict(readStateDict(fx.path(fx.param<string>('state_dict'))));
  expect(res).toBeDefined();
  const x = fx.tensor('x');
  x.requiresGrad = true;
  const out = run(m, x);
  expect(compare(out, fx.array('output'))).toBeNull();
  sum(mul(out, fx.tensor('grad_output'))).backward();
  expect(compare(x.grad as Tensor, fx.array('grad_x'))).toBeNull();
  const names = m.namedParameters().map(([n]) => n);
  expect(names.sort()).toEqual(
    Object.keys(fx.meta)
      .filter((k) => k.startsWith('grad.'))
      .map((k) => k.slice(5))
      .sort(),
  );
  for (const [n, p] of m.namedParameters()) {
    const why = compare(p.grad as Tensor, fx.array(`grad.${n}`));
    expect(why, `grad of ${n}`).toBeNull();
  }
  return { fx, m };
}

describe('DiffAttention', () => {
  it('lambda_init follows the paper: 0.8 − 0.6·exp(−0.3·(l − 1)), layerIndex = l − 1', () => {
    expect(diffLambdaInit(0)).toBeCloseTo(0.2, 12);
    expect(diffLambdaInit(3)).toBeCloseTo(0.8 - 0.6 * Math.exp(-0.9), 12);
    expect(() => diffLambdaInit(-1)).toThrow(/layerIndex/);
  });

  for (const name of ['diff_causal_h2_depth0', 'diff_bidirectional_h4_depth3']) {
    it(`matches the float64 reference forward and backward (${name})`, () => {
      const { fx, m } = checkCase(
        name,
        (f) =>
          new DiffAttention({
            hiddenSize: f.param<number>('hidden_size'),
            numHeads: f.param<number>('num_heads'),
            layerIndex: f.param<number>('layer_index'),
            causal: f.param<boolean>('causal'),
          }),
        (m, x) => (m as DiffAttention).forward(x).output,
      );
      expect((m as DiffAttention).lambda().itemSync()).toBeCloseTo(fx.param<number>('lambda'), 5);
    });
  }

  it('the reference path (needWeights) gives the same output and the differential map A1 − λA2', () => {
    const fx = loadFixture('diff_causal_h2_depth0', ROOT);
    const m = new DiffAttention({ hiddenSize: 32, numHeads: 2, layerIndex: 0 });
    m.loadStateDict(readStateDict(fx.path('state_dict.safetensors')));
    const { output, weights } = m.forward(fx.tensor('x'), { needWeights: true });
    expect(compare(output, fx.array('output'))).toBeNull();
    expect(weights?.shape).toEqual([2, 2, 7, 7]);
    // each row of A1 − λ A2 sums to 1 − λ; causal: zero above the diagonal
    const lam = m.lambda().itemSync();
    const w = (weights as Tensor).dataSync();
    for (let r = 0; r < 2 * 2 * 7; r++) {
      let s = 0;
      for (let j = 0; j < 7; j++) s += w[r * 7 + j];
      expect(s).toBeCloseTo(1 - lam, 5);
      const i = r % 7;
      for (let j = i + 1; j < 7; j++) expect(w[r * 7 + j]).toBe(0);
    }
  });

  it('decoding with a KV cache equals the full causal forward', () => {
    const m = new DiffAttention({ hiddenSize: 32, numHeads: 2, layerIndex: 2 });
    const x = randn([2, 8, 32]);
    const full = m.forward(x).output;
    const cache = new LayerKVCache({ initialCapacity: 2 });
    const steps = [m.forward(x.sliceDim(1, 0, 3), { cache }).output];
    for (let t = 3; t < 8; t++) steps.push(m.forward(x.sliceDim(1, t, t + 1), { cache }).output);
    expect(cache.position).toBe(8);
    expect(cache.keys?.shape).toEqual([2, 2, 8, 16]);
    const got = concat(steps, 1);
    expect(mismatch(got.dataSync(), got.shape, { shape: [...full.shape], data: full.dataSync() })).toBeNull();
  });

  it('a padding mask applies to both maps', () => {
    const m = new DiffAttention({ hiddenSize: 16, numHeads: 2, layerIndex: 0, causal: false });
    const x = randn([1, 5, 16]);
    const keep = fromValues([1, 1, 1, 0, 0], [1, 1, 1, 5], 'bool');
    const masked = m.forward(x, { mask: keep }).output.sliceDim(1, 0, 3);
    // the masked keys are the last two positions: same as attention over the first three alone
    const short = m.forward(x.sliceDim(1, 0, 3)).output;
    expect(
      mismatch(masked.dataSync(), masked.shape, { shape: [...short.shape], data: short.dataSync() }),
    ).toBeNull();
  });

  it('refuses bad input with the expected shape or value', () => {
    expect(() => new DiffAttention({ hiddenSize: 30, numHeads: 4, layerIndex: 0 })).toThrow(
      /hiddenSize \(30\) must be divisible by 2·numHeads \(8\)/,
    );
    expect(() => new DiffAttention({ hiddenSize: 32, numHeads: 2, layerIndex: 1.5 })).toThrow(/layerIndex/);
    const m = new DiffAttention({ hiddenSize: 16, numHeads: 2, layerIndex: 0 });
    expect(() => m.forward(randn([1, 4, 12]))).toThrow(/'x' must be \[B, L, 16\], got \[1, 4, 12\]/);
  });
});

describe('DiffTransformerBlock', () => {
  it('matches the float64 reference forward and backward (diff_block_h2_depth1)', () => {
    checkCase(
      'diff_block_h2_depth1',
      (f) =>
        new DiffTransformerBlock({
          hiddenSize: f.param<number>('hidden_size'),
          numHeads: f.param<number>('num_heads'),
          layerIndex: f.param<number>('layer_index'),
          intermediateSize: f.param<number>('intermediate_size'),
        }),
      (m, x) => (m as DiffTransformerBlock).forward(x),
    );
  });
});
