import { readFileSync } from 'node:fs';
import { StreamingDecoder, Tokenizer } from '@attnkit/tokenizer';
import { getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { beforeAll, describe, expect, it } from 'vitest';
import { gpt2TokenizerJson, llama3StyleTokenizerJson } from './helpers/hf-from-tiktoken.js';
import { randomTexts } from './helpers/random-text.js';

const corpus = readFileSync(new URL('./fixtures/corpus.txt', import.meta.url), 'utf8');
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
const random = randomTexts(4242, 3000).filter(wellFormed);

describe('GPT-2 tokenizer.json (ByteLevel BPE built from r50k_base)', () => {
  let tok: Tokenizer;
  const ref = tiktokenGetEncoding('r50k_base');
  beforeAll(() => {
    tok = Tokenizer.fromJSON(JSON.stringify(gpt2TokenizerJson()));
  }, 60_000);

  it('gives js-tiktoken r50k_base ids on the corpus and random strings, and decodes back', {
    timeout: 60_000,
  }, () => {
    for (const text of [corpus, ...corpus.split('\n'), ...random]) {
      const enc = tok.encode(text);
      expect(enc.ids).toEqual(ref.encode(text, [], []));
      expect(tok.decode(enc.ids)).toBe(text);
    }
  });

  it('splits out <|endoftext|> as an added token and skips it when asked', () => {
    const enc = tok.encode('Hello<|endoftext|> world');
    expect(enc.ids).toEqual(ref.encode('Hello<|endoftext|> world', 'all'));
    expect(tok.decode(enc.ids)).toBe('Hello<|endoftext|> world');
    expect(tok.decode(enc.ids, { skipSpecialTokens: true })).toBe('Hello world');
  });

  it('reports GPT-2 tokens and character offsets (offsets include the leading space when trim_offsets is false)', () => {
    const enc = tok.encode('Hello my friend, 東京');
    expect(enc.tokens.slice(0, 4)).toEqual(['Hello', 'Ġmy', 'Ġfriend', ',']);
    expect(enc.offsets.slice(0, 4)).toEqual([
      [0, 5],
      [5, 8],
      [8, 15],
      [15, 16],
    ]);
    // Every offset slices the input to the text its token decodes to (modulo split characters).
    const text = 'Hello my friend, 東京';
    for (let i = 0; i < enc.ids.length; i++) {
      const piece = tok.decode([enc.ids[i]]);
      if (!piece.includes('\ufffd')) expect(text.slice(...enc.offsets[i])).toBe(piece);
    }
    expect(enc.attentionMask.every((m) => m === 1)).toBe(true);
  });

  it('loads the same tokenizer from vocab.json + merges.txt', () => {
    const j = gpt2TokenizerJson() as { model: { vocab: Record<string, number>; merges: string[] } };
    const t2 = Tokenizer.fromVocabAndMerges(
      JSON.stringify(j.model.vocab),
      `#version: 0.2\n${j.model.merges.join('\n')}\n`,
    );
    expect(t2.encode(corpus).ids).toEqual(ref.encode(corpus, [], []));
  });

  it('gives the same encoding through the general pipeline (a no-op normalizer disables the byte-level fast path)', () => {
    const general = Tokenizer.fromJSON({
      ...gpt2TokenizerJson(),
      normalizer: { type: 'Sequence', normalizers: [] },
    });
    for (const text of [corpus, ...random.slice(0, 300)]) {
      const a = tok.encode(text);
      const b = general.encode(text);
      expect(b.ids).toEqual(a.ids);
      expect(b.offsets).toEqual(a.offsets);
      expect(b.wordIds).toEqual(a.wordIds);
    }
  });

  it('encodes long inputs (hundreds of thousands of tokens) without stack overflow', {
    timeout: 60_000,
  }, async () => {
    const { getEncoding } = await import('@attnkit/tokenizer');
    const long = corpus.repeat(120);
    const ids = tok.encode(long).ids;
    expect(ids).toEqual((await getEncoding('r50k_base')).encode(long, { disallowedSpecial: [] }));
    expect(ids.length).toBeGreaterThan(100_000);
  });

  it('streams decoded text token by token without partial characters', () => {
    const text = '👨‍👩‍👧 données 東京';
    const stream = new StreamingDecoder(tok);
    const out = tok.encode(text).ids.map((id) => stream.push(id));
    expect(out.join('') + stream.flush()).toBe(text);
    for (const p of out) expect(p).not.toContain('\ufffd');
  });
});

describe('Llama-3-style tokenizer.json (Split regex with (?i:...), ByteLevel, ignore_merges, template) on cl100k_base', () => {
  let tok: Tokenizer;
  const ref = tiktokenGetEncoding('cl100k_base');
  beforeAll(() => {
    tok = Tokenizer.fromJSON(llama3StyleTokenizerJson());
  }, 120_000);

  it('gives [BOS] + js-tiktoken cl100k_base ids', { timeout: 60_000 }, () => {
    for (const text of [corpus, ...corpus.split('\n'), ...random]) {
      const enc = tok.encode(text);
      expect(enc.ids).toEqual([100257, ...ref.encode(text, [], [])]);
      expect(tok.decode(enc.ids, { skipSpecialTokens: true })).toBe(text);
    }
  });

  it('encodes pairs with type ids from the template and no special tokens when asked', () => {
    const enc = tok.encode('Question?', 'Answer.');
    const a = ref.encode('Question?');
    const b = ref.encode('Answer.');
    expect(enc.ids).toEqual([100257, ...a, 100257, ...b]);
    expect(enc.typeIds).toEqual([0, ...a.map(() => 0), 1, ...b.map(() => 1)]);
    expect(enc.specialTokensMask).toEqual([1, ...a.map(() => 0), 1, ...b.map(() => 0)]);
    expect(enc.sequenceIds).toEqual([null, ...a.map(() => 0), null, ...b.map(() => 1)]);
    expect(tok.encode('Question?', null, { addSpecialTokens: false }).ids).toEqual(a);
  });

  it('truncates and pads', () => {
    tok.enableTruncation({ maxLength: 6 });
    tok.enablePadding({ length: 8, padId: 0 });
    const enc = tok.encode('one two three four five six seven eight');
    expect(enc.ids.slice(0, 6)).toEqual([
      100257,
      ...ref.encode('one two three four five six seven eight').slice(0, 5),
    ]);
    expect(enc.ids.slice(6)).toEqual([0, 0]);
    expect(enc.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(enc.overflowing.length).toBeGreaterThan(0);
    const pair = tok.encode('a b c d e f g h', 'x y');
    // Longest first: 6 - 2 specials = 4 tokens; 8 + 2 shrinks from the longer side to 2 + 2.
    expect(pair.ids.slice(0, 6)).toEqual([100257, ...ref.encode('a b'), 100257, ...ref.encode('x y')]);
    tok.noTruncation();
    tok.noPadding();
  });
});
