// The embedded seq2seq companion: a tiny character-level T5 trained by scripts/train-tiny-t5.mjs to
// write numbers as English words ("342" → "three hundred forty-two"), shipped in assets/tiny-t5/ so
// that the README and the demo can run an encoder-decoder with no download. The task's reference is
// numberToWords below; training.json states the held-out exact-match accuracy.
import { readFile } from '@attnkit/hub';
import { loadPretrained } from './loading.js';
import { T5ForConditionalGeneration } from './models/t5.js';

/** The embedded model's files (literal URLs, so bundlers copy them). */
export const TINY_T5_FILES: {
  readonly config: URL;
  readonly generationConfig: URL;
  readonly weights: URL;
  readonly vocab: URL;
  readonly training: URL;
} = {
  config: new URL('../assets/tiny-t5/config.json', import.meta.url),
  generationConfig: new URL('../assets/tiny-t5/generation_config.json', import.meta.url),
  weights: new URL('../assets/tiny-t5/model.safetensors', import.meta.url),
  vocab: new URL('../assets/tiny-t5/vocab.json', import.meta.url),
  training: new URL('../assets/tiny-t5/training.json', import.meta.url),
};

const ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/**
 * An integer 0–999 in English words, the task of the embedded T5: `342` → `three hundred
 * forty-two`, `90` → `ninety`, `700` → `seven hundred` (no "and").
 */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999)
    throw new RangeError(`numberToWords: expected an integer 0..999, got ${String(n)}`);
  const below100 = (x: number) =>
    x < 20 ? ONES[x] : TENS[Math.floor(x / 10)] + (x % 10 ? `-${ONES[x % 10]}` : '');
  if (n < 100) return below100(n);
  const rest = n % 100;
  return `${ONES[Math.floor(n / 100)]} hundred${rest ? ` ${below100(rest)}` : ''}`;
}

/** The embedded T5's character vocabulary: id 0 pad (the decoder start), 1 end, characters from 2. */
export class TinyT5Tokenizer {
  private readonly index: Map<string, number>;
  constructor(readonly chars: readonly string[]) {
    this.index = new Map(chars.map((c, i) => [c, i + 2]));
  }
  /** Text → ids followed by the end token (1). Characters outside the vocabulary are refused. */
  encode(text: string): number[] {
    const ids = [...text].map((c) => {
      const id = this.index.get(c);
      if (id === undefined)
        throw new RangeError(
          `TinyT5Tokenizer.encode: ${JSON.stringify(c)} is not in the vocabulary (${this.chars.join('')})`,
        );
      return id;
    });
    return [...ids, 1];
  }
  /** Ids → text, stopping at the end token and skipping pad. */
  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      if (id === 1) break;
      if (id >= 2 && id - 2 < this.chars.length) out += this.chars[id - 2];
    }
    return out;
  }
  get vocabSize(): number {
    return this.chars.length + 2;
  }
}

/** How the embedded T5 was trained and how well it does (its training.json). */
export interface TinyT5Report {
  parameters: number;
  settings: Record<string, unknown>;
  /** Numbers held out of training. */
  heldOut: number[];
  /** Exact-match accuracy of greedy decoding on the held-out numbers. */
  heldOutExactMatch: number;
  [key: string]: unknown;
}

async function readAsset(url: URL): Promise<Uint8Array> {
  return readFile(url, 'loadTinyT5');
}

/** The embedded T5's training report. */
export async function tinyT5Report(): Promise<TinyT5Report> {
  return JSON.parse(new TextDecoder().decode(await readAsset(TINY_T5_FILES.training))) as TinyT5Report;
}

/**
 * Loads the embedded tiny T5 (numbers 0–999 → English words) and its tokenizer from the package:
 * no download.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * const { model, tokenizer } = await loadTinyT5();
 * const { sequences } = await generate(model, [tokenizer.encode('342')], { maxNewTokens: 40 });
 * console.log(tokenizer.decode(sequences[0])); // "three hundred forty-two"
 * ```
 */
export async function loadTinyT5(): Promise<{
  model: T5ForConditionalGeneration;
  tokenizer: TinyT5Tokenizer;
}> {
  const [config, generationConfig, weights, vocab] = await Promise.all([
    readAsset(TINY_T5_FILES.config),
    readAsset(TINY_T5_FILES.generationConfig),
    readAsset(TINY_T5_FILES.weights),
    readAsset(TINY_T5_FILES.vocab),
  ]);
  const model = await loadPretrained(
    new Map([
      ['config.json', config],
      ['generation_config.json', generationConfig],
      ['model.safetensors', weights],
    ]),
  );
  if (!(model instanceof T5ForConditionalGeneration))
    throw new Error('loadTinyT5: the embedded checkpoint is not a T5ForConditionalGeneration');
  const { chars } = JSON.parse(new TextDecoder().decode(vocab)) as { chars: string[] };
  return { model, tokenizer: new TinyT5Tokenizer(chars) };
}
