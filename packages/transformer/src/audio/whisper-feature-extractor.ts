// Whisper's audio front end (Radford et al. 2022), as transformers' WhisperFeatureExtractor computes
// it: a 16 kHz mono waveform padded with silence (or trimmed) to 30 s, a short-time Fourier
// transform with a periodic Hann window (n_fft 400, hop 160, centred with reflect padding), the
// power spectrum of every frame but the last, Slaney-normalised mel filters (0–8 kHz), log10 with a
// floor of 1e-10, values clamped to max − 8 and scaled as (x + 4) / 4.
//
//   waveform [n] ─ pad/trim to 480000 ─ STFT |·|² [201, 3001] ─ mel [M, 201] · ─ log10 ─ clamp ─ [M, 3000]
import { ConfigError, type FilesSource, openFiles, readJson } from '@attnkit/hub';
import { type Tensor, tensor } from '@attnkit/tensor-core';
import { describe } from '../internal.js';

/** Settings of {@link WhisperFeatureExtractor} (preprocessor_config.json names in camelCase). */
export interface WhisperFeatureExtractorConfig {
  /** Mel bins: 80 (Whisper up to large-v2) or 128 (large-v3). */
  featureSize: number;
  samplingRate: number;
  hopLength: number;
  /** Seconds every input is padded or trimmed to. */
  chunkLength: number;
  nFft: number;
  paddingValue: number;
}

const DEFAULTS: WhisperFeatureExtractorConfig = {
  featureSize: 80,
  samplingRate: 16000,
  hopLength: 160,
  chunkLength: 30,
  nFft: 400,
  paddingValue: 0,
};

const JSON_KEYS: Record<keyof WhisperFeatureExtractorConfig, string> = {
  featureSize: 'feature_size',
  samplingRate: 'sampling_rate',
  hopLength: 'hop_length',
  chunkLength: 'chunk_length',
  nFft: 'n_fft',
  paddingValue: 'padding_value',
};

/** Mel scale of Slaney's Auditory Toolbox (librosa's default): linear below 1 kHz, logarithmic above. */
export function hertzToMelSlaney(hz: number): number {
  const logstep = 27 / Math.log(6.4);
  return hz >= 1000 ? 15 + Math.log(hz / 1000) * logstep : (3 * hz) / 200;
}

/** The inverse of {@link hertzToMelSlaney}. */
export function melToHertzSlaney(mel: number): number {
  const logstep = Math.log(6.4) / 27;
  return mel >= 15 ? 1000 * Math.exp(logstep * (mel - 15)) : (200 * mel) / 3;
}

/**
 * Triangular mel filters, Slaney-normalised (each divided by its band width), as transformers'
 * `mel_filter_bank(norm="slaney", mel_scale="slaney")`: [numMelFilters][numFrequencyBins].
 */
export function melFilterBank(
  numFrequencyBins: number,
  numMelFilters: number,
  minFrequency: number,
  maxFrequency: number,
  samplingRate: number,
): Float64Array[] {
  const melMin = hertzToMelSlaney(minFrequency);
  const melMax = hertzToMelSlaney(maxFrequency);
  const n = numMelFilters + 2;
  const filterFreqs = Array.from({ length: n }, (_, i) =>
    melToHertzSlaney(melMin + ((melMax - melMin) * i) / (n - 1)),
  );
  const nyquist = Math.floor(samplingRate / 2);
  const fftFreqs = Array.from({ length: numFrequencyBins }, (_, i) => (nyquist * i) / (numFrequencyBins - 1));
  const out: Float64Array[] = [];
  for (let m = 0; m < numMelFilters; m++) {
    const row = new Float64Array(numFrequencyBins);
    const enorm = 2 / (filterFreqs[m + 2] - filterFreqs[m]);
    for (let f = 0; f < numFrequencyBins; f++) {
      const down = -(filterFreqs[m] - fftFreqs[f]) / (filterFreqs[m + 1] - filterFreqs[m]);
      const up = (filterFreqs[m + 2] - fftFreqs[f]) / (filterFreqs[m + 2] - filterFreqs[m + 1]);
      row[f] = Math.max(0, Math.min(down, up)) * enorm;
    }
    out.push(row);
  }
  return out;
}

/**
 * Whisper's log-mel spectrogram of one or more 16 kHz waveforms: `call(audio)` gives
 * `inputFeatures` float32 [B, featureSize, 3000] for {@link WhisperForConditionalGeneration}.
 * Settings come from preprocessor_config.json ({@link WhisperFeatureExtractor.fromJson},
 * {@link loadFeatureExtractor}).
 *
 * @example
 * ```ts
 * // a Whisper folder's preprocessor_config.json (here a tiny model's, 80 mel bins like whisper-tiny)
 * const fe = await loadFeatureExtractor('packages/transformer/test/fixtures/pipe-whisper');
 * const waveform = new Float32Array(16000).map((_, i) => Math.sin((2 * Math.PI * 440 * i) / 16000)); // 1 s of A4
 * // padded to the model's window: 3000 frames (30 s) for whisper-tiny, 300 for this tiny one
 * const inputFeatures = fe.call(waveform, { samplingRate: 16000 });
 * inputFeatures.shape; // => [1, 80, 300]
 * ```
 */
export class WhisperFeatureExtractor {
  readonly config: WhisperFeatureExtractorConfig;
  /** [featureSize][1 + nFft / 2] */
  readonly melFilters: Float64Array[];
  private readonly window: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(config: Partial<WhisperFeatureExtractorConfig> = {}) {
    const who = 'WhisperFeatureExtractor';
    const c = { ...DEFAULTS, ...config };
    for (const k of ['featureSize', 'samplingRate', 'hopLength', 'chunkLength', 'nFft'] as const) {
      const v = c[k];
      if (!Number.isInteger(v) || v < 1 || v > 1 << 24)
        throw new ConfigError(`${who}: '${JSON_KEYS[k]}' must be a positive integer, got ${describe(v)}`, k);
    }
    if (!Number.isFinite(c.paddingValue))
      throw new ConfigError(
        `${who}: 'padding_value' must be a finite number, got ${describe(c.paddingValue)}`,
      );
    this.config = c;
    const bins = 1 + Math.floor(c.nFft / 2);
    this.melFilters = melFilterBank(bins, c.featureSize, 0, 8000, c.samplingRate);
    // periodic Hann window (torch.hann_window)
    this.window = Float64Array.from(
      { length: c.nFft },
      (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / c.nFft),
    );
    this.cos = new Float64Array(bins * c.nFft);
    this.sin = new Float64Array(bins * c.nFft);
    for (let k = 0; k < bins; k++)
      for (let t = 0; t < c.nFft; t++) {
        const a = (2 * Math.PI * ((k * t) % c.nFft)) / c.nFft;
        this.cos[k * c.nFft + t] = Math.cos(a);
        this.sin[k * c.nFft + t] = Math.sin(a);
      }
  }

  /** An extractor from a parsed preprocessor_config.json. */
  static fromJson(json: Record<string, unknown>): WhisperFeatureExtractor {
    const who = 'WhisperFeatureExtractor';
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new ConfigError(`${who}: expected a preprocessor_config.json object, got ${describe(json)}`);
    const type = json.feature_extractor_type;
    if (type !== undefined && type !== 'WhisperFeatureExtractor')
      throw new ConfigError(
        `${who}: preprocessor_config.json names ${describe(type)}, not WhisperFeatureExtractor`,
      );
    if (json.dither !== undefined && json.dither !== 0 && json.dither !== 0.0)
      throw new ConfigError(
        `${who}: 'dither' ${describe(json.dither)} (random noise) is not implemented`,
        'dither',
      );
    const out: Partial<WhisperFeatureExtractorConfig> = {};
    for (const [k, key] of Object.entries(JSON_KEYS) as [keyof WhisperFeatureExtractorConfig, string][])
      if (json[key] !== undefined) out[k] = json[key] as number;
    return new WhisperFeatureExtractor(out);
  }

  /** Samples every input is padded or trimmed to (chunkLength · samplingRate). */
  get nSamples(): number {
    return this.config.chunkLength * this.config.samplingRate;
  }

  /**
   * Log-mel features of one waveform or a batch: float32 [B, featureSize, nSamples / hopLength].
   * `samplingRate`, when given, must be the extractor's (16000): audio is not resampled.
   */
  call(audio: Float32Array | readonly Float32Array[], options: { samplingRate?: number } = {}): Tensor {
    const who = 'WhisperFeatureExtractor.call';
    const sr = this.config.samplingRate;
    if (options.samplingRate !== undefined && options.samplingRate !== sr)
      throw new RangeError(
        `${who}: the audio is sampled at ${options.samplingRate} Hz; this extractor expects ${sr} Hz (resample it first)`,
      );
    const batch = audio instanceof Float32Array ? [audio] : audio;
    if (!Array.isArray(batch) || batch.length === 0)
      throw new TypeError(`${who}: expected a Float32Array of ${sr} Hz samples or a non-empty list of them`);
    batch.forEach((w, i) => {
      if (!(w instanceof Float32Array))
        throw new TypeError(`${who}: waveform ${i} must be a Float32Array, got ${describe(w)}`);
      if (w.length === 0) throw new RangeError(`${who}: waveform ${i} is empty (expected ${sr} Hz samples)`);
    });
    const m = this.config.featureSize;
    const frames = Math.floor(this.nSamples / this.config.hopLength);
    const out = new Float32Array(batch.length * m * frames);
    batch.forEach((w, i) => {
      out.set(this.logMel(w), i * m * frames);
    });
    return tensor(out, [batch.length, m, frames], 'float32');
  }

  /** One waveform → [featureSize · frames] in row-major [mel, frame] order. */
  private logMel(waveform: Float32Array): Float32Array {
    const { nFft, hopLength, featureSize, paddingValue } = this.config;
    const n = this.nSamples;
    // pad with silence or trim to 30 s, as float32
    const x = new Float32Array(n).fill(paddingValue);
    x.set(waveform.subarray(0, n));
    const half = Math.floor(nFft / 2);
    const frames = Math.floor(n / hopLength); // the STFT's last frame is dropped
    const bins = half + 1;
    const power = new Float64Array(bins * frames);
    const frame = new Float64Array(nFft);
    const reflect = (j: number) => (j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j);
    for (let f = 0; f < frames; f++) {
      const start = f * hopLength - half; // centred frames, reflect padding
      for (let t = 0; t < nFft; t++) frame[t] = x[reflect(start + t)] * this.window[t];
      for (let k = 0; k < bins; k++) {
        let re = 0;
        let im = 0;
        const row = k * nFft;
        for (let t = 0; t < nFft; t++) {
          re += frame[t] * this.cos[row + t];
          im -= frame[t] * this.sin[row + t];
        }
        power[k * frames + f] = re * re + im * im;
      }
    }
    const logSpec = new Float64Array(featureSize * frames);
    let max = Number.NEGATIVE_INFINITY;
    for (let mel = 0; mel < featureSize; mel++) {
      const filt = this.melFilters[mel];
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let k = 0; k < bins; k++) if (filt[k] !== 0) s += filt[k] * power[k * frames + f];
        const v = Math.log10(Math.max(s, 1e-10));
        logSpec[mel * frames + f] = v;
        if (v > max) max = v;
      }
    }
    const out = new Float32Array(featureSize * frames);
    for (let i = 0; i < out.length; i++) out[i] = (Math.max(logSpec[i], max - 8) + 4) / 4;
    return out;
  }
}

/**
 * Reads preprocessor_config.json from a checkpoint (a folder, URL base or map of files, as
 * loadPretrained takes) and returns its {@link WhisperFeatureExtractor}.
 */
export async function loadFeatureExtractor(source: FilesSource): Promise<WhisperFeatureExtractor> {
  const json = await readJson(
    openFiles(source, 'loadFeatureExtractor'),
    'preprocessor_config.json',
    'loadFeatureExtractor',
  );
  return WhisperFeatureExtractor.fromJson(json);
}
