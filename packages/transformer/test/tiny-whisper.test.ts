// The embedded tiny Whisper (spoken digits → digits, scripts/train-tiny-whisper.mjs): it loads from
// the package with no download as an ASR pipeline, transcribes the bundled held-out clip to what the
// clip says, and its log-mel features, generated tokens and cross-attention weights are those of
// transformers on the same files (fixtures/tiny-whisper-refs.json, scripts/tiny_whisper_refs.py).
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { captureAttention } from '@attnkit/attention';
import { tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  decodeWav,
  loadTinyWhisper,
  TINY_WHISPER_FILES,
  tinyWhisperClip,
  tinyWhisperReport,
  WhisperForConditionalGeneration,
} from '../src/index.js';

const refs = JSON.parse(
  readFileSync(new URL('./fixtures/tiny-whisper-refs.json', import.meta.url), 'utf8'),
) as {
  samples: number;
  inputFeatures: { shape: number[]; data: number[] };
  text: string;
  sequence: number[];
  crossAttentions: number[][][][];
};

function expectClose(actual: ArrayLike<number>, expected: readonly number[], rtol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(rtol);
}

describe('embedded tiny Whisper', () => {
  it('transcribes the bundled held-out clip through the ASR pipeline, as transformers does', async () => {
    const asr = await loadTinyWhisper();
    expect(asr.model).toBeInstanceOf(WhisperForConditionalGeneration);
    const report = await tinyWhisperReport();
    const clip = await tinyWhisperClip();
    expect(clip.length).toBe(refs.samples);
    expect(report.voices.heldOut).toContain(report.clip.voice);
    const { text } = await asr(clip);
    expect(text).toBe(report.clip.said);
    expect(text).toBe(refs.text);
    expect(report.heldOut.clips).toBeGreaterThan(0);
    asr.dispose();
  });

  it("computes the clip's log-mel features as transformers' WhisperFeatureExtractor", async () => {
    const asr = await loadTinyWhisper();
    const features = asr.featureExtractor.call(await tinyWhisperClip(), { samplingRate: 16000 });
    expect(features.shape).toEqual(refs.inputFeatures.shape);
    expectClose(await features.data(), refs.inputFeatures.data);
    features.dispose();
    asr.dispose();
  });

  it("decoder cross-attention over the clip's frames matches transformers' and rows sum to 1", async () => {
    const asr = await loadTinyWhisper();
    const model = asr.model;
    const features = asr.featureExtractor.call(await tinyWhisperClip());
    const ids = tensor(Int32Array.from(refs.sequence), [1, refs.sequence.length], 'int32');
    const { attentions, dispose } = captureAttention(() =>
      model.forward({ inputFeatures: features, decoderInputIds: ids, useCache: false }),
    );
    const s = model.config.maxSourcePositions;
    const cross = attentions.filter(
      (r) => r.weights.shape[2] === refs.sequence.length && r.weights.shape[3] === s,
    );
    expect(cross.length).toBe(model.config.decoderLayers);
    for (const [l, r] of cross.entries()) {
      const w = await r.weights.data();
      expectClose(w, refs.crossAttentions[l].flat(2));
      for (let row = 0; row < w.length / s; row++) {
        let sum = 0;
        for (let j = 0; j < s; j++) sum += w[row * s + j];
        expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
      }
    }
    dispose();
    features.dispose();
    ids.dispose();
    asr.dispose();
  });

  it('decodeWav reads 16-bit PCM and refuses what it does not read', () => {
    const bytes = new Uint8Array(readFileSync(new URL(TINY_WHISPER_FILES.clip)));
    const { samples, samplingRate } = decodeWav(bytes);
    expect(samplingRate).toBe(16000);
    expect(samples.length).toBe((bytes.length - 44) / 2);
    expect(() => decodeWav(new Uint8Array(16))).toThrow(/RIFF WAVE/);
    const stereo = bytes.slice();
    new DataView(stereo.buffer).setUint16(22, 2, true);
    expect(() => decodeWav(stereo)).toThrow(/2 channels; expected mono/);
  });
});
