// MultiHeadAttention against torch.nn.MultiheadAttention(batch_first=True) fixtures (state dicts in
// safetensors, written by scripts/reference/attention.py). Tolerance: 1e-4 relative (atol 1e-5) on CPU.
import '@attnkit/backend-cpu';
import { concat, randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { LayerKVCache, MultiHeadAttention } from '../src/index.js';
import { compare, EXTRA_FIXTURES, fixtureIndex, loadFixture, mismatch, readStateDict } from './helpers.js';

const cases = [
  ...fixtureIndex().filter((c) => c.kind === 'mha'),
  ...fixtureIndex(EXTRA_FIXTURES).map((c) => ({ ...c, root: EXTRA_FIXTURES })),
] as { name: string; root?: string }[];

function build(name: string, root?: string) {
  const fx = loadFixture(name, root);
  const mha = new MultiHeadAttention({
    embedDim: fx.param<number>('embed_dim'),
    numHeads: fx.param<number>('num_heads'),
    kdim: fx.param<number>('kdim'),
    vdim: fx.param<number>('vdim'),
    bias: fx.param<boolean>('bias'),
    addBiasKV: fx.param<boolean | undefined>('add_bias_kv'),
    addZeroAttn: fx.param<boolean | undefined>('add_zero_attn'),
    dropout: fx.param<number | undefined>('dropout'),
  }).eval();
  const sd = readStateDict(fx.path(fx.param<string>('state_dict')));
  const query = fx.tensor('query');
  const self = fx.param<boolean>('self_attention');
  const key = self ? query : fx.tensor('key');
  const value = self ? query : fx.tensor('value');
  const keyPaddingMask = fx.has('key_padding_mask') ? fx.bool('key_padding_mask') : null;
  const attnMask = fx.has('attn_mask')
    ? fx.param<string>('attn_mask_type') === 'bool'
      ? fx.bool('attn_mask')
      : fx.tensor('attn_mask')
    : null;
  return { fx, mha, sd, query, key, value, keyPaddingMask, attnMask };
}

describe('MultiHeadAttention matches torch.nn.MultiheadAttention (rtol 1e-4)', () => {
  it('covers every mha fixture', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });
  for (const { name, root } of cases) {
    it(name, () => {
      const { fx, mha, sd, query, key, value, keyPaddingMask, attnMask } = build(name, root);
      expect(Object.keys(mha.stateDict()).sort()).toEqual(Object.keys(sd).sort());
      mha.loadStateDict(sd);
      const { output, weights } = mha.forward(query, key, value, {
        keyPaddingMask,
        attnMask,
        needWeights: true,
        averageWeights: fx.param<boolean>('average_attn_weights'),
      });
      expect(compare(output, fx.array('output'))).toBeNull();
      expect(compare(weights as Tensor, fx.array('weights'))).toBeNull();
      // needWeights: false takes the fused kernel; same output
      const fast = mha.forward(query, key, value, { keyPaddingMask, attnMask, needWeights: false });
      expect(fast.weights).toBeNull();
      expect(compare(fast.output, fx.array('output'))).toBeNull();
    });
  }

  it('loads separate q/k/v projections (q_proj.weight, ...) into the packed layout', () => {
    const { fx, mha, sd, query, keyPaddingMask } = build('mha_self_key_padding');
    const e = fx.param<number>('embed_dim');
    const w = sd.in_proj_weight;
    const b = sd.in_proj_bias;
    mha.loadStateDict({
      'q_proj.weight': w.sliceDim(0, 0, e),
      'k_proj.weight': w.sliceDim(0, e, 2 * e),
      'v_proj.weight': w.sliceDim(0, 2 * e, 3 * e),
      'q_proj.bias': b.sliceDim(0, 0, e),
      'k_proj.bias': b.sliceDim(0, e, 2 * e),
      'v_proj.bias': b.sliceDim(0, 2 * e, 3 * e),
      'out_proj.weight': sd['out_proj.weight'],
      'out_proj.bias': sd['out_proj.bias'],
    });
    const { output } = mha.forward(query, query, query, { keyPaddingMask });
    expect(compare(output, fx.array('output'))).toBeNull();
  });

  it('unbatched [L, E] input gives the batch-0 result', () => {
    const { fx, mha, sd, query } = build('mha_no_bias');
    mha.loadStateDict(sd);
    const { output, weights } = mha.forward(query.at(0));
    const [, l, e] = fx.array('output').shape;
    expect(output.shape).toEqual([l, e]);
    expect(weights?.shape).toEqual([l, l]);
    expect(compare(output.unsqueeze(0), fx.array('output'))).toBeNull();
  });

  it('decoding with a KV cache equals the causal full forward', () => {
    const mha = new MultiHeadAttention({ embedDim: 12, numHeads: 3 });
    const x = randn([2, 6, 12]);
    const full = mha.forward(x, x, x, { isCausal: true, needWeights: false }).output;
    const cache = new LayerKVCache({ initialCapacity: 1 });
    const parts = [mha.forward(x.sliceDim(1, 0, 3), undefined, undefined, { cache, isCausal: true }).output];
    for (let t = 3; t < 6; t++) {
      const xt = x.sliceDim(1, t, t + 1);
      parts.push(mha.forward(xt, xt, xt, { cache, isCausal: true, needWeights: false }).output);
    }
    const got = concat(parts, 1);
    expect(mismatch(got.dataSync(), got.shape, { shape: [...full.shape], data: full.dataSync() })).toBeNull();
  });

  it('gradients reach every parameter', () => {
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const x = randn([2, 3, 8]);
    const { output } = mha.forward(x, x, x, { needWeights: false });
    output.sum().backward();
    for (const [n, p] of mha.namedParameters()) {
      expect(p.grad, n).not.toBeNull();
      expect((p.grad as Tensor).shape).toEqual(p.shape);
    }
  });
});

describe('MultiHeadAttention validation', () => {
  it('rejects bad configuration and inputs with clear messages', () => {
    expect(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3 })).toThrow(
      /MultiHeadAttention: embedDim \(10\) must be divisible by numHeads \(3\)/,
    );
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    expect(() => mha.forward(randn([1, 3, 6]))).toThrow(/'query' has 6 features, expected embedDim 8/);
    expect(() =>
      mha.forward(randn([1, 3, 8]), randn([1, 4, 8]), randn([1, 4, 8]), { keyPaddingMask: tensor([[true]]) }),
    ).toThrow(/'keyPaddingMask' must be \[B, Lk\] = \[1, 4\]/);
    expect(() => mha.loadStateDict({ in_proj_weight: randn([24, 8]) })).toThrow(
      /missing keys \(3\): in_proj_bias, out_proj.weight, out_proj.bias/,
    );
    expect(() => mha.loadStateDict({ ...mha.stateDict(), in_proj_weight: randn([8, 8]) })).toThrow(
      /in_proj_weight: checkpoint \[8,8\] vs model \[24,8\]/,
    );
  });
});

describe('MultiHeadAttention as an nn Module', () => {
  it('prints like torch and lists torch parameter names', () => {
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, kdim: 6, vdim: 4 });
    expect(mha.toString()).toContain(
      'MultiHeadAttention(embed_dim=8, num_heads=2, kdim=6, vdim=4, bias=true',
    );
    expect(mha.toString()).toContain('(out_proj): Linear(in_features=8, out_features=8, bias=true)');
    expect(Object.keys(mha.stateDict())).toEqual([
      'q_proj_weight',
      'k_proj_weight',
      'v_proj_weight',
      'in_proj_bias',
      'out_proj.weight',
      'out_proj.bias',
    ]);
    expect(mha.numParameters()).toBe(8 * 8 + 8 * 6 + 8 * 4 + 24 + 64 + 8);
  });
});
