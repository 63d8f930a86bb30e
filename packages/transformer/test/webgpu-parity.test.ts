// The PyTorch parity of parity.test.ts and the KV-cache check of kv-cache.test.ts, on backend-webgpu:
// every GPT-2, Llama (grouped-query heads included) and BERT (padded batches included) fixture made by
// scripts/reference/transformer_gen_refs.py is loaded with loadPretrained onto the webgpu backend and
// compared with the reference within 1e-3 relative (1e-4 absolute floor), the GPU tolerance of issue 7;
// then decoding with the KV cache (prompt, then one token at a time) equals the uncached forward.
// Without a GPU, Dawn runs on SwiftShader (the set-up of backend-webgpu's and attention's tests).
//
// Explicit `positionIds` (Llama with a left-padded batch, fixture llama-bf16-padded) are checked both
// on webgpu (RoPE then builds its cos/sin tables on the device) and held on the CPU backend (RoPE
// reads them on the host).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@attnkit/backend-cpu';
import type { KVCache } from '@attnkit/attention';
import { fromValues, memory, setBackend, type Tensor } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type LlamaForCausalLM, loadPretrained } from '../src/index.js';
import {
  chunked,
  closeness,
  type Fixture,
  fixtureNames,
  forwardOutputs,
  type LM,
  loadFixture,
  modelInputs,
  realTokens,
} from './helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

/** Tolerance against PyTorch on webgpu: 1e-3 relative, 1e-4 absolute floor. */
const GPU_RTOL = 1e-3;
const GPU_ATOL = 1e-4;

beforeAll(async () => {
  // imported here so that VK_ICD_FILENAMES is set before Dawn loads
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
  setBackend('webgpu');
});

/** A fixture array as a tensor on the CPU backend (the host), whatever the current backend. */
function onHost(fx: Fixture, key: string): Tensor {
  setBackend('cpu');
  try {
    return fx.tensor(key);
  } finally {
    setBackend('webgpu');
  }
}

/** The fixture's model inputs, on webgpu; position ids on the CPU backend when `hostPositions`. */
function inputsFor(fx: Fixture, hostPositions: boolean): Record<string, Tensor> {
  return modelInputs(fx, hostPositions && fx.has('position_ids') ? onHost(fx, 'position_ids') : undefined);
}

/** Fixtures with explicit position ids (RoPE): run with the ids on webgpu and on the host. */
const needsSyncPositions = (fx: Fixture) => fx.meta.model === 'llama' && fx.has('position_ids');

const names = fixtureNames().filter((n) =>
  ['gpt2', 'llama', 'bert'].includes(String(loadFixture(n).meta.model)),
);

/** Loads fixture `name` on webgpu, runs its forward and compares every output with torch's. */
async function parityCase(name: string, hostPositions: boolean): Promise<void> {
  const fx = loadFixture(name);
  const model = await loadPretrained(fx.dir);
  const inputs = inputsFor(fx, hostPositions);
  expect(inputs.inputIds.backend.name).toBe('webgpu');
  let checks: [string, Tensor, boolean][] = [];
  try {
    checks = forwardOutputs(fx, model, inputs);
    const mask = fx.has('attention_mask') ? fx.array('attention_mask') : null;
    for (const [key, got, onlyReal] of checks) {
      expect(got.backend.name).toBe('webgpu');
      const want = fx.array(key);
      expect(got.shape).toEqual(want.shape);
      const inner = want.shape.slice(2).reduce((a, b) => a * b, 1);
      const keep = onlyReal ? realTokens(mask, inner) : undefined;
      const c = closeness(await got.data(), want.data, keep, GPU_RTOL, GPU_ATOL);
      expect(c.compared).toBeGreaterThan(0);
      expect(c.ratio, `${name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
    }
  } finally {
    for (const [, t] of checks) t.dispose();
    for (const t of Object.values(inputs)) t.dispose();
    model.dispose();
  }
}

describe('PyTorch parity on webgpu (1e-3 relative)', () => {
  it('covers GPT-2, Llama with grouped-query heads and BERT with a padded batch', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
    expect(names).toEqual(expect.arrayContaining(['gpt2-tiny', 'llama-gqa-batch', 'bert-tiny']));
    expect(Array.from(loadFixture('bert-tiny').array('attention_mask').data)).toContain(0);
    const gqa = JSON.parse(readFileSync(join(loadFixture('llama-gqa-batch').dir, 'config.json'), 'utf8'));
    expect(gqa.num_key_value_heads).toBeLessThan(gqa.num_attention_heads);
  });

  for (const name of names) {
    if (!needsSyncPositions(loadFixture(name))) {
      it(name, () => parityCase(name, false));
      continue;
    }
    it(`${name}, position ids on the CPU backend`, () => parityCase(name, true));
    it(`${name}, position ids on webgpu (RoPE tables built on the device)`, () => parityCase(name, false));
  }
});

const DECODE_CASES: [string, number[]][] = [
  ['gpt2-tiny', [5, 1, 1, 1, 1, 1, 1, 1]],
  ['gpt2-prefixed-padded', [4, 1, 1, 1, 1, 1]],
  ['llama-tiny', [5, 1, 1, 1, 1, 1, 1, 1]],
  ['llama-gqa-batch', [4, 1, 1, 1, 1, 1, 1, 1]],
  ['llama-bf16-padded', [5, 1, 1, 1, 1]],
];

/** Uncached forward vs torch, then cached decoding in `sizes` chunks vs the uncached forward. */
async function decodeCase(name: string, sizes: number[], hostPositions: boolean): Promise<void> {
  const fx = loadFixture(name);
  const model = (await loadPretrained(fx.dir)) as LM;
  const inputs = inputsFor(fx, hostPositions);
  const ids = inputs.inputIds;
  const mask = inputs.attentionMask ?? null;
  const pos = inputs.positionIds ?? null;
  try {
    const full = model.forward({ inputIds: ids, attentionMask: mask, positionIds: pos, useCache: false });
    expect(full.pastKeyValues).toBeNull();
    expect(full.logits.backend.name).toBe('webgpu');
    const want = await full.logits.data();
    const keep = realTokens(
      fx.has('attention_mask') ? fx.array('attention_mask') : null,
      full.logits.shape[2],
    );
    full.logits.dispose();
    // the uncached forward itself matches PyTorch
    const ref = closeness(want, fx.array('logits').data, keep, GPU_RTOL, GPU_ATOL);
    expect(ref.ratio, `${name} uncached vs torch: worst ${ref.worst}`).toBeLessThanOrEqual(1);
    const got = chunked(model, ids, sizes, mask, pos);
    expect(got.backend.name).toBe('webgpu');
    expect(got.shape).toEqual([...fx.array('logits').shape]);
    const c = closeness(await got.data(), want, keep, GPU_RTOL, GPU_ATOL);
    got.dispose();
    expect(c.ratio, `${name} chunks ${sizes}: worst ${c.worst}`).toBeLessThanOrEqual(1);
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    model.dispose();
  }
}

describe('KV-cached decoding on webgpu equals the uncached forward (1e-3 relative)', () => {
  for (const [name, sizes] of DECODE_CASES) {
    const title = `${name}: prompt of ${sizes[0]}, then ${sizes.length - 1} single-token steps`;
    if (!needsSyncPositions(loadFixture(name))) {
      it(title, () => decodeCase(name, sizes, false));
      continue;
    }
    it(`${title}, position ids on the CPU backend`, () => decodeCase(name, sizes, true));
    it(`${title}, position ids on webgpu (RoPE tables built on the device)`, () =>
      decodeCase(name, sizes, false));
  }

  it('holds webgpu memory flat while decoding (live tensors constant per step)', async () => {
    const model = (await loadPretrained(loadFixture('llama-gqa-batch').dir)) as LlamaForCausalLM;
    const prompt = loadFixture('llama-gqa-batch').tensor('input_ids').sliceDim(0, 0, 1);
    let out = model.forward({ inputIds: prompt });
    const past = out.pastKeyValues as KVCache;
    await out.logits.data();
    out.logits.dispose();
    prompt.dispose();
    const counts: number[] = [];
    for (let step = 0; step < 20; step++) {
      const ids = fromValues([step % 64], [1, 1], 'int32');
      out = model.forward({ inputIds: ids, pastKeyValues: past });
      await out.logits.data();
      out.logits.dispose();
      ids.dispose();
      counts.push(memory().webgpu.numTensors);
    }
    expect(past.length).toBe(31);
    expect(new Set(counts).size).toBe(1);
    past.dispose();
    model.dispose();
  });

  it('frees what it allocates on webgpu', async () => {
    const before = memory().webgpu?.numTensors ?? 0;
    const fx = loadFixture('llama-gqa-batch');
    const model = (await loadPretrained(fx.dir)) as LlamaForCausalLM;
    const ids = fx.tensor('input_ids');
    const out = model.forward({ inputIds: ids });
    await out.logits.data();
    out.logits.dispose();
    out.pastKeyValues?.dispose();
    ids.dispose();
    model.dispose();
    expect(memory().webgpu?.numTensors ?? 0).toBe(before);
  });
});
