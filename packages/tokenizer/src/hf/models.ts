/**
 * Models of tokenizer.json (`"model": {...}`): turning one pre-tokenised word into tokens.
 * Supported: BPE (byte-level as GPT-2/Llama 3/Qwen write it, or with an unknown token,
 * continuing-subword prefix, end-of-word suffix and byte fallback), WordPiece (BERT) and WordLevel.
 */

import { describe } from '../models.js';
import { utf8Bytes } from '../utf8.js';

/** A token of one word: id, string, and its span in the word's characters `[start, end)`. */
export interface ModelToken {
  /** Token id. */
  id: number;
  /** Token string. */
  value: string;
  /** First character (code point index in the word). */
  start: number;
  /** One past the last character. */
  end: number;
}

/** A tokenizer.json model. */
export interface Model {
  /** The tokenizer.json model type. */
  readonly type: 'BPE' | 'WordPiece' | 'WordLevel';
  /** Token string -> id. */
  readonly vocab: Map<string, number>;
  /** Tokens of one word. */
  tokenize(word: string): ModelToken[];
  /** The tokenizer.json object of this model. */
  toJSON(): Record<string, unknown>;
}

function readVocab(json: unknown, where: string): Map<string, number> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(
      `${where}: "vocab" must be an object mapping token strings to ids, got ${describe(json)}`,
    );
  }
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(json as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new Error(
        `${where}: vocab entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected a non-negative integer`,
      );
    }
    vocab.set(tok, id);
  }
  return vocab;
}

const optString = (v: unknown, name: string, where: string): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string')
    throw new Error(`${where}: "${name}" must be a string or null, got ${describe(v)}`);
  return v;
};

/** Options of a BPE model (tokenizer.json field names in camelCase). */
export interface BPEOptions {
  /** Token for characters outside the vocabulary (null: drop them). */
  unkToken?: string | null;
  /** Prefix of non-initial symbols (e.g. `'##'`). */
  continuingSubwordPrefix?: string | null;
  /** Suffix of the last symbol of a word (e.g. `'</w>'`). */
  endOfWordSuffix?: string | null;
  /** Merge consecutive unknown tokens into one. */
  fuseUnk?: boolean;
  /** Spell unknown characters as `<0xXX>` byte tokens (Llama 2 / SentencePiece BPE). */
  byteFallback?: boolean;
  /** Emit a word that is itself in the vocabulary without merging (Llama 3). */
  ignoreMerges?: boolean;
}

/** Byte-pair encoding with a merge list, as Hugging Face tokenizers runs it. */
export class BPEModel implements Model {
  /** `'BPE'`. */
  readonly type = 'BPE' as const;
  /** The merge list, in priority order. */
  readonly merges: Array<[string, string]>;
  private readonly mergeRank = new Map<number, number>();
  private readonly mergeResult = new Map<number, number>();
  private readonly cache = new Map<string, ModelToken[]>();
  private readonly options: Required<BPEOptions>;
  private readonly idToToken = new Map<number, string>();
  /** Merge keys are `left * keyBase + right`: one more than the largest id, so keys never collide. */
  private readonly keyBase: number;

  constructor(
    readonly vocab: Map<string, number>,
    merges: Array<[string, string]>,
    options: BPEOptions = {},
    where = 'BPE',
  ) {
    this.options = {
      unkToken: options.unkToken ?? null,
      continuingSubwordPrefix: options.continuingSubwordPrefix ?? null,
      endOfWordSuffix: options.endOfWordSuffix ?? null,
      fuseUnk: options.fuseUnk ?? false,
      byteFallback: options.byteFallback ?? false,
      ignoreMerges: options.ignoreMerges ?? false,
    };
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.keyBase = maxId + 1;
    if (this.keyBase * this.keyBase > Number.MAX_SAFE_INTEGER)
      throw new Error(
        `${where}: the largest vocabulary id is ${maxId}; ids above ${Math.floor(Math.sqrt(Number.MAX_SAFE_INTEGER)) - 1} are not supported`,
      );
    for (const [tok, id] of vocab) this.idToToken.set(id, tok);
    this.merges = merges;
    const prefixLen = this.options.continuingSubwordPrefix?.length ?? 0;
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      if (ia === undefined || ib === undefined) {
        throw new Error(
          `${where}: merges[${rank}] is ${JSON.stringify(`${a} ${b}`)}, but ${JSON.stringify(ia === undefined ? a : b)} is not in the vocabulary`,
        );
      }
      const merged =
        a +
        (prefixLen && b.startsWith(this.options.continuingSubwordPrefix as string) ? b.slice(prefixLen) : b);
      const im = vocab.get(merged);
      if (im === undefined)
        throw new Error(
          `${where}: merges[${rank}] makes ${JSON.stringify(merged)}, which is not in the vocabulary`,
        );
      const key = ia * this.keyBase + ib;
      if (!this.mergeRank.has(key)) {
        this.mergeRank.set(key, rank);
        this.mergeResult.set(key, im);
      }
    });
  }

  /** Reads `{ "type": "BPE", "vocab": {...}, "merges": [...] , ... }`. */
  static fromJSON(j: Record<string, unknown>, where = 'model (BPE)'): BPEModel {
    const vocab = readVocab(j.vocab, where);
    if (!Array.isArray(j.merges))
      throw new Error(`${where}: "merges" must be an array, got ${describe(j.merges)}`);
    const merges = j.merges.map((m, i): [string, string] => {
      if (typeof m === 'string') {
        const sp = m.indexOf(' ', 1);
        if (sp < 0 || m.indexOf(' ', sp + 1) >= 0)
          throw new Error(
            `${where}: merges[${i}] is ${JSON.stringify(m)}; expected two tokens separated by one space`,
          );
        return [m.slice(0, sp), m.slice(sp + 1)];
      }
      if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string')
        return [m[0], m[1]];
      throw new Error(`${where}: merges[${i}] must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
    });
    return new BPEModel(
      vocab,
      merges,
      {
        unkToken: optString(j.unk_token, 'unk_token', where),
        continuingSubwordPrefix: optString(j.continuing_subword_prefix, 'continuing_subword_prefix', where),
        endOfWordSuffix: optString(j.end_of_word_suffix, 'end_of_word_suffix', where),
        fuseUnk: j.fuse_unk === true,
        byteFallback: j.byte_fallback === true,
        ignoreMerges: j.ignore_merges === true,
      },
      where,
    );
  }

  tokenize(word: string): ModelToken[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const out = this.merge(word);
    if (this.cache.size > 20000) this.cache.clear();
    this.cache.set(word, out);
    return out;
  }

  private merge(word: string): ModelToken[] {
    const { vocab, options } = this;
    const chars = [...word];
    if (options.ignoreMerges) {
      const id = vocab.get(word);
      if (id !== undefined) return [{ id, value: word, start: 0, end: chars.length }];
    }
    // Symbols: id, start, end (char indices), linked list.
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const unkId = options.unkToken === null ? undefined : vocab.get(options.unkToken);
    for (let i = 0; i < chars.length; i++) {
      let s = chars[i];
      if (i > 0 && options.continuingSubwordPrefix) s = options.continuingSubwordPrefix + s;
      if (i === chars.length - 1 && options.endOfWordSuffix) s += options.endOfWordSuffix;
      const id = vocab.get(s);
      if (id !== undefined) {
        ids.push(id);
        starts.push(i);
        ends.push(i + 1);
        continue;
      }
      if (options.byteFallback) {
        const bytes = utf8Bytes(chars[i]);
        const byteIds = Array.from(bytes, (b) =>
          vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
        );
        if (byteIds.every((x) => x !== undefined)) {
          for (const b of byteIds) {
            ids.push(b as number);
            starts.push(i);
            ends.push(i + 1);
          }
          continue;
        }
      }
      if (unkId !== undefined) {
        if (
          options.fuseUnk &&
          ids.length > 0 &&
          ids[ids.length - 1] === unkId &&
          ends[ends.length - 1] === i
        ) {
          ends[ends.length - 1] = i + 1;
        } else {
          ids.push(unkId);
          starts.push(i);
          ends.push(i + 1);
        }
      }
    }
    const n = ids.length;
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Array<boolean>(n).fill(true);
    // Heap of [rank, pos, leftId, rightId]: lowest rank first, then leftmost.
    const heap: number[][] = [];
    const less = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
    const push = (e: number[]) => {
      heap.push(e);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    };
    const pop = (): number[] => {
      const top = heap[0];
      const last = heap.pop() as number[];
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l], heap[m])) m = l;
          if (r < heap.length && less(heap[r], heap[m])) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m], heap[i]];
          i = m;
        }
      }
      return top;
    };
    const tryPush = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const key = ids[i] * this.keyBase + ids[j];
      const rank = this.mergeRank.get(key);
      if (rank !== undefined) push([rank, i, ids[i], ids[j]]);
    };
    for (let i = 0; i < n; i++) tryPush(i);
    while (heap.length > 0) {
      // Symbol indices only grow left to right, so (rank, index) orders like (rank, position).
      const [, i, a, b] = pop();
      if (!alive[i] || ids[i] !== a || next[i] < 0 || ids[next[i]] !== b) continue;
      const j = next[i];
      ids[i] = this.mergeResult.get(a * this.keyBase + b) as number;
      ends[i] = ends[j];
      alive[j] = false;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) tryPush(prev[i]);
      tryPush(i);
    }
    const out: ModelToken[] = [];
    for (let i = 0; n > 0 && i >= 0; i = next[i]) {
      if (alive[i])
        out.push({ id: ids[i], value: this.idToToken.get(ids[i]) ?? '', start: starts[i], end: ends[i] });
    }
    return out;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'BPE',
      dropout: null,
      unk_token: this.options.unkToken,
      continuing_subword_prefix: this.options.continuingSubwordPrefix,
      end_of_word_suffix: this.options.endOfWordSuffix,
      fuse_unk: this.options.fuseUnk,
      byte_fallback: this.options.byteFallback,
      ignore_merges: this.options.ignoreMerges,
      vocab: Object.fromEntries(this.vocab),
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }
}

/** BERT's WordPiece: greedy longest-match-first with a continuation prefix (`##`). */
export class WordPieceModel implements Model {
  /** `'WordPiece'`. */
  readonly type = 'WordPiece' as const;
  constructor(
    /** Token string -> id. */
    readonly vocab: Map<string, number>,
    /** The unknown token. */
    readonly unkToken = '[UNK]',
    /** Prefix of word-continuing pieces. */
    readonly prefix = '##',
    /** Longer words become the unknown token. */
    readonly maxInputCharsPerWord = 100,
    where = 'WordPiece',
  ) {
    if (!vocab.has(unkToken))
      throw new Error(`${where}: the unknown token ${JSON.stringify(unkToken)} is not in the vocabulary`);
  }

  /** Reads `{ "type": "WordPiece", "vocab": {...}, "unk_token": "[UNK]", ... }`. */
  static fromJSON(j: Record<string, unknown>, where = 'model (WordPiece)'): WordPieceModel {
    const max = j.max_input_chars_per_word ?? 100;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
      throw new Error(
        `${where}: "max_input_chars_per_word" must be a positive integer, got ${describe(max)}`,
      );
    return new WordPieceModel(
      readVocab(j.vocab, where),
      optString(j.unk_token, 'unk_token', where) ?? '[UNK]',
      optString(j.continuing_subword_prefix, 'continuing_subword_prefix', where) ?? '##',
      max,
      where,
    );
  }

  tokenize(word: string): ModelToken[] {
    const chars = [...word];
    const unk = (): ModelToken[] => [
      { id: this.vocab.get(this.unkToken) as number, value: this.unkToken, start: 0, end: chars.length },
    ];
    if (chars.length > this.maxInputCharsPerWord) return unk();
    const out: ModelToken[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: ModelToken | undefined;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = this.prefix + sub;
        const id = this.vocab.get(sub);
        if (id !== undefined) {
          found = { id, value: sub, start, end };
          break;
        }
        end--;
      }
      if (!found) return unk();
      out.push(found);
      start = end;
    }
    return out;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: 'WordPiece',
      unk_token: this.unkToken,
      continuing_subword_prefix: this.prefix,
      max_input_chars_per_word: this.maxInputCharsPerWord,
      vocab: Object.fromEntries(this.vocab),
    };
  }
}

/** One id per whole word, or the unknown token. */
export class WordLevelModel implements Model {
  /** `'WordLevel'`. */
  readonly type = 'WordLevel' as const;
  constructor(
    /** Token string -> id. */
    readonly vocab: Map<string, number>,
    /** The unknown token (null: unknown words throw). */
    readonly unkToken: string | null,
  ) {}

  /** Reads `{ "type": "WordLevel", "vocab": {...}, "unk_token": ... }`. */
  static fromJSON(j: Record<string, unknown>, where = 'model (WordLevel)'): WordLevelModel {
    return new WordLevelModel(readVocab(j.vocab, where), optString(j.unk_token, 'unk_token', where));
  }

  tokenize(word: string): ModelToken[] {
    const n = [...word].length;
    const id = this.vocab.get(word);
    if (id !== undefined) return [{ id, value: word, start: 0, end: n }];
    const unk = this.unkToken === null ? undefined : this.vocab.get(this.unkToken);
    if (unk === undefined)
      throw new Error(
        `WordLevel: ${JSON.stringify(word)} is not in the vocabulary and the model has no unknown token`,
      );
    return [{ id: unk, value: this.unkToken as string, start: 0, end: n }];
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WordLevel', vocab: Object.fromEntries(this.vocab), unk_token: this.unkToken };
  }
}

/** Builds a model from its tokenizer.json object. */
export function buildModel(json: unknown, where = 'model'): Model {
  if (json === null || typeof json !== 'object')
    throw new Error(`${where}: expected an object, got ${describe(json)}`);
  const j = json as Record<string, unknown>;
  const type =
    j.type ??
    (j.merges !== undefined ? 'BPE' : j.continuing_subword_prefix !== undefined ? 'WordPiece' : undefined);
  switch (type) {
    case 'BPE':
      return BPEModel.fromJSON(j, `${where} (BPE)`);
    case 'WordPiece':
      return WordPieceModel.fromJSON(j, `${where} (WordPiece)`);
    case 'WordLevel':
      return WordLevelModel.fromJSON(j, `${where} (WordLevel)`);
    default:
      throw new Error(
        `${where}: unsupported model type ${JSON.stringify(j.type)}; supported: BPE, WordPiece, WordLevel`,
      );
  }
}
