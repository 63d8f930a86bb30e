// Mistral, Mixtral and Qwen2 (and Llama's rope types) beyond the forward pass: KV-cached decoding
// equals the uncached forward (with Mistral's rolling window cache holding only the window, so
// memory stays flat), generate() gives the sequences transformers 5.18's generate() gave (greedy
// and beam search, one prompt and a left-padded batch; scripts/hf_refs.py), beam search reorders a
// rolling cache, generation_config.json becomes model.generationConfig, and out-of-range config
// keys are refused by name before any tensor is allocated.
import '@attnkit/backend-cpu';
import type { KVCache } from '@attnkit/attention';
import { generate } from '@attnkit/sampling';
import { concat, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  checkpointFiles,
  generationConfigFromJson,
  loadPretrained,
  type MistralForCausalLM,
  MixtralForCausalLM,
  mistralConfig,
  mixtralConfigFromJson,
  qwen2ConfigFromJson,
  qwen2Windows,
} from '../src/index.js';
import { closeness, loadFixture, realTokens } from './helpers.js';

type DecoderLM = MistralForCausalLM;

const CACHED: [string, number[][]][] = [
  [
    'hf-mistral-sliding',
    [
      [4, 1, 1, 1, 1, 1, 1, 1, 1],
      [7, 5],
      [2, 3, 1, 6],
    ],
  ],
  [
    'hf-mixtral',
    [
      [3, 1, 1, 1, 1, 1, 1, 1],
      [6, 4],
    ],
  ],
  ['hf-qwen2', [[5, 1, 1, 1, 1, 1]]],
  [
    'hf-qwen2-sliding',
    [
      [3, 1, 1, 1, 1, 1, 1, 1, 1],
      [6, 5],
    ],
  ],
  ['hf-llama-rope-llama3', [[4, 1, 1, 1, 1, 1, 1]]],
  ['hf-llama-rope-yarn', [[4, 1, 1, 1, 1, 1, 1]]],
];

/** Feeds the fixture's batch through the KV cache in chunks; returns the logits of every step. */
function decodeInChunks(model: DecoderLM, ids: Tensor, mask: Tensor, pos: Tensor, sizes: number[]): Tensor {
  let past: KVCache | null = null;
  let start = 0;
  const parts: Tensor[] = [];
  for (const n of sizes) {
    const out = model.forward({
      inputIds: ids.sliceDim(1, start, start + n),
      attentionMask: mask.sliceDim(1, 0, start + n),
      positionIds: pos.sliceDim(1, start, start + n),
      pastKeyValues: past,
    });
    if (past) expect(out.pastKeyValues).toBe(past);
    past = out.pastKeyValues;
    parts.push(out.logits);
    start += n;
  }
  expect(past?.position).toBe(ids.shape[1]);
  past?.dispose();
  const all = concat(parts, 1);
  for (const p of parts) p.dispose();
  return all;
}

describe('KV cache of the new families', () => {
  for (const [name, schedules] of CACHED) {
    it(`${name}: cached decoding equals the uncached forward (and transformers)`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as DecoderLM;
      const ids = fx.tensor('input_ids');
      const mask = fx.tensor('attention_mask');
      const pos = fx.tensor('position_ids');
      const full = model.forward({ inputIds: ids, attentionMask: mask, positionIds: pos, useCache: false });
      const keep = realTokens(fx.array('attention_mask'), full.logits.shape[2]);
      const want = full.logits.dataSync();
      expect(closeness(want, fx.array('logits').data, keep).ratio).toBeLessThanOrEqual(1);
      for (const sizes of schedules) {
        const got = decodeInChunks(model, ids, mask, pos, sizes);
        const c = closeness(got.dataSync(), want, keep);
        expect(c.ratio, `${name} chunks ${sizes}: worst ${c.worst}`).toBeLessThanOrEqual(1);
        got.dispose();
      }
      full.logits.dispose();
      for (const t of [ids, mask, pos]) t.dispose();
      model.dispose();
    });
  }

  it('Mistral: the rolling cache holds only the window, so memory stays flat over long decoding', async () => {
    const model = (await loadPretrained(loadFixture('hf-mistral-sliding').dir)) as DecoderLM;
    const window = model.config.slidingWindow as number; // 5
    expect(model.model.cacheWindow).toBe(window);
    let out = model.forward({
      inputIds: tensor([[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]], undefined, 'int32'),
    });
    const past = out.pastKeyValues as KVCache;
    out.logits.dispose();
    const bytes: number[] = [];
    const counts: number[] = [];
    for (let step = 0; step < 80; step++) {
      const ids = tensor([[3 + (step % 60)]], undefined, 'int32');
      out = model.forward({ inputIds: ids, pastKeyValues: past });
      out.logits.dispose();
      ids.dispose();
      expect(past.length).toBeLessThanOrEqual(2 * window + 2);
      bytes.push(past.byteLength);
      counts.push(memory().cpu.numTensors);
    }
    expect(past.position).toBe(92);
    expect(past.length).toBeGreaterThanOrEqual(window);
    expect(new Set(bytes.slice(10)).size).toBe(1);
    expect(new Set(counts.slice(10)).size).toBe(1);
    // one row's cache: at most max(prompt, 2 × window) positions of [Hkv, D] keys and values per layer
    const { numKeyValueHeads, numHiddenLayers } = model.config;
    const headDim = model.config.hiddenSize / model.config.numAttentionHeads;
    expect(past.byteLength).toBeLessThanOrEqual(
      12 * 2 * 4 * (numKeyValueHeads as number) * headDim * numHiddenLayers,
    );
    past.dispose();
    model.dispose();
  });

  it('Mistral: beam search reorders the rolling cache in place, keeping its position', async () => {
    const model = (await loadPretrained(loadFixture('hf-mistral-sliding').dir)) as DecoderLM;
    const ids = tensor(
      [
        [3, 4, 5, 6, 7, 8, 9, 10],
        [11, 12, 13, 14, 15, 16, 17, 18],
      ],
      undefined,
      'int32',
    );
    const out = model.forward({ inputIds: ids });
    const past = out.pastKeyValues as KVCache;
    for (let s = 0; s < 6; s++) {
      const step = tensor([[20 + s], [30 + s]], undefined, 'int32');
      model.forward({ inputIds: step, pastKeyValues: past }).logits.dispose();
      step.dispose();
    }
    const row = (t: Tensor, i: number) => Array.from(t.sliceDim(0, i, i + 1).dataSync());
    const before = row(past.layer(0).keys as Tensor, 1);
    const re = model.reorderCache(past, [1, 1]);
    expect(re).toBe(past);
    expect(re.position).toBe(14);
    expect(re.windowSize).toBe(5);
    expect(row(re.layer(0).keys as Tensor, 0)).toEqual(before);
    expect(row(re.layer(0).keys as Tensor, 1)).toEqual(before);
    expect(() => model.reorderCache(past, [2])).toThrow(/out of range/);
    past.dispose();
    out.logits.dispose();
    ids.dispose();
    model.dispose();
  });
});

const GENERATE = [
  'hf-mistral-sliding',
  'hf-mixtral',
  'hf-qwen2',
  'hf-qwen2-sliding',
  'hf-llama-rope-default',
];

/** Rows of a fixture's int32 [B, L] array. */
function rows(name: string, key: string): number[][] {
  const a = loadFixture(name).array(key);
  const [b, l] = a.shape;
  return Array.from({ length: b }, (_, i) => Array.from(a.data.subarray(i * l, (i + 1) * l)));
}

describe("generate() equals transformers' generate()", () => {
  for (const name of GENERATE) {
    for (const [tag, numBeams] of [
      ['greedy', 1],
      ['beam', 3],
    ] as const) {
      it(`${name}: ${tag} search, one prompt`, async () => {
        const fx = loadFixture(name);
        const model = (await loadPretrained(fx.dir)) as DecoderLM;
        const { sequences } = await generate(model, rows(name, 'prompt_single'), {
          maxNewTokens: fx.meta.max_new_tokens as number,
          numBeams,
          eosTokenId: 2,
          padTokenId: 3,
        });
        expect(sequences).toEqual(rows(name, `${tag}_single`));
        model.dispose();
      });

      it(`${name}: ${tag} search, a left-padded batch`, async () => {
        const fx = loadFixture(name);
        const model = (await loadPretrained(fx.dir)) as DecoderLM;
        const { sequences } = await generate(
          model,
          fx.tensor('input_ids'),
          { maxNewTokens: fx.meta.max_new_tokens as number, numBeams, eosTokenId: 2, padTokenId: 3 },
          fx.tensor('attention_mask'),
        );
        expect(sequences).toEqual(rows(name, `${tag}_batch`));
        model.dispose();
      });
    }
  }
});

describe('generation_config.json', () => {
  it('is read into model.generationConfig (camelCase) and written back by checkpointFiles', async () => {
    const model = await loadPretrained(loadFixture('hf-mistral-sliding').dir);
    expect(model.generationConfig).toEqual({
      bosTokenId: 1,
      eosTokenId: 2,
      padTokenId: 3,
      maxNewTokens: 8,
      doSample: false,
    });
    const files = await checkpointFiles(model);
    const written = JSON.parse(new TextDecoder().decode(files['generation_config.json']));
    expect(written).toEqual({
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 3,
      max_new_tokens: 8,
      do_sample: false,
    });
    model.dispose();
    const none = await loadPretrained(loadFixture('llama-gqa-batch').dir); // no generation_config.json
    expect(none.generationConfig).toBeNull();
    none.dispose();
    // save_pretrained's file for a config without generation settings: nothing to apply
    const empty = await loadPretrained(loadFixture('llama-tiny').dir);
    expect(empty.generationConfig).toEqual({});
    empty.dispose();
  });

  it('maps sampling defaults, drops keys generate() has no setting for, refuses bad values by name', () => {
    expect(
      generationConfigFromJson({
        do_sample: true,
        temperature: 0.6,
        top_p: 0.9,
        top_k: 20,
        repetition_penalty: 1.1,
        eos_token_id: [2, 7],
        num_beams: 1,
        transformers_version: '5.18.0',
        output_attentions: false,
        pad_token_id: null,
      }),
    ).toEqual({
      doSample: true,
      temperature: 0.6,
      topP: 0.9,
      topK: 20,
      repetitionPenalty: 1.1,
      eosTokenId: [2, 7],
      numBeams: 1,
    });
    expect(() => generationConfigFromJson({ top_k: 'many' })).toThrow(/'top_k'/);
    expect(() => generationConfigFromJson({ eos_token_id: [2, -1] })).toThrow(/'eos_token_id'/);
  });
});

describe('bad configs are refused by key before any tensor is allocated', () => {
  /** Writes config.json (the fixture's, with `patch`) next to its weights and loads it. */
  async function loadWith(name: string, patch: Record<string, unknown>): Promise<unknown> {
    const fx = loadFixture(name);
    const { readFileSync } = await import('node:fs');
    const config = { ...JSON.parse(readFileSync(`${fx.dir}/config.json`, 'utf8')), ...patch };
    return loadPretrained({
      'config.json': new TextEncoder().encode(JSON.stringify(config)),
      'model.safetensors': readFileSync(`${fx.dir}/model.safetensors`),
    });
  }

  const CASES: [string, Record<string, unknown>, RegExp][] = [
    [
      'hf-mistral-sliding',
      { sliding_window: 0 },
      /sliding_window must be a positive integer or null, got number 0/,
    ],
    [
      'hf-mixtral',
      { num_experts_per_tok: 5 },
      /num_experts_per_tok must be in \[1, num_local_experts = 4\], got 5/,
    ],
    ['hf-mixtral', { router_jitter_noise: 0.1 }, /router_jitter_noise 0.1 is not implemented/],
    [
      'hf-qwen2',
      { num_attention_heads: 5, num_key_value_heads: 5 },
      /num_attention_heads 5 must divide hidden_size 32/,
    ],
    [
      'hf-qwen2',
      { layer_types: ['full_attention', 'chunked_attention'] },
      /layer_types\[1\] string "chunked_attention" is not implemented/,
    ],
    [
      'hf-llama-rope-default',
      { rope_parameters: { rope_type: 'proportional', rope_theta: 10000 } },
      /rope_type 'proportional', which attnkit does not implement \(supported: default, linear, dynamic, yarn, longrope, llama3\)/,
    ],
    [
      'hf-llama-rope-default',
      { rope_parameters: { rope_type: 'llama3', rope_theta: 1e4, factor: 8 } },
      /rope 'llama3' needs 'low_freq_factor'/,
    ],
    [
      'hf-llama-rope-longrope-short',
      {
        rope_parameters: {
          rope_type: 'longrope',
          rope_theta: 1e4,
          short_factor: [1],
          long_factor: [1],
          original_max_position_embeddings: 8,
        },
      },
      /'short_factor', a list of 4 positive numbers/,
    ],
    [
      'hf-llama-rope-linear-v4',
      { rope_scaling: { type: 'su', factor: 2 } },
      /rope_type 'su', which attnkit does not implement/,
    ],
    [
      'hf-mistral-sliding',
      { rope_parameters: { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5 } },
      /partial_rotary_factor/,
    ],
  ];
  for (const [name, patch, message] of CASES) {
    it(`${name} with ${JSON.stringify(patch)}`, async () => {
      const before = memory().cpu?.numTensors ?? 0;
      await expect(loadWith(name, patch)).rejects.toThrow(message);
      expect(memory().cpu?.numTensors ?? 0).toBe(before);
    });
  }

  it('an unknown model_type or architecture lists the supported ones', async () => {
    await expect(
      loadWith('hf-qwen2', { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }),
    ).rejects.toThrow(
      /model types: .*mistral, mixtral, qwen2.*architectures: .*MixtralForCausalLM, Qwen2ForCausalLM/,
    );
  });

  it('constructors check the same keys', () => {
    expect(() => mistralConfig({ slidingWindow: 0 })).toThrow(/sliding_window/);
    expect(() => new MixtralForCausalLM({ numLocalExperts: 2, numExpertsPerTok: 3 })).toThrow(
      /num_experts_per_tok/,
    );
    expect(() => mixtralConfigFromJson({ num_experts: 4, num_experts_per_tok: 2 })).not.toThrow();
    expect(mixtralConfigFromJson({ num_experts: 4 }).numLocalExperts).toBe(4); // transformers' attribute_map
  });

  it("Qwen2's windows follow use_sliding_window with layer_types (v5) or max_window_layers (v4)", () => {
    const v4 = qwen2ConfigFromJson({
      num_hidden_layers: 4,
      use_sliding_window: true,
      sliding_window: 8,
      max_window_layers: 2,
    });
    expect(qwen2Windows(v4)).toEqual([null, null, 8, 8]);
    const off = qwen2ConfigFromJson({
      num_hidden_layers: 2,
      use_sliding_window: false,
      sliding_window: 8,
      max_window_layers: 0,
    });
    expect(qwen2Windows(off)).toEqual([null, null]);
    const v5 = qwen2ConfigFromJson({
      num_hidden_layers: 3,
      use_sliding_window: true,
      sliding_window: 4,
      layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'],
    });
    expect(qwen2Windows(v5)).toEqual([4, null, 4]);
  });
});
