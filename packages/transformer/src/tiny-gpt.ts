// The embedded default model: a tiny character-level GPT-2 trained by scripts/train-tiny-gpt.mjs on
// the fables in assets/corpus (written and retold for attnkit, MIT), shipped in assets/tiny-gpt/ so
// that the README and the demo run with no download.
import { readFile } from '@attnkit/hub';
import { CharTokenizer } from '@attnkit/tokenizer';
import { loadPretrained } from './loading.js';
import { GPT2LMHeadModel } from './models/gpt2.js';

/**
 * The embedded model's tokenizer is @attnkit/tokenizer's `CharTokenizer` (one id per character of
 * a fixed alphabet, with the `decode` that @attnkit/sampling needs to stream text), re-exported here.
 */
export { CharTokenizer };

/**
 * The embedded model's files, each as a literal `new URL(..., import.meta.url)` so bundlers (Vite,
 * webpack, esbuild) find and copy them; a folder URL alone is not followed by bundlers.
 */
export const TINY_GPT_FILES: {
  readonly config: URL;
  readonly weights: URL;
  readonly vocab: URL;
  readonly training: URL;
} = {
  config: new URL('../assets/tiny-gpt/config.json', import.meta.url),
  weights: new URL('../assets/tiny-gpt/model.safetensors', import.meta.url),
  vocab: new URL('../assets/tiny-gpt/vocab.json', import.meta.url),
  training: new URL('../assets/tiny-gpt/training.json', import.meta.url),
};

/** The folder of a file URL; a data: URL (a small file a bundler inlined) is its own folder. */
function folderOf(file: URL): URL {
  try {
    return new URL('./', file);
  } catch {
    return file;
  }
}

/**
 * The folder holding the embedded model (config.json, model.safetensors, vocab.json,
 * training.json). Derived from the weights' URL, not written as a folder literal, which bundlers
 * warn about and cannot copy; in a bundle the files are the ones {@link TINY_GPT_FILES} names.
 */
export const TINY_GPT_URL: URL = folderOf(TINY_GPT_FILES.weights);

/** How the embedded model was trained and how well it does (its training.json). */
export interface TinyGPTReport {
  /** Characters in the training corpus. */
  characters: number;
  vocabSize: number;
  parameters: number;
  /** The training settings (seed, steps, batch size, learning rate, …). */
  settings: Record<string, unknown>;
  /** Held-out loss of simple baselines in nats/char (uniform, unigram, bigram). */
  baselines: Record<string, number>;
  /** The model's held-out loss in nats/char. */
  finalValidationLoss: number;
  [key: string]: unknown;
}

async function readAsset(url: URL): Promise<Uint8Array> {
  return readFile(url, 'loadTinyGPT'); // file: URLs from the file system (Node), others by fetch
}

/** The embedded model's training report: corpus size, settings, baselines and its held-out loss. */
export async function tinyGPTReport(): Promise<TinyGPTReport> {
  return JSON.parse(new TextDecoder().decode(await readAsset(TINY_GPT_FILES.training))) as TinyGPTReport;
}

/**
 * Loads the embedded tiny GPT (about 0.35 M parameters, character level, 96 positions) and its
 * tokenizer, from the package itself: no download, in Node and in bundled browser apps. It writes
 * short fables in the style of its training corpus.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * const { model, tokenizer } = await loadTinyGPT();
 * const { sequences } = await generate(model, [tokenizer.encode('THE FOX AND THE ')], {
 *   maxNewTokens: 60, doSample: true, temperature: 0.8, seed: 1,
 * });
 * console.log(tokenizer.decode(sequences[0]));
 * ```
 */
export async function loadTinyGPT(): Promise<{ model: GPT2LMHeadModel; tokenizer: CharTokenizer }> {
  const [config, weights, vocabBytes] = await Promise.all([
    readAsset(TINY_GPT_FILES.config),
    readAsset(TINY_GPT_FILES.weights),
    readAsset(TINY_GPT_FILES.vocab),
  ]);
  const model = await loadPretrained(
    new Map([
      ['config.json', config],
      ['model.safetensors', weights],
    ]),
  );
  if (!(model instanceof GPT2LMHeadModel))
    throw new Error('loadTinyGPT: the embedded checkpoint is not a GPT-2');
  const vocab = JSON.parse(new TextDecoder().decode(vocabBytes)) as { chars: string[] };
  return { model, tokenizer: new CharTokenizer(vocab.chars) };
}
