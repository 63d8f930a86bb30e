// The attention variants' parity cases, run on any backend (issue 20): DiffAttention and
// DiffTransformerBlock (scripts/reference_diff_attention.py), block-sparse layouts
// (scripts/reference_block_sparse.py), multi-query, grouped-query and sliding-window attention
// (the PyTorch fixtures of scripts/reference/attention.py): outputs, and the gradients of the inputs
// and of every parameter, against the float64 / torch references the CPU tests use. The test file
// of each backend selects the backend, then calls defineVariantCases with its tolerance.
import { fileURLToPath } from 'node:url';
import { mul, sum, type Tensor } from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import {
  type BlockSparseLayout,
  DiffAttention,
  DiffTransformerBlock,
  fixedLayout,
  GroupedQueryAttention,
  longformerLayout,
  scaledDotProductAttention,
  stridedLayout,
} from '../src/index.js';
import { type Fixture, type FixtureArray, loadFixture, mismatch, readStateDict } from './helpers.js';

const DIFF = fileURLToPath(new URL('./fixtures/diff-attention/', import.meta.url));
const SPARSE = fileURLToPath(new URL('./fixtures/block-sparse/', import.meta.url));

export interface VariantTolerance {
  rtol: number;
  atol: number;
}

function layoutOf(fx: Fixture): BlockSparseLayout {
  const n = fx.param<number>('num_blocks');
  const bs = fx.param<number>('block_size');
  const p = (k: string) => fx.param<never>(k);
  switch (fx.param<string>('pattern')) {
    case 'strided':
      return stridedLayout(n, bs, { stride: p('stride'), causal: p('causal') });
    case 'fixed':
      return fixedLayout(n, bs, { stride: p('stride'), c: p('c'), causal: p('causal') });
    default:
      return longformerLayout(n, bs, { window: p('window'), globalBlocks: p('global_blocks') });
  }
}

/** Registers the variant cases for `backend` (already selected with setBackend by the caller). */
export function defineVariantCases(backend: string, { rtol, atol }: VariantTolerance): void {
  /** Reads `t` (asynchronously: GPU backends) and compares it with the fixture array. */
  const close = async (what: string, t: Tensor | null | undefined, want: FixtureArray) => {
    expect(t, what).toBeTruthy();
    const got = t as Tensor;
    expect(got.backend.name, what).toBe(backend);
    expect(mismatch(await got.data(), got.shape, want, rtol, atol), what).toBeNull();
  };
  const leaf = (fx: Fixture, key: string) => {
    const t = fx.tensor(key);
    t.requiresGrad = true;
    return t;
  };

  describe(`attention variants on ${backend}: forward and gradients (rtol ${rtol})`, () => {
    const diffCases = ['diff_causal_h2_depth0', 'diff_bidirectional_h4_depth3', 'diff_block_h2_depth1'];
    for (const name of diffCases) {
      it(`${name}: output and the gradients of x and every parameter`, async () => {
        const fx = loadFixture(name, DIFF);
        const opts = {
          hiddenSize: fx.param<number>('hidden_size'),
          numHeads: fx.param<number>('num_heads'),
          layerIndex: fx.param<number>('layer_index'),
          causal: fx.param<boolean>('causal'),
        };
        const m: Module =
          fx.param('kind') === 'block'
            ? new DiffTransformerBlock({ ...opts, intermediateSize: fx.param<number>('intermediate_size') })
            : new DiffAttention(opts);
        m.loadStateDict(readStateDict(fx.path(fx.param<string>('state_dict'))));
        const x = leaf(fx, 'x');
        const out = m instanceof DiffAttention ? m.forward(x).output : (m as DiffTransformerBlock).forward(x);
        await close('output', out, fx.array('output'));
        sum(mul(out, fx.tensor('grad_output'))).backward();
        await close('grad x', x.grad, fx.array('grad_x'));
        const params = m.namedParameters();
        expect(params.map(([n]) => `grad.${n}`).sort()).toEqual(
          Object.keys(fx.meta)
            .filter((k) => k.startsWith('grad.'))
            .sort(),
        );
        for (const [n, p] of params) await close(`grad ${n}`, p.grad, fx.array(`grad.${n}`));
      });
    }

    for (const name of ['strided_causal', 'fixed_causal', 'fixed_bidirectional', 'longformer']) {
      for (const implementation of ['auto', 'reference'] as const) {
        it(`block-sparse ${name} (${implementation}): output and the gradients of q, k, v`, async () => {
          const fx = loadFixture(name, SPARSE);
          const [q, k, v] = ['q', 'k', 'v'].map((key) => leaf(fx, key));
          const out = scaledDotProductAttention(q, k, v, { layout: layoutOf(fx), implementation });
          await close('output', out, fx.array('output'));
          sum(mul(out, fx.tensor('grad_output'))).backward();
          await close('grad q', q.grad, fx.array('grad_q'));
          await close('grad k', k.grad, fx.array('grad_k'));
          await close('grad v', v.grad, fx.array('grad_v'));
        });
      }
    }

    // sliding window: the fixture's explicit bool mask and the windowSize option give the same result
    const sdpaCases: [string, string, (fx: Fixture) => Parameters<typeof scaledDotProductAttention>[3]][] = [
      ['multi-query (4 query heads, 1 kv head)', 'sdpa_mqa_h4_kv1', () => ({})],
      [
        'grouped-query (4 query heads, 2 kv heads), causal',
        'sdpa_gqa_h4_kv2_causal',
        () => ({ causal: true }),
      ],
      ['sliding window 3, as a bool mask', 'sdpa_sliding_window_3', (fx) => ({ mask: fx.bool('mask') })],
      ['sliding window 3, as windowSize', 'sdpa_sliding_window_3', () => ({ causal: true, windowSize: 3 })],
    ];
    for (const [what, name, options] of sdpaCases) {
      for (const implementation of ['auto', 'reference'] as const) {
        it(`${what} (${implementation}): output and the gradients of q, k, v`, async () => {
          const fx = loadFixture(name);
          const [q, k, v] = ['q', 'k', 'v'].map((key) => leaf(fx, key));
          const out = scaledDotProductAttention(q, k, v, { ...options(fx), implementation });
          await close('output', out, fx.array('output'));
          sum(mul(out, fx.tensor('grad_output'))).backward();
          await close('grad q', q.grad, fx.array('grad_q'));
          await close('grad k', k.grad, fx.array('grad_k'));
          await close('grad v', v.grad, fx.array('grad_v'));
        });
      }
    }

    it('GroupedQueryAttention module (HF LlamaAttention without RoPE, 4 heads, 2 kv heads): output', async () => {
      const fx = loadFixture('gqa_module_h4_kv2');
      const attn = new GroupedQueryAttention({
        hiddenSize: fx.param<number>('hidden_size'),
        numHeads: fx.param<number>('num_heads'),
        numKeyValueHeads: fx.param<number>('num_key_value_heads'),
      });
      attn.loadStateDict(readStateDict(fx.path(fx.param<string>('weights'))));
      await close('output', attn.forward(fx.tensor('hidden_states')).output, fx.array('output'));
    });
  });
}
