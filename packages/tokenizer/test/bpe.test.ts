import { readFileSync } from 'node:fs';
import { bytePairMerge, CL100K_PATTERN, getEncoding, O200K_PATTERN, splitPieces } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { randomTexts } from './helpers/random-text.js';

// The readable merge loop (bpe.ts) is the reference; encodings run the table-driven encoder
// (bpe-merge-tables.ts). They must give the same ids on every piece.
const corpus = readFileSync(new URL('./fixtures/corpus.txt', import.meta.url), 'utf8');
const texts = [corpus, ...randomTexts(777, 400).filter((s) => !/\p{Cs}/u.test(s))];

describe('bytePairMerge (the readable loop) equals the fast encoder', () => {
  it.each([
    ['cl100k_base', CL100K_PATTERN],
    ['o200k_base', O200K_PATTERN],
  ] as const)('%s on the corpus and random strings', { timeout: 60_000 }, async (name, pattern) => {
    const enc = await getEncoding(name);
    const utf8 = new TextEncoder();
    let pieces = 0;
    for (const text of texts) {
      for (const piece of splitPieces(text, pattern)) {
        expect(bytePairMerge(utf8.encode(piece), enc.ranks), JSON.stringify(piece)).toEqual(
          enc.encodeOrdinary(piece),
        );
        pieces++;
      }
    }
    expect(pieces).toBeGreaterThan(4000);
  });

  it('merges by lowest rank, not left to right', async () => {
    const enc = await getEncoding('cl100k_base');
    expect(bytePairMerge(new TextEncoder().encode(' hello'), enc.ranks)).toEqual(enc.encode(' hello'));
    expect(bytePairMerge(new Uint8Array([]), enc.ranks)).toEqual([]);
  });
});
