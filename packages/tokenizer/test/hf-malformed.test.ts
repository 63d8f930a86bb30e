import { readFileSync } from 'node:fs';
import { getEncoding, MAX_PADDED_LENGTH, Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';

// Issue 22's findings, each with the input that used to hang, mis-encode or throw a raw error.
// Expected encodings: Hugging Face tokenizers, written by scripts/make_pair_fixtures.py.
const emptyMatch = JSON.parse(
  readFileSync(new URL('./fixtures/pairs/empty-match.cases.json', import.meta.url), 'utf8'),
) as {
  cases: Array<{
    tokenizer: Record<string, unknown>;
    encodings: Array<{ text: string; ids: number[]; offsets: Array<[number, number]> }>;
  }>;
};

describe('patterns that match the empty string, and empty added tokens (Hugging Face semantics)', () => {
  it('Split / Replace patterns that can match "" split between characters like Hugging Face, never loop', () => {
    expect(emptyMatch.cases.length).toBeGreaterThan(80);
    for (const c of emptyMatch.cases) {
      const tok = Tokenizer.fromJSON(c.tokenizer);
      const what = JSON.stringify([
        c.tokenizer.normalizer,
        c.tokenizer.pre_tokenizer,
        c.tokenizer.added_tokens,
      ]);
      for (const e of c.encodings) {
        const enc = tok.encode(e.text);
        expect(enc.ids, `${what} on ${JSON.stringify(e.text)}`).toEqual(e.ids);
      }
    }
  });
});

const vocab = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz '].map((c, i) => [c, i]));
const wordLevel = (extra: Record<string, unknown> = {}) =>
  Tokenizer.fromJSON({
    model: { type: 'WordLevel', vocab: { ...vocab, '[UNK]': 27, '[PAD]': 28 }, unk_token: '[UNK]' },
    pre_tokenizer: { type: 'Split', pattern: { String: '' }, behavior: 'Isolated' },
    ...extra,
  });

describe('padding and truncation settings are validated', () => {
  it('refuses padding.strategy.Fixed beyond MAX_PADDED_LENGTH instead of allocating it', () => {
    const padding = { strategy: { Fixed: 1e9 }, pad_id: 28, pad_token: '[PAD]' };
    expect(() => wordLevel({ padding })).toThrow(
      /"padding\.strategy\.Fixed" must be an integer in \[0, 4194304\]/,
    );
    expect(() => wordLevel({ padding: { ...padding, strategy: { Fixed: 2.5 } } })).toThrow(/strategy\.Fixed/);
    expect(() =>
      wordLevel({ padding: { ...padding, strategy: 'BatchLongest', pad_to_multiple_of: 1e12 } }),
    ).toThrow(/pad_to_multiple_of/);
    expect(() => wordLevel().enablePadding({ length: MAX_PADDED_LENGTH + 1 })).toThrow(/options\.length/);
    // In range: honoured.
    const tok = wordLevel({ padding: { ...padding, strategy: { Fixed: 6 } } });
    expect(tok.encode('ab').ids).toEqual([0, 1, 28, 28, 28, 28]);
  });

  it('refuses a pad_id that is not a token id (instead of emitting it)', () => {
    expect(() =>
      wordLevel({ padding: { strategy: 'BatchLongest', pad_id: 999, pad_token: '[PAD]' } }),
    ).toThrow(/"padding\.pad_id" must be a token id of this tokenizer .* got number 999/);
    expect(() => wordLevel().enablePadding({ padId: -1 })).toThrow(/options\.padId/);
    expect(() => wordLevel().enablePadding({ padId: 1.5 })).toThrow(/options\.padId/);
  });

  it('refuses truncation settings that are not numbers or names it knows', () => {
    expect(() =>
      wordLevel({ truncation: { max_length: 'ten', strategy: 'LongestFirst', stride: 0 } }),
    ).toThrow(/"truncation\.max_length" must be a non-negative integer/);
    expect(() => wordLevel({ truncation: { max_length: 4, strategy: 'Middle', stride: 0 } })).toThrow(
      /"truncation\.strategy"/,
    );
    expect(() => wordLevel({ truncation: { max_length: 4, strategy: 'LongestFirst', stride: 4 } })).toThrow(
      /"truncation\.stride"/,
    );
  });
});

describe('decode refuses ids that are not numbers', () => {
  it('tiktoken Encoding.decode: a string id or a bigint names the index (never tokens 5..50)', async () => {
    const enc = await getEncoding('r50k_base');
    expect(() => enc.decode(['5' as unknown as number])).toThrow(/ids\[0\] is the string "5"/);
    expect(() => enc.decode([5n as unknown as number])).toThrow(/ids\[0\] is bigint 5/);
    expect(() => enc.decodeBytes([1, '5' as unknown as number])).toThrow(/ids\[1\]/);
    expect(enc.decode([5])).toBe('&');
  });

  it('Tokenizer.decode: a string id or a bigint names the index', () => {
    const tok = wordLevel();
    expect(() => tok.decode(['5' as unknown as number])).toThrow(/ids\[0\] is the string "5"/);
    expect(() => tok.decode([5n as unknown as number])).toThrow(/ids\[0\] is bigint 5/);
  });
});

describe('BPE merge keys', () => {
  it('ids of 2^21 and above do not collide with other merges', () => {
    // With keys a * 2^21 + b, the pair (0, 2^21 + 1) and the pair (1, 1) had the same key.
    const big = 2 ** 21 + 1;
    const tok = Tokenizer.fromJSON({
      model: {
        type: 'BPE',
        vocab: { a: 0, b: 1, bb: 2, ab: 3, x: big },
        merges: ['b b'],
      },
    });
    expect(tok.encode('bb').ids).toEqual([2]);
    // "ax" must not merge: there is no merge (a, x), although (b, b) has key 1 * 2^21 + 1 = 0 * 2^21 + big.
    expect(tok.encode('ax').ids).toEqual([0, big]);
    expect(tok.encode('ab').ids).toEqual([0, 1]);
  });
});

describe('regex classes keep their Unicode meaning (as Oniguruma in Hugging Face tokenizers)', () => {
  // Expected pieces: tokenizers 0.23, pre_tokenizers.Split(Regex(p), 'isolated').pre_tokenize_str(text).
  const text = 'a٣b é_x\u00a0y';
  const cases: Array<[string, string[]]> = [
    ['\\d', ['a', '٣', 'b é_x\u00a0y']],
    ['\\w+', ['a٣b', ' ', 'é_x', '\u00a0', 'y']],
    ['[\\w]+', ['a٣b', ' ', 'é_x', '\u00a0', 'y']],
    ['\\W', ['a٣b', ' ', 'é_x', '\u00a0', 'y']],
  ];
  it.each(cases)('Split(%s)', (pattern, pieces) => {
    const chars = [...new Set([...text])];
    const tok = Tokenizer.fromJSON({
      model: {
        type: 'WordLevel',
        vocab: Object.fromEntries([...chars, ...pieces].map((p, i) => [p, i])),
        unk_token: 'a',
      },
      pre_tokenizer: { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
    });
    expect(tok.encode(text).tokens).toEqual(pieces);
  });
});
