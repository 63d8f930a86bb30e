// The families of the transformers 5.18 fixtures (scripts/hf_refs.py) on backend-webgpu: Mistral's
// sliding window and rolling cache, Mixtral's sparse MoE routing (router softmax, top-k, gathered
// experts), Qwen2's biases and per-layer windows, Llama's YaRN and LongRoPE tables, and ViTModel,
// each loaded onto webgpu and compared with transformers' logits (1e-3 relative, 1e-4 absolute
// floor, the GPU tolerance of webgpu-parity.test.ts); KV-cached decoding equals the uncached
// forward on webgpu; and greedy generate() on webgpu gives the tokens transformers' generate() gave.
// Without a GPU, Dawn runs on SwiftShader (the set-up of backend-webgpu's tests).
import { existsSync } from 'node:fs';
import '@attnkit/backend-cpu';
import type { KVCache } from '@attnkit/attention';
import { generate } from '@attnkit/sampling';
import { concat, setBackend, type Tensor } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadPretrained, type MixtralForCausalLM, type ViTModel } from '../src/index.js';
import { closeness, type Fixture, type LM, loadFixture, realTokens } from './helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

const GPU_RTOL = 1e-3;
const GPU_ATOL = 1e-4;

beforeAll(async () => {
  // imported here so that VK_ICD_FILENAMES is set before Dawn loads
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
  setBackend('webgpu');
});

/** Compares a webgpu tensor with the fixture array `key` (only real tokens when `masked`). */
async function expectClose(fx: Fixture, key: string, got: Tensor, masked: boolean): Promise<void> {
  expect(got.backend.name).toBe('webgpu');
  const want = fx.array(key);
  expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  const inner = want.shape.slice(2).reduce((a, b) => a * b, 1);
  const mask = masked && fx.has('attention_mask') ? fx.array('attention_mask') : null;
  const c = closeness(await got.data(), want.data, realTokens(mask, inner), GPU_RTOL, GPU_ATOL);
  expect(c.compared).toBeGreaterThan(0);
  expect(c.ratio, `${fx.name} ${key} on webgpu: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

const LOGITS = [
  'hf-mistral-sliding',
  'hf-mixtral',
  'hf-mixtral-fused',
  'hf-qwen2-sliding',
  'hf-qwen2-tied',
  'hf-llama-rope-yarn',
  'hf-llama-rope-longrope-long',
];

describe('transformers 5.18 parity on webgpu (1e-3 relative)', () => {
  for (const name of LOGITS) {
    it(`${name}: logits of a left-padded batch${name.includes('mixtral') ? ' and router logits' : ''}`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as MixtralForCausalLM;
      const inputs = {
        inputIds: fx.tensor('input_ids'),
        attentionMask: fx.tensor('attention_mask'),
        positionIds: fx.tensor('position_ids'),
      };
      expect(inputs.inputIds.backend.name).toBe('webgpu');
      const routed = fx.has('router_logits');
      const out = model.forward({ ...inputs, useCache: false, outputRouterLogits: routed });
      try {
        await expectClose(fx, 'logits', out.logits, true);
        if (routed) {
          // [layers, B·L, experts]: the router's scores, every token (padding included, as transformers)
          const want = fx.array('router_logits');
          const got = out.routerLogits as Tensor[];
          expect(got.length).toBe(want.shape[0]);
          const per = want.shape[1] * want.shape[2];
          for (let i = 0; i < got.length; i++) {
            const c = closeness(
              await got[i].data(),
              want.data.subarray(i * per, (i + 1) * per),
              undefined,
              GPU_RTOL,
              GPU_ATOL,
            );
            expect(c.ratio, `${name} router logits of layer ${i}: worst ${c.worst}`).toBeLessThanOrEqual(1);
          }
        }
      } finally {
        out.logits.dispose();
        for (const t of out.routerLogits ?? []) t.dispose();
        for (const t of Object.values(inputs)) t.dispose();
        model.dispose();
      }
    });
  }

  it('hf-vit-model: last hidden state and pooler output', async () => {
    const fx = loadFixture('hf-vit-model');
    const model = (await loadPretrained(fx.dir)) as ViTModel;
    const px = fx.tensor('pixel_values');
    const out = model.forward({ pixelValues: px });
    try {
      await expectClose(fx, 'last_hidden_state', out.lastHiddenState, false);
      await expectClose(fx, 'pooler_output', out.poolerOutput as Tensor, false);
    } finally {
      out.lastHiddenState.dispose();
      out.poolerOutput?.dispose();
      px.dispose();
      model.dispose();
    }
  });
});

/**
 * Feeds `ids` [B, T] through the KV cache: `prompt` tokens, then one token a step; returns every
 * step's logits concatenated along the sequence. A sliding-window cache keeps at most its window.
 */
function decodeInSteps(model: LM, ids: Tensor, prompt: number, mask: Tensor, pos: Tensor): Tensor {
  let past: KVCache | null = null;
  const parts: Tensor[] = [];
  for (let start = 0; start < ids.shape[1]; ) {
    const n = start === 0 ? prompt : 1;
    const out: { logits: Tensor; pastKeyValues: KVCache | null } = model.forward({
      inputIds: ids.sliceDim(1, start, start + n),
      attentionMask: mask.sliceDim(1, 0, start + n),
      positionIds: pos.sliceDim(1, start, start + n),
      pastKeyValues: past,
    });
    past = out.pastKeyValues;
    parts.push(out.logits);
    start += n;
  }
  past?.dispose();
  const all = concat(parts, 1);
  for (const p of parts) p.dispose();
  return all;
}

describe('KV-cached decoding on webgpu equals the uncached forward (1e-3 relative)', () => {
  // Mistral's window (sliding_window in its config) is shorter than the sequence, so the rolling
  // cache drops positions while decoding; Mixtral routes each decoded token through its experts.
  for (const name of ['hf-mistral-sliding', 'hf-mixtral', 'hf-qwen2-sliding']) {
    it(`${name}: the prompt, then one token at a time`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as LM;
      const ids = fx.tensor('input_ids');
      const mask = fx.tensor('attention_mask');
      const pos = fx.tensor('position_ids');
      const length = ids.shape[1];
      const prompt = length - 6;
      try {
        const full = model.forward({ inputIds: ids, attentionMask: mask, positionIds: pos, useCache: false });
        const want = await full.logits.data();
        full.logits.dispose();
        const got = decodeInSteps(model, ids, prompt, mask, pos);
        expect(got.backend.name).toBe('webgpu');
        const keep = realTokens(fx.array('attention_mask'), got.shape[2]);
        const c = closeness(await got.data(), want, keep, GPU_RTOL, GPU_ATOL);
        got.dispose();
        expect(c.ratio, `${name} cached vs uncached: worst ${c.worst}`).toBeLessThanOrEqual(1);
      } finally {
        for (const t of [ids, mask, pos]) t.dispose();
        model.dispose();
      }
    });
  }
});

describe("greedy generate() on webgpu gives transformers' tokens", () => {
  for (const name of ['hf-mistral-sliding', 'hf-mixtral', 'hf-qwen2-sliding']) {
    it(`${name}: one prompt`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as LM;
      const prompt = fx.array('prompt_single');
      const want = fx.array('greedy_single');
      const { sequences } = await generate(model, [Array.from(prompt.data)], {
        maxNewTokens: fx.meta.max_new_tokens as number,
        eosTokenId: 2,
        padTokenId: 3,
      });
      expect(sequences).toEqual([Array.from(want.data)]);
      model.dispose();
    });
  }
});
