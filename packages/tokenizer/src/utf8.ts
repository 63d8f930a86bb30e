/**
 * UTF-8 encoding of JavaScript strings into reusable buffers.
 *
 * Lone surrogates become U+FFFD (bytes EF BF BD), exactly as `TextEncoder` does, so every string
 * has a well-defined byte sequence and nothing downstream ever sees invalid UTF-16.
 */

/** A growable byte buffer reused across calls to avoid allocation in hot loops. */
export class ByteBuffer {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/**
 * Writes the UTF-8 bytes of `text[start, end)` into `out` (starting at `out.length`) and returns
 * the number of bytes written. Lone surrogates are written as U+FFFD.
 */
export function writeUtf8(text: string, start: number, end: number, out: ByteBuffer): number {
  out.reserve((end - start) * 3);
  const buf = out.bytes;
  let p = out.length;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[p++] = 0xf0 | (c >> 18);
        buf[p++] = 0x80 | ((c >> 12) & 63);
        buf[p++] = 0x80 | ((c >> 6) & 63);
        buf[p++] = 0x80 | (c & 63);
      } else {
        buf[p++] = 0xef;
        buf[p++] = 0xbf;
        buf[p++] = 0xbd;
      }
    } else {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 63);
      buf[p++] = 0x80 | (c & 63);
    }
  }
  const written = p - out.length;
  out.length = p;
  return written;
}

const scratch = new ByteBuffer(64);

/** UTF-8 bytes of a whole string, as a fresh array (lone surrogates become U+FFFD). */
export function utf8Bytes(text: string): Uint8Array {
  scratch.length = 0;
  writeUtf8(text, 0, text.length, scratch);
  return scratch.bytes.slice(0, scratch.length);
}

/** Number of UTF-8 bytes of `text[start, end)`, lone surrogates counted as U+FFFD (3 bytes). */
export function utf8Length(text: string, start = 0, end = text.length): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** A "binary string": one UTF-16 code unit per byte (0-255). Used as a compact Map key. */
export function bytesToBinaryString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  // Chunked to stay clear of argument-count limits for long inputs.
  for (let i = start; i < end; i += 4096) {
    const stop = Math.min(end, i + 4096);
    s += String.fromCharCode.apply(null, bytes.subarray(i, stop) as unknown as number[]);
  }
  return s;
}
