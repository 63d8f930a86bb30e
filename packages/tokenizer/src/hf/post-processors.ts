/**
 * Post-processors of tokenizer.json (`"post_processor": {...}`): adding special tokens around the
 * encoded text(s) and setting segment ids. Supported: TemplateProcessing, BertProcessing,
 * RobertaProcessing, ByteLevel (offset trimming) and Sequence.
 */

import { describe } from '../models.js';
import { CHAR_TO_BYTE } from './byte-level.js';
import { concatEncodings, type TokenizerEncoding } from './encoding.js';
import { isWhitespace } from './normalizers.js';

/** A post-processing step over the encodings of the inputs (1 or 2). */
export interface PostProcessor {
  /** How many tokens it adds for a single input or a pair. */
  addedTokens(isPair: boolean): number;
  /** Processes the encodings; the result is concatenated by the tokenizer. */
  process(encodings: TokenizerEncoding[], addSpecialTokens: boolean): TokenizerEncoding[];
}

function special(ids: number[], tokens: string[], typeId: number): TokenizerEncoding {
  return {
    ids: [...ids],
    tokens: [...tokens],
    typeIds: ids.map(() => typeId),
    attentionMask: ids.map(() => 1),
    specialTokensMask: ids.map(() => 1),
    offsets: ids.map((): [number, number] => [0, 0]),
    wordIds: ids.map(() => null),
    sequenceIds: ids.map(() => null),
    overflowing: [],
  };
}

function withType(e: TokenizerEncoding, typeId: number): TokenizerEncoding {
  return { ...e, typeIds: e.ids.map(() => typeId) };
}

type Piece = { special: string; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

function readTemplate(json: unknown, where: string): Piece[] {
  if (typeof json === 'string') {
    // The string form "[CLS] $A [SEP] $B:1 [SEP]:1".
    return json
      .split(/\s+/)
      .filter(Boolean)
      .map((w): Piece => {
        const [name, type] = w.split(':');
        const typeId = type === undefined ? 0 : Number(type);
        if (name === '$A' || name === '$' || name === '$0') return { sequence: 'A', typeId };
        if (name === '$B' || name === '$1') return { sequence: 'B', typeId };
        return { special: name, typeId };
      });
  }
  if (!Array.isArray(json))
    throw new Error(`${where}: template must be an array of pieces, got ${describe(json)}`);
  return json.map((p, i): Piece => {
    const o = p as {
      SpecialToken?: { id: string; type_id?: number };
      Sequence?: { id: 'A' | 'B'; type_id?: number };
    };
    if (o?.SpecialToken && typeof o.SpecialToken.id === 'string')
      return { special: o.SpecialToken.id, typeId: o.SpecialToken.type_id ?? 0 };
    if (o?.Sequence && (o.Sequence.id === 'A' || o.Sequence.id === 'B'))
      return { sequence: o.Sequence.id, typeId: o.Sequence.type_id ?? 0 };
    throw new Error(
      `${where}[${i}]: expected { "SpecialToken": {...} } or { "Sequence": { "id": "A" | "B" } }, got ${JSON.stringify(p)}`,
    );
  });
}

class TemplateProcessing implements PostProcessor {
  constructor(
    private readonly single: Piece[],
    private readonly pair: Piece[],
    private readonly specials: Map<string, { ids: number[]; tokens: string[] }>,
    where: string,
  ) {
    for (const p of [...single, ...pair]) {
      if ('special' in p && !specials.has(p.special))
        throw new Error(
          `${where}: the template uses ${JSON.stringify(p.special)}, which is missing from "special_tokens"`,
        );
    }
  }
  addedTokens(isPair: boolean): number {
    return (isPair ? this.pair : this.single).reduce(
      (n, p) => n + ('special' in p ? (this.specials.get(p.special)?.ids.length ?? 0) : 0),
      0,
    );
  }
  process(encs: TokenizerEncoding[], add: boolean): TokenizerEncoding[] {
    const template = encs.length > 1 ? this.pair : this.single;
    const parts: TokenizerEncoding[] = [];
    for (const p of template) {
      if ('special' in p) {
        if (!add) continue;
        const s = this.specials.get(p.special) as { ids: number[]; tokens: string[] };
        parts.push(special(s.ids, s.tokens, p.typeId));
      } else {
        const e = encs[p.sequence === 'A' ? 0 : 1];
        if (e) parts.push(withType(e, p.typeId));
      }
    }
    return [concatEncodings(parts)];
  }
}

/** Hugging Face's ByteLevel offset trimming: leading/trailing spaces leave the span. */
export function trimByteLevelOffsets(e: TokenizerEncoding, addPrefixSpace: boolean): TokenizerEncoding {
  const offsets = e.offsets.map(([s, t], i): [number, number] => {
    const chars = [...e.tokens[i]];
    const isSpace = (c: string) => c === 'Ġ' || (CHAR_TO_BYTE.get(c) === undefined && isWhitespace(c));
    let lead = 0;
    while (lead < chars.length && isSpace(chars[lead])) lead++;
    let trail = 0;
    while (trail < chars.length && isSpace(chars[chars.length - 1 - trail])) trail++;
    let start = s;
    let end = t;
    if (lead > 0) {
      if ((i === 0 || s === 0) && addPrefixSpace && lead === 1) lead = 0;
      start = Math.min(s + lead, t);
    }
    if (trail > 0 && end >= trail) end = Math.max(end - trail, start);
    return [start, end];
  });
  return { ...e, offsets };
}

class ByteLevelProcessor implements PostProcessor {
  constructor(
    private readonly trim: boolean,
    private readonly addPrefixSpace: boolean,
  ) {}
  addedTokens(): number {
    return 0;
  }
  process(encs: TokenizerEncoding[]): TokenizerEncoding[] {
    return this.trim ? encs.map((e) => trimByteLevelOffsets(e, this.addPrefixSpace)) : encs;
  }
}

class SequenceProcessor implements PostProcessor {
  constructor(private readonly steps: PostProcessor[]) {}
  addedTokens(isPair: boolean): number {
    return this.steps.reduce((n, s) => n + s.addedTokens(isPair), 0);
  }
  process(encs: TokenizerEncoding[], add: boolean): TokenizerEncoding[] {
    return this.steps.reduce((acc, s) => s.process(acc, add), encs);
  }
}

/** A token id as tokenizer.json stores it (Rust u32). */
function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function tokenPair(v: unknown, name: string, where: string): [string, number] {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isTokenId(v[1])) return [v[0], v[1]];
  throw new Error(`${where}: "${name}" must be ["token", id], got ${JSON.stringify(v)}`);
}

/** Builds a post-processor from its tokenizer.json object (`null` means none). */
export function buildPostProcessor(json: unknown, where = 'post_processor'): PostProcessor | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object')
    throw new Error(`${where}: expected an object with a "type", got ${describe(json)}`);
  const j = json as Record<string, unknown>;
  switch (j.type) {
    case 'TemplateProcessing': {
      const specials = new Map<string, { ids: number[]; tokens: string[] }>();
      const raw = j.special_tokens ?? {};
      if (typeof raw !== 'object' || raw === null)
        throw new Error(`${where}: "special_tokens" must be an object, got ${describe(raw)}`);
      for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
        const o = v as { ids?: unknown; tokens?: unknown };
        if (!Array.isArray(o?.ids) || !Array.isArray(o?.tokens))
          throw new Error(
            `${where}: special_tokens[${JSON.stringify(name)}] must have "ids" and "tokens" arrays`,
          );
        if (
          o.ids.length !== o.tokens.length ||
          !o.ids.every(isTokenId) ||
          !o.tokens.every((t) => typeof t === 'string')
        )
          throw new Error(
            `${where}: special_tokens[${JSON.stringify(name)}] must have as many "ids" (non-negative integers) as "tokens" (strings), got ${JSON.stringify(o)}`,
          );
        specials.set(name, { ids: o.ids as number[], tokens: o.tokens as string[] });
      }
      return new TemplateProcessing(
        readTemplate(j.single, `${where}.single`),
        readTemplate(j.pair ?? j.single, `${where}.pair`),
        specials,
        where,
      );
    }
    case 'BertProcessing': {
      const [sep, sepId] = tokenPair(j.sep, 'sep', where);
      const [cls, clsId] = tokenPair(j.cls, 'cls', where);
      const specials = new Map([
        [cls, { ids: [clsId], tokens: [cls] }],
        [sep, { ids: [sepId], tokens: [sep] }],
      ]);
      return new TemplateProcessing(
        [
          { special: cls, typeId: 0 },
          { sequence: 'A', typeId: 0 },
          { special: sep, typeId: 0 },
        ],
        [
          { special: cls, typeId: 0 },
          { sequence: 'A', typeId: 0 },
          { special: sep, typeId: 0 },
          { sequence: 'B', typeId: 1 },
          { special: sep, typeId: 1 },
        ],
        specials,
        where,
      );
    }
    case 'RobertaProcessing': {
      const [sep, sepId] = tokenPair(j.sep, 'sep', where);
      const [cls, clsId] = tokenPair(j.cls, 'cls', where);
      const specials = new Map([
        [cls, { ids: [clsId], tokens: [cls] }],
        [sep, { ids: [sepId], tokens: [sep] }],
      ]);
      const template = new TemplateProcessing(
        [
          { special: cls, typeId: 0 },
          { sequence: 'A', typeId: 0 },
          { special: sep, typeId: 0 },
        ],
        [
          { special: cls, typeId: 0 },
          { sequence: 'A', typeId: 0 },
          { special: sep, typeId: 0 },
          { special: sep, typeId: 0 },
          { sequence: 'B', typeId: 0 },
          { special: sep, typeId: 0 },
        ],
        specials,
        where,
      );
      const trim = j.trim_offsets !== false;
      return new SequenceProcessor([new ByteLevelProcessor(trim, j.add_prefix_space !== false), template]);
    }
    case 'ByteLevel':
      return new ByteLevelProcessor(j.trim_offsets !== false, j.add_prefix_space !== false);
    case 'Sequence': {
      if (!Array.isArray(j.processors))
        throw new Error(`${where} (Sequence): "processors" must be an array, got ${describe(j.processors)}`);
      return new SequenceProcessor(
        j.processors
          .map((p, i) => buildPostProcessor(p, `${where}.processors[${i}]`))
          .filter((p): p is PostProcessor => p !== null),
      );
    }
    default:
      throw new Error(
        `${where}: unsupported post-processor type ${JSON.stringify(j.type)}; supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence`,
      );
  }
}
