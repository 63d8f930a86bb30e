/**
 * Mergeable-rank tables: the byte sequence of every ordinary token, indexed by its rank (= id).
 *
 * Two text formats are read: tiktoken's `.tiktoken` files (one `base64 rank` pair a line) and the
 * compressed form js-tiktoken ships (`! <first rank> <base64> <base64> ...` lines, ranks counting
 * up from the first). Both decode into one flat byte array plus offsets, which keeps a 200k-token
 * vocabulary in a few megabytes and lets decoding copy bytes without per-token objects.
 */

import { bytesToBinaryString } from './utf8.js';

/** The byte strings of a vocabulary indexed by rank, in one flat array. */
export interface RankTable {
  /** Concatenated token bytes: token `r` is `bytes[offsets[r], offsets[r + 1])`. */
  bytes: Uint8Array;
  /** `size + 1` offsets into `bytes`. */
  offsets: Int32Array;
  /** 1 where a rank has a token, 0 for a gap in the numbering. */
  present: Uint8Array;
  /** Number of rank slots (highest rank + 1). */
  size: number;
  /** Number of tokens actually present. */
  count: number;
}

const B64 = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}

/** Decodes base64 `s[start, end)` into `out` at `at`; returns the number of bytes written. */
function decodeBase64Into(
  s: string,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  where: string,
): number {
  while (end > start && s.charCodeAt(end - 1) === 61 /* = */) end--;
  let acc = 0;
  let bits = 0;
  let p = at;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64[c] : -1;
    if (v < 0)
      throw new Error(
        `${where}: invalid base64 character ${JSON.stringify(s[i])} in token ${JSON.stringify(s.slice(start, end))}`,
      );
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[p++] = (acc >> bits) & 255;
    }
  }
  return p - at;
}

/** Builds a rank table from (base64 token, rank) entries. */
function buildFromBase64(entries: Array<[string, number]>, where: string): RankTable {
  let size = 0;
  let chars = 0;
  for (const [tok, rank] of entries) {
    if (!Number.isInteger(rank) || rank < 0)
      throw new Error(`${where}: invalid rank ${rank} for token ${tok}`);
    if (rank + 1 > size) size = rank + 1;
    chars += tok.length;
  }
  const byRank = new Array<string | undefined>(size);
  for (const [tok, rank] of entries) {
    if (byRank[rank] !== undefined) throw new Error(`${where}: rank ${rank} is given to two tokens`);
    byRank[rank] = tok;
  }
  const bytes = new Uint8Array(Math.ceil((chars * 3) / 4) + 4);
  const offsets = new Int32Array(size + 1);
  const present = new Uint8Array(size);
  let p = 0;
  for (let r = 0; r < size; r++) {
    offsets[r] = p;
    const tok = byRank[r];
    if (tok !== undefined) {
      present[r] = 1;
      p += decodeBase64Into(tok, 0, tok.length, bytes, p, where);
    }
  }
  offsets[size] = p;
  return { bytes: bytes.slice(0, p), offsets, present, size, count: entries.length };
}

/**
 * Parses js-tiktoken's compressed rank string: lines of `<label> <first rank> <base64>...`.
 */
export function parseCompressedRanks(text: string, where = 'parseCompressedRanks'): RankTable {
  const entries: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const parts = line.split(' ');
    const first = Number.parseInt(parts[1], 10);
    if (parts.length < 2 || !Number.isInteger(first)) {
      throw new Error(`${where}: malformed rank line starting ${JSON.stringify(line.slice(0, 40))}`);
    }
    for (let i = 2; i < parts.length; i++) entries.push([parts[i], first + i - 2]);
  }
  return buildFromBase64(entries, where);
}

/**
 * Parses a `.tiktoken` file (as distributed by OpenAI): one `<base64 token> <rank>` pair a line.
 */
export function parseTiktokenFile(text: string, where = 'parseTiktokenFile'): RankTable {
  const entries: Array<[string, number]> = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line.length === 0) continue;
    const sp = line.indexOf(' ');
    const rank = sp < 0 ? Number.NaN : Number(line.slice(sp + 1));
    if (sp < 0 || !Number.isInteger(rank)) {
      throw new Error(
        `${where}: line ${lineNo} is not "<base64 token> <rank>": ${JSON.stringify(line.slice(0, 60))}`,
      );
    }
    entries.push([line.slice(0, sp), rank]);
  }
  return buildFromBase64(entries, where);
}

/** Builds a rank table from byte arrays indexed by rank (`undefined` marks a gap). */
export function rankTableFromBytes(tokens: ReadonlyArray<Uint8Array | undefined>): RankTable {
  const size = tokens.length;
  let total = 0;
  let count = 0;
  for (const t of tokens) if (t) total += t.length;
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(size + 1);
  const present = new Uint8Array(size);
  let p = 0;
  for (let r = 0; r < size; r++) {
    offsets[r] = p;
    const t = tokens[r];
    if (t) {
      bytes.set(t, p);
      p += t.length;
      present[r] = 1;
      count++;
    }
  }
  offsets[size] = p;
  return { bytes, offsets, present, size, count };
}

/** The bytes of token `rank` as a binary string (one char per byte). */
export function tokenBinaryString(table: RankTable, rank: number): string {
  return bytesToBinaryString(table.bytes, table.offsets[rank], table.offsets[rank + 1]);
}

/** Serialises a rank table in `.tiktoken` format (`<base64 token> <rank>` lines). */
export function formatTiktokenFile(table: RankTable): string {
  const lines: string[] = [];
  for (let r = 0; r < table.size; r++) {
    if (!table.present[r]) continue;
    lines.push(`${encodeBase64(table.bytes.subarray(table.offsets[r], table.offsets[r + 1]))} ${r}`);
  }
  return `${lines.join('\n')}\n`;
}

const B64CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64CHARS[v >> 18] + B64CHARS[(v >> 12) & 63] + B64CHARS[(v >> 6) & 63] + B64CHARS[v & 63];
  }
  if (i + 1 === bytes.length) {
    const v = bytes[i] << 16;
    s += `${B64CHARS[v >> 18] + B64CHARS[(v >> 12) & 63]}==`;
  } else if (i + 2 === bytes.length) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += `${B64CHARS[v >> 18] + B64CHARS[(v >> 12) & 63] + B64CHARS[(v >> 6) & 63]}=`;
  }
  return s;
}
