// Block-sparse layouts: the constructors against the patterns written independently in
// scripts/reference_block_sparse.py (Sparse Transformer strided/fixed, Longformer), and
// scaledDotProductAttention({ layout }) against float64 dense attention under the equivalent boolean
// mask, forward and backward (1e-4 relative); BigBird's seeded random blocks; bad layouts refused.
// The larger `tiles_*` cases cross the cpu kernel's query/key tiles, and the fused path must go
// through backend-cpu's blockSparseAttention (the kernel that skips invisible blocks); a backend
// without that kernel gets the same values through the dense-mask fallback.
import '@attnkit/backend-cpu';
import { fileURLToPath } from 'node:url';
import {
  type Backend,
  fromValues,
  Generator,
  getBackend,
  mul,
  randn,
  registerBackend,
  setBackend,
  sum,
  type Tensor,
  traceOps,
} from '@attnkit/tensor-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BlockSparseLayout,
  bigBirdLayout,
  blockSparseMask,
  fixedLayout,
  longformerLayout,
  scaledDotProductAttention,
  stridedLayout,
} from '../src/index.js';
import { compare, loadFixture, mismatch } from './helpers.js';

const ROOT = fileURLToPath(new URL('./fixtures/block-sparse/', import.meta.url));

function layoutOf(fx: ReturnType<typeof loadFixture>): BlockSparseLayout {
  const n = fx.param<number>('num_blocks');
  const bs = fx.param<number>('block_size');
  const p = (k: string) => fx.param<never>(k);
  switch (fx.param<string>('pattern')) {
    case 'strided':
      return stridedLayout(n, bs, { stride: p('stride'), causal: p('causal') });
    case 'fixed':
      return fixedLayout(n, bs, { stride: p('stride'), c: p('c'), causal: p('causal') });
    case 'listed':
      return { blockSize: bs, visible: p('layout') };
    default:
      return longformerLayout(n, bs, { window: p('window'), globalBlocks: p('global_blocks') });
  }
}

/** Forward and gradients of q, k, v against the fixture (1e-4 relative). */
function checkCase(name: string, implementation: 'auto' | 'fused' | 'reference') {
  const fx = loadFixture(name, ROOT);
  const layout = layoutOf(fx);
  const [q, k, v] = ['q', 'k', 'v'].map((key) => {
    const t = fx.tensor(key);
    t.requiresGrad = true;
    return t;
  });
  const causal = fx.param<boolean>('causal_flag');
  const out = scaledDotProductAttention(q, k, v, { layout, causal, implementation });
  expect(compare(out, fx.array('output'))).toBeNull();
  sum(mul(out, fx.tensor('grad_output'))).backward();
  expect(compare(q.grad as Tensor, fx.array('grad_q'))).toBeNull();
  expect(compare(k.grad as Tensor, fx.array('grad_k'))).toBeNull();
  expect(compare(v.grad as Tensor, fx.array('grad_v'))).toBeNull();
}

const TILES = ['tiles_longformer_b16', 'tiles_strided_b96', 'tiles_random_gqa_causal'];

describe('block-sparse attention', () => {
  for (const name of ['strided_causal', 'fixed_causal', 'fixed_bidirectional', 'longformer']) {
    for (const implementation of ['auto', 'reference'] as const) {
      it(`${name}: the layout matches the reference pattern, and attention equals the float64 masked reference (${implementation})`, () => {
        const fx = loadFixture(name, ROOT);
        const layout = layoutOf(fx);
        expect(layout.visible).toEqual(fx.param('layout'));
        const [q, k, v] = ['q', 'k', 'v'].map((key) => {
          const t = fx.tensor(key);
          t.requiresGrad = true;
          return t;
        });
        const out = scaledDotProductAttention(q, k, v, { layout, implementation });
        expect(compare(out, fx.array('output'))).toBeNull();
        sum(mul(out, fx.tensor('grad_output'))).backward();
        expect(compare(q.grad as Tensor, fx.array('grad_q'))).toBeNull();
        expect(compare(k.grad as Tensor, fx.array('grad_k'))).toBeNull();
        expect(compare(v.grad as Tensor, fx.array('grad_v'))).toBeNull();
      });
    }
  }

  describe('across the fused kernel tiles', () => {
    const cpu = getBackend();
    afterEach(() => {
      vi.restoreAllMocks();
      setBackend(cpu.name);
    });
    for (const name of TILES) {
      it(`${name}: the fused block-sparse kernel equals the float64 reference, forward and backward`, () => {
        const spy = vi.spyOn(cpu, 'blockSparseAttention' as never);
        const dense = vi.spyOn(cpu, 'attention' as never);
        checkCase(name, 'fused');
        expect(spy).toHaveBeenCalled();
        expect(dense).not.toHaveBeenCalled();
      });
      it(`${name}: the reference composition equals the float64 reference`, () => {
        checkCase(name, 'reference');
      });
      it(`${name}: a backend without blockSparseAttention falls back to the dense mask`, () => {
        const plain = new Proxy(cpu, {
          get: (t, prop, r) =>
            prop === 'blockSparseAttention'
              ? undefined
              : prop === 'name'
                ? 'cpu-dense'
                : Reflect.get(t, prop, r),
        }) as Backend;
        registerBackend('cpu-dense', () => plain, -1);
        setBackend('cpu-dense');
        const dense = vi.spyOn(cpu, 'attention' as never);
        checkCase(name, 'fused');
        expect(dense).toHaveBeenCalled();
      });
    }
  });

  it('with a float mask, a key-padding mask, causal and a window, the fused forward and block-skipping backward equal the reference composition', () => {
    const layout = bigBirdLayout(8, 8, { window: 1, globalBlocks: [0], randomBlocks: 1, seed: 3 });
    const floatMask = randn([64, 64]);
    const padding = fromValues(
      Array.from({ length: 64 }, (_, j) => (j % 7 === 3 ? 0 : 1)),
      [1, 1, 1, 64],
      'bool',
    );
    for (const mask of [floatMask, padding]) {
      const runs = (['fused', 'reference'] as const).map((implementation) => {
        const [q, k, v] = [1, 2, 3].map((seed) => {
          const t = randn([1, 4, 64, 8], { generator: new Generator(seed) });
          t.requiresGrad = true;
          return t;
        });
        // grouped heads: k and v have 2 heads for q's 4
        const [k2, v2] = [k, v].map((t) => t.sliceDim(1, 0, 2));
        const out = scaledDotProductAttention(q, k2, v2, {
          layout,
          mask,
          causal: true,
          windowSize: 20,
          implementation,
        });
        sum(mul(out, randn(out.shape, { generator: new Generator(9) }))).backward();
        return [out, q.grad, k.grad, v.grad].map((t) => ({
          shape: [...(t as Tensor).shape],
          data: (t as Tensor).dataSync(),
        }));
      });
      for (let i = 0; i < 4; i++) expect(mismatch(runs[0][i].data, runs[0][i].shape, runs[1][i])).toBeNull();
    }
  });

  it('a traced call (ONNX export) records the layout as the mask input of the attention op', () => {
    const layout = longformerLayout(4, 2, { window: 0, globalBlocks: [1] });
    const q = randn([1, 2, 8, 4]);
    const { ops, constants } = traceOps(() => scaledDotProductAttention(q, q, q, { layout }));
    const att = ops.filter((o) => o.op === 'attention');
    expect(att).toHaveLength(1);
    const mask = att[0].inputs[3] as Tensor;
    expect(mask).not.toBeNull();
    expect(Array.from(constants.get(mask) ?? mask.dataSync(), Number)).toEqual(
      Array.from(blockSparseMask(layout, 8, 8).dataSync(), Number),
    );
  });

  it('bigBirdLayout: window and global blocks plus seeded random blocks, reproducible', () => {
    const a = bigBirdLayout(8, 4, { window: 1, globalBlocks: [0], randomBlocks: 2, seed: 7 });
    const b = bigBirdLayout(8, 4, { window: 1, globalBlocks: [0], randomBlocks: 2, seed: 7 });
    expect(a.visible).toEqual(b.visible);
    const base = longformerLayout(8, 4, { window: 1, globalBlocks: [0] });
    expect(a.visible[0]).toEqual(base.visible[0]); // a global block sees everything already
    for (let i = 1; i < 8; i++) {
      for (const j of base.visible[i]) expect(a.visible[i]).toContain(j);
      expect(a.visible[i].length).toBe(Math.min(8, base.visible[i].length + 2));
      expect(new Set(a.visible[i]).size).toBe(a.visible[i].length);
    }
    const q = randn([1, 2, 32, 8]);
    const k = randn([1, 2, 32, 8]);
    const v = randn([1, 2, 32, 8]);
    const sparse = scaledDotProductAttention(q, k, v, { layout: a });
    const { weights } = scaledDotProductAttention(q, k, v, { layout: a, returnWeights: true });
    const w = weights.dataSync();
    for (let i = 0; i < 32; i++) {
      for (let j = 0; j < 32; j++) {
        const seen = a.visible[Math.floor(i / 4)].includes(Math.floor(j / 4));
        if (!seen) expect(w[i * 32 + j]).toBe(0);
      }
    }
    const ref = scaledDotProductAttention(q, k, v, { layout: a, implementation: 'reference' });
    expect(
      mismatch(sparse.dataSync(), sparse.shape, { shape: [...ref.shape], data: ref.dataSync() }),
    ).toBeNull();
  });

  it('refuses a block size that does not divide the sequence, naming the block', () => {
    const q = randn([1, 1, 10, 4]);
    expect(() => scaledDotProductAttention(q, q, q, { layout: stridedLayout(3, 4, { stride: 2 }) })).toThrow(
      /layout block size 4 does not divide the query length 10; the last query block \(block 2\) would hold 2 positions/,
    );
  });

  it('refuses a layout leaving a query block with no visible key, naming the block', () => {
    const q = randn([1, 1, 8, 4]);
    const layout = { blockSize: 2, visible: [[0], [0, 1], [], [3]] };
    expect(() => scaledDotProductAttention(q, q, q, { layout })).toThrow(
      /query block 2 \(positions 4..5\) sees no key block/,
    );
    expect(() =>
      scaledDotProductAttention(q, q, q, { layout: { blockSize: 2, visible: [[0], [9], [0], [0]] } }),
    ).toThrow(/query block 1 lists key block 9, outside \[0, 4\)/);
    expect(() =>
      scaledDotProductAttention(q, q, q, { layout: { blockSize: 2, visible: [[0], [1, 0], [2], [3]] } }),
    ).toThrow(/query block 1 lists key blocks out of order \(1 then 0\)/);
  });
});
