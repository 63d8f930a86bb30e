import { readFileSync } from 'node:fs';
import { Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';

// A BERT-style tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing,
// WordPiece decoder) with a tiny vocabulary. Expected ids are derived by hand from BERT's rules.
const json = readFileSync(new URL('./fixtures/bert-wordpiece.tokenizer.json', import.meta.url), 'utf8');
const tok = Tokenizer.fromJSON(json);
const body = (text: string) => tok.encode(text, null, { addSpecialTokens: false });

describe('WordPiece (BERT) rules', () => {
  it('lowercases, splits punctuation and adds [CLS]/[SEP] with offsets into the input', () => {
    const enc = tok.encode('Hello, World!');
    expect(enc.ids).toEqual([2, 5, 8, 6, 7, 3]);
    expect(enc.tokens).toEqual(['[CLS]', 'hello', ',', 'world', '!', '[SEP]']);
    expect(enc.offsets).toEqual([
      [0, 0],
      [0, 5],
      [5, 6],
      [7, 12],
      [12, 13],
      [0, 0],
    ]);
    expect(enc.specialTokensMask).toEqual([1, 0, 0, 0, 0, 1]);
    expect(enc.wordIds).toEqual([null, 0, 1, 2, 3, null]);
  });

  it('splits words greedily longest-first with ## continuations', () => {
    const enc = body('unaffable runnings');
    expect(enc.tokens).toEqual(['un', '##aff', '##able', 'run', '##ning', '##s']);
    expect(enc.offsets).toEqual([
      [0, 2],
      [2, 5],
      [5, 9],
      [10, 13],
      [13, 17],
      [17, 18],
    ]);
  });

  it('makes a whole word [UNK] when any part is missing or it is too long', () => {
    expect(body('abab').ids).toEqual([1]); // a ##b, then no "##a": the whole word is unknown
    expect(body('ab').ids).toEqual([29, 30]);
    expect(body('xyz').offsets).toEqual([[0, 3]]);
    expect(body('unaffableunaffable').ids).toEqual([1]); // 18 characters > max_input_chars_per_word 12
  });

  it('strips accents, pads CJK ideographs and cleans control characters', () => {
    expect(body('Café NAÏVE').tokens).toEqual(['cafe', 'naive']);
    expect(body('Café NAÏVE').offsets).toEqual([
      [0, 4],
      [5, 10],
    ]);
    expect(body('中国').tokens).toEqual(['中', '国']);
    expect(body('中国').offsets).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(body('hello\tworld\u0007\u0000!').tokens).toEqual(['hello', 'world', '!']);
  });

  it('keeps added special tokens like [MASK] whole', () => {
    expect(body('the [MASK] world').ids).toEqual([12, 4, 6]);
    expect(body('the [MASK] world').offsets[1]).toEqual([4, 10]);
  });

  it('encodes pairs with token type ids and decodes with the WordPiece decoder', () => {
    const enc = tok.encode('How are you?', 'I am.');
    expect(enc.ids).toEqual([2, 25, 26, 27, 28, 3, 18, 19, 17, 3]);
    expect(enc.typeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(enc.sequenceIds).toEqual([null, 0, 0, 0, 0, null, 1, 1, 1, null]);
    expect(tok.decode(enc.ids, { skipSpecialTokens: true })).toBe('how are you? i am.');
    expect(tok.decode([2, 9, 10, 11, 8, 12, 3])).toBe('[CLS] unaffable, the [SEP]');
  });

  it('pads a batch to the longest and truncates to a maximum length', () => {
    tok.enablePadding({ padToken: '[PAD]', padId: 0 });
    const [a, b] = tok.encodeBatch(['hello', 'hello world !']);
    expect(a.ids).toEqual([2, 5, 3, 0, 0]);
    expect(a.attentionMask).toEqual([1, 1, 1, 0, 0]);
    expect(b.ids).toEqual([2, 5, 6, 7, 3]);
    tok.noPadding();
    tok.enableTruncation({ maxLength: 4 });
    expect(tok.encode('hello world ! hello').ids).toEqual([2, 5, 6, 3]);
    // A pair over budget: 4 - 3 special tokens leaves 1; both inputs exceed half of it, so the
    // longer one ('how are you') keeps the odd token.
    expect(tok.encode('hello world', 'how are you').ids).toEqual([2, 3, 25, 3]);
    tok.enableTruncation({ maxLength: 7 });
    // Budget 4: the shorter input (2 tokens) fits in half, the longer one gets the rest.
    expect(tok.encode('hello world', 'how are you ?').ids).toEqual([2, 5, 6, 3, 25, 26, 3]);
    tok.noTruncation();
  });
});

describe('malformed tokenizer.json', () => {
  const base = JSON.parse(json);
  it('names the problem', () => {
    expect(() => Tokenizer.fromJSON('{not json')).toThrow(/not valid JSON/);
    expect(() => Tokenizer.fromJSON({})).toThrow(/no "model"/);
    expect(() => Tokenizer.fromJSON({ ...base, model: { ...base.model, type: 'Unknown' } })).toThrow(
      /unsupported model type "Unknown"/,
    );
    expect(() => Tokenizer.fromJSON({ ...base, model: { ...base.model, vocab: { a: -1 } } })).toThrow(
      /"a" has id -1/,
    );
    expect(() => Tokenizer.fromJSON({ ...base, normalizer: { type: 'Nope' } })).toThrow(
      /unsupported normalizer type "Nope"/,
    );
    expect(() =>
      Tokenizer.fromJSON({
        ...base,
        pre_tokenizer: { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' },
      }),
    ).toThrow(/cannot compile/);
    expect(() =>
      Tokenizer.fromJSON({ version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a c'] } }),
    ).toThrow(/merges\[0\].*"c" is not in the vocabulary/);
    expect(() => Tokenizer.fromJSON({ ...base, added_tokens: [{ content: 5 }] })).toThrow(
      /added_tokens\[0\]/,
    );
  });
  it('rejects bad arguments', () => {
    expect(() => tok.encode(5 as unknown as string)).toThrow(/text must be a string, got number 5/);
    expect(() => tok.decode([999])).toThrow(/ids\[0\] is number 999/);
  });
});
