// Whisper against transformers 5.18 (scripts/seq2seq_refs.py): a tiny WhisperForConditionalGeneration
// loaded from its save_pretrained folder gives transformers' logits and encoder output on log-mel
// features within 1e-4 relative; its encoder positions are transformers' sinusoids; decoding with
// the cache equals the full forward; generate() from the decoder prompt (start, language, task)
// gives transformers' sequences, greedy and beam search. Bad inputs are refused with the limit.
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { concat, type Tensor, tensor, zeros } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  type EncoderDecoderCache,
  loadPretrained,
  WhisperForConditionalGeneration,
  whisperConfigFromJson,
  whisperSinusoids,
} from '../src/index.js';
import { closeness, type Fixture, loadFixture } from './helpers.js';

function expectClose(fx: Fixture, key: string, got: Tensor | Float32Array, shape?: number[]): void {
  const want = fx.array(key);
  if (!(got instanceof Float32Array)) expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  else expect(shape).toEqual(want.shape);
  const c = closeness(got instanceof Float32Array ? got : got.dataSync(), want.data);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${fx.name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

function rows(fx: Fixture, key: string): number[][] {
  const a = fx.array(key);
  const [b, l] = a.shape;
  return Array.from({ length: b }, (_, i) => Array.from(a.data.subarray(i * l, (i + 1) * l)));
}

describe('WhisperForConditionalGeneration equals transformers 5.18 (1e-4 relative, CPU)', () => {
  it('logits and encoder output; the encoder sinusoids', async () => {
    const fx = loadFixture('seq2seq-whisper');
    const model = await loadPretrained(fx.dir);
    expect(model).toBeInstanceOf(WhisperForConditionalGeneration);
    const w = model as WhisperForConditionalGeneration;
    const out = w.forward({
      inputFeatures: fx.tensor('input_features'),
      decoderInputIds: fx.tensor('decoder_input_ids'),
      useCache: false,
    });
    expectClose(fx, 'logits', out.logits);
    expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
    const [s, e] = fx.array('sinusoids').shape;
    expectClose(fx, 'sinusoids', whisperSinusoids(s, e), [s, e]);
    model.dispose();
  });

  it('decoding with the cache equals the full forward', async () => {
    const fx = loadFixture('seq2seq-whisper');
    const model = (await loadPretrained(fx.dir)) as WhisperForConditionalGeneration;
    const dec = fx.tensor('decoder_input_ids');
    const full = model.forward({
      inputFeatures: fx.tensor('input_features'),
      decoderInputIds: dec,
      useCache: false,
    });
    const memory = model.encode(fx.tensor('input_features'));
    let past: EncoderDecoderCache | null = null;
    const parts: Tensor[] = [];
    // the prompt at once, then one token at a time
    for (const [a, b] of [
      [0, 3],
      [3, 4],
      [4, 5],
      [5, 6],
      [6, 7],
    ]) {
      const step: { logits: Tensor; pastKeyValues: EncoderDecoderCache | null } = model.forward({
        encoderOutputs: memory,
        decoderInputIds: dec.sliceDim(1, a, b),
        pastKeyValues: past,
      });
      past = step.pastKeyValues;
      parts.push(step.logits);
    }
    expect(past?.length).toBe(7);
    const c = closeness(concat(parts, 1).dataSync(), full.logits.dataSync());
    expect(c.ratio).toBeLessThanOrEqual(1);
    past?.dispose();
    model.dispose();
  });

  for (const [tag, numBeams] of [
    ['greedy', 1],
    ['beam', 3],
  ] as const) {
    it(`generate() ${tag} search from the decoder prompt equals transformers`, async () => {
      const fx = loadFixture('seq2seq-whisper');
      const model = (await loadPretrained(fx.dir)) as WhisperForConditionalGeneration;
      const prompt = fx.meta.decoder_prompt as number[];
      const opts = { maxNewTokens: fx.meta.max_new_tokens as number, numBeams };
      const out = await generate(model, fx.tensor('input_features'), { ...opts, decoderPromptIds: prompt });
      expect(out.sequences).toEqual(rows(fx, `${tag}_batch`));
      // the start token is put first when the prompt lacks it
      const again = await generate(model, fx.tensor('input_features'), {
        ...opts,
        decoderPromptIds: prompt.slice(1),
      });
      expect(again.sequences).toEqual(rows(fx, `${tag}_batch`));
      model.dispose();
    });
  }
});

describe('Whisper inputs and configs', () => {
  const base = {
    vocab_size: 64,
    num_mel_bins: 16,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 48,
    decoder_ffn_dim: 48,
    d_model: 32,
    max_source_positions: 15,
    max_target_positions: 6,
    decoder_start_token_id: 61,
  };

  it('refuses features of the wrong shape and decoder inputs beyond max_target_positions', () => {
    const model = new WhisperForConditionalGeneration(whisperConfigFromJson(base)).eval();
    const ids = (n: number) =>
      tensor(
        Int32Array.from({ length: n }, () => 1),
        [1, n],
        'int32',
      );
    expect(() => model.forward({ inputFeatures: zeros([1, 16, 29]), decoderInputIds: ids(2) })).toThrow(
      /16 mel bins, 30 frames/,
    );
    expect(() => model.forward({ inputFeatures: zeros([1, 80, 30]), decoderInputIds: ids(2) })).toThrow(
      /inputFeatures/,
    );
    expect(() => model.forward({ inputFeatures: zeros([1, 16, 30]), decoderInputIds: ids(7) })).toThrow(
      /max_target_positions 6/,
    );
    model.dispose();
  });

  it('refuses bad config values by key', () => {
    expect(() => whisperConfigFromJson({ ...base, d_model: 30 })).toThrow(/d_model/);
    expect(() => whisperConfigFromJson({ ...base, max_target_positions: 0 })).toThrow(/max_target_positions/);
    expect(() => whisperConfigFromJson({ ...base, apply_spec_augment: true })).toThrow(/apply_spec_augment/);
    expect(() => whisperConfigFromJson({ ...base, decoder_start_token_id: 64 })).toThrow(
      /decoder_start_token_id/,
    );
  });
});
