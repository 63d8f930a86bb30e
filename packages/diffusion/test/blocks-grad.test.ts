// Gradients of every block: the analytic input gradient (autograd) against central differences of
// the block's own forward, at several coordinates. float32 forward, h = 1e-2, tolerance 5e-3
// relative to the gradient's scale (finite differences in float32 are accurate to about 1e-3 here).
import '@attnkit/backend-cpu';
import { Generator, mul, noGrad, randn, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  Attention,
  BasicTransformerBlock,
  Downsample2D,
  ResnetBlock2D,
  Transformer2DModel,
  UNetMidBlock2D,
  Upsample2D,
} from '../src/index.js';

function checkInputGrad(name: string, shape: number[], f: (x: Tensor) => Tensor): void {
  const g = new Generator(11);
  const x0 = randn(shape, { generator: g });
  const probe = noGrad(() => f(x0));
  const w = randn(probe.shape, { generator: g });
  const xg = x0.mul(1).requiresGrad_();
  mul(f(xg), w).sum().backward();
  const grad = xg.grad?.dataSync() as Float32Array;
  expect(grad, name).toBeDefined();
  const base = Array.from(x0.dataSync());
  let scale = 0;
  for (const v of grad) scale = Math.max(scale, Math.abs(v));
  expect(scale, `${name}: gradient is not all zero`).toBeGreaterThan(0);
  const h = 1e-2;
  const lossAt = (i: number, d: number) => {
    const v = base.slice();
    v[i] += d;
    return noGrad(() =>
      mul(f(tensor(Float64Array.from(v), shape)), w)
        .sum()
        .itemSync(),
    );
  };
  const n = base.length;
  for (const i of [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1]) {
    const fd = (lossAt(i, h) - lossAt(i, -h)) / (2 * h);
    expect(
      Math.abs(fd - grad[i]),
      `${name}: d/dx[${i}] autograd ${grad[i]} vs central difference ${fd}`,
    ).toBeLessThan(5e-3 * scale);
  }
}

describe('input gradients of the blocks match central differences', () => {
  const temb = randn([2, 16], { generator: new Generator(3) });
  it('ResnetBlock2D (default and scale_shift, with shortcut)', () => {
    const a = new ResnetBlock2D({ inChannels: 4, outChannels: 8, tembChannels: 16, groups: 2 });
    checkInputGrad('ResnetBlock2D', [2, 4, 4, 4], (x) => a.forward(x, temb));
    const b = new ResnetBlock2D({
      inChannels: 4,
      outChannels: 4,
      tembChannels: 16,
      groups: 2,
      timeEmbeddingNorm: 'scale_shift',
    });
    checkInputGrad('ResnetBlock2D scale_shift', [2, 4, 4, 4], (x) => b.forward(x, temb));
  });
  it('Attention (spatial, residual, group norm) and cross-attention', () => {
    const a = new Attention({
      queryDim: 4,
      heads: 2,
      dimHead: 2,
      normNumGroups: 2,
      residualConnection: true,
      bias: true,
    });
    checkInputGrad('Attention spatial', [1, 4, 3, 3], (x) => a.forward(x));
    const ctx = randn([1, 5, 6], { generator: new Generator(4) });
    const c = new Attention({ queryDim: 8, crossAttentionDim: 6, heads: 2, dimHead: 4 });
    checkInputGrad('Attention cross (query side)', [1, 3, 8], (x) => c.forward(x, ctx));
    checkInputGrad('Attention cross (context side)', [1, 5, 6], (e) =>
      c.forward(
        ctx
          .sliceDim(1, 0, 3)
          .reshape([1, 3, 6])
          .matmul(randn([6, 8], { generator: new Generator(6) })),
        e,
      ),
    );
  });
  it('BasicTransformerBlock and Transformer2DModel', () => {
    const ctx = randn([1, 4, 6], { generator: new Generator(5) });
    const t = new BasicTransformerBlock({
      dim: 8,
      numAttentionHeads: 2,
      attentionHeadDim: 4,
      crossAttentionDim: 6,
    });
    checkInputGrad('BasicTransformerBlock', [1, 3, 8], (x) => t.forward(x, ctx));
    const s = new Transformer2DModel({
      numAttentionHeads: 2,
      attentionHeadDim: 4,
      inChannels: 8,
      crossAttentionDim: 6,
      normNumGroups: 2,
    });
    checkInputGrad('Transformer2DModel', [1, 8, 2, 2], (x) => s.forward(x, ctx));
  });
  it('Downsample2D (padding 1 and 0), Upsample2D, UNetMidBlock2D', () => {
    const d1 = new Downsample2D(3, 3, 1);
    checkInputGrad('Downsample2D', [1, 3, 4, 4], (x) => d1.forward(x));
    const d0 = new Downsample2D(3, 3, 0);
    checkInputGrad('Downsample2D padding 0', [1, 3, 5, 5], (x) => d0.forward(x));
    const u = new Upsample2D(3, 2);
    checkInputGrad('Upsample2D', [1, 3, 3, 3], (x) => u.forward(x));
    const m = new UNetMidBlock2D({
      inChannels: 4,
      tembChannels: null,
      resnetEps: 1e-6,
      resnetActFn: 'silu',
      resnetGroups: 2,
    });
    checkInputGrad('UNetMidBlock2D', [1, 4, 3, 3], (x) => m.forward(x));
  });
});
