/**
 * tiktoken encodings: pre-tokenise, byte-pair encode each piece, handle special tokens.
 *
 * `getEncoding('cl100k_base')` loads the rank data on first use (a dynamic import of that
 * encoding's rank file in dist/ranks/), so importing this package loads no vocabulary. Ids are identical to
 * tiktoken / js-tiktoken for every string.
 */

import { BytePairEncoder } from './bpe.js';
import { TokenBytes, utf8Decoder } from './decode.js';
import { describe, ENCODING_NAMES, type EncodingName, encodingNameForModel } from './models.js';
import { type PieceScanner, RegexSplitter, scannerForPattern } from './pretokenize.js';
import { parseCompressedRanks, parseTiktokenFile, type RankTable } from './ranks.js';
import { ByteBuffer, utf8Bytes, writeUtf8 } from './utf8.js';

/** Which special tokens `encode` may produce or must refuse. */
export interface SpecialTokenOptions {
  /**
   * Special tokens to encode as their special id when they appear in the text: `'all'` or a list.
   * Default: none.
   */
  allowedSpecial?: 'all' | Iterable<string>;
  /**
   * Special tokens whose appearance in the text is an error: `'all'` (default: every special
   * token not allowed) or a list. Pass `[]` to encode special-token text as ordinary text.
   */
  disallowedSpecial?: 'all' | Iterable<string>;
}

/** The data that defines a tiktoken-style encoding. */
export interface EncodingDefinition {
  /** A name for messages, e.g. `'cl100k_base'`. */
  name: string;
  /** The pre-tokenisation regular expression (tiktoken's `pat_str`, JavaScript syntax). */
  pattern: string;
  /**
   * The mergeable ranks: a parsed table, the text of a `.tiktoken` file (`<base64> <rank>` lines),
   * or js-tiktoken's compressed `bpe_ranks` string.
   */
  ranks: RankTable | string;
  /** Special token strings and their ids. */
  specialTokens?: Record<string, number>;
}

/** A token id with the span of text it covers. */
export interface TokenSpan {
  /** The token id. */
  id: number;
  /** UTF-16 index where the token's text starts in the input. */
  start: number;
  /** UTF-16 index just past the token's text. A token holding part of a character covers the whole character. */
  end: number;
}

/** A token with its bytes, their text and its span in the input (see {@link Encoding.tokenize}). */
export interface TokenInfo extends TokenSpan {
  /** The token's raw bytes. */
  bytes: Uint8Array;
  /** The bytes decoded as UTF-8 (U+FFFD where they hold part of a character). */
  text: string;
}

const PIECE_CACHE_LIMIT = 50_000;
const PIECE_CACHE_MAX_LENGTH = 64;

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * A tiktoken encoding (r50k_base, p50k_base, cl100k_base, o200k_base or a custom one).
 *
 * @example
 * ```ts
 * const enc = await getEncoding('cl100k_base');
 * const ids = enc.encode('hello world'); // => [15339, 1917]
 * enc.decode(ids); // => 'hello world'
 * ```
 */
export class Encoding {
  /** The encoding's name, e.g. `'cl100k_base'`. */
  readonly name: string;
  /** The pre-tokenisation pattern (tiktoken's `pat_str`). */
  readonly pattern: string;
  /** Special token strings and their ids. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /** Number of ids: one more than the largest ordinary or special id. */
  readonly nVocab: number;
  /** The id of `<|endoftext|>`, when the encoding has it. */
  readonly eotToken: number | undefined;

  private readonly bpe: BytePairEncoder;
  private readonly decoder: TokenBytes;
  private readonly scan: PieceScanner | undefined;
  private readonly splitter: RegexSplitter | undefined;
  private readonly specialNames: string[];
  private readonly specialIds: Set<number>;
  private readonly cache = new Map<string, number | number[]>();
  private readonly buf = new ByteBuffer(256);
  private readonly ranksTable: RankTable;

  constructor(definition: EncodingDefinition) {
    if (definition === null || typeof definition !== 'object') {
      throw new TypeError(
        `Encoding: definition must be an object { name, pattern, ranks, specialTokens }, got ${describe(definition)}`,
      );
    }
    const { name, pattern, ranks } = definition;
    if (typeof pattern !== 'string')
      throw new TypeError(
        `Encoding: definition.pattern must be a string (a regular expression), got ${describe(pattern)}`,
      );
    let table: RankTable;
    if (typeof ranks === 'string') {
      table =
        /^\S+ \d+\s*$/m.test(ranks.slice(0, 200)) && !ranks.startsWith('! ')
          ? parseTiktokenFile(ranks)
          : parseCompressedRanks(ranks);
    } else if (ranks && typeof ranks === 'object' && ranks.offsets instanceof Int32Array) {
      table = ranks;
    } else {
      throw new TypeError(
        `Encoding: definition.ranks must be a rank table or the text of a .tiktoken file, got ${describe(ranks)}`,
      );
    }
    this.ranksTable = table;
    this.name = String(name);
    this.pattern = pattern;
    const specials = { ...(definition.specialTokens ?? {}) };
    for (const [tok, id] of Object.entries(specials)) {
      if (!Number.isInteger(id) || id < 0)
        throw new Error(
          `Encoding: special token ${JSON.stringify(tok)} has id ${id}; expected a non-negative integer`,
        );
      if (id < table.size && table.present[id]) {
        throw new Error(
          `Encoding: special token ${JSON.stringify(tok)} has id ${id}, which an ordinary token already uses`,
        );
      }
    }
    this.specialTokens = Object.freeze(specials);
    this.specialNames = Object.keys(specials).sort((a, b) => b.length - a.length);
    this.specialIds = new Set(Object.values(specials));
    this.bpe = new BytePairEncoder(table);
    this.decoder = new TokenBytes(
      table,
      Object.entries(specials).map(([tok, id]): [Uint8Array, number] => [utf8Bytes(tok), id]),
    );
    this.nVocab = this.decoder.size;
    this.eotToken = specials['<|endoftext|>'];
    this.scan = scannerForPattern(pattern);
    this.splitter = this.scan ? undefined : new RegexSplitter(pattern);
  }

  /** Encodes one piece `text[s, e)` and appends its ids. */
  private piece(text: string, s: number, e: number, out: number[]): void {
    const bpe = this.bpe;
    // Hash the chars while checking for ASCII: an ASCII piece is its own UTF-8, so a whole-piece
    // token is found without building a string.
    let h = 0x811c9dc5 | 0;
    let or = 0;
    for (let j = s; j < e; j++) {
      const c = text.charCodeAt(j);
      or |= c;
      h = Math.imul(h ^ c, 16777619);
    }
    if (or < 128) {
      const r = bpe.lookupAscii(text, s, e, h);
      if (r >= 0) {
        out.push(r);
        return;
      }
    }
    const piece = text.substring(s, e);
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      if (typeof cached === 'number') out.push(cached);
      else for (let k = 0; k < cached.length; k++) out.push(cached[k]);
      return;
    }
    const buf = this.buf;
    buf.length = 0;
    writeUtf8(text, s, e, buf);
    let result: number | number[] = or < 128 ? -1 : bpe.lookup(buf.bytes, 0, buf.length);
    if (result < 0) {
      const ids: number[] = [];
      bpe.encode(buf.bytes, 0, buf.length, ids);
      result = ids.length === 1 ? ids[0] : ids;
    }
    if (e - s <= PIECE_CACHE_MAX_LENGTH) {
      if (this.cache.size >= PIECE_CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, result);
    }
    if (typeof result === 'number') out.push(result);
    else for (let k = 0; k < result.length; k++) out.push(result[k]);
  }

  /** Encodes ordinary text `text[start, end)`; stops early once `out` is longer than `limit`. */
  private ordinary(text: string, start: number, end: number, out: number[], limit: number): void {
    const scan = this.scan;
    if (scan) {
      let i = start;
      while (i < end) {
        const e = scan(text, i, end);
        this.piece(text, i, e, out);
        i = e;
        if (out.length > limit) return;
      }
    } else {
      (this.splitter as RegexSplitter).forEach(text, start, end, (s, e) => {
        if (out.length <= limit) this.piece(text, s, e, out);
      });
    }
  }

  private allowedSet(
    options: SpecialTokenOptions | undefined,
    where: string,
  ): { allowed: Set<string>; disallowed: string[] } {
    const allowedOpt = options?.allowedSpecial;
    const disallowedOpt = options?.disallowedSpecial ?? 'all';
    let allowed: Set<string>;
    if (allowedOpt === undefined) allowed = new Set();
    else if (allowedOpt === 'all') allowed = new Set(this.specialNames);
    else if (
      typeof allowedOpt === 'object' &&
      allowedOpt !== null &&
      Symbol.iterator in allowedOpt &&
      typeof allowedOpt !== 'string'
    ) {
      allowed = new Set(allowedOpt);
      for (const s of allowed) {
        if (!(s in this.specialTokens)) {
          throw new Error(
            `${where}: allowedSpecial names ${JSON.stringify(s)}, which is not a special token of ${this.name} (its special tokens: ${this.specialNames.join(', ')})`,
          );
        }
      }
    } else {
      throw new TypeError(
        `${where}: options.allowedSpecial must be 'all' or a list of special tokens, got ${describe(allowedOpt)}`,
      );
    }
    let disallowed: string[];
    if (disallowedOpt === 'all') disallowed = this.specialNames.filter((s) => !allowed.has(s));
    else if (typeof disallowedOpt === 'object' && disallowedOpt !== null && Symbol.iterator in disallowedOpt)
      disallowed = [...disallowedOpt];
    else
      throw new TypeError(
        `${where}: options.disallowedSpecial must be 'all' or a list of special tokens, got ${describe(disallowedOpt)}`,
      );
    return { allowed, disallowed };
  }

  private encodeWith(
    text: string,
    options: SpecialTokenOptions | undefined,
    where: string,
    limit: number,
  ): number[] {
    if (typeof text !== 'string')
      throw new TypeError(`${where}: text must be a string, got ${describe(text)}`);
    const out: number[] = [];
    if (
      this.specialNames.length === 0 ||
      (options?.allowedSpecial === undefined &&
        Array.isArray(options?.disallowedSpecial) &&
        options.disallowedSpecial.length === 0)
    ) {
      this.ordinary(text, 0, text.length, out, limit);
      return out;
    }
    const { allowed, disallowed } = this.allowedSet(options, where);
    let firstBad = -1;
    let badToken = '';
    for (const tok of disallowed) {
      const at = text.indexOf(tok);
      if (at >= 0 && (firstBad < 0 || at < firstBad)) {
        firstBad = at;
        badToken = tok;
      }
    }
    if (firstBad >= 0) {
      throw new Error(
        `${where}: the text contains the special token ${JSON.stringify(badToken)} at index ${firstBad}, which is disallowed. ` +
          `Pass { allowedSpecial: [${JSON.stringify(badToken)}] } (or 'all') to encode it as a special token, or { disallowedSpecial: [] } to encode it as ordinary text.`,
      );
    }
    if (allowed.size === 0) {
      this.ordinary(text, 0, text.length, out, limit);
      return out;
    }
    const re = new RegExp(
      [...allowed]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    let start = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      this.ordinary(text, start, m.index, out, limit);
      if (out.length > limit) return out;
      out.push(this.specialTokens[m[0]]);
      start = m.index + m[0].length;
    }
    this.ordinary(text, start, text.length, out, limit);
    return out;
  }

  /**
   * Encodes text to token ids, exactly as tiktoken does.
   *
   * Special-token strings in the text throw unless listed in `allowedSpecial` (then they become
   * their special id) or excluded from `disallowedSpecial` (then they are encoded as ordinary text).
   * @throws TypeError when `text` is not a string; Error when it holds a disallowed special token.
   * @example
   * ```ts
   * const enc = await getEncoding('cl100k_base');
   * enc.encode('hi<|endoftext|>', { allowedSpecial: ['<|endoftext|>'] }); // => [6151, 100257]
   * ```
   */
  encode(text: string, options?: SpecialTokenOptions): number[] {
    return this.encodeWith(text, options, `${this.name}.encode`, Number.POSITIVE_INFINITY);
  }

  /** Encodes text with no special-token handling at all: special-token strings are ordinary text. */
  encodeOrdinary(text: string): number[] {
    if (typeof text !== 'string')
      throw new TypeError(`${this.name}.encodeOrdinary: text must be a string, got ${describe(text)}`);
    const out: number[] = [];
    this.ordinary(text, 0, text.length, out, Number.POSITIVE_INFINITY);
    return out;
  }

  /** Number of tokens `encode(text, options)` returns. */
  countTokens(text: string, options?: SpecialTokenOptions): number {
    return this.encodeWith(text, options, `${this.name}.countTokens`, Number.POSITIVE_INFINITY).length;
  }

  /**
   * The token count of `text` when it is at most `limit`, else `false`. Stops encoding as soon
   * as the limit is passed, so checking a long text against a small limit is cheap.
   * @example
   * ```ts
   * const enc = await getEncoding('cl100k_base');
   * enc.isWithinTokenLimit('hello world', 5); // => 2
   * enc.isWithinTokenLimit('hello world', 1); // => false
   * ```
   */
  isWithinTokenLimit(text: string, limit: number, options?: SpecialTokenOptions): number | false {
    const where = `${this.name}.isWithinTokenLimit`;
    if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) {
      throw new TypeError(`${where}: limit must be a non-negative number, got ${describe(limit)}`);
    }
    const n = this.encodeWith(text, options, where, limit).length;
    return n > limit ? false : n;
  }

  /** Decodes ids to text. Bytes that are not valid UTF-8 (a character cut between tokens) become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return this.decoder.decode(ids, `${this.name}.decode`);
  }

  /** Decodes ids to their raw bytes. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    return this.decoder.decodeBytes(ids, `${this.name}.decodeBytes`);
  }

  /** The bytes of one token id (ordinary or special). */
  tokenBytes(id: number): Uint8Array {
    return this.decoder.tokenBytes(id, `${this.name}.tokenBytes`);
  }

  /** Whether `id` is one of the special token ids. */
  isSpecialToken(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Encodes text and reports, for every token, the UTF-16 span of the input it covers. A token
   * that holds only some bytes of a character covers the whole character (so neighbouring spans
   * can overlap); a special token covers its own text.
   */
  encodeWithOffsets(text: string, options?: SpecialTokenOptions): TokenSpan[] {
    const ids = this.encode(text, options);
    const spans: TokenSpan[] = [];
    // Walk the text and the token bytes together: byte b of the UTF-8 text belongs to char index charOf[b].
    const bytes = utf8Bytes(text);
    const charStart = new Int32Array(bytes.length + 1);
    const charEnd = new Int32Array(bytes.length + 1);
    let b = 0;
    for (let i = 0; i < text.length; ) {
      const c = text.codePointAt(i) as number;
      const w = c > 0xffff ? 2 : 1;
      const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      for (let k = 0; k < n; k++) {
        charStart[b + k] = i;
        charEnd[b + k] = i + w;
      }
      b += n;
      i += w;
    }
    charStart[b] = text.length;
    let bytePos = 0;
    for (const id of ids) {
      const len = this.decoder.offsets[id + 1] - this.decoder.offsets[id];
      // A token's bytes (special tokens included) are exactly the input's bytes at this position.
      spans.push({ id, start: charStart[bytePos], end: charEnd[bytePos + len - 1] });
      bytePos += len;
    }
    return spans;
  }

  /**
   * Every token of `text` with its bytes, their text (a token holding part of a character shows
   * U+FFFD) and its UTF-16 span in the input: what a token viewer needs.
   * @example
   * ```ts
   * const enc = await getEncoding('cl100k_base');
   * // the emoji spans two tokens, neither of them valid UTF-8 alone
   * enc.tokenize('hi 👋').map((t) => t.text); // => ['hi', ' �', '�']
   * ```
   */
  tokenize(text: string, options?: SpecialTokenOptions): TokenInfo[] {
    return this.encodeWithOffsets(text, options).map(({ id, start, end }) => {
      const bytes = this.decoder.tokenBytes(id);
      return { id, bytes, text: utf8Decoder.decode(bytes), start, end };
    });
  }

  /** The rank table (ordinary tokens only). */
  get ranks(): RankTable {
    return this.ranksTable;
  }

  /** Approximate bytes held by this encoding's tables (token bytes, offsets, vocabulary map, merge memo). */
  memoryEstimate(): number {
    const t = this.ranksTable;
    let strings = 0;
    for (let r = 0; r < t.size; r++) strings += 16 + (t.offsets[r + 1] - t.offsets[r]);
    // token bytes + offsets (rank table and id table) + per-string heap objects + map entries (~3 words + bucket)
    return (
      t.bytes.length * 2 +
      t.offsets.byteLength * 2 +
      t.size * 2 +
      strings +
      t.count * 40 +
      this.bpe.memoBytes()
    );
  }
}

type RankModule = { default: { pat_str: string; special_tokens: Record<string, number>; bpe_ranks: string } };

// One module per encoding, written into dist/ranks/ by scripts/build-ranks.mjs (the package's
// build): each getEncoding(name) imports only its own rank data. The same path works from
// src/ (tests) and dist/ (the published package).
const SOURCES: Record<EncodingName, () => Promise<RankModule>> = {
  gpt2: () => import('../dist/ranks/r50k_base.js'),
  r50k_base: () => import('../dist/ranks/r50k_base.js'),
  p50k_base: () => import('../dist/ranks/p50k_base.js'),
  p50k_edit: () => import('../dist/ranks/p50k_edit.js'),
  cl100k_base: () => import('../dist/ranks/cl100k_base.js'),
  o200k_base: () => import('../dist/ranks/o200k_base.js'),
};

const loaded = new Map<EncodingName, Promise<Encoding>>();
const tables = new Map<string, Promise<RankTable>>();

/**
 * Loads a standard encoding. The rank data is imported on first use and the encoding is cached,
 * so later calls resolve at once to the same object.
 * @param name `'r50k_base'` (GPT-2/GPT-3, also `'gpt2'`), `'p50k_base'`, `'p50k_edit'`,
 *   `'cl100k_base'` (GPT-3.5/GPT-4) or `'o200k_base'` (GPT-4o and later).
 * @example
 * ```ts
 * const enc = await getEncoding('o200k_base');
 * enc.encode('Hello, world!'); // => [13225, 11, 2375, 0]
 * ```
 */
export function getEncoding(name: EncodingName): Promise<Encoding> {
  if (!(ENCODING_NAMES as readonly string[]).includes(name as string)) {
    return Promise.reject(
      new Error(
        `getEncoding: unknown encoding ${describe(name)}; expected one of ${ENCODING_NAMES.join(', ')}`,
      ),
    );
  }
  let p = loaded.get(name);
  if (!p) {
    const source = name === 'gpt2' ? 'r50k_base' : name === 'p50k_edit' ? 'p50k_base' : name;
    p = SOURCES[name]().then(async (mod) => {
      const data = mod.default;
      let tp = tables.get(source);
      if (!tp) {
        tp = Promise.resolve(parseCompressedRanks(data.bpe_ranks, `getEncoding(${name})`));
        tables.set(source, tp);
      }
      return new Encoding({
        name,
        pattern: data.pat_str,
        ranks: await tp,
        specialTokens: data.special_tokens,
      });
    });
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

/**
 * Loads the encoding a model uses (see {@link encodingNameForModel}).
 * @example
 * ```ts
 * const enc = await encodingForModel('gpt-4o');
 * enc.name; // => 'o200k_base'
 * ```
 */
export function encodingForModel(model: string): Promise<Encoding> {
  try {
    return getEncoding(encodingNameForModel(model));
  } catch (e) {
    return Promise.reject(e);
  }
}
