/**
 * A Hugging Face `tokenizer.json` tokenizer: added tokens -> normalizer -> pre-tokenizer -> model
 * -> post-processor, then truncation and padding; decoding through the decoder.
 */

import { describe } from '../models.js';
import { type PieceScanner, scannerForPattern, scanR50k } from '../pretokenize.js';
import { BYTE_TO_CHAR, byteLevelToBytes } from './byte-level.js';
import { buildDecoder, type Decoder } from './decoders.js';
import { concatEncodings, emptyEncoding, sliceEncoding, type TokenizerEncoding } from './encoding.js';
import { buildModel, type Model } from './models.js';
import { NormalizedString } from './normalized-string.js';
import { buildNormalizer, type Normalizer } from './normalizers.js';
import { buildPostProcessor, type PostProcessor } from './post-processors.js';
import { buildPreTokenizer, type PreTokenizer } from './pre-tokenizers.js';
import { regexSpans, translateRegex } from './regex.js';

/** An entry of tokenizer.json's `added_tokens`. */
export interface AddedToken {
  /** The token's id. */
  id: number;
  /** The token's text. */
  content: string;
  /** Only match as a whole word. */
  singleWord?: boolean;
  /** Swallow whitespace on the left. */
  lstrip?: boolean;
  /** Swallow whitespace on the right. */
  rstrip?: boolean;
  /** Match against normalised text (true) or the raw input (false). */
  normalized?: boolean;
  /** A special token (skipped by `decode(ids, { skipSpecialTokens: true })`). */
  special?: boolean;
}

/** Truncation settings (tokenizer.json `truncation`). */
export interface TruncationOptions {
  /** Maximum number of tokens, special tokens included. */
  maxLength: number;
  /** Which input loses tokens for a pair (default `'longest_first'`). */
  strategy?: 'longest_first' | 'only_first' | 'only_second';
  /** Which end is cut (default `'right'`). */
  direction?: 'left' | 'right';
  /** Tokens shared by consecutive overflowing windows (default 0). */
  stride?: number;
}

/** Padding settings (tokenizer.json `padding`). */
export interface PaddingOptions {
  /** Pad to this length; omitted: to the longest encoding of the batch. */
  length?: number;
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
  /** Default `'right'`. */
  direction?: 'left' | 'right';
  /** Id of the padding token (default 0). */
  padId?: number;
  /** Segment id of padding (default 0). */
  padTypeId?: number;
  /** String of the padding token (default `'[PAD]'`). */
  padToken?: string;
}

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS], [SEP], <|begin_of_text|>, ...). Default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out special added tokens. Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * The longest padded length `enablePadding` (or a tokenizer.json's `padding`) accepts: 4,194,304
 * tokens. A larger fixed length or multiple is refused, not allocated.
 */
export const MAX_PADDED_LENGTH = 1 << 22;

/** A tokenizer.json field that must be an object. */
function field(v: unknown, name: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`Tokenizer.fromJSON: "${name}" must be an object or null, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** tokenizer.json's "Left" / "Right" (default right). */
function direction(v: unknown, name: string): 'left' | 'right' {
  if (v === undefined || v === null || v === 'Right') return 'right';
  if (v === 'Left') return 'left';
  throw new Error(`Tokenizer.fromJSON: "${name}" must be "Left" or "Right", got ${describe(v)}`);
}

/**
 * Whole words from the start (or, cutting from the left, from the end) of an encoding until they
 * hold at least `n` tokens: what Hugging Face tokenizers (0.23) encodes of each input of a pair
 * before truncation, since the rest can never be kept.
 */
function wordsUpTo(e: TokenizerEncoding, n: number, direction: 'left' | 'right'): TokenizerEncoding {
  const words = e.wordIds;
  const len = words.length;
  if (len <= n) return e;
  if (direction === 'right') {
    let k = n;
    while (k < len && words[k] === words[k - 1]) k++;
    return k === len ? e : sliceEncoding(e, 0, k);
  }
  let k = len - n;
  while (k > 0 && words[k - 1] === words[k]) k--;
  return k === 0 ? e : sliceEncoding(e, k, len);
}

const isWs = (c: string | undefined) => c !== undefined && /^\p{White_Space}$/u.test(c);
const isWordChar = (c: string | undefined) => c !== undefined && /^[\p{L}\p{N}\p{M}_]$/u.test(c);

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Finds added tokens in `text`: [start, end, token] with lstrip/rstrip/single_word applied. */
function findAdded(
  text: string,
  tokens: AddedToken[],
  re: RegExp | null,
): Array<[number, number, AddedToken]> {
  const out: Array<[number, number, AddedToken]> = [];
  if (!re) return out;
  const byContent = new Map(tokens.map((t) => [t.content, t]));
  re.lastIndex = 0;
  let floor = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tok = byContent.get(m[0]) as AddedToken;
    let start = m.index;
    let end = start + m[0].length;
    if (tok.singleWord && (isWordChar(text[start - 1]) || isWordChar(text[end]))) {
      re.lastIndex = start + 1;
      continue;
    }
    if (tok.lstrip) while (start > floor && isWs(text[start - 1])) start--;
    if (tok.rstrip) while (end < text.length && isWs(text[end])) end++;
    out.push([start, end, tok]);
    floor = end;
    re.lastIndex = end;
  }
  return out;
}

/**
 * Recognises the pre-tokenizers of plain byte-level BPE files (GPT-2: ByteLevel with its regex;
 * Llama 3 / Qwen: Split(regex, Isolated) then ByteLevel without regex), which the fast path
 * handles exactly. Anything else (prefix spaces, other splitters) takes the general path.
 */
function detectByteLevel(pre: unknown): { scan: PieceScanner | null; regex: RegExp | null } | null {
  const p = pre as Record<string, unknown> | null | undefined;
  if (!p || typeof p !== 'object') return null;
  if (p.type === 'ByteLevel' && p.add_prefix_space !== true)
    return p.use_regex === false ? { scan: null, regex: null } : { scan: scanR50k, regex: null };
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers) && p.pretokenizers.length === 2) {
    const [split, bl] = p.pretokenizers as Array<Record<string, unknown>>;
    const pattern = split?.pattern as { Regex?: unknown } | undefined;
    if (
      split?.type === 'Split' &&
      typeof pattern?.Regex === 'string' &&
      (split.behavior ?? 'Isolated') === 'Isolated' &&
      split.invert !== true &&
      bl?.type === 'ByteLevel' &&
      bl.use_regex === false &&
      bl.add_prefix_space !== true
    ) {
      const scan = scannerForPattern(pattern.Regex);
      return scan
        ? { scan, regex: null }
        : { scan: null, regex: translateRegex(pattern.Regex, 'pre_tokenizer (Split)') };
    }
  }
  return null;
}

/**
 * A tokenizer loaded from a Hugging Face `tokenizer.json` (BPE, WordPiece or WordLevel model with
 * the normalizers, pre-tokenizers, post-processors and decoders those files use).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const tok = Tokenizer.fromJSON(readFileSync('packages/tokenizer/test/fixtures/bert-wordpiece.tokenizer.json', 'utf8'));
 * const enc = tok.encode('Hello world', 'How are you?');
 * enc.typeIds; // => [0, 0, 0, 0, 1, 1, 1, 1, 1]
 * enc.ids; enc.attentionMask; enc.offsets;
 * tok.decode(enc.ids, { skipSpecialTokens: true }); // => 'hello world how are you?'
 * ```
 */
export class Tokenizer {
  private readonly addedTokens: AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly rawRe: RegExp | null;
  private readonly normRe: RegExp | null;
  private readonly idToTokenMap: Map<number, string>;
  private truncation: TruncationOptions | null = null;
  private readonly asciiPieceCache = new Map<
    string,
    Array<{ id: number; value: string; start: number; end: number }>
  >();
  /** Set when the pipeline is plain byte-level BPE (no normalizer): pieces are cut from the raw text directly. */
  private readonly byteLevelFast: { scan: PieceScanner | null; regex: RegExp | null } | null;
  private padding: PaddingOptions | null = null;

  /**
   * @param model Word -> tokens.
   * @param normalizer Text clean-up (null: none).
   * @param preTokenizer Splitting into words (null: the whole text is one word).
   * @param postProcessor Special tokens around the inputs (null: none).
   * @param decoder Tokens -> text (null: tokens joined with spaces).
   */
  constructor(
    /** The model. */
    readonly model: Model,
    /** The normalizer, if any. */
    readonly normalizer: Normalizer | null,
    /** The pre-tokenizer, if any. */
    readonly preTokenizer: PreTokenizer | null,
    /** The post-processor, if any. */
    readonly postProcessor: PostProcessor | null,
    /** The decoder, if any. */
    readonly decoder: Decoder | null,
    addedTokens: AddedToken[] = [],
    private readonly json: Record<string, unknown> = {},
  ) {
    this.addedTokens = addedTokens;
    for (const t of addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    // Without a normalizer, "normalized" added tokens match the raw text just the same.
    if (!normalizer) for (const t of addedTokens) t.normalized = false;
    this.byteLevelFast = normalizer ? null : detectByteLevel(json.pre_tokenizer);
    const mk = (list: AddedToken[]) =>
      list.length
        ? new RegExp(
            list
              .map((t) => t.content)
              .sort((a, b) => b.length - a.length)
              .map(escapeRegExp)
              .join('|'),
            'gu',
          )
        : null;
    // An empty added token never matches (as in Hugging Face tokenizers); it still decodes.
    this.rawRe = mk(addedTokens.filter((t) => !t.normalized && t.content.length > 0));
    this.normRe = mk(addedTokens.filter((t) => t.normalized && t.content.length > 0));
    this.idToTokenMap = new Map();
    for (const [tok, id] of model.vocab) this.idToTokenMap.set(id, tok);
    for (const t of addedTokens) this.idToTokenMap.set(t.id, t.content);
  }

  /**
   * Loads a tokenizer.json (its text or the parsed object).
   * @throws Error naming the field when the file is malformed or uses an unsupported component.
   */
  static fromJSON(json: string | Record<string, unknown>): Tokenizer {
    let j: Record<string, unknown>;
    if (typeof json === 'string') {
      try {
        j = JSON.parse(json);
      } catch (e) {
        throw new Error(`Tokenizer.fromJSON: the text is not valid JSON (${(e as Error).message})`);
      }
    } else j = json;
    if (j === null || typeof j !== 'object' || Array.isArray(j))
      throw new Error(`Tokenizer.fromJSON: expected a tokenizer.json object, got ${describe(j)}`);
    if (j.model === undefined) throw new Error('Tokenizer.fromJSON: the tokenizer.json has no "model" field');
    const model = buildModel(j.model);
    const added: AddedToken[] = [];
    if (j.added_tokens !== undefined && j.added_tokens !== null) {
      if (!Array.isArray(j.added_tokens))
        throw new Error(
          `Tokenizer.fromJSON: "added_tokens" must be an array, got ${describe(j.added_tokens)}`,
        );
      j.added_tokens.forEach((t, i) => {
        const o = t as Record<string, unknown>;
        if (!o || typeof o.content !== 'string' || !Number.isInteger(o.id))
          throw new Error(
            `Tokenizer.fromJSON: added_tokens[${i}] needs an integer "id" and a string "content", got ${JSON.stringify(t)}`,
          );
        added.push({
          id: o.id as number,
          content: o.content,
          singleWord: o.single_word === true,
          lstrip: o.lstrip === true,
          rstrip: o.rstrip === true,
          normalized: typeof o.normalized === 'boolean' ? o.normalized : o.special !== true,
          special: o.special === true,
        });
      });
    }
    const tok = new Tokenizer(
      model,
      buildNormalizer(j.normalizer),
      buildPreTokenizer(j.pre_tokenizer),
      buildPostProcessor(j.post_processor),
      buildDecoder(j.decoder),
      added,
      j,
    );
    const tr = j.truncation;
    if (tr !== null && tr !== undefined) {
      const t = field(tr, 'truncation');
      const strategies = {
        LongestFirst: 'longest_first',
        OnlyFirst: 'only_first',
        OnlySecond: 'only_second',
      } as const;
      const strategy = strategies[String(t.strategy ?? 'LongestFirst') as keyof typeof strategies];
      if (strategy === undefined)
        throw new Error(
          `Tokenizer.fromJSON: "truncation.strategy" must be LongestFirst, OnlyFirst or OnlySecond, got ${describe(t.strategy)}`,
        );
      tok.setTruncation(
        {
          maxLength: t.max_length as number,
          strategy,
          direction: direction(t.direction, 'truncation.direction'),
          stride: (t.stride ?? 0) as number,
        },
        'Tokenizer.fromJSON: "truncation.',
      );
    }
    const pd = j.padding;
    if (pd !== null && pd !== undefined) {
      const p = field(pd, 'padding');
      let fixed: unknown;
      if (typeof p.strategy === 'object' && p.strategy !== null) {
        fixed = (p.strategy as { Fixed?: unknown }).Fixed;
        if (fixed === undefined)
          throw new Error(
            `Tokenizer.fromJSON: "padding.strategy" must be "BatchLongest" or { "Fixed": <length> }, got ${JSON.stringify(p.strategy)}`,
          );
      } else if (p.strategy !== undefined && p.strategy !== 'BatchLongest')
        throw new Error(
          `Tokenizer.fromJSON: "padding.strategy" must be "BatchLongest" or { "Fixed": <length> }, got ${describe(p.strategy)}`,
        );
      tok.setPadding(
        {
          length: fixed as number | undefined,
          direction: direction(p.direction, 'padding.direction'),
          padToMultipleOf: (p.pad_to_multiple_of ?? undefined) as number | undefined,
          padId: (p.pad_id ?? 0) as number,
          padTypeId: (p.pad_type_id ?? 0) as number,
          padToken: (p.pad_token ?? '[PAD]') as string,
        },
        'Tokenizer.fromJSON: "padding.',
        { length: 'strategy.Fixed' },
      );
    }
    return tok;
  }

  /**
   * Builds GPT-2's tokenizer from its original files: `vocab.json` (token -> id) and
   * `merges.txt` (a `#version` line, then one `a b` merge a line). Byte-level pre-tokenisation
   * and decoding; `<|endoftext|>` becomes a special added token when the vocabulary has it.
   */
  static fromVocabAndMerges(
    vocab: string | Record<string, number>,
    merges: string,
    options: { addPrefixSpace?: boolean } = {},
  ): Tokenizer {
    let v: Record<string, number>;
    try {
      v = typeof vocab === 'string' ? JSON.parse(vocab) : vocab;
    } catch (e) {
      throw new Error(`Tokenizer.fromVocabAndMerges: vocab.json is not valid JSON (${(e as Error).message})`);
    }
    if (typeof merges !== 'string')
      throw new TypeError(
        `Tokenizer.fromVocabAndMerges: merges must be the text of merges.txt, got ${describe(merges)}`,
      );
    const lines = merges
      .split(/\r?\n/)
      .filter((l, i) => l.length > 0 && !(i === 0 && l.startsWith('#version')));
    const eot = v['<|endoftext|>'];
    const addPrefixSpace = options.addPrefixSpace ?? false;
    return Tokenizer.fromJSON({
      version: '1.0',
      added_tokens:
        eot === undefined
          ? []
          : [
              {
                id: eot,
                content: '<|endoftext|>',
                single_word: false,
                lstrip: false,
                rstrip: false,
                normalized: true,
                special: true,
              },
            ],
      normalizer: null,
      pre_tokenizer: {
        type: 'ByteLevel',
        add_prefix_space: addPrefixSpace,
        trim_offsets: true,
        use_regex: true,
      },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        vocab: v,
        merges: lines,
      },
    });
  }

  /** Sets truncation for every later `encode`. */
  enableTruncation(options: TruncationOptions): void {
    if (options === null || typeof options !== 'object')
      throw new TypeError(`Tokenizer.enableTruncation: options must be an object, got ${describe(options)}`);
    this.setTruncation(options, 'Tokenizer.enableTruncation: options.');
  }

  /** Validates and sets truncation; `where` prefixes the field name in messages. */
  private setTruncation(options: TruncationOptions, where: string): void {
    const json = where.includes('fromJSON');
    const names = { maxLength: json ? 'max_length' : 'maxLength', stride: 'stride' };
    const q = json ? '"' : '';
    const { maxLength, stride = 0, strategy = 'longest_first', direction = 'right' } = options;
    if (!Number.isSafeInteger(maxLength) || maxLength < 0)
      throw new Error(
        `${where}${names.maxLength}${q} must be a non-negative integer, got ${describe(maxLength)}`,
      );
    if (!Number.isSafeInteger(stride) || stride < 0 || (stride > 0 && stride >= maxLength))
      throw new Error(
        `${where}${names.stride}${q} must be a non-negative integer smaller than the maximum length ${maxLength}, got ${describe(stride)}`,
      );
    if (!['longest_first', 'only_first', 'only_second'].includes(strategy))
      throw new Error(
        `${where}strategy${q} must be 'longest_first', 'only_first' or 'only_second', got ${describe(strategy)}`,
      );
    if (direction !== 'left' && direction !== 'right')
      throw new Error(`${where}direction${q} must be 'left' or 'right', got ${describe(direction)}`);
    this.truncation = { maxLength, strategy, direction, stride };
  }

  /** Turns truncation off. */
  noTruncation(): void {
    this.truncation = null;
  }

  /**
   * Sets padding for every later `encode` / `encodeBatch`.
   * @throws Error when a length is not a non-negative integer up to {@link MAX_PADDED_LENGTH}, or
   *   `padId` is not a token id of this tokenizer.
   */
  enablePadding(options: PaddingOptions = {}): void {
    if (options === null || typeof options !== 'object')
      throw new TypeError(`Tokenizer.enablePadding: options must be an object, got ${describe(options)}`);
    this.setPadding(options, 'Tokenizer.enablePadding: options.');
  }

  /** Validates and sets padding; `where` prefixes the field name in messages. */
  private setPadding(options: PaddingOptions, where: string, rename: Record<string, string> = {}): void {
    const json = where.includes('fromJSON');
    const q = json ? '"' : '';
    const name = (k: string, snake: string) => rename[k] ?? (json ? snake : k);
    const p = { direction: 'right' as const, padId: 0, padTypeId: 0, padToken: '[PAD]', ...options };
    const length = (v: unknown, k: string, snake: string, min: number) => {
      if (v === undefined || v === null) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_PADDED_LENGTH)
        throw new Error(
          `${where}${name(k, snake)}${q} must be an integer in [${min}, ${MAX_PADDED_LENGTH}], got ${describe(v)}`,
        );
    };
    length(p.length, 'length', 'length', 0);
    length(p.padToMultipleOf, 'padToMultipleOf', 'pad_to_multiple_of', 0);
    if (p.padToMultipleOf === 0 || p.padToMultipleOf === null) p.padToMultipleOf = undefined;
    if (typeof p.padId !== 'number' || !Number.isInteger(p.padId) || !this.idToTokenMap.has(p.padId))
      throw new Error(
        `${where}${name('padId', 'pad_id')}${q} must be a token id of this tokenizer (an integer in [0, ${this.getVocabSize() - 1}] that names a token), got ${describe(p.padId)}`,
      );
    if (typeof p.padTypeId !== 'number' || !Number.isInteger(p.padTypeId) || p.padTypeId < 0)
      throw new Error(
        `${where}${name('padTypeId', 'pad_type_id')}${q} must be a non-negative integer, got ${describe(p.padTypeId)}`,
      );
    if (typeof p.padToken !== 'string')
      throw new Error(
        `${where}${name('padToken', 'pad_token')}${q} must be a string, got ${describe(p.padToken)}`,
      );
    if (p.direction !== 'left' && p.direction !== 'right')
      throw new Error(`${where}direction${q} must be 'left' or 'right', got ${describe(p.direction)}`);
    this.padding = p;
  }
  /** Turns padding off. */
  noPadding(): void {
    this.padding = null;
  }

  /** The id of a token string (model vocabulary or added token). */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }
  /** The string of a token id. */
  idToToken(id: number): string | undefined {
    return this.idToTokenMap.get(id);
  }
  /** Number of ids (model vocabulary plus added tokens). */
  getVocabSize(withAddedTokens = true): number {
    if (!withAddedTokens) return this.model.vocab.size;
    let n = this.model.vocab.size;
    for (const t of this.addedTokens) if (!this.model.vocab.has(t.content)) n++;
    return n;
  }

  /** The fast path for byte-level BPE: split the raw text, spell pieces byte-level, run the model. */
  private encodeByteLevel(
    text: string,
    start: number,
    end: number,
    out: TokenizerEncoding,
    word: number,
  ): number {
    const fast = this.byteLevelFast as { scan: PieceScanner | null; regex: RegExp | null };
    const cache = this.asciiPieceCache;
    const piece = (ps: number, pe: number) => {
      let ascii = true;
      for (let k = ps; k < pe; k++) {
        if (text.charCodeAt(k) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        // ASCII: byte offsets are UTF-16 offsets, and the raw piece keys the cache.
        const raw = text.substring(ps, pe);
        let toks = cache.get(raw);
        if (toks === undefined) {
          let spelled = '';
          for (let k = ps; k < pe; k++) spelled += BYTE_TO_CHAR[text.charCodeAt(k)];
          toks = this.model.tokenize(spelled);
          if (cache.size > 50_000) cache.clear();
          cache.set(raw, toks);
        }
        for (let k = 0; k < toks.length; k++) {
          const t = toks[k];
          out.ids.push(t.id);
          out.tokens.push(t.value);
          out.offsets.push([ps + t.start, ps + t.end]);
          out.wordIds.push(word);
        }
        word++;
        return;
      }
      let spelled = '';
      let byteToUnit: number[] | null = null;
      spelled = '';
      byteToUnit = [];
      for (let k = ps; k < pe; ) {
        const cp = text.codePointAt(k) as number;
        const w = cp > 0xffff ? 2 : 1;
        const bytes = new TextEncoder().encode(text.slice(k, k + w));
        for (const b of bytes) {
          spelled += BYTE_TO_CHAR[b];
          byteToUnit.push(k);
        }
        k += w;
      }
      byteToUnit.push(pe);
      for (const t of this.model.tokenize(spelled)) {
        out.ids.push(t.id);
        out.tokens.push(t.value);
        if (byteToUnit) {
          // A token ending inside a character covers the whole character.
          let e = t.end;
          while (e < byteToUnit.length - 1 && byteToUnit[e] === byteToUnit[e - 1]) e++;
          out.offsets.push([byteToUnit[t.start], byteToUnit[e]]);
        } else out.offsets.push([ps + t.start, ps + t.end]);
        out.wordIds.push(word);
      }
      word++;
    };
    if (fast.scan) {
      for (let i = start; i < end; ) {
        const e = fast.scan(text, i, end);
        piece(i, e);
        i = e;
      }
    } else if (fast.regex) {
      // Isolated split: the text between matches and the matches are the pieces (empty ones dropped).
      let prev = start;
      for (const [s, e] of regexSpans(fast.regex, text, start, end)) {
        if (s > prev) piece(prev, s);
        if (e > s) piece(s, e);
        prev = e;
      }
      if (prev < end) piece(prev, end);
    } else piece(start, end);
    return word;
  }

  private pre(s: NormalizedString): NormalizedString[] {
    return this.preTokenizer ? this.preTokenizer([s]) : [s];
  }

  /** Encodes one input (no post-processing). */
  private encodeSequence(text: string, sequenceId: number): TokenizerEncoding {
    const out = emptyEncoding();
    let word = 0;
    const pushAdded = (t: AddedToken, start: number, end: number) => {
      out.ids.push(t.id);
      out.tokens.push(t.content);
      out.offsets.push([start, end]);
      out.wordIds.push(word++);
    };
    const encodeNormalized = (pieces: NormalizedString[]): void => {
      for (const piece of pieces) {
        if (piece.length === 0) continue;
        for (const t of this.model.tokenize(piece.text)) {
          out.ids.push(t.id);
          out.tokens.push(t.value);
          out.offsets.push([piece.starts[t.start], piece.ends[t.end - 1]]);
          out.wordIds.push(word);
        }
        word++;
      }
    };
    const encodeSegment = (start: number, end: number) => {
      if (end <= start) return;
      if (this.byteLevelFast) {
        word = this.encodeByteLevel(text, start, end, out, word);
        return;
      }
      let ns = NormalizedString.from(text.slice(start, end), start);
      if (this.normalizer) ns = this.normalizer(ns);
      // Added tokens that match normalised text are cut out before pre-tokenisation.
      let prev = 0;
      for (const [a, b] of this.normRe ? ns.matches(this.normRe) : []) {
        const t = this.addedByContent.get(ns.chars.slice(a, b).join(''));
        if (!t) continue;
        if (a > prev) encodeNormalized(this.pre(ns.slice(prev, a)));
        pushAdded(t, ns.starts[a], ns.ends[b - 1]);
        prev = b;
      }
      if (prev < ns.length) encodeNormalized(this.pre(ns.slice(prev, ns.length)));
    };
    let pos = 0;
    for (const [a, b, t] of findAdded(text, this.addedTokens, this.rawRe)) {
      encodeSegment(pos, a);
      pushAdded(t, a, b);
      pos = b;
    }
    encodeSegment(pos, text.length);
    const n = out.ids.length;
    // The pair's tokens have type id 1 unless the post-processor's template says otherwise.
    out.typeIds = new Array(n).fill(sequenceId);
    out.attentionMask = new Array(n).fill(1);
    out.specialTokensMask = new Array(n).fill(0);
    out.sequenceIds = new Array(n).fill(sequenceId);
    return out;
  }

  /**
   * Encodes a text, or a pair of texts, with the post-processor's special tokens, truncation and
   * padding as configured.
   * @throws TypeError when `text` (or `pair`) is not a string.
   */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): TokenizerEncoding {
    const enc = this.encodeUnpadded(text, pair, options);
    if (this.padding) this.pad([enc], this.padding.length);
    return enc;
  }

  private encodeUnpadded(
    text: string,
    pair: string | null | undefined,
    options: EncodeOptions,
  ): TokenizerEncoding {
    if (typeof text !== 'string')
      throw new TypeError(`Tokenizer.encode: text must be a string, got ${describe(text)}`);
    if (pair !== undefined && pair !== null && typeof pair !== 'string')
      throw new TypeError(`Tokenizer.encode: pair must be a string, got ${describe(pair)}`);
    const add = options.addSpecialTokens !== false;
    let a = this.encodeSequence(text, 0);
    let b = typeof pair === 'string' ? this.encodeSequence(pair, 1) : null;
    let overflowing: TokenizerEncoding[] = [];
    if (this.truncation) {
      const added = add && this.postProcessor ? this.postProcessor.addedTokens(b !== null) : 0;
      const target = Math.max(0, this.truncation.maxLength - added);
      [a, b, overflowing] = this.truncate(a, b, target);
    }
    const finish = (x: TokenizerEncoding, y: TokenizerEncoding | null) => {
      const encs = y ? [x, y] : [x];
      const processed = this.postProcessor ? this.postProcessor.process(encs, add) : encs;
      return concatEncodings(processed);
    };
    const result = finish(a, b);
    result.overflowing = overflowing.map((o) => finish(o, null));
    return result;
  }

  private truncate(
    a: TokenizerEncoding,
    b: TokenizerEncoding | null,
    target: number,
  ): [TokenizerEncoding, TokenizerEncoding | null, TokenizerEncoding[]] {
    const t = this.truncation as Required<TruncationOptions>;
    const cut = (e: TokenizerEncoding, keep: number): [TokenizerEncoding, TokenizerEncoding[]] => {
      if (e.ids.length <= keep) return [e, []];
      const n = e.ids.length;
      if (t.direction === 'left') return [sliceEncoding(e, n - keep, n), []];
      const kept = sliceEncoding(e, 0, keep);
      const over: TokenizerEncoding[] = [];
      if (b === null && keep > 0) {
        const step = Math.max(1, keep - t.stride);
        for (let s = step; s < n; s += step) {
          over.push(sliceEncoding(e, s, Math.min(n, s + keep)));
          if (s + keep >= n) break;
        }
      }
      return [kept, over];
    };
    if (b === null) {
      if (t.strategy === 'only_second' && target > 0 && a.ids.length > target)
        throw new Error(
          `Tokenizer.encode: cannot truncate with only_second: there is no second text, and the text has ${a.ids.length} tokens, more than the ${target} allowed`,
        );
      const [x, over] = cut(a, target);
      return [x, null, over];
    }
    if (target === 0) return [cut(a, 0)[0], cut(b, 0)[0], []];
    // "Longest" compares what Hugging Face tokenizers encodes of each input: whole words up to
    // max_length tokens (see wordsUpTo).
    a = wordsUpTo(a, t.maxLength, t.direction);
    b = wordsUpTo(b, t.maxLength, t.direction);
    let na = a.ids.length;
    let nb = b.ids.length;
    if (na + nb <= target) return [a, b, []];
    if (t.strategy === 'only_first') {
      if (nb >= target)
        throw new Error(
          `Tokenizer.encode: cannot truncate with only_first: the pair alone has ${nb} tokens, leaving none of the ${target} allowed to the first text`,
        );
      na = target - nb;
    } else if (t.strategy === 'only_second') {
      if (na >= target)
        throw new Error(
          `Tokenizer.encode: cannot truncate with only_second: the first text alone has ${na} tokens, leaving none of the ${target} allowed to the pair`,
        );
      nb = target - na;
    } else {
      // Longest first, as Hugging Face does it: with n1 <= n2, the longer input gives way first;
      // if both exceed half the budget they get half each (the longer one the odd token).
      const swap = na > nb;
      let n1 = swap ? nb : na;
      let n2 = swap ? na : nb;
      n2 = n1 > target ? n1 : Math.max(n1, target - n1);
      if (n1 + n2 > target) {
        n1 = Math.floor(target / 2);
        n2 = n1 + (target % 2);
      }
      na = swap ? n2 : n1;
      nb = swap ? n1 : n2;
    }
    return [cut(a, na)[0], cut(b, nb)[0], []];
  }

  private pad(encs: TokenizerEncoding[], fixed: number | undefined): void {
    const p = this.padding as Required<PaddingOptions>;
    let len = fixed ?? Math.max(0, ...encs.map((e) => e.ids.length));
    if (p.padToMultipleOf && len % p.padToMultipleOf !== 0)
      len += p.padToMultipleOf - (len % p.padToMultipleOf);
    for (const e of encs) {
      const n = len - e.ids.length;
      if (n <= 0) continue;
      const fill = <T>(arr: T[], v: T) => {
        if (p.direction === 'left') {
          const rest = arr.slice();
          arr.length = 0;
          for (let k = 0; k < n; k++) arr.push(v);
          for (const x of rest) arr.push(x);
        } else for (let k = 0; k < n; k++) arr.push(v);
      };
      fill(e.ids, p.padId);
      fill(e.tokens, p.padToken);
      fill(e.typeIds, p.padTypeId);
      fill(e.attentionMask, 0);
      fill(e.specialTokensMask, 1);
      fill(e.offsets, [0, 0] as [number, number]);
      fill(e.wordIds, null);
      fill(e.sequenceIds, null);
    }
  }

  /** Encodes several inputs (texts or [text, pair]); padding applies across the batch. */
  encodeBatch(inputs: Array<string | [string, string]>, options: EncodeOptions = {}): TokenizerEncoding[] {
    if (!Array.isArray(inputs))
      throw new TypeError(`Tokenizer.encodeBatch: inputs must be an array, got ${describe(inputs)}`);
    const encs = inputs.map((x) =>
      Array.isArray(x) ? this.encodeUnpadded(x[0], x[1], options) : this.encodeUnpadded(x, null, options),
    );
    if (this.padding) this.pad(encs, this.padding.length);
    return encs;
  }

  /** Decodes ids to text through the decoder. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number')
      throw new TypeError(`Tokenizer.decode: ids must be an array of token ids, got ${describe(ids)}`);
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const tok = this.idToTokenMap.get(id);
      if (tok === undefined)
        throw new RangeError(
          `Tokenizer.decode: ids[${i}] is ${describe(id)}, which is not a token id of this vocabulary (size ${this.getVocabSize()})`,
        );
      if (options.skipSpecialTokens && this.addedById.get(id)?.special) continue;
      tokens.push(tok);
    }
    if (!this.decoder) return tokens.join(' ');
    return this.decoder(tokens).join('');
  }

  /** Decodes each list of ids. */
  decodeBatch(batch: ArrayLike<number>[], options: DecodeOptions = {}): string[] {
    return Array.from(batch, (ids) => this.decode(ids, options));
  }

  /**
   * The raw bytes of a token of a byte-level vocabulary (GPT-2, Llama 3, Qwen), for
   * {@link StreamingDecoder}. Added tokens give their UTF-8.
   */
  tokenBytes(id: number): Uint8Array {
    const tok = this.idToTokenMap.get(id);
    if (tok === undefined)
      throw new RangeError(`Tokenizer.tokenBytes: ${describe(id)} is not a token id of this vocabulary`);
    if (this.addedById.has(id)) return new TextEncoder().encode(tok);
    const bytes = byteLevelToBytes(tok);
    return bytes ? new Uint8Array(bytes) : new TextEncoder().encode(tok);
  }

  /** The tokenizer.json object (model and added tokens reflect this tokenizer; other parts as loaded). */
  toJSON(): Record<string, unknown> {
    return {
      version: '1.0',
      truncation: this.truncation
        ? {
            direction: this.truncation.direction === 'left' ? 'Left' : 'Right',
            max_length: this.truncation.maxLength,
            strategy: { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' }[
              this.truncation.strategy ?? 'longest_first'
            ],
            stride: this.truncation.stride ?? 0,
          }
        : null,
      padding: this.padding
        ? {
            strategy: this.padding.length !== undefined ? { Fixed: this.padding.length } : 'BatchLongest',
            direction: this.padding.direction === 'left' ? 'Left' : 'Right',
            pad_to_multiple_of: this.padding.padToMultipleOf ?? null,
            pad_id: this.padding.padId ?? 0,
            pad_type_id: this.padding.padTypeId ?? 0,
            pad_token: this.padding.padToken ?? '[PAD]',
          }
        : null,
      added_tokens: this.addedTokens.map((t) => ({
        id: t.id,
        content: t.content,
        single_word: t.singleWord ?? false,
        lstrip: t.lstrip ?? false,
        rstrip: t.rstrip ?? false,
        normalized: t.normalized ?? false,
        special: t.special ?? false,
      })),
      normalizer: this.json.normalizer ?? null,
      pre_tokenizer: this.json.pre_tokenizer ?? null,
      post_processor: this.json.post_processor ?? null,
      decoder: this.json.decoder ?? null,
      model: this.model.toJSON(),
    };
  }

  /** tokenizer.json text. */
  toString(): string {
    return JSON.stringify(this.toJSON());
  }
}
