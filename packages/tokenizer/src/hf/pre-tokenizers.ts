/**
 * Pre-tokenizers of tokenizer.json (`"pre_tokenizer": {...}`): splitting normalised text into
 * words before the model sees them. Supported types: ByteLevel, Split, Whitespace,
 * WhitespaceSplit, BertPreTokenizer, Punctuation, Digits, Metaspace, CharDelimiterSplit, Sequence.
 */

import { describe } from '../models.js';
import { type PieceScanner, scannerForPattern, scanR50k } from '../pretokenize.js';
import { utf8Bytes } from '../utf8.js';
import { BYTE_TO_CHAR } from './byte-level.js';
import type { NormalizedString, SplitBehavior } from './normalized-string.js';
import { isWhitespace, readPattern } from './normalizers.js';

/** A pre-tokenisation step: pieces in, pieces out. */
export type PreTokenizer = (pieces: NormalizedString[]) => NormalizedString[];

/** Character ranges of the pieces a hand-written scanner finds in `s`. */
function scanRanges(s: NormalizedString, scan: PieceScanner): Array<[number, number]> {
  const text = s.text;
  const out: Array<[number, number]> = [];
  let c = 0;
  for (let i = 0; i < text.length; ) {
    const e = scan(text, i, text.length);
    let n = 0;
    for (let k = i; k < e; k++) {
      const u = text.charCodeAt(k);
      if (
        !(
          u >= 0xdc00 &&
          u <= 0xdfff &&
          k > i &&
          text.charCodeAt(k - 1) >= 0xd800 &&
          text.charCodeAt(k - 1) <= 0xdbff
        )
      )
        n++;
    }
    out.push([c, c + n]);
    c += n;
    i = e;
  }
  return out;
}

/** Replaces every character by the byte-level characters of its UTF-8 bytes. */
export function toByteLevel(s: NormalizedString): NormalizedString {
  return s.mapChars((c) => {
    const code = c.charCodeAt(0);
    if (c.length === 1 && code < 0x80) return BYTE_TO_CHAR[code];
    let out = '';
    for (const b of utf8Bytes(c)) out += BYTE_TO_CHAR[b];
    return out;
  });
}

const PUNCT = /^[\p{P}!-/:-@[-`{-~]$/u;
const WORD =
  /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

function charRanges(s: NormalizedString, pred: (c: string) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < s.length; i++) if (pred(s.chars[i])) out.push([i, i + 1]);
  return out;
}

function behaviorOf(v: unknown, fallback: SplitBehavior, where: string): SplitBehavior {
  if (v === undefined || v === null) return fallback;
  const ok = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
  if (typeof v !== 'string' || !ok.includes(v))
    throw new Error(`${where}: "behavior" must be one of ${ok.join(', ')}, got ${JSON.stringify(v)}`);
  return v as SplitBehavior;
}

const flat =
  (f: (s: NormalizedString) => NormalizedString[]): PreTokenizer =>
  (pieces) =>
    pieces.flatMap(f);

/** Builds a pre-tokenizer from its tokenizer.json object (`null` means none). */
export function buildPreTokenizer(json: unknown, where = 'pre_tokenizer'): PreTokenizer | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object')
    throw new Error(`${where}: expected an object with a "type", got ${describe(json)}`);
  const j = json as Record<string, unknown>;
  switch (j.type) {
    case 'ByteLevel': {
      const addPrefixSpace = j.add_prefix_space === true;
      const useRegex = j.use_regex !== false;
      return flat((s) => {
        let t = s;
        if (addPrefixSpace && t.chars[0] !== ' ') t = t.prepend(' ');
        const parts = useRegex ? t.splitOn(scanRanges(t, scanR50k), 'Isolated') : [t];
        return parts.map(toByteLevel);
      });
    }
    case 'Split': {
      const pattern = readPattern(j.pattern, `${where} (Split)`);
      const behavior = behaviorOf(j.behavior, 'Isolated', `${where} (Split)`);
      const invert = j.invert === true;
      const raw = (j.pattern as { Regex?: string }).Regex;
      const scan = typeof raw === 'string' ? scannerForPattern(raw) : undefined;
      return flat((s) => s.splitOn(scan ? scanRanges(s, scan) : s.matches(pattern), behavior, invert));
    }
    case 'Whitespace':
      return flat((s) => s.splitOn(s.matches(WORD), 'Removed', true));
    case 'WhitespaceSplit':
      return flat((s) => s.splitOn(charRanges(s, isWhitespace), 'Removed'));
    case 'BertPreTokenizer':
      return flat((s) =>
        s.splitOn(charRanges(s, isWhitespace), 'Removed').flatMap((p) =>
          p.splitOn(
            charRanges(p, (c) => PUNCT.test(c)),
            'Isolated',
          ),
        ),
      );
    case 'Punctuation': {
      const behavior = behaviorOf(j.behavior, 'Isolated', `${where} (Punctuation)`);
      return flat((s) =>
        s.splitOn(
          charRanges(s, (c) => PUNCT.test(c)),
          behavior,
        ),
      );
    }
    case 'Digits': {
      const individual = j.individual_digits === true;
      return flat((s) =>
        s.splitOn(
          charRanges(s, (c) => /^\p{N}$/u.test(c)),
          individual ? 'Isolated' : 'Contiguous',
        ),
      );
    }
    case 'CharDelimiterSplit': {
      const d = j.delimiter;
      if (typeof d !== 'string' || [...d].length !== 1)
        throw new Error(
          `${where} (CharDelimiterSplit): "delimiter" must be one character, got ${describe(d)}`,
        );
      return flat((s) =>
        s.splitOn(
          charRanges(s, (c) => c === d),
          'Removed',
        ),
      );
    }
    case 'Metaspace': {
      const replacement = typeof j.replacement === 'string' ? j.replacement : '▁';
      const scheme =
        typeof j.prepend_scheme === 'string'
          ? j.prepend_scheme
          : j.add_prefix_space === false
            ? 'never'
            : 'always';
      if (!['always', 'first', 'never'].includes(scheme))
        throw new Error(
          `${where} (Metaspace): "prepend_scheme" must be always, first or never, got ${JSON.stringify(scheme)}`,
        );
      const split = j.split !== false;
      return (pieces) =>
        pieces.flatMap((s, index) => {
          let t = s.mapChars((c) => (c === ' ' ? replacement : c));
          const prepend =
            scheme === 'always' || (scheme === 'first' && index === 0 && (s.starts[0] ?? 0) === 0);
          if (prepend && t.length > 0 && t.chars[0] !== replacement) t = t.prepend(replacement);
          return split
            ? t.splitOn(
                charRanges(t, (c) => c === replacement),
                'MergedWithNext',
              )
            : [t];
        });
    }
    case 'Sequence': {
      if (!Array.isArray(j.pretokenizers))
        throw new Error(
          `${where} (Sequence): "pretokenizers" must be an array, got ${describe(j.pretokenizers)}`,
        );
      const steps = j.pretokenizers
        .map((p, i) => buildPreTokenizer(p, `${where}.pretokenizers[${i}]`))
        .filter((p): p is PreTokenizer => p !== null);
      return (pieces) => steps.reduce((acc, step) => step(acc), pieces);
    }
    default:
      throw new Error(
        `${where}: unsupported pre-tokenizer type ${JSON.stringify(j.type)}; supported: ByteLevel, Split, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, Digits, Metaspace, CharDelimiterSplit, Sequence`,
      );
  }
}
