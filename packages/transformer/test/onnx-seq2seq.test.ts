// Encoder-decoders export by tracing as Optimum lays them out: exportOnnx(model, { part: 'encoder' })
// (encoder_model.onnx) and { part: 'decoder' } (decoder_model.onnx, no cache: decoder ids and the
// encoder's hidden states → logits). onnxruntime-web runs both for T5 (relu, gated-GELU untied),
// BART and Whisper, and the chained graphs give transformers' logits (the seq2seq fixtures) within
// 1e-4 relative, as attnkit does; the batch and the sequence lengths stay dynamic.
import '@attnkit/backend-cpu';
import type { Tensor } from '@attnkit/tensor-core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnx, loadPretrained, type PreTrainedModel } from '../src/index.js';
import { closeness, type Fixture, loadFixture } from './helpers.js';

ort.env.wasm.numThreads = 1;

const i32 = (t: Tensor) => new ort.Tensor('int32', Int32Array.from(t.dataSync()), [...t.shape]);
const f32 = (t: Tensor) => new ort.Tensor('float32', Float32Array.from(t.dataSync()), [...t.shape]);

/** The encoder's feeds: text (ids + mask) or Whisper's features. */
function encoderFeeds(fx: Fixture): Record<string, ort.Tensor> {
  if (fx.has('input_features')) return { input_features: f32(fx.tensor('input_features')) };
  return { input_ids: i32(fx.tensor('input_ids')), attention_mask: i32(fx.tensor('attention_mask')) };
}

const CASES = ['seq2seq-t5-relu', 'seq2seq-t5-gated-untied', 'seq2seq-bart', 'seq2seq-whisper'];

describe('exportOnnx of encoder-decoders (encoder and decoder graphs) → onnxruntime-web', () => {
  for (const name of CASES) {
    it(`${name}: encoder states and decoder logits equal transformers'`, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      const encoder = await ort.InferenceSession.create(exportOnnx(model, { part: 'encoder' }));
      const decoder = await ort.InferenceSession.create(exportOnnx(model, { part: 'decoder' }));
      const enc = await encoder.run(encoderFeeds(fx));
      const states = enc.last_hidden_state;
      const wantStates = fx.array('encoder_last_hidden_state');
      expect(states.dims).toEqual(wantStates.shape);
      const mask = fx.has('attention_mask') ? fx.array('attention_mask') : null;
      const width = wantStates.shape[2];
      const real = (i: number) => !mask || mask.data[Math.floor(i / width)] !== 0;
      const e = closeness(states.data as Float32Array, wantStates.data, real);
      expect(e.ratio, `${name} encoder: worst ${e.worst}`).toBeLessThanOrEqual(1);

      const feeds: Record<string, ort.Tensor> = {
        input_ids: i32(fx.tensor('decoder_input_ids')),
        encoder_hidden_states: states,
      };
      if (decoder.inputNames.includes('encoder_attention_mask')) {
        feeds.encoder_attention_mask = i32(fx.tensor('attention_mask'));
      }
      const dec = await decoder.run(feeds);
      const want = fx.array('logits');
      expect(dec.logits.dims).toEqual(want.shape);
      const d = closeness(dec.logits.data as Float32Array, want.data);
      expect(d.ratio, `${name} decoder: worst ${d.worst}`).toBeLessThanOrEqual(1);
      model.dispose();
    });
  }

  it('T5: one row alone through both graphs (dynamic batch and lengths)', async () => {
    const fx = loadFixture('seq2seq-t5-relu');
    const model = (await loadPretrained(fx.dir)) as PreTrainedModel & {
      forward(x: unknown): { logits: Tensor };
    };
    const ids = fx.tensor('input_ids').sliceDim(0, 0, 1).sliceDim(1, 0, 5);
    const mask = fx.tensor('attention_mask').sliceDim(0, 0, 1).sliceDim(1, 0, 5);
    const dids = fx.tensor('decoder_input_ids').sliceDim(0, 0, 1).sliceDim(1, 0, 3);
    const ours = model.forward({
      inputIds: ids,
      attentionMask: mask,
      decoderInputIds: dids,
      useCache: false,
    }).logits;
    const encoder = await ort.InferenceSession.create(exportOnnx(model, { part: 'encoder' }));
    const decoder = await ort.InferenceSession.create(exportOnnx(model, { part: 'decoder' }));
    const enc = await encoder.run({ input_ids: i32(ids), attention_mask: i32(mask) });
    const dec = await decoder.run({
      input_ids: i32(dids),
      encoder_hidden_states: enc.last_hidden_state,
      encoder_attention_mask: i32(mask),
    });
    expect(dec.logits.dims).toEqual(ours.shape);
    expect(closeness(dec.logits.data as Float32Array, ours.dataSync()).ratio).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('T5EncoderModel and BertForMaskedLM (encoder families with a head) export whole', async () => {
    for (const [name, key, types] of [
      ['seq2seq-t5-encoder', 'last_hidden_state', false],
      ['bert-mlm', 'logits', true],
    ] as const) {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      const session = await ort.InferenceSession.create(exportOnnx(model));
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i32(fx.tensor('input_ids')),
        attention_mask: i32(fx.tensor('attention_mask')),
      };
      if (types) feeds.token_type_ids = i32(fx.tensor('token_type_ids'));
      const out = await session.run(feeds);
      const want = fx.array(key);
      expect(out[key].dims).toEqual(want.shape);
      const mask = fx.array('attention_mask');
      const inner = want.shape[2];
      const c = closeness(
        out[key].data as Float32Array,
        want.data,
        (i) => mask.data[Math.floor(i / inner)] !== 0,
      );
      expect(c.ratio, `${name}: worst ${c.worst}`).toBeLessThanOrEqual(1);
      model.dispose();
    }
  });

  it('refuses an encoder-decoder without part, and part on other models', async () => {
    const model = await loadPretrained(loadFixture('seq2seq-whisper').dir);
    expect(() => exportOnnx(model)).toThrow(/pass \{ part: 'encoder' \} or \{ part: 'decoder' \}/);
    model.dispose();
    const gpt2 = await loadPretrained(loadFixture('gpt2-tiny').dir);
    expect(() => exportOnnx(gpt2, { part: 'encoder' })).toThrow(/'part' is for encoder-decoders/);
    gpt2.dispose();
  });
});
