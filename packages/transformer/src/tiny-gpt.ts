// The embedded default model: a tiny character-level GPT-2 trained by scripts/train-tiny-gpt.mjs on
// the fables in assets/corpus (written and retold for attnkit, MIT), shipped in assets/tiny-gpt/ so
// that the README and the demo run with no download.
import { describe } from './internal.js';
import { loadPretrained } from './loading.js';
import { GPT2LMHeadModel } from './models/gpt2.js';

/**
 * A character-level tokenizer: one id per character of a fixed alphabet. It has the `decode` that
 * `@attnkit/sampling` needs to stream text.
 *
 * @example
 * ```ts
 * const tok = new CharTokenizer(['a', 'b', ' ']);
 * tok.encode('ab a'); // [0, 1, 2, 0]
 * tok.decode([1, 0]); // 'ba'
 * ```
 */
export class CharTokenizer {
  private readonly index: Map<string, number>;

  constructor(readonly chars: readonly string[]) {
    if (!Array.isArray(chars) || chars.some((c) => typeof c !== 'string' || [...c].length !== 1)) {
      throw new TypeError('CharTokenizer: chars must be an array of single characters');
    }
    this.index = new Map(chars.map((c, i) => [c, i]));
    if (this.index.size !== chars.length) throw new Error('CharTokenizer: chars repeat a character');
  }

  /** Number of distinct ids. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /** Text → ids; throws on a character outside the alphabet, naming it. */
  encode(text: string): number[] {
    if (typeof text !== 'string')
      throw new TypeError(`CharTokenizer.encode: expected a string, got ${describe(text)}`);
    return Array.from(text, (c) => {
      const id = this.index.get(c);
      if (id === undefined) {
        throw new Error(
          `CharTokenizer.encode: the character ${JSON.stringify(c)} is not in the vocabulary of ${this.chars.length} characters`,
        );
      }
      return id;
    });
  }

  /** Ids → text. */
  decode(ids: readonly number[]): string {
    return ids
      .map((i) => {
        const c = this.chars[i];
        if (c === undefined)
          throw new RangeError(`CharTokenizer.decode: id ${i} is out of range 0..${this.chars.length - 1}`);
        return c;
      })
      .join('');
  }
}

/** The folder holding the embedded model (config.json, model.safetensors, vocab.json). */
export const TINY_GPT_URL: URL = new URL('../assets/tiny-gpt/', import.meta.url);

/**
 * Loads the embedded tiny GPT (about 0.35 M parameters, character level, 96 positions) and its
 * tokenizer, from the package itself: no download. It writes short fables in the style of its
 * training corpus.
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
  const model = await loadPretrained(TINY_GPT_URL);
  if (!(model instanceof GPT2LMHeadModel))
    throw new Error('loadTinyGPT: the embedded checkpoint is not a GPT-2');
  const isFile = TINY_GPT_URL.protocol === 'file:';
  let text: string;
  if (isFile) {
    const fs = await import('node:fs/promises');
    text = await fs.readFile(new URL('vocab.json', TINY_GPT_URL), 'utf8');
  } else {
    text = await (await fetch(new URL('vocab.json', TINY_GPT_URL))).text();
  }
  const vocab = JSON.parse(text) as { chars: string[] };
  return { model, tokenizer: new CharTokenizer(vocab.chars) };
}
