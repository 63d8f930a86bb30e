// The attention variants on backend-webgpu (SwiftShader without a GPU): DiffAttention and
// DiffTransformerBlock forward, and block-sparse scaledDotProductAttention, against the float64
// references (scripts/reference_diff_attention.py, scripts/reference_block_sparse.py) at the webgpu
// tolerance, 1e-3 relative (atol 1e-4). The larger `tiles_*` block-sparse cases go through
// backend-webgpu's blockSparseAttention kernel (which walks only the visible blocks), forward and
// backward.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend, mul, setBackend, sum, type Tensor } from '@attnkit/tensor-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DiffAttention,
  DiffTransformerBlock,
  fixedLayout,
  longformerLayout,
  scaledDotProductAttention,
  stridedLayout,
} from '../src/index.js';
import { loadFixture, mismatch, readStateDict } from './helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
vi.setConfig({ testTimeout: 120_000 });

const GPU_RTOL = 1e-3;
const GPU_ATOL = 1e-4;
const DIFF = fileURLToPath(new URL('./fixtures/diff-attention/', import.meta.url));
const SPARSE = fileURLToPath(new URL('./fixtures/block-sparse/', import.meta.url));

beforeAll(async () => {
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
  setBackend('webgpu');
});

describe('attention variants on webgpu (rtol 1e-3)', () => {
  for (const name of ['diff_causal_h2_depth0', 'diff_bidirectional_h4_depth3', 'diff_block_h2_depth1']) {
    it(`${name}: forward matches the float64 reference`, async () => {
      const fx = loadFixture(name, DIFF);
      const opts = {
        hiddenSize: fx.param<number>('hidden_size'),
        numHeads: fx.param<number>('num_heads'),
        layerIndex: fx.param<number>('layer_index'),
        causal: fx.param<boolean>('causal'),
      };
      const m =
        fx.param('kind') === 'block'
          ? new DiffTransformerBlock({ ...opts, intermediateSize: fx.param<number>('intermediate_size') })
          : new DiffAttention(opts);
      m.loadStateDict(readStateDict(fx.path('state_dict.safetensors')));
      const x = fx.tensor('x');
      expect(x.backend.name).toBe('webgpu');
      const out = m instanceof DiffAttention ? m.forward(x).output : m.forward(x);
      expect(mismatch(await out.data(), out.shape, fx.array('output'), GPU_RTOL, GPU_ATOL)).toBeNull();
    });
  }

  const layouts = {
    strided_causal: () => stridedLayout(6, 2, { stride: 2, causal: true }),
    fixed_causal: () => fixedLayout(6, 2, { stride: 3, c: 1, causal: true }),
    longformer: () => longformerLayout(6, 2, { window: 1, globalBlocks: [0] }),
  };
  for (const [name, layout] of Object.entries(layouts)) {
    it(`block-sparse ${name}: forward matches the float64 reference`, async () => {
      const fx = loadFixture(name, SPARSE);
      const out = scaledDotProductAttention(fx.tensor('q'), fx.tensor('k'), fx.tensor('v'), {
        layout: layout(),
      });
      expect(mismatch(await out.data(), out.shape, fx.array('output'), GPU_RTOL, GPU_ATOL)).toBeNull();
    });
  }

  describe('block-sparse kernel across tiles', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });
    for (const name of ['tiles_longformer_b16', 'tiles_strided_b96', 'tiles_random_gqa_causal']) {
      it(`${name}: blockSparseAttention forward and backward match the float64 reference`, async () => {
        const fx = loadFixture(name, SPARSE);
        const gpu = getBackend();
        const spy = vi.spyOn(gpu, 'blockSparseAttention' as never);
        const dense = vi.spyOn(gpu, 'attention' as never);
        const [q, k, v] = ['q', 'k', 'v'].map((key) => {
          const t = fx.tensor(key);
          t.requiresGrad = true;
          return t;
        });
        const layout = { blockSize: fx.param<number>('block_size'), visible: fx.param<number[][]>('layout') };
        const out = scaledDotProductAttention(q, k, v, {
          layout,
          causal: fx.param<boolean>('causal_flag'),
          implementation: 'fused',
        });
        expect(spy).toHaveBeenCalled();
        expect(dense).not.toHaveBeenCalled();
        expect(mismatch(await out.data(), out.shape, fx.array('output'), GPU_RTOL, GPU_ATOL)).toBeNull();
        sum(mul(out, fx.tensor('grad_output'))).backward();
        for (const [t, key] of [
          [q, 'grad_q'],
          [k, 'grad_k'],
          [v, 'grad_v'],
        ] as const) {
          const g = t.grad as Tensor;
          expect(mismatch(await g.data(), g.shape, fx.array(key), GPU_RTOL, GPU_ATOL)).toBeNull();
        }
      });
    }
  });
});
