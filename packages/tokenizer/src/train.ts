/**
 * Training: byte-level BPE (like Hugging Face's BpeTrainer with a ByteLevel pre-tokenizer, or
 * minbpe) and a character-level tokenizer for tiny models.
 */

import { BYTE_TO_CHAR } from './hf/byte-level.js';
import { Tokenizer } from './hf/tokenizer.js';
import { describe } from './models.js';
import { R50K_PATTERN, splitPieces } from './pretokenize.js';
import { utf8Bytes } from './utf8.js';

/** Options of {@link trainBPE}. */
export interface TrainBPEOptions {
  /** Final vocabulary size: special tokens + 256 bytes + merges. */
  vocabSize: number;
  /** Special tokens, given the first ids (e.g. `['<|endoftext|>']`). */
  specialTokens?: string[];
  /**
   * Pre-tokenisation pattern (JavaScript regex syntax, run with the `u` flag); words never merge
   * across its pieces. Default: GPT-2's pattern (the ByteLevel pre-tokenizer's).
   */
  pattern?: string;
  /** A pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
}

/** The result of {@link trainBPE}. */
export interface TrainedBPE {
  /** A ready tokenizer (byte-level BPE with special tokens as added tokens). */
  tokenizer: Tokenizer;
  /** Token string (byte-level spelling) -> id. */
  vocab: Record<string, number>;
  /** Merges in the order learnt, in byte-level spelling. */
  merges: Array<[string, string]>;
  /** The tokenizer.json text, loadable by {@link Tokenizer.fromJSON} and by Hugging Face tokenizers. */
  toJSON(): string;
}

/**
 * Learns a byte-level BPE vocabulary from texts: split each text into words with the pattern,
 * start from the 256 bytes, and repeatedly merge the most frequent adjacent pair (ties: the pair
 * with the smaller ids) until the vocabulary is full or no pair is frequent enough.
 * @example
 * ```ts
 * import { mkdtempSync, writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const texts = ['the cat sat on the mat', 'the dog sat on the log'];
 * const { tokenizer, toJSON } = trainBPE(texts, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
 * writeFileSync(join(mkdtempSync(join(tmpdir(), 'attnkit-')), 'tokenizer.json'), toJSON());
 * tokenizer.decode(tokenizer.encode('the cat').ids); // => 'the cat'
 * ```
 */
export function trainBPE(texts: Iterable<string>, options: TrainBPEOptions): TrainedBPE {
  const where = 'trainBPE';
  if (texts === null || typeof texts !== 'object' || !(Symbol.iterator in texts))
    throw new TypeError(`${where}: texts must be an array (or iterable) of strings, got ${describe(texts)}`);
  if (!options || !Number.isInteger(options.vocabSize))
    throw new TypeError(
      `${where}: options.vocabSize must be an integer, got ${describe(options?.vocabSize)}`,
    );
  const specials = options.specialTokens ?? [];
  if (!Array.isArray(specials) || specials.some((s) => typeof s !== 'string' || s.length === 0))
    throw new TypeError(`${where}: options.specialTokens must be an array of non-empty strings`);
  const base = specials.length + 256;
  if (options.vocabSize < base)
    throw new RangeError(
      `${where}: vocabSize ${options.vocabSize} is too small; it must be at least ${base} (${specials.length} special tokens + 256 bytes)`,
    );
  const pattern = options.pattern ?? R50K_PATTERN;
  const minFrequency = options.minFrequency ?? 2;

  // Count words (pieces); special-token text is not learnt from.
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of texts) {
    if (typeof text !== 'string')
      throw new TypeError(`${where}: texts[${i}] must be a string, got ${describe(text)}`);
    let parts = [text];
    for (const s of specials) parts = parts.flatMap((p) => p.split(s));
    for (const p of parts) for (const w of splitPieces(p, pattern)) counts.set(w, (counts.get(w) ?? 0) + 1);
    i++;
  }
  // Token ids: specials, then bytes 0..255, then merges.
  const tokenBytes: number[][] = [];
  for (let b = 0; b < 256; b++) tokenBytes.push([b]);
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of counts) {
    words.push(Array.from(utf8Bytes(w)));
    freqs.push(f);
  }
  const K = 1 << 21;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  let changed: Set<number> | null = null;
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let k = 0; k + 1 < w.length; k++) {
      const key = w[k] * K + w[k + 1];
      changed?.add(key);
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freqs[wi]);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) {
          set = new Set();
          pairWords.set(key, set);
        }
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  // Max-heap of [count, key] with lazy deletion.
  const heap: Array<[number, number]> = [];
  const better = (x: [number, number], y: [number, number]) => x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]);
  const push = (e: [number, number]) => {
    heap.push(e);
    for (let c = heap.length - 1; c > 0; ) {
      const p = (c - 1) >> 1;
      if (!better(heap[c], heap[p])) break;
      [heap[c], heap[p]] = [heap[p], heap[c]];
      c = p;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop() as [number, number];
    if (heap.length) {
      heap[0] = last;
      for (let c = 0; ; ) {
        const l = 2 * c + 1;
        const r = l + 1;
        let m = c;
        if (l < heap.length && better(heap[l], heap[m])) m = l;
        if (r < heap.length && better(heap[r], heap[m])) m = r;
        if (m === c) break;
        [heap[c], heap[m]] = [heap[m], heap[c]];
        c = m;
      }
    }
    return top;
  };
  for (const [key, c] of pairCount) push([c, key]);
  const merges: Array<[number, number]> = [];
  while (256 + merges.length + specials.length < options.vocabSize && heap.length) {
    const [c, key] = pop();
    if (pairCount.get(key) !== c) continue;
    if (c < minFrequency || c <= 0) break;
    const a = Math.floor(key / K);
    const b = key % K;
    const id = tokenBytes.length;
    tokenBytes.push([...tokenBytes[a], ...tokenBytes[b]]);
    merges.push([a, b]);
    const touched = new Set<number>();
    changed = touched;
    for (const wi of pairWords.get(key) ?? []) {
      const w = words[wi];
      let has = false;
      for (let k = 0; k + 1 < w.length; k++) if (w[k] === a && w[k + 1] === b) has = true;
      if (!has) continue;
      addPairs(wi, -1);
      const next: number[] = [];
      for (let k = 0; k < w.length; k++) {
        if (k + 1 < w.length && w[k] === a && w[k + 1] === b) {
          next.push(id);
          k++;
        } else next.push(w[k]);
      }
      words[wi] = next;
      addPairs(wi, 1);
    }
    changed = null;
    pairCount.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t);
      if (n !== undefined && n > 0) push([n, t]);
    }
  }
  // Spell tokens the byte-level way; ids: specials first.
  const spell = (bytes: number[]) => bytes.map((x) => BYTE_TO_CHAR[x]).join('');
  const vocab: Record<string, number> = {};
  specials.forEach((s, k) => {
    vocab[s] = k;
  });
  tokenBytes.forEach((bytes, t) => {
    vocab[spell(bytes)] = specials.length + t;
  });
  const mergeStrings = merges.map(([a, b]): [string, string] => [spell(tokenBytes[a]), spell(tokenBytes[b])]);
  const gpt2Pattern = pattern === R50K_PATTERN;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: gpt2Pattern
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: mergeStrings,
    },
  };
  const text = JSON.stringify(json);
  return { tokenizer: Tokenizer.fromJSON(json), vocab, merges: mergeStrings, toJSON: () => text };
}

/** What {@link CharTokenizer.toJSON} writes. */
export interface CharTokenizerJSON {
  /** Always `'char'`. */
  type: 'char';
  /** The vocabulary, in id order. */
  chars: string[];
}

/**
 * A character-level tokenizer (one id per distinct character, as in nanoGPT's Shakespeare
 * example). Characters are code points, ids follow code-point order.
 * @example
 * ```ts
 * const tok = CharTokenizer.fromText('hello world');
 * tok.encode('hold'); // => [3, 5, 4, 1]
 * tok.decode([3, 5, 4, 1]); // => 'hold'
 * ```
 */
export class CharTokenizer {
  private readonly index: Map<string, number>;

  /** @param chars The vocabulary: distinct characters, in id order. */
  constructor(readonly chars: readonly string[]) {
    if (!Array.isArray(chars))
      throw new TypeError(`CharTokenizer: chars must be an array of characters, got ${describe(chars)}`);
    this.index = new Map();
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1)
        throw new TypeError(`CharTokenizer: chars[${i}] must be one character, got ${describe(c)}`);
      if (this.index.has(c)) throw new Error(`CharTokenizer: chars[${i}] ${JSON.stringify(c)} appears twice`);
      this.index.set(c, i);
    });
  }

  /** The vocabulary of every distinct character of `text`, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    if (typeof text !== 'string')
      throw new TypeError(`CharTokenizer.fromText: text must be a string, got ${describe(text)}`);
    return new CharTokenizer(
      [...new Set(text)].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number)),
    );
  }

  /** Number of ids. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /** Ids of the characters of `text`; throws on a character outside the vocabulary. */
  encode(text: string): number[] {
    if (typeof text !== 'string')
      throw new TypeError(`CharTokenizer.encode: text must be a string, got ${describe(text)}`);
    const out: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.index.get(c);
      if (id === undefined)
        throw new Error(
          `CharTokenizer.encode: the character ${JSON.stringify(c)} at index ${pos} is not in the vocabulary (${this.chars.length} characters)`,
        );
      out.push(id);
      pos += c.length;
    }
    return out;
  }

  /** Text of `ids`. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]];
      if (c === undefined)
        throw new RangeError(
          `CharTokenizer.decode: ids[${i}] is ${describe(ids[i])}, expected an integer in [0, ${this.chars.length - 1}]`,
        );
      s += c;
    }
    return s;
  }

  /** `{ "type": "char", "chars": [...] }`. */
  toJSON(): CharTokenizerJSON {
    return { type: 'char', chars: [...this.chars] };
  }

  /** Reads what {@link CharTokenizer.toJSON} wrote. */
  static fromJSON(json: string | { chars: string[] }): CharTokenizer {
    const j = typeof json === 'string' ? JSON.parse(json) : json;
    if (!j || !Array.isArray(j.chars)) throw new Error('CharTokenizer.fromJSON: expected { "chars": [...] }');
    return new CharTokenizer(j.chars);
  }
}
