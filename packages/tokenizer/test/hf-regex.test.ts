import { readdirSync, readFileSync } from 'node:fs';
import { O200K_PATTERN, splitPieces, Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { randomTexts } from './helpers/random-text.js';

// tiktoken's Python spelling of o200k's pattern (with `(?i:...)`), as tokenizer.json files carry it.
const O200K_PY =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

describe('tokenizer.json regular expressions', () => {
  it('runs a (?i:...) Split pattern exactly like the equivalent JavaScript pattern', () => {
    // A WordLevel model whose vocabulary is every piece, so the tokens are the pre-tokenizer's pieces.
    const texts = randomTexts(31, 2000).filter((t) => !/\p{Cs}/u.test(t));
    const pieces = new Set(texts.flatMap((t) => splitPieces(t, O200K_PATTERN)));
    const vocab = Object.fromEntries([...pieces].map((p, i) => [p, i]));
    const tok = Tokenizer.fromJSON({
      model: { type: 'WordLevel', vocab, unk_token: null },
      pre_tokenizer: { type: 'Split', pattern: { Regex: O200K_PY }, behavior: 'Isolated', invert: false },
    });
    for (const text of texts) {
      // Reference: the JavaScript regex js-tiktoken runs for o200k_base.
      const want = [...text.matchAll(new RegExp(O200K_PATTERN, 'gu'))].map((m) => m[0]);
      expect(tok.encode(text).tokens).toEqual(want);
    }
  });

  it('applies Split behaviours like Hugging Face (hand-derived on "the-final--countdown")', () => {
    const split = (behavior: string) =>
      Tokenizer.fromJSON({
        model: { type: 'WordLevel', vocab: { x: 0 }, unk_token: 'x' },
        pre_tokenizer: { type: 'Split', pattern: { String: '-' }, behavior, invert: false },
      })
        .encode('the-final--countdown')
        .offsets.map(([a, b]) => 'the-final--countdown'.slice(a, b));
    expect(split('Removed')).toEqual(['the', 'final', 'countdown']);
    expect(split('Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown']);
    expect(split('MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown']);
    expect(split('MergedWithNext')).toEqual(['the', '-final', '-', '-countdown']);
    expect(split('Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown']);
  });
});

describe('lazy vocabularies', () => {
  it('imports rank data only through dynamic import()', () => {
    const dir = new URL('../src/', import.meta.url);
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.ts')) continue;
      const src = readFileSync(new URL(file, dir), 'utf8');
      expect(src).not.toMatch(/^import[^;]*js-tiktoken/m);
    }
  });
});
