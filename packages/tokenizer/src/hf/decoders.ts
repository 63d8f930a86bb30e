/**
 * Decoders of tokenizer.json (`"decoder": {...}`): token strings back to text. Supported:
 * ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip, Sequence.
 */

import { utf8Decoder } from '../decode.js';
import { describe } from '../models.js';
import { byteLevelToBytes } from './byte-level.js';
import { readPattern } from './normalizers.js';

/** A decoding step over the list of token strings. */
export type Decoder = (tokens: string[]) => string[];

/** WordPiece's clean-up of spaces before punctuation and contractions. */
export function cleanupTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Builds a decoder from its tokenizer.json object (`null` means: join tokens with spaces). */
export function buildDecoder(json: unknown, where = 'decoder'): Decoder | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object')
    throw new Error(`${where}: expected an object with a "type", got ${describe(json)}`);
  const j = json as Record<string, unknown>;
  switch (j.type) {
    case 'ByteLevel':
      return (tokens) => {
        const bytes: number[] = [];
        for (const t of tokens) {
          const b = byteLevelToBytes(t);
          if (b) for (const x of b) bytes.push(x);
          else for (const x of new TextEncoder().encode(t)) bytes.push(x);
        }
        return [utf8Decoder.decode(new Uint8Array(bytes))];
      };
    case 'WordPiece': {
      const prefix = typeof j.prefix === 'string' ? j.prefix : '##';
      const cleanup = j.cleanup !== false;
      return (tokens) =>
        tokens.map((t, i) => {
          let s = t;
          if (i > 0) s = s.startsWith(prefix) ? s.slice(prefix.length) : ` ${s}`;
          return cleanup ? cleanupTokenization(s) : s;
        });
    }
    case 'Metaspace': {
      const replacement = typeof j.replacement === 'string' ? j.replacement : '▁';
      const scheme =
        typeof j.prepend_scheme === 'string'
          ? j.prepend_scheme
          : j.add_prefix_space === false
            ? 'never'
            : 'always';
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(replacement, ' ');
          return i === 0 && scheme !== 'never' && s.startsWith(' ') ? s.slice(1) : s;
        });
    }
    case 'BPEDecoder': {
      const suffix = typeof j.suffix === 'string' ? j.suffix : '</w>';
      return (tokens) => tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? '' : ' '));
    }
    case 'Replace': {
      const pattern = readPattern(j.pattern, `${where} (Replace)`);
      const content = typeof j.content === 'string' ? j.content : '';
      return (tokens) =>
        tokens.map((t) =>
          typeof pattern === 'string' ? t.replaceAll(pattern, content) : t.replace(pattern, content),
        );
    }
    case 'ByteFallback':
      return (tokens) => {
        const out: string[] = [];
        let pending: number[] = [];
        const flush = () => {
          if (pending.length === 0) return;
          const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(
            new Uint8Array(pending),
          );
          // Invalid sequences become one U+FFFD per byte, as Hugging Face does.
          out.push(text.includes('\ufffd') && !isValidUtf8(pending) ? '\ufffd'.repeat(pending.length) : text);
          pending = [];
        };
        for (const t of tokens) {
          const m = BYTE_TOKEN.exec(t);
          if (m) pending.push(Number.parseInt(m[1], 16));
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        return out;
      };
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      const content = typeof j.content === 'string' ? j.content : ' ';
      const start = typeof j.start === 'number' ? j.start : 0;
      const stop = typeof j.stop === 'number' ? j.stop : 0;
      return (tokens) =>
        tokens.map((t) => {
          const chars = [...t];
          let a = 0;
          while (a < start && a < chars.length && chars[a] === content) a++;
          let b = chars.length;
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
          return chars.slice(a, b).join('');
        });
    }
    case 'Sequence': {
      if (!Array.isArray(j.decoders))
        throw new Error(`${where} (Sequence): "decoders" must be an array, got ${describe(j.decoders)}`);
      const steps = j.decoders
        .map((d, i) => buildDecoder(d, `${where}.decoders[${i}]`))
        .filter((d): d is Decoder => d !== null);
      return (tokens) => steps.reduce((acc, step) => step(acc), tokens);
    }
    default:
      throw new Error(
        `${where}: unsupported decoder type ${JSON.stringify(j.type)}; supported: ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip, Sequence`,
      );
  }
}

function isValidUtf8(bytes: number[]): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    return true;
  } catch {
    return false;
  }
}
