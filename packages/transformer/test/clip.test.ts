// CLIP's text encoder against PyTorch references (packages/transformer/scripts/clip_gen_refs.py, a
// plain-torch re-implementation of transformers' CLIPTextModel): every clip-* fixture folder is a
// Hugging Face checkpoint loaded with loadPretrained and compared within 1e-4 relative; the pooler's
// end-of-text rule, config parsing (clip_text_model and whole clip configs) and the errors.
import '@attnkit/backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLIPTextModel,
  CLIPTextModelWithProjection,
  clipTextConfig,
  clipTextConfigFromJson,
  loadPretrained,
  saveModel,
} from '../src/index.js';
import { closeness, fixtureNames, loadFixture, realTokens } from './helpers.js';

const names = fixtureNames().filter((n) => loadFixture(n).meta.model === 'clip');
const tmp = mkdtempSync(join(tmpdir(), 'attnkit-clip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectClose(
  name: string,
  key: string,
  got: Tensor,
  want: { shape: number[]; data: ArrayLike<number> },
  keep?: (i: number) => boolean,
) {
  expect(got.shape).toEqual(want.shape);
  const c = closeness(got.dataSync(), want.data, keep);
  if (keep) expect(c.compared).toBeGreaterThan(0);
  else expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

describe('CLIPTextModel: PyTorch parity (1e-4 relative, CPU)', () => {
  it('covers the expected cases', () => {
    expect(names.sort()).toEqual([
      'clip-full-f16',
      'clip-text-leftpad',
      'clip-text-noprefix',
      'clip-text-projection-padded',
      'clip-text-sd',
    ]);
  });

  for (const name of names) {
    it(name, async () => {
      const fx = loadFixture(name);
      // a whole CLIPModel checkpoint (clip-full-f16, with a partial vision tower) loads its text tower by name
      const model = await loadPretrained(fx.dir, { architecture: fx.meta.architecture as string });
      const want = fx.meta.architecture === 'CLIPTextModel' ? CLIPTextModel : CLIPTextModelWithProjection;
      expect(model).toBeInstanceOf(want);
      expect(model.training).toBe(false);
      const inputIds = fx.tensor('input_ids');
      const attentionMask = fx.has('attention_mask') ? fx.tensor('attention_mask') : null;
      const out = (model as CLIPTextModelWithProjection).forward({ inputIds, attentionMask });
      const hidden = fx.array('last_hidden_state');
      const keep = fx.meta.compare_real_tokens_only
        ? realTokens(fx.array('attention_mask'), hidden.shape[2])
        : undefined;
      expectClose(name, 'last_hidden_state', out.lastHiddenState, hidden, keep);
      expectClose(name, 'pooler_output', out.poolerOutput, fx.array('pooler_output'));
      if (fx.has('text_embeds')) expectClose(name, 'text_embeds', out.textEmbeds, fx.array('text_embeds'));
      else expect(out.textEmbeds).toBeUndefined();
      for (const t of Object.values(out)) (t as Tensor).dispose();
      inputIds.dispose();
      attentionMask?.dispose();
      model.dispose();
    });
  }

  it('pools at the largest id with the legacy eos_token_id 2, else at the first eos_token_id (row 0 without one)', async () => {
    for (const [name, index] of [
      ['clip-text-sd', [4, 8, 11]],
      ['clip-text-projection-padded', [3, 6, 0]],
    ] as const) {
      const fx = loadFixture(name);
      expect(Array.from(fx.array('pooled_index').data)).toEqual(index);
      const model = (await loadPretrained(fx.dir)) as CLIPTextModel;
      const ids = fx.tensor('input_ids');
      const out = model.forward(ids); // a bare id tensor, as text_encoder(ids)
      const e = model.config.hiddenSize;
      const l = ids.shape[1];
      const last = out.lastHiddenState.dataSync();
      const pooled = out.poolerOutput.dataSync();
      index.forEach((pos, b) => {
        expect(Array.from(pooled.subarray(b * e, (b + 1) * e))).toEqual(
          Array.from(last.subarray((b * l + pos) * e, (b * l + pos + 1) * e)),
        );
      });
      for (const t of [out.lastHiddenState, out.poolerOutput, ids]) t.dispose();
      model.dispose();
    }
  });

  it('padding does not change the real tokens: each row alone equals its row in the padded batch', async () => {
    const fx = loadFixture('clip-text-projection-padded');
    const model = (await loadPretrained(fx.dir)) as CLIPTextModelWithProjection;
    const ids = fx.array('input_ids');
    const full = fx.array('last_hidden_state').data;
    const e = model.config.hiddenSize;
    const row = Array.from(ids.data.subarray(0, 4)); // the first row's 4 real tokens
    const out = model.forward({ inputIds: tensor([row], undefined, 'int32') });
    const c = closeness(out.lastHiddenState.dataSync(), full.subarray(0, 4 * e));
    expect(c.ratio).toBeLessThanOrEqual(1);
    for (const t of Object.values(out)) (t as Tensor).dispose();
    model.dispose();
  });

  it('returns hidden states (embeddings + every layer) on request, the last one before final_layer_norm', async () => {
    const fx = loadFixture('clip-text-sd');
    const model = (await loadPretrained(fx.dir)) as CLIPTextModel;
    const ids = fx.tensor('input_ids');
    const out = model.forward({ inputIds: ids, outputHiddenStates: true });
    const states = out.hiddenStates as Tensor[];
    expect(states.length).toBe(model.config.numHiddenLayers + 1);
    const normed = model.text_model.final_layer_norm.forward(states[states.length - 1]);
    expect(closeness(normed.dataSync(), fx.array('last_hidden_state').data).ratio).toBeLessThanOrEqual(1);
    for (const t of [...states, normed, out.lastHiddenState, out.poolerOutput, ids]) t.dispose();
    model.dispose();
  });

  it('saves and reloads (clip_text_model config.json) and frees what it allocates', async () => {
    const before = memory().cpu?.numTensors ?? 0;
    const fx = loadFixture('clip-full-f16');
    const model = await loadPretrained(fx.dir, { architecture: 'CLIPTextModelWithProjection' });
    const dir = join(tmp, 'saved');
    await saveModel(model, dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('clip_text_model');
    expect(config.architectures).toEqual(['CLIPTextModelWithProjection']);
    expect(config.projection_dim).toBe(12); // the top-level value of the clip config
    const again = (await loadPretrained(dir)) as CLIPTextModelWithProjection;
    const ids = fx.tensor('input_ids');
    const out = again.forward(ids);
    expectClose('saved', 'text_embeds', out.textEmbeds, fx.array('text_embeds'));
    for (const t of [...Object.values(out), ids]) (t as Tensor).dispose();
    const plain = (await loadPretrained(fx.dir, { architecture: 'CLIPTextModel' })) as CLIPTextModel;
    expect(plain).toBeInstanceOf(CLIPTextModel);
    for (const m of [model, again, plain]) m.dispose();
    expect(memory().cpu.numTensors).toBe(before);
  });
});

describe('CLIPTextConfig', () => {
  it('has CLIP ViT-B/32 text defaults and reads a clip config through text_config', () => {
    const c = clipTextConfig();
    expect([
      c.vocabSize,
      c.hiddenSize,
      c.numHiddenLayers,
      c.numAttentionHeads,
      c.maxPositionEmbeddings,
    ]).toEqual([49408, 512, 12, 8, 77]);
    expect([c.hiddenAct, c.eosTokenId, c.layerNormEps]).toEqual(['quick_gelu', 49407, 1e-5]);
    const full = clipTextConfigFromJson({
      model_type: 'clip',
      projection_dim: 768,
      text_config: { hidden_size: 768, num_attention_heads: 12, eos_token_id: 2 },
      vision_config: { hidden_size: 1024 },
    });
    expect([full.hiddenSize, full.numAttentionHeads, full.projectionDim, full.eosTokenId]).toEqual([
      768, 12, 768, 2,
    ]);
  });

  it('rejects bad configs with a message naming the field', () => {
    expect(() => clipTextConfigFromJson({ hidden_size: 30, num_attention_heads: 4 })).toThrow(
      /CLIPTextConfig: hidden_size 30 must be divisible by num_attention_heads 4/,
    );
    expect(() => clipTextConfigFromJson({ hidden_act: 'gelu_magic' })).toThrow(
      /CLIPTextConfig: unknown activation 'gelu_magic'/,
    );
    expect(() => clipTextConfigFromJson({ model_type: 'clip', vision_config: {} })).toThrow(
      /CLIPTextConfig: a 'clip' config.json must hold a "text_config" object, got undefined/,
    );
    expect(() => clipTextConfigFromJson({ eos_token_id: null })).toThrow(
      /CLIPTextConfig: config field 'eosTokenId' \(eos_token_id\) must be a non-negative integer, got null/,
    );
    expect(() => clipTextConfig({ maxPositionEmbeddings: 0 })).toThrow(
      /CLIPTextConfig: max_position_embeddings must be positive, got 0/,
    );
    expect(() => clipTextConfig({ hiddenSize: 8, numAttentionHeads: 2, numHidenLayers: 1 } as never)).toThrow(
      /CLIPTextConfig: unknown config option 'numHidenLayers'/,
    );
  });
});

describe('CLIPTextModel: bad inputs', () => {
  manualSeed(0);
  const model = new CLIPTextModel({
    vocabSize: 20,
    hiddenSize: 8,
    intermediateSize: 16,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    maxPositionEmbeddings: 6,
    eosTokenId: 19,
  }).eval();

  it('names the function, the argument, what it got and what it expected', () => {
    expect(() => model.forward({ inputIds: tensor([[1, 2, 3]]) })).toThrow(
      /CLIPTextModel.forward: 'inputIds' must hold int32 token ids, got float32 \[1, 3\]/,
    );
    expect(() => model.forward({ inputIds: tensor([[1, 2, 3, 4, 5, 6, 7]], undefined, 'int32') })).toThrow(
      /CLIPTextModel.forward: 'inputIds' has 7 tokens, more than max_position_embeddings 6/,
    );
    expect(() =>
      model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32'), attentionMask: tensor([[1, 1]]) }),
    ).toThrow(/CLIPTextModel.forward: 'attentionMask' must be \[1, 3\], got \[1, 2\]/);
    expect(() => model.forward(undefined as never)).toThrow(
      /CLIPTextModel.forward: expected \{ inputIds, attentionMask\? \} or an int32 id tensor, got undefined/,
    );
    expect(() => model.forward({} as never)).toThrow(
      /CLIPTextModel.forward: 'inputIds' must be a Tensor, got undefined/,
    );
    expect(() => model.forward(tensor([[1, 25]], undefined, 'int32'))).toThrow(/25/);
  });

  it('loadPretrained names the checkpoint tensors that do not fit', async () => {
    const fx = loadFixture('clip-text-sd');
    const config = readFileSync(join(fx.dir, 'config.json'));
    const weights = readFileSync(join(fx.dir, 'model.safetensors'));
    const bad = JSON.parse(config.toString());
    bad.intermediate_size = 48;
    await expect(
      loadPretrained({
        'config.json': new TextEncoder().encode(JSON.stringify(bad)),
        'model.safetensors': new Uint8Array(weights),
      }),
    ).rejects.toThrow(
      /does not match CLIPTextModel:[\s\S]*mis-shaped tensors \(6\): text_model.encoder.layers.0.mlp.fc1.weight: checkpoint \[64, 32\], model \[48, 32\]/,
    );
  });
});
