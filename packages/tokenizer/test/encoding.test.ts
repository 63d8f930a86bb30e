import { readFileSync } from 'node:fs';
import { getEncoding } from '@attnkit/tokenizer';
import { getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { randomTexts } from './helpers/random-text.js';

const corpus = readFileSync(new URL('./fixtures/corpus.txt', import.meta.url), 'utf8');
const lines = corpus.split('\n');
const RANDOM_COUNT = Number(process.env.TOKENIZER_FUZZ_COUNT ?? 12_000);
const random = randomTexts(20240611, RANDOM_COUNT);
const hasLoneSurrogate = (s: string) => /\p{Cs}/u.test(s);

describe.each(['r50k_base', 'p50k_base', 'cl100k_base', 'o200k_base'] as const)(
  '%s parity with js-tiktoken',
  (name) => {
    const reference = tiktokenGetEncoding(name);

    // The first test of an encoding loads its ranks (seconds for o200k_base on a busy machine).
    it('encodes the committed corpus (whole and line by line) to the same ids', {
      timeout: 60_000,
    }, async () => {
      const enc = await getEncoding(name);
      expect(enc.encode(corpus)).toEqual(reference.encode(corpus));
      for (const line of lines) expect(enc.encode(line)).toEqual(reference.encode(line));
    });

    it(`encodes ${RANDOM_COUNT} seeded random strings to the same ids and decodes them back`, {
      timeout: 120_000,
    }, async () => {
      const enc = await getEncoding(name);
      let mismatches = 0;
      for (const text of random) {
        const got = enc.encodeOrdinary(text);
        const want = reference.encode(text, [], []);
        if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
          mismatches++;
          if (mismatches < 3) expect({ text, got }).toEqual({ text, got: want });
        }
        const back = enc.decode(got);
        // Lone surrogates are encoded as U+FFFD, as TextEncoder does.
        const expected = hasLoneSurrogate(text)
          ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(text))
          : text;
        if (back !== expected) expect(back).toBe(expected);
      }
      expect(mismatches).toBe(0);
    });

    it('round-trips the corpus and long whitespace/CJK runs', { timeout: 60_000 }, async () => {
      const enc = await getEncoding(name);
      const long = [
        ' '.repeat(5000),
        `${'\n'.repeat(3000)}x`,
        ' \t'.repeat(1000),
        '我能吞下玻璃而不伤身体'.repeat(80),
        'a'.repeat(3000),
        '😀'.repeat(500),
        '\ufeffBOM first',
      ];
      expect(enc.decode(enc.encode(corpus))).toBe(corpus);
      for (const text of long) {
        const ids = enc.encode(text);
        expect(ids).toEqual(reference.encode(text));
        expect(enc.decode(ids)).toBe(text);
      }
    });
  },
);

describe('special tokens', () => {
  it('throws on special-token text by default, naming the token', async () => {
    const enc = await getEncoding('cl100k_base');
    expect(() => enc.encode('a <|endoftext|> b')).toThrow(/<\|endoftext\|>.*disallowed/);
  });
  it('encodes allowed special tokens to their id, like js-tiktoken', async () => {
    const enc = await getEncoding('cl100k_base');
    const ref = tiktokenGetEncoding('cl100k_base');
    const text = 'hi<|endoftext|> there <|fim_prefix|>x<|endofprompt|>';
    expect(enc.encode(text, { allowedSpecial: 'all' })).toEqual(ref.encode(text, 'all'));
    expect(enc.encode(text, { allowedSpecial: ['<|endoftext|>'], disallowedSpecial: [] })).toEqual(
      ref.encode(text, ['<|endoftext|>'], []),
    );
    expect(enc.encode(text, { disallowedSpecial: [] })).toEqual(ref.encode(text, [], []));
    expect(enc.encodeOrdinary(text)).toEqual(ref.encode(text, [], []));
    expect(enc.decode(enc.encode(text, { allowedSpecial: 'all' }))).toBe(text);
  });
  it('still refuses a disallowed token when another is allowed', async () => {
    const enc = await getEncoding('cl100k_base');
    expect(() => enc.encode('<|endoftext|><|fim_prefix|>', { allowedSpecial: ['<|endoftext|>'] })).toThrow(
      /<\|fim_prefix\|>/,
    );
  });
  it('rejects unknown names in allowedSpecial', async () => {
    const enc = await getEncoding('o200k_base');
    expect(() => enc.encode('x', { allowedSpecial: ['<|nope|>'] })).toThrow(
      /<\|nope\|>.*not a special token/,
    );
  });
});

describe('validation and helpers', () => {
  it('names the problem for bad input', async () => {
    const enc = await getEncoding('r50k_base');
    expect(() => enc.encode(42 as unknown as string)).toThrow(
      /r50k_base\.encode: text must be a string, got number 42/,
    );
    expect(() => enc.decode([15496, 50257])).toThrow(/ids\[1\] is 50257/);
    expect(() => enc.decode([1.5])).toThrow(/ids\[0\] is 1.5/);
    expect(() => enc.decode([-1])).toThrow(RangeError);
    expect(() => enc.decode('abc' as unknown as number[])).toThrow(/ids must be an array/);
    await expect(getEncoding('nope' as 'r50k_base')).rejects.toThrow(/unknown encoding/);
  });
  it('counts tokens and checks limits with early exit semantics', { timeout: 60_000 }, async () => {
    const enc = await getEncoding('cl100k_base');
    const ref = tiktokenGetEncoding('cl100k_base');
    const n = ref.encode(corpus).length;
    expect(enc.countTokens(corpus)).toBe(n);
    expect(enc.isWithinTokenLimit(corpus, n)).toBe(n);
    expect(enc.isWithinTokenLimit(corpus, n - 1)).toBe(false);
    expect(enc.isWithinTokenLimit('', 0)).toBe(0);
  });
  it('reports token spans that slice the input', { timeout: 60_000 }, async () => {
    const enc = await getEncoding('o200k_base');
    const text = 'Hello 世界! 👨‍👩‍👧 <|endoftext|>';
    const spans = enc.encodeWithOffsets(text, { allowedSpecial: 'all' });
    expect(spans.map((s) => s.id)).toEqual(tiktokenGetEncoding('o200k_base').encode(text, 'all'));
    expect(spans[0]).toEqual({ id: spans[0].id, start: 0, end: 5 });
    expect(text.slice(spans.at(-1)?.start, spans.at(-1)?.end)).toBe('<|endoftext|>');
    // Spans are ordered and never go backwards.
    for (let i = 1; i < spans.length; i++) expect(spans[i].start).toBeGreaterThanOrEqual(spans[i - 1].start);
  });
  it('returns the cached encoding and exposes vocabulary sizes', async () => {
    const a = await getEncoding('cl100k_base');
    expect(await getEncoding('cl100k_base')).toBe(a);
    expect(a.nVocab).toBe(100277);
    expect((await getEncoding('o200k_base')).nVocab).toBe(200019);
    expect((await getEncoding('r50k_base')).nVocab).toBe(50257);
    expect((await getEncoding('p50k_base')).nVocab).toBe(50281);
  });
});

describe('custom encodings', () => {
  it('builds an encoding from .tiktoken text that matches the standard one', async () => {
    const { Encoding, formatTiktokenFile, R50K_PATTERN } = await import('@attnkit/tokenizer');
    const std = await getEncoding('r50k_base');
    const text = formatTiktokenFile(std.ranks);
    expect(text.split('\n')[0]).toBe('IQ== 0'); // rank 0 is "!"
    const custom = new Encoding({
      name: 'mine',
      pattern: R50K_PATTERN,
      ranks: text,
      specialTokens: { '<|endoftext|>': 50256 },
    });
    expect(custom.encode(corpus)).toEqual(std.encode(corpus));
    // A pattern without a hand-written scanner runs through the regex engine.
    const words = new Encoding({ name: 'words', pattern: '\\S+|\\s+', ranks: std.ranks });
    expect(words.encode('hello  world')).toEqual([
      ...std.encode('hello'),
      ...std.encode('  '),
      ...std.encode('world'),
    ]);
    expect(() => new Encoding({ name: 'bad', pattern: R50K_PATTERN, ranks: 'IQ=! 0\n' })).toThrow(
      /parseTiktokenFile: invalid base64 character/,
    );
    expect(
      () => new Encoding({ name: 'bad', pattern: R50K_PATTERN, ranks: text, specialTokens: { '<|x|>': 5 } }),
    ).toThrow(/id 5, which an ordinary token already uses/);
  });
});

describe('rank files', () => {
  it('ship with the package, one module per encoding, with no runtime dependency on a rank package', {
    timeout: 60_000,
  }, async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('js-tiktoken');
    const files = readdirSync(new URL('../dist/ranks/', import.meta.url)).filter((f: string) =>
      f.endsWith('.js'),
    );
    expect(files.sort()).toEqual([
      'cl100k_base.js',
      'o200k_base.js',
      'p50k_base.js',
      'p50k_edit.js',
      'r50k_base.js',
    ]);
    const edit = await getEncoding('p50k_edit');
    expect(edit.encode('<|fim_prefix|>x', { allowedSpecial: 'all' })).toEqual(
      tiktokenGetEncoding('p50k_edit').encode('<|fim_prefix|>x', 'all'),
    );
  });
});
