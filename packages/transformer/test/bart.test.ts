// BART against transformers 5.18 (scripts/seq2seq_refs.py): BartForConditionalGeneration (scaled
// embeddings, random final_logits_bias, forced BOS/EOS from generation_config.json) and BartModel,
// loaded from save_pretrained folders. Decoder inputs are the labels shifted right (as transformers
// builds them); logits, decoder and encoder states within 1e-4 relative; decoding with the cache
// equals the full forward; generate() greedy and beam sequences equal transformers'.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@attnkit/sampling';
import { concat, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  BartForConditionalGeneration,
  BartModel,
  bartConfigFromJson,
  type EncoderDecoderCache,
  loadPretrained,
} from '../src/index.js';
import { closeness, type Fixture, loadFixture } from './helpers.js';

function expectClose(fx: Fixture, key: string, got: Tensor): void {
  const want = fx.array(key);
  expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  const c = closeness(got.dataSync(), want.data);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${fx.name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

function rows(fx: Fixture, key: string): number[][] {
  const a = fx.array(key);
  const [b, l] = a.shape;
  return Array.from({ length: b }, (_, i) => Array.from(a.data.subarray(i * l, (i + 1) * l)));
}

describe('BART equals transformers 5.18 (1e-4 relative, CPU)', () => {
  it('BartForConditionalGeneration: shifted labels, logits and encoder output of a padded batch', async () => {
    const fx = loadFixture('seq2seq-bart');
    const model = await loadPretrained(fx.dir);
    expect(model).toBeInstanceOf(BartForConditionalGeneration);
    const bart = model as BartForConditionalGeneration;
    const labels = fx.tensor('labels');
    // shift_tokens_right: the start token, the labels without the last, -100 → pad
    expect(Array.from(bart.shiftRight(labels).dataSync())).toEqual(
      Array.from(fx.array('decoder_input_ids').data),
    );
    const out = bart.forward({
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      labels,
      useCache: false,
    });
    expectClose(fx, 'logits', out.logits);
    expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
    expect(model.generationConfig).toMatchObject({
      forcedBosTokenId: 0,
      forcedEosTokenId: 2,
      decoderStartTokenId: 2,
    });
    model.dispose();
  });

  it("without generation_config.json, generation takes the config's token ids as transformers does", async () => {
    const fx = loadFixture('seq2seq-bart');
    const files = new Map(
      ['config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(fx.dir, f)))]),
    );
    const model = await loadPretrained(files);
    const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const want = Object.fromEntries(
      Object.entries(fx.meta.generation_from_config as Record<string, number>).map(([k, v]) => [camel(k), v]),
    );
    expect(model.generationConfig).toEqual(want);
    model.dispose();
  });

  it('BartModel: decoder and encoder hidden states', async () => {
    const fx = loadFixture('seq2seq-bart-model');
    const model = await loadPretrained(fx.dir);
    expect(model).toBeInstanceOf(BartModel);
    const out = (model as BartModel).forward({
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      decoderInputIds: fx.tensor('decoder_input_ids'),
      useCache: false,
    });
    expectClose(fx, 'last_hidden_state', out.lastHiddenState);
    expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
    model.dispose();
  });

  it('decoding token by token with the cache equals the full forward', async () => {
    const fx = loadFixture('seq2seq-bart');
    const model = (await loadPretrained(fx.dir)) as BartForConditionalGeneration;
    const ids = fx.tensor('input_ids');
    const am = fx.tensor('attention_mask');
    const dec = fx.tensor('decoder_input_ids');
    const full = model.forward({ inputIds: ids, attentionMask: am, decoderInputIds: dec, useCache: false });
    const memory = model.encode(ids, am);
    let past: EncoderDecoderCache | null = null;
    const parts: Tensor[] = [];
    for (let t = 0; t < dec.shape[1]; t++) {
      const step: { logits: Tensor; pastKeyValues: EncoderDecoderCache | null } = model.forward({
        encoderOutputs: memory,
        attentionMask: am,
        decoderInputIds: dec.sliceDim(1, t, t + 1),
        pastKeyValues: past,
      });
      past = step.pastKeyValues;
      parts.push(step.logits);
    }
    expect(past?.crossAttention.length).toBe(ids.shape[1]);
    const c = closeness(concat(parts, 1).dataSync(), full.logits.dataSync());
    expect(c.ratio).toBeLessThanOrEqual(1);
    past?.dispose();
    model.dispose();
  });

  for (const [tag, numBeams] of [
    ['greedy', 1],
    ['beam', 3],
  ] as const) {
    it(`generate() ${tag} search (forced BOS and EOS) equals transformers, one source and a padded batch`, async () => {
      const fx = loadFixture('seq2seq-bart');
      const model = (await loadPretrained(fx.dir)) as BartForConditionalGeneration;
      const maxNewTokens = fx.meta.max_new_tokens as number;
      const mask = rows(fx, 'attention_mask');
      const single = rows(fx, 'input_ids')[1].filter((_, j) => mask[1][j] === 1);
      expect((await generate(model, [single], { maxNewTokens, numBeams })).sequences).toEqual(
        rows(fx, `${tag}_single`),
      );
      const batch = await generate(
        model,
        fx.tensor('input_ids'),
        { maxNewTokens, numBeams },
        fx.tensor('attention_mask'),
      );
      expect(batch.sequences).toEqual(rows(fx, `${tag}_batch`));
      model.dispose();
    });
  }
});

describe('BART configs and inputs', () => {
  const base = {
    vocab_size: 64,
    d_model: 32,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 48,
    decoder_ffn_dim: 48,
    max_position_embeddings: 8,
  };

  it('refuses bad values and unimplemented variants by key', () => {
    expect(() => bartConfigFromJson({ ...base, decoder_attention_heads: 5 })).toThrow(
      /decoder_attention_heads/,
    );
    expect(() => bartConfigFromJson({ ...base, max_position_embeddings: 0 })).toThrow(
      /max_position_embeddings/,
    );
    expect(() => bartConfigFromJson({ ...base, normalize_before: true })).toThrow(/normalize_before/);
    expect(() => bartConfigFromJson({ ...base, add_final_layer_norm: true })).toThrow(/add_final_layer_norm/);
    expect(() => bartConfigFromJson({ ...base, activation_function: 'nope' })).toThrow(/nope/);
    expect(() => bartConfigFromJson({ ...base, d_model: 2 ** 17, vocab_size: 2 ** 22 })).toThrow(
      /vocab_size/,
    );
  });

  it('refuses decoder inputs beyond max_position_embeddings, naming the limit', () => {
    const model = new BartForConditionalGeneration(bartConfigFromJson(base)).eval();
    const ids = fx32([[0, 5, 6]]);
    expect(() =>
      model.forward({ inputIds: ids, decoderInputIds: fx32([[2, 3, 4, 5, 6, 7, 8, 9, 10]]) }),
    ).toThrow(/decoderInputIds.*max_position_embeddings 8/);
    model.dispose();
  });
});

function fx32(v: number[][]): Tensor {
  return tensor(Int32Array.from(v.flat()), [v.length, v[0].length], 'int32');
}
