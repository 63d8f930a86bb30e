/**
 * Streaming decode for token-by-token generation.
 *
 * A token can end in the middle of a UTF-8 character (byte-level BPE splits emoji and CJK into
 * several tokens), so printing `decode([id])` per token shows replacement characters. The
 * decoders here hold back incomplete characters and emit text only once it is final.
 */

import { describe } from './models.js';

/**
 * An incremental UTF-8 decoder with the WHATWG Encoding Standard's error handling (the one
 * `TextDecoder` implements): each maximal invalid subsequence becomes one U+FFFD, and an
 * incomplete character at the end of the input is held until more bytes arrive or `flush()`.
 *
 * @example
 * ```ts
 * const d = new Utf8StreamDecoder();
 * d.push(new Uint8Array([0xe4, 0xb8])); // => ''
 * d.push(new Uint8Array([0x96]));       // => '世'
 * ```
 */
export class Utf8StreamDecoder {
  private needed = 0;
  private seen = 0;
  private cp = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** Decodes more bytes; returns the text of the characters they complete. */
  push(bytes: ArrayLike<number>): string {
    let out = '';
    let chunk: number[] = [];
    const emit = (c: number) => {
      chunk.push(c);
      if (chunk.length >= 4096) {
        out += String.fromCodePoint(...chunk);
        chunk = [];
      }
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.needed === 0) {
        if (b < 0x80) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) {
          this.needed = 1;
          this.cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.lower = 0xa0;
          if (b === 0xed) this.upper = 0x9f;
          this.needed = 2;
          this.cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.lower = 0x90;
          if (b === 0xf4) this.upper = 0x8f;
          this.needed = 3;
          this.cp = b & 0x7;
        } else emit(0xfffd);
        continue;
      }
      if (b < this.lower || b > this.upper) {
        // The sequence is broken: one U+FFFD for it, and this byte starts afresh.
        this.reset();
        emit(0xfffd);
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.cp = (this.cp << 6) | (b & 0x3f);
      if (++this.seen === this.needed) {
        emit(this.cp);
        this.reset();
      }
    }
    if (chunk.length) out += String.fromCodePoint(...chunk);
    return out;
  }

  /** Ends the stream: an incomplete trailing character becomes U+FFFD. */
  flush(): string {
    const pending = this.needed !== 0;
    this.reset();
    return pending ? '\ufffd' : '';
  }

  /** Whether bytes of an unfinished character are being held. */
  get pending(): boolean {
    return this.needed !== 0;
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.cp = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}

/** Anything that can give the raw bytes of a token id (an `Encoding`, a byte-level `Tokenizer`). */
export interface TokenByteSource {
  /** The raw bytes of token `id`. */
  tokenBytes(id: number): Uint8Array;
}

/**
 * Decodes a stream of token ids from a byte-level vocabulary, one id (or a few) at a time,
 * returning only whole characters.
 *
 * @example
 * ```ts
 * const enc = await getEncoding('cl100k_base');
 * const stream = new StreamingDecoder(enc);
 * let text = '';
 * for (const id of enc.encode('👋 hello')) text += stream.push(id); // never half a character
 * text += stream.flush();
 * text; // => '👋 hello'
 * ```
 */
export class StreamingDecoder {
  private readonly utf8 = new Utf8StreamDecoder();

  constructor(private readonly source: TokenByteSource) {
    if (!source || typeof (source as TokenByteSource).tokenBytes !== 'function') {
      throw new TypeError(
        `StreamingDecoder: source must have a tokenBytes(id) method (an Encoding or a byte-level Tokenizer), got ${describe(source)}`,
      );
    }
  }

  /** Adds one id or several; returns the text they complete (possibly ''). */
  push(ids: number | ArrayLike<number>): string {
    if (typeof ids === 'number') return this.utf8.push(this.source.tokenBytes(ids));
    let out = '';
    for (let i = 0; i < ids.length; i++) out += this.utf8.push(this.source.tokenBytes(ids[i]));
    return out;
  }

  /** Ends the stream; returns U+FFFD if the last token left a character unfinished. */
  flush(): string {
    return this.utf8.flush();
  }
}

/**
 * Streaming decode for any tokenizer with a `decode(ids)` method (WordPiece, Metaspace, ...), the
 * way Hugging Face's `DecodeStream` works: decode the recent window of ids, and emit the new
 * suffix once it does not end in an unfinished character (U+FFFD).
 */
export class DecodeStream {
  private ids: number[] = [];
  private prefixIndex = 0;
  private readIndex = 0;

  constructor(private readonly decoder: { decode(ids: number[]): string }) {
    if (!decoder || typeof decoder.decode !== 'function') {
      throw new TypeError(`DecodeStream: decoder must have a decode(ids) method, got ${describe(decoder)}`);
    }
  }

  /** Adds one id; returns the newly final text (possibly ''). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decoder.decode(this.ids.slice(this.prefixIndex, this.readIndex));
    const text = this.decoder.decode(this.ids.slice(this.prefixIndex));
    if (text.length > prefix.length && !text.endsWith('\ufffd')) {
      const out = text.slice(prefix.length);
      this.prefixIndex = this.readIndex;
      this.readIndex = this.ids.length;
      return out;
    }
    return '';
  }

  /** Returns whatever is still held back (decoded as is) and resets. */
  flush(): string {
    const prefix = this.decoder.decode(this.ids.slice(this.prefixIndex, this.readIndex));
    const text = this.decoder.decode(this.ids.slice(this.prefixIndex));
    this.ids = [];
    this.prefixIndex = 0;
    this.readIndex = 0;
    return text.slice(prefix.length);
  }
}
