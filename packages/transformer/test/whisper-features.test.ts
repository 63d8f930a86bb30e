// WhisperFeatureExtractor against transformers 5.18's (scripts/seq2seq_refs.py): the log-mel
// features of a deterministic signal, 1.7 s padded to 30 s with 80 mel bins and 31 s trimmed to 30 s
// with 128, within 1e-4 relative; preprocessor_config.json read from the folder; bad audio refused.
import '@attnkit/backend-cpu';
import { describe, expect, it } from 'vitest';
import { loadFeatureExtractor, WhisperFeatureExtractor } from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

/** The signal of seq2seq_refs.py's test_waveform: float64 math, then float32. */
function testWaveform(seconds: number, sr = 16000): Float32Array {
  const n = Math.trunc(seconds * sr);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    x[i] =
      0.4 * Math.sin(2 * Math.PI * 440 * t) +
      0.25 * Math.sin(2 * Math.PI * (300 + 1500 * t) * t) +
      0.1 * Math.sin(0.37 * i * i);
  }
  return x;
}

describe("WhisperFeatureExtractor equals transformers' (1e-4 relative)", () => {
  for (const name of ['seq2seq-whisper-features-80', 'seq2seq-whisper-features-128']) {
    it(name, async () => {
      const fx = loadFixture(name);
      const fe = await loadFeatureExtractor(fx.dir);
      expect(fe.config.featureSize).toBe(fx.meta.feature_size);
      const feats = fe.call(testWaveform(fx.meta.seconds as number), { samplingRate: 16000 });
      expect(feats.shape).toEqual(fx.meta.shape);
      const [, m, frames] = feats.shape;
      const all = feats.dataSync();
      const [a, b] = fx.meta.frames as [number, number];
      const slice = (from: number, to: number) => {
        const out = new Float32Array(m * (to - from));
        for (let r = 0; r < m; r++)
          out.set(all.subarray(r * frames + from, r * frames + to), r * (to - from));
        return out;
      };
      for (const [key, got] of [
        ['head', slice(a, b)],
        ['tail', slice(frames - 4, frames)],
      ] as const) {
        const c = closeness(got, fx.array(key).data);
        expect(c.compared).toBe(got.length);
        expect(c.ratio, `${name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
      }
      feats.dispose();
    });
  }

  it('refuses audio of another sample rate, empty audio and unsupported settings', () => {
    const fe = new WhisperFeatureExtractor();
    expect(() => fe.call(new Float32Array(100), { samplingRate: 44100 })).toThrow(/44100 Hz.*16000 Hz/);
    expect(() => fe.call(new Float32Array(0))).toThrow(/empty.*16000 Hz/);
    expect(() => fe.call([])).toThrow(/non-empty/);
    expect(() => fe.call([new Float64Array(3) as unknown as Float32Array])).toThrow(/Float32Array/);
    expect(() => WhisperFeatureExtractor.fromJson({ feature_size: 0 })).toThrow(/feature_size/);
    expect(() => WhisperFeatureExtractor.fromJson({ dither: 1e-5 })).toThrow(/dither/);
    expect(() => WhisperFeatureExtractor.fromJson({ feature_extractor_type: 'ASTFeatureExtractor' })).toThrow(
      /ASTFeatureExtractor/,
    );
  });
});
