// Whisper's encoder exports by tracing (exportOnnx(model, { part: 'encoder' }), Optimum's
// encoder_model.onnx): onnxruntime-web runs it and gives attnkit's encoder output within 1e-4
// relative, which itself equals transformers' (seq2seq fixtures); the decoder is refused by name.
import '@attnkit/backend-cpu';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnx, loadPretrained, type WhisperForConditionalGeneration } from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

ort.env.wasm.numThreads = 1;

describe("exportOnnx of Whisper's encoder → onnxruntime-web", () => {
  it("seq2seq-whisper: the encoder's last hidden state equals attnkit's and transformers'", async () => {
    const fx = loadFixture('seq2seq-whisper');
    const model = (await loadPretrained(fx.dir)) as WhisperForConditionalGeneration;
    const features = fx.tensor('input_features');
    const ours = model.model.encoder.forward(features);
    const session = await ort.InferenceSession.create(exportOnnx(model, { part: 'encoder' }));
    expect(session.inputNames).toEqual(['input_features']);
    const out = await session.run({
      input_features: new ort.Tensor('float32', Float32Array.from(features.dataSync()), [...features.shape]),
    });
    expect(out.last_hidden_state.dims).toEqual(ours.shape);
    const c = closeness(out.last_hidden_state.data as Float32Array, ours.dataSync());
    expect(c.ratio, `onnxruntime vs attnkit: worst ${c.worst}`).toBeLessThanOrEqual(1);
    const hf = closeness(
      out.last_hidden_state.data as Float32Array,
      fx.array('encoder_last_hidden_state').data,
    );
    expect(hf.ratio, `onnxruntime vs transformers: worst ${hf.worst}`).toBeLessThanOrEqual(1);
    // one row alone: the batch size is dynamic
    const one = await session.run({
      input_features: new ort.Tensor('float32', Float32Array.from(features.sliceDim(0, 1, 2).dataSync()), [
        1,
        ...features.shape.slice(1),
      ]),
    });
    const row = ours.sliceDim(0, 1, 2).dataSync();
    expect(closeness(one.last_hidden_state.data as Float32Array, row).ratio).toBeLessThanOrEqual(1);
    ours.dispose();
    model.dispose();
  });

  it('refuses the whole model without { part: "encoder" }, and part on other models', async () => {
    const model = (await loadPretrained(
      loadFixture('seq2seq-whisper').dir,
    )) as WhisperForConditionalGeneration;
    expect(() => exportOnnx(model)).toThrow(/Whisper exports its encoder alone: pass \{ part: 'encoder' \}/);
    model.dispose();
    const gpt2 = await loadPretrained(loadFixture('gpt2-tiny').dir);
    expect(() => exportOnnx(gpt2, { part: 'encoder' })).toThrow(/'part' is for encoder-decoders/);
    gpt2.dispose();
  });
});
