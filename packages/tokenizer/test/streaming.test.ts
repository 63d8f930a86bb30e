import { DecodeStream, getEncoding, StreamingDecoder, Utf8StreamDecoder } from '@attnkit/tokenizer';
import { getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { mulberry32, randomTexts } from './helpers/random-text.js';

// Reference: the platform's TextDecoder (WHATWG UTF-8 decoder), keeping a leading BOM.
const reference = (bytes: Uint8Array) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);

describe('Utf8StreamDecoder', () => {
  it('matches TextDecoder on random byte soup fed in random chunks', () => {
    const rand = mulberry32(99);
    for (let trial = 0; trial < 3000; trial++) {
      const n = Math.floor(rand() * 40);
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const r = rand();
        // Mostly plausible UTF-8 lead/continuation bytes, to reach every branch.
        bytes[i] =
          r < 0.3
            ? Math.floor(rand() * 128)
            : r < 0.6
              ? 0x80 + Math.floor(rand() * 64)
              : r < 0.9
                ? 0xc0 + Math.floor(rand() * 64)
                : Math.floor(rand() * 256);
      }
      const d = new Utf8StreamDecoder();
      let out = '';
      for (let i = 0; i < n; ) {
        const step = 1 + Math.floor(rand() * 4);
        out += d.push(bytes.subarray(i, i + step));
        i += step;
      }
      out += d.flush();
      expect(out).toBe(reference(bytes));
    }
  });

  it('holds incomplete characters until they are complete', () => {
    const d = new Utf8StreamDecoder();
    const bytes = new TextEncoder().encode('€😀');
    expect(d.push(bytes.subarray(0, 2))).toBe('');
    expect(d.pending).toBe(true);
    expect(d.push(bytes.subarray(2, 3))).toBe('€');
    expect(d.push(bytes.subarray(3, 6))).toBe('');
    expect(d.push(bytes.subarray(6))).toBe('😀');
    expect(d.push([0xf0, 0x9f])).toBe('');
    expect(d.flush()).toBe('\ufffd');
  });
});

describe('StreamingDecoder', () => {
  it('emits exactly the text, never a partial character, token by token', { timeout: 60_000 }, async () => {
    for (const name of ['cl100k_base', 'o200k_base'] as const) {
      const enc = await getEncoding(name);
      const ref = tiktokenGetEncoding(name);
      for (const text of ['👨‍👩‍👧‍👦 family 🇫🇷 数学は楽しい', ...randomTexts(5, 300)]) {
        if (/\p{Cs}/u.test(text)) continue;
        const ids = ref.encode(text, [], []);
        const stream = new StreamingDecoder(enc);
        const pieces = ids.map((id) => stream.push(id));
        pieces.push(stream.flush());
        expect(pieces.join('')).toBe(text);
        for (const p of pieces) expect(p).not.toContain('\ufffd');
      }
    }
  });

  it('rejects a source without tokenBytes and bad ids', async () => {
    expect(() => new StreamingDecoder({} as never)).toThrow(/tokenBytes/);
    const stream = new StreamingDecoder(await getEncoding('r50k_base'));
    expect(() => stream.push(99999999)).toThrow(/99999999/);
  });
});

describe('DecodeStream (decode-window streaming)', () => {
  it('reproduces the full decode for a byte-level encoding', async () => {
    const enc = await getEncoding('cl100k_base');
    const text = 'Grüße 👋🏽 from 東京!';
    const ids = enc.encode(text);
    const stream = new DecodeStream(enc);
    const out = ids.map((id) => stream.push(id)).join('') + stream.flush();
    expect(out).toBe(text);
  });
});

describe('tokenize (visualisation)', () => {
  it('gives bytes, text and spans consistent with decode', { timeout: 30_000 }, async () => {
    const enc = await getEncoding('o200k_base');
    const text = 'Hi 👋 there, 世界!';
    const tokens = enc.tokenize(text);
    expect(tokens.map((t) => t.id)).toEqual(tiktokenGetEncoding('o200k_base').encode(text));
    const joined = new Uint8Array(tokens.reduce((n, t) => n + t.bytes.length, 0));
    let p = 0;
    for (const t of tokens) {
      joined.set(t.bytes, p);
      p += t.bytes.length;
    }
    expect(reference(joined)).toBe(text);
    expect(tokens[0]).toMatchObject({ text: 'Hi', start: 0, end: 2 });
  });
});
