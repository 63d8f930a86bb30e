/**
 * Decoding: token ids -> bytes -> text.
 *
 * Every id's bytes live in one flat array (ordinary tokens and special tokens alike), so decoding
 * is one pass that sums lengths, one that copies bytes, and one UTF-8 decode. Invalid UTF-8 (a
 * token sequence cut in the middle of a character) decodes to U+FFFD, as TextDecoder does; a
 * leading byte-order mark is kept, so `decode(encode(x)) === x` for every well-formed string.
 */

import { describe } from './models.js';
import type { RankTable } from './ranks.js';

/** A UTF-8 decoder that keeps a leading BOM and replaces invalid sequences with U+FFFD. */
export const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Byte strings for every id of an encoding: ordinary ranks plus special tokens. */
export class TokenBytes {
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly present: Uint8Array;
  readonly size: number;

  constructor(table: RankTable, special: ReadonlyArray<[Uint8Array, number]>) {
    let size = table.size;
    let extra = 0;
    for (const [b, id] of special) {
      if (id + 1 > size) size = id + 1;
      extra += b.length;
    }
    const bytes = new Uint8Array(table.bytes.length + extra);
    bytes.set(table.bytes);
    const offsets = new Int32Array(size + 1);
    const present = new Uint8Array(size);
    const starts = new Int32Array(size).fill(-1);
    const lens = new Int32Array(size);
    for (let r = 0; r < table.size; r++) {
      if (!table.present[r]) continue;
      present[r] = 1;
      starts[r] = table.offsets[r];
      lens[r] = table.offsets[r + 1] - table.offsets[r];
    }
    let p = table.bytes.length;
    for (const [b, id] of special) {
      bytes.set(b, p);
      present[id] = 1;
      starts[id] = p;
      lens[id] = b.length;
      p += b.length;
    }
    // Re-lay the bytes in id order so that offsets[id + 1] - offsets[id] is the length.
    const ordered = new Uint8Array(p);
    let q = 0;
    for (let id = 0; id < size; id++) {
      offsets[id] = q;
      if (starts[id] >= 0) {
        ordered.set(bytes.subarray(starts[id], starts[id] + lens[id]), q);
        q += lens[id];
      }
    }
    offsets[size] = q;
    this.bytes = ordered;
    this.offsets = offsets;
    this.present = present;
    this.size = size;
  }

  /** Throws a RangeError naming `where` unless `id` is a valid token id. */
  check(id: unknown, index: number, where: string): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.size || !this.present[id]) {
      const what = typeof id === 'number' ? String(id) : describe(id);
      throw new RangeError(
        `${where}: ids[${index}] is ${what}, which is not a token id of this vocabulary (expected an integer in [0, ${this.size - 1}] that names a token)`,
      );
    }
  }

  /** The bytes of one token (a fresh copy). */
  tokenBytes(id: number, where = 'tokenBytes'): Uint8Array {
    this.check(id, 0, where);
    return this.bytes.slice(this.offsets[id], this.offsets[id + 1]);
  }

  private scratch = new Uint8Array(1 << 16);

  /** Copies the bytes of `ids` into the scratch buffer (validating ids); returns the length. */
  private gather(ids: ArrayLike<number>, where: string): number {
    if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`${where}: ids must be an array of token ids, got ${describe(ids)}`);
    }
    const offsets = this.offsets;
    const present = this.present;
    const size = this.size;
    const src = this.bytes;
    let out = this.scratch;
    let p = 0;
    const n = ids.length;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (typeof id !== 'number' || !(id >= 0 && id < size) || present[id] !== 1) this.check(id, i, where);
      const s = offsets[id];
      const e = offsets[id + 1];
      if (p + (e - s) > out.length) {
        const grown = new Uint8Array(Math.max(out.length * 2, p + (e - s)));
        grown.set(out.subarray(0, p));
        out = grown;
        this.scratch = grown;
      }
      for (let j = s; j < e; j++) out[p++] = src[j];
    }
    return p;
  }

  /** Concatenated bytes of `ids` (a fresh array). */
  decodeBytes(ids: ArrayLike<number>, where = 'decodeBytes'): Uint8Array {
    const n = this.gather(ids, where);
    const out = this.scratch.slice(0, n);
    if (this.scratch.length > 1 << 24) this.scratch = new Uint8Array(1 << 16);
    return out;
  }

  /** Text of `ids` (invalid UTF-8 becomes U+FFFD). */
  decode(ids: ArrayLike<number>, where = 'decode'): string {
    const n = this.gather(ids, where);
    const text = utf8Decoder.decode(this.scratch.subarray(0, n));
    if (this.scratch.length > 1 << 24) this.scratch = new Uint8Array(1 << 16); // do not hold a huge buffer
    return text;
  }
}
