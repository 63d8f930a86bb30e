// The embedded speech companion: a tiny Whisper trained by scripts/train-tiny-whisper.mjs on
// synthetic speech (eSpeak NG voices saying one to three digits, "four seven two" → "472"), shipped
// in assets/tiny-whisper/ as a Hugging Face Whisper folder (2-second window, 40 mel bins, a 20 ms
// hop) with one held-out clip, so that the README and the demo can transcribe audio with no
// download. training.json states its exact match and character error rate on held-out voices and
// sequences.
import { readFile } from '@attnkit/hub';
import type { AutomaticSpeechRecognitionPipeline } from './pipelines/automatic-speech-recognition.js';
import { pipeline } from './pipelines/pipeline.js';

/** The embedded model's files (literal URLs, so bundlers copy them). */
export const TINY_WHISPER_FILES: {
  readonly config: URL;
  readonly generationConfig: URL;
  readonly weights: URL;
  readonly preprocessorConfig: URL;
  readonly tokenizer: URL;
  readonly tokenizerConfig: URL;
  readonly training: URL;
  readonly clip: URL;
} = {
  config: new URL('../assets/tiny-whisper/config.json', import.meta.url),
  generationConfig: new URL('../assets/tiny-whisper/generation_config.json', import.meta.url),
  weights: new URL('../assets/tiny-whisper/model.safetensors', import.meta.url),
  preprocessorConfig: new URL('../assets/tiny-whisper/preprocessor_config.json', import.meta.url),
  tokenizer: new URL('../assets/tiny-whisper/tokenizer.json', import.meta.url),
  tokenizerConfig: new URL('../assets/tiny-whisper/tokenizer_config.json', import.meta.url),
  training: new URL('../assets/tiny-whisper/training.json', import.meta.url),
  clip: new URL('../assets/tiny-whisper/clip.wav', import.meta.url),
};

/** Greedy decoding measured on a set of held-out clips (training.json). */
export interface TinyWhisperScore {
  clips: number;
  /** Share of clips whose transcript is exactly the spoken digits. */
  exactMatch: number;
  /** Edit distance over the spoken digits' length, summed over the clips. */
  characterErrorRate: number;
  [key: string]: unknown;
}

/** How the embedded Whisper was trained and how well it does (its training.json). */
export interface TinyWhisperReport {
  parameters: number;
  settings: Record<string, unknown>;
  /** eSpeak NG voices used in training and held out. */
  voices: { train: string[]; heldOut: string[] };
  /** Held-out voices saying held-out sequences. */
  heldOut: TinyWhisperScore;
  /** Training voices saying held-out sequences. */
  heldOutSequencesSeenVoices: TinyWhisperScore;
  /** The bundled clip: its voice and what it says. */
  clip: { file: string; voice: string; said: string; [key: string]: unknown };
  [key: string]: unknown;
}

async function readAsset(url: URL): Promise<Uint8Array> {
  return readFile(url, 'loadTinyWhisper');
}

/** The embedded Whisper's training report. */
export async function tinyWhisperReport(): Promise<TinyWhisperReport> {
  return JSON.parse(
    new TextDecoder().decode(await readAsset(TINY_WHISPER_FILES.training)),
  ) as TinyWhisperReport;
}

/**
 * A RIFF WAV file's samples as float32 in [-1, 1) and its sampling rate: 16-bit PCM (int16 / 32768)
 * or 32-bit float, mono (stereo and other encodings are refused).
 */
export function decodeWav(bytes: Uint8Array): { samples: Float32Array; samplingRate: number } {
  const who = 'decodeWav';
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(`${who}: expected the file's bytes as a Uint8Array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new Error(`${who}: not a RIFF WAVE file (expected 'RIFF' … 'WAVE' at the start)`);
  let format = -1;
  let channels = 0;
  let rate = 0;
  let bits = 0;
  for (let p = 12; p + 8 <= bytes.length; ) {
    const id = tag(p);
    const size = view.getUint32(p + 4, true);
    if (id === 'fmt ') {
      format = view.getUint16(p + 8, true);
      channels = view.getUint16(p + 10, true);
      rate = view.getUint32(p + 12, true);
      bits = view.getUint16(p + 22, true);
    } else if (id === 'data') {
      if (format < 0) throw new Error(`${who}: the 'data' chunk comes before 'fmt '`);
      if (channels !== 1) throw new Error(`${who}: ${channels} channels; expected mono audio`);
      const body = Math.min(size, bytes.length - p - 8);
      if (format === 1 && bits === 16) {
        const out = new Float32Array(Math.floor(body / 2));
        for (let i = 0; i < out.length; i++) out[i] = view.getInt16(p + 8 + 2 * i, true) / 32768;
        return { samples: out, samplingRate: rate };
      }
      if (format === 3 && bits === 32) {
        const out = new Float32Array(Math.floor(body / 4));
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(p + 8 + 4 * i, true);
        return { samples: out, samplingRate: rate };
      }
      throw new Error(
        `${who}: format ${format} with ${bits} bits per sample; expected 16-bit PCM (1) or 32-bit float (3)`,
      );
    }
    p += 8 + size + (size % 2);
  }
  throw new Error(`${who}: no 'data' chunk`);
}

/** The bundled clip (a held-out voice saying held-out digits; training.json's `clip.said`): 16 kHz samples. */
export async function tinyWhisperClip(): Promise<Float32Array> {
  const { samples, samplingRate } = decodeWav(await readAsset(TINY_WHISPER_FILES.clip));
  if (samplingRate !== 16000)
    throw new Error(`tinyWhisperClip: the clip is sampled at ${samplingRate} Hz, expected 16000`);
  return samples;
}

/**
 * Loads the embedded tiny Whisper (spoken digits → digits, trained on synthetic eSpeak NG voices)
 * as an automatic-speech-recognition pipeline, with its feature extractor and tokenizer: no
 * download. It takes at most 2 s of 16 kHz mono audio.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const transcriber = await loadTinyWhisper();
 * const { text } = await transcriber(await tinyWhisperClip());
 * console.log(text); // the digits spoken in the clip, e.g. "472"
 * ```
 */
export async function loadTinyWhisper(): Promise<AutomaticSpeechRecognitionPipeline> {
  const f = TINY_WHISPER_FILES;
  const names: [string, URL][] = [
    ['config.json', f.config],
    ['generation_config.json', f.generationConfig],
    ['model.safetensors', f.weights],
    ['preprocessor_config.json', f.preprocessorConfig],
    ['tokenizer.json', f.tokenizer],
    ['tokenizer_config.json', f.tokenizerConfig],
  ];
  const bytes = await Promise.all(names.map(([, url]) => readAsset(url)));
  return pipeline('automatic-speech-recognition', new Map(names.map(([name], i) => [name, bytes[i]])));
}
