import { readFileSync } from 'node:fs';
import { CharTokenizer, Tokenizer, trainBPE } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { randomTexts } from './helpers/random-text.js';

const corpus = readFileSync(new URL('./fixtures/corpus.txt', import.meta.url), 'utf8');

describe('trainBPE', () => {
  it('learns the textbook merges on a tiny corpus (hand-derived)', () => {
    // "aaabdaaabac" (minbpe / Wikipedia example) as one word: aa (4), then aa+a? no: counts after
    // merging aa: [aa a b d aa a b a c] -> (aa, a) 2, (a, b) 2 ... ties go to the smaller ids:
    // (a, b) = (97, 98) < (256, 97).
    const { merges, vocab } = trainBPE(['aaabdaaabac'], { vocabSize: 259, pattern: '.+', minFrequency: 1 });
    expect(merges).toEqual([
      ['a', 'a'],
      ['a', 'b'],
      ['aa', 'ab'],
    ]);
    expect(vocab.aaab).toBe(258);
  });

  it('gives special tokens the first ids and never merges across pieces or specials', () => {
    const { vocab, tokenizer } = trainBPE(['hello world<|endoftext|>hello there', 'hello hello'], {
      vocabSize: 300,
      specialTokens: ['<|endoftext|>', '<|pad|>'],
    });
    expect(vocab['<|endoftext|>']).toBe(0);
    expect(vocab['<|pad|>']).toBe(1);
    expect(vocab.hello).toBeGreaterThan(257); // 'hello' starts three words
    for (const tok of Object.keys(vocab)) expect(tok.includes('dĠ') || tok.includes('d<')).toBe(false);
    expect(tokenizer.encode('hello<|endoftext|>').ids.at(-1)).toBe(0);
  });

  it('round-trips through tokenizer.json: the loaded tokenizer encodes and decodes like the trained one', () => {
    const texts = [corpus, ...randomTexts(11, 300).filter((t) => !/\p{Cs}/u.test(t))];
    const trained = trainBPE(texts, { vocabSize: 600, specialTokens: ['<|endoftext|>'] });
    const loaded = Tokenizer.fromJSON(trained.toJSON());
    expect(loaded.getVocabSize()).toBe(600);
    for (const text of texts.slice(0, 100)) {
      const ids = trained.tokenizer.encode(text).ids;
      expect(loaded.encode(text).ids).toEqual(ids);
      expect(loaded.decode(ids)).toBe(text);
    }
    // Training data compresses: fewer tokens than bytes.
    expect(loaded.encode(corpus).ids.length).toBeLessThan(new TextEncoder().encode(corpus).length * 0.9);
  });

  it('supports a custom pre-tokenisation pattern (saved as a Split pre-tokenizer)', () => {
    const trained = trainBPE(['ab ab ab cd cd'], { vocabSize: 260, pattern: '\\S+|\\s+', minFrequency: 1 });
    const json = JSON.parse(trained.toJSON());
    expect(json.pre_tokenizer.pretokenizers[0]).toEqual({
      type: 'Split',
      pattern: { Regex: '\\S+|\\s+' },
      behavior: 'Isolated',
      invert: false,
    });
    expect(Tokenizer.fromJSON(json).encode('ab cd').tokens).toEqual(['ab', 'Ġ', 'cd']);
  });

  it('rejects bad options', () => {
    expect(() => trainBPE(['x'], { vocabSize: 100 })).toThrow(
      /vocabSize 100 is too small; it must be at least 256/,
    );
    expect(() => trainBPE('text' as unknown as string[], { vocabSize: 300 })).toThrow(TypeError);
    expect(() => trainBPE([1 as unknown as string], { vocabSize: 300 })).toThrow(
      /texts\[0\] must be a string/,
    );
  });
});

describe('CharTokenizer', () => {
  it('maps distinct characters in code-point order and round-trips', () => {
    const tok = CharTokenizer.fromText('hello world 👋');
    expect(tok.chars).toEqual([' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w', '👋']);
    expect(tok.encode('hold 👋')).toEqual([3, 5, 4, 1, 0, 8]);
    expect(tok.decode(tok.encode('hello world 👋'))).toBe('hello world 👋');
    expect(CharTokenizer.fromJSON(JSON.stringify(tok.toJSON())).encode('low')).toEqual([4, 5, 7]);
  });
  it('names unknown characters and bad ids', () => {
    const tok = CharTokenizer.fromText('ab');
    expect(() => tok.encode('abc')).toThrow(/"c" at index 2 is not in the vocabulary/);
    expect(() => tok.decode([2])).toThrow(/ids\[0\] is number 2/);
  });
});
