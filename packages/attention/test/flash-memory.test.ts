// The fused (flash-style) path never materialises the Lq×Lk scores: the peak of live backend
// storage during a forward is counted exactly by a wrapper around the cpu backend (countLiveBytes
// of @attnkit/tensor-core/testing). The block-sparse kernel's forward stays at its output at a
// length whose dense scores would take 64 MiB.
import '@attnkit/backend-cpu';
import {
  getBackend,
  memory,
  noGrad,
  randn,
  registerBackend,
  setBackend,
  type Tensor,
  tidy,
} from '@attnkit/tensor-core';
import { countLiveBytes } from '@attnkit/tensor-core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { longformerLayout, scaledDotProductAttention } from '../src/index.js';

describe('flash-style attention memory', () => {
  const base = getBackend();
  const c = countLiveBytes(base, 'cpu-peak');
  registerBackend('cpu-peak', () => c.backend, -1);
  setBackend('cpu-peak');
  afterAll(() => {
    setBackend(base.name);
  });

  it('peak extra storage is the output only (fused), and includes the H·L·L scores (reference)', () => {
    const [h, l, d] = [2, 512, 16];
    const q = randn([1, h, l, d]);
    const k = randn([1, h, l, d]);
    const v = randn([1, h, l, d]);
    const scores = h * l * l * 4;
    const outBytes = h * l * d * 4;
    for (const causal of [false, true]) {
      const fused = c.measure(() =>
        noGrad(() =>
          tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation: 'fused' }).dataSync()),
        ),
      ).peak;
      expect(fused).toBe(outBytes);
      const reference = c.measure(() =>
        noGrad(() =>
          tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation: 'reference' }).dataSync()),
        ),
      ).peak;
      expect(reference).toBeGreaterThanOrEqual(scores);
    }
  });

  it('grouped-query heads and cache-like strided keys stay linear too', () => {
    const [h, kvh, l, d] = [4, 1, 256, 8];
    const q = randn([1, h, 1, d]);
    const buf = randn([1, kvh, 2 * l, d]); // a cache buffer with spare capacity
    const k = buf.sliceDim(2, 0, l);
    const v = buf.sliceDim(2, 0, l);
    const fused = c.measure(() =>
      noGrad(() =>
        tidy(() => scaledDotProductAttention(q, k, v, { causal: true, implementation: 'fused' }).dataSync()),
      ),
    ).peak;
    expect(fused).toBeLessThanOrEqual(2 * h * d * 4); // output (plus its per-batch part for GQA)
  });

  it('block-sparse: the fused forward at L = 4096 holds its output only, far below the L·L scores', () => {
    const [l, d, bs] = [4096, 16, 64];
    const layout = longformerLayout(l / bs, bs, { window: 1, globalBlocks: [0] });
    const visibleBlocks = layout.visible.reduce((n, row) => n + row.length, 0);
    const q = randn([1, 1, l, d]);
    const k = randn([1, 1, l, d]);
    const v = randn([1, 1, l, d]);
    const outBytes = l * d * 4;
    const before = memory()['cpu-peak'].numBytes;
    const sparse = c.measure(() =>
      noGrad(() =>
        tidy(() => scaledDotProductAttention(q, k, v, { layout, implementation: 'fused' }).dataSync()),
      ),
    ).peak;
    expect(sparse).toBe(outBytes);
    // below even the visible scores alone (visible blocks × bs² floats), let alone L² (64 MiB)
    expect(sparse).toBeLessThan((visibleBlocks * bs * bs * 4) / 8);
    expect(memory()['cpu-peak'].numBytes).toBe(before);

    // the same call on a backend without the kernel: the dense boolean mask (L² bytes) exists
    const dense = countLiveBytes(base, 'cpu-dense-peak', { hide: 'blockSparseAttention' });
    registerBackend('cpu-dense-peak', () => dense.backend, -1);
    setBackend('cpu-dense-peak');
    try {
      const [qd, kd, vd] = [q, k, v].map(() => randn([1, 1, l, d]));
      const peak = dense.measure(() =>
        noGrad(() =>
          tidy(() => scaledDotProductAttention(qd, kd, vd, { layout, implementation: 'fused' }).dataSync()),
        ),
      ).peak;
      expect(peak).toBeGreaterThanOrEqual(l * l);
    } finally {
      setBackend('cpu-peak');
    }
  });

  it('block-sparse: the backward at L = 4096 skips the invisible blocks too, far below the L·L mask', () => {
    const [l, d, bs] = [4096, 16, 64];
    const layout = longformerLayout(l / bs, bs, { window: 1, globalBlocks: [0] });
    const [q, k, v] = [0, 1, 2].map(() => {
      const t = randn([1, 1, l, d]);
      t.requiresGrad = true;
      return t;
    });
    const g = randn([1, 1, l, d]);
    const backwardPeak = (options: { layout?: typeof layout }) =>
      c.measure(() =>
        tidy(() => {
          for (const t of [q, k, v]) t.grad = null;
          scaledDotProductAttention(q, k, v, { ...options, implementation: 'fused' }).backward(g);
        }),
      ).peak;
    const sparse = backwardPeak({ layout });
    const dense = backwardPeak({});
    // the global block's 64 rows see all 4096 keys (1 MiB of weights per intermediate); the dense
    // backward recomputes 1024 rows × 4096 keys at a time, and the fallback's mask alone is l² bytes
    expect(sparse).toBeLessThan(l * l);
    expect(sparse).toBeLessThan(dense / 8);
    for (const t of [q, k, v]) expect((t.grad as Tensor).shape).toEqual([1, 1, l, d]);
  });
});
