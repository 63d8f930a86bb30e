/**
 * Normalizers of tokenizer.json (`"normalizer": {...}`): text clean-up before splitting.
 * Supported types: BertNormalizer, Lowercase, Strip, StripAccents, NFC, NFD, NFKC, NFKD, Replace,
 * Prepend, ByteLevel, Sequence, and Precompiled (approximated by NFKC, see below).
 */

import { describe } from '../models.js';
import { utf8Bytes } from '../utf8.js';
import { BYTE_TO_CHAR } from './byte-level.js';
import type { NormalizedString } from './normalized-string.js';
import { translateRegex } from './regex.js';

/** A normalisation step. */
export type Normalizer = (s: NormalizedString) => NormalizedString;

/** A tokenizer.json pattern: `{ "String": "..." }` or `{ "Regex": "..." }`. */
export function readPattern(json: unknown, where: string): string | RegExp {
  const p = json as { String?: unknown; Regex?: unknown } | null;
  if (p && typeof p === 'object' && typeof p.String === 'string') return p.String;
  if (p && typeof p === 'object' && typeof p.Regex === 'string') return translateRegex(p.Regex, where);
  throw new Error(
    `${where}: pattern must be { "String": ... } or { "Regex": ... }, got ${JSON.stringify(json)}`,
  );
}

const WHITESPACE = /^\p{White_Space}$/u;
const CONTROL = /^\p{C}$/u;
const MN = /^\p{Mn}$/u;

/** Rust's `char::is_whitespace` (Unicode White_Space). */
export function isWhitespace(c: string): boolean {
  return WHITESPACE.test(c);
}

function isChineseChar(c: string): boolean {
  const cp = c.codePointAt(0) as number;
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT's normalizer: clean control characters, pad CJK ideographs, strip accents, lowercase. */
function bertNormalizer(
  cleanText: boolean,
  chinese: boolean,
  stripAccents: boolean,
  lowercase: boolean,
): Normalizer {
  return (s) => {
    let out = s;
    if (cleanText) {
      out = out.mapChars((c) => {
        if (c === '\t' || c === '\n' || c === '\r') return ' ';
        if (c === '\0' || c === '\ufffd' || CONTROL.test(c)) return '';
        return isWhitespace(c) ? ' ' : c;
      });
    }
    if (chinese) out = out.mapChars((c) => (isChineseChar(c) ? ` ${c} ` : c));
    if (stripAccents) out = out.normalize('NFD').mapChars((c) => (MN.test(c) ? '' : c));
    if (lowercase) out = out.mapChars((c) => c.toLowerCase());
    return out;
  };
}

function strip(left: boolean, right: boolean): Normalizer {
  return (s) => {
    let a = 0;
    let b = s.length;
    if (left) while (a < b && isWhitespace(s.chars[a])) a++;
    if (right) while (b > a && isWhitespace(s.chars[b - 1])) b--;
    return a === 0 && b === s.length ? s : s.slice(a, b);
  };
}

/** Builds a normalizer from its tokenizer.json object (`null` means none). */
export function buildNormalizer(json: unknown, where = 'normalizer'): Normalizer | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object')
    throw new Error(`${where}: expected an object with a "type", got ${describe(json)}`);
  const j = json as Record<string, unknown>;
  switch (j.type) {
    case 'BertNormalizer': {
      const lowercase = j.lowercase !== false;
      const stripAccents =
        j.strip_accents === null || j.strip_accents === undefined ? lowercase : Boolean(j.strip_accents);
      return bertNormalizer(
        j.clean_text !== false,
        j.handle_chinese_chars !== false,
        stripAccents,
        lowercase,
      );
    }
    case 'Lowercase':
      return (s) => s.mapChars((c) => c.toLowerCase());
    case 'Strip':
      return strip(j.strip_left !== false, j.strip_right !== false);
    case 'StripAccents':
      return (s) => s.mapChars((c) => (MN.test(c) ? '' : c));
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = j.type;
      return (s) => s.normalize(form);
    }
    // SentencePiece's precompiled character map is, for almost all text, NFKC (its "nmt_nfkc"
    // rules); the few extra rules it carries (e.g. control characters) are not reproduced.
    case 'Precompiled':
      return (s) => s.normalize('NFKC');
    case 'Replace': {
      const pattern = readPattern(j.pattern, `${where} (Replace)`);
      if (typeof j.content !== 'string')
        throw new Error(`${where} (Replace): "content" must be a string, got ${describe(j.content)}`);
      const content = j.content;
      return (s) => s.replace(pattern, content);
    }
    case 'Prepend': {
      if (typeof j.prepend !== 'string')
        throw new Error(`${where} (Prepend): "prepend" must be a string, got ${describe(j.prepend)}`);
      const p = j.prepend;
      return (s) => (s.length === 0 ? s : s.prepend(p));
    }
    case 'ByteLevel':
      return (s) => s.mapChars((c) => Array.from(utf8Bytes(c), (b) => BYTE_TO_CHAR[b]).join(''));
    case 'Sequence': {
      if (!Array.isArray(j.normalizers))
        throw new Error(
          `${where} (Sequence): "normalizers" must be an array, got ${describe(j.normalizers)}`,
        );
      const steps = j.normalizers
        .map((n, i) => buildNormalizer(n, `${where}.normalizers[${i}]`))
        .filter((n): n is Normalizer => n !== null);
      return (s) => steps.reduce((acc, step) => step(acc), s);
    }
    default:
      throw new Error(
        `${where}: unsupported normalizer type ${JSON.stringify(j.type)}; supported: BertNormalizer, Lowercase, Strip, StripAccents, NFC, NFD, NFKC, NFKD, Replace, Prepend, ByteLevel, Precompiled, Sequence`,
      );
  }
}
