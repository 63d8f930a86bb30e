import { readFileSync } from 'node:fs';
import { Tokenizer } from '@attnkit/tokenizer';
import { getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { gpt2TokenizerJson } from './helpers/hf-from-tiktoken.js';

describe('Llama-2-style tokenizer.json (Prepend/Replace ▁ normalizer, BPE with byte fallback, ByteFallback decoder)', () => {
  // Tiny vocabulary; expected ids derived by hand from the merge list (fixture), see comments.
  const tok = Tokenizer.fromJSON(
    readFileSync(new URL('./fixtures/llama2-style.tokenizer.json', import.meta.url), 'utf8'),
  );
  const id = (t: string) => tok.tokenToId(t) as number;

  it('merges by merge rank: "hello world" -> <s> ▁hello ▁world', () => {
    const enc = tok.encode('hello world');
    expect(enc.tokens).toEqual(['<s>', '▁hello', '▁world']);
    expect(enc.ids).toEqual([1, id('▁hello'), id('▁world')]);
    // The prepended ▁ is aligned with the first character.
    expect(enc.offsets).toEqual([
      [0, 0],
      [0, 5],
      [5, 11],
    ]);
  });

  it('falls back to <0xXX> byte tokens for unknown characters and decodes them back', () => {
    const enc = tok.encode('hi 😀');
    expect(enc.tokens).toEqual(['<s>', '▁h', '<0x69>', '▁', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
    expect(enc.ids).toEqual([1, id('▁h'), 3 + 0x69, id('▁'), 3 + 0xf0, 3 + 0x9f, 3 + 0x98, 3 + 0x80]);
    expect(enc.offsets.slice(1)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
      [3, 5],
      [3, 5],
      [3, 5],
    ]);
    expect(tok.decode(enc.ids, { skipSpecialTokens: true })).toBe('hi 😀');
    // Invalid byte sequences decode to one U+FFFD per byte.
    expect(tok.decode([3 + 0xf0, 3 + 0x9f])).toBe('\ufffd\ufffd');
  });
});

describe('RoBERTa-style tokenizer.json (ByteLevel with add_prefix_space, RobertaProcessing, trimmed offsets)', () => {
  const json = gpt2TokenizerJson() as Record<string, unknown>;
  const tok = Tokenizer.fromJSON({
    ...json,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: true,
    },
  });
  const ref = tiktokenGetEncoding('r50k_base');

  it('adds the prefix space, <s> … </s>, and trims spaces off offsets', () => {
    const enc = tok.encode('Hello world');
    expect(enc.ids).toEqual([0, ...ref.encode(' Hello world'), 2]);
    expect(enc.offsets).toEqual([
      [0, 0],
      [0, 5],
      [6, 11],
      [0, 0],
    ]);
  });

  it('encodes pairs as <s> A </s></s> B </s> with type ids 0', () => {
    const enc = tok.encode('Hello', 'world');
    expect(enc.ids).toEqual([0, ...ref.encode(' Hello'), 2, 2, ...ref.encode(' world'), 2]);
    expect(enc.typeIds.every((t) => t === 0)).toBe(true);
    expect(enc.offsets[4]).toEqual([0, 5]);
  });
});
