import { readFileSync } from 'node:fs';
import { Tokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';

// Expected values: Hugging Face tokenizers (the Rust library) on the same tokenizer.json files,
// written by scripts/make_pair_fixtures.py.
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/pairs/${name}`, import.meta.url), 'utf8'));

interface Case {
  error?: string;
  ids: number[];
  type_ids: number[];
  attention_mask: number[];
  special_tokens_mask: number[];
  offsets: Array<[number, number]>;
  decoded: string;
}
interface Variant {
  name: string;
  truncation: unknown;
  padding: unknown;
  cases: Case[];
}

const KINDS = [
  ['bytelevel', 'ByteLevel post-processor (GPT-2)'],
  ['template-bytelevel', 'TemplateProcessing over byte-level BPE (Llama 3 style)'],
  ['template-wordpiece', 'TemplateProcessing over WordPiece'],
  ['bert', 'BertProcessing'],
  ['roberta', 'RobertaProcessing'],
] as const;

describe.each(KINDS)('encode(text, pair) equals Hugging Face tokenizers: %s (%s)', (name) => {
  const base = read(`${name}.tokenizer.json`);
  const { inputs, variants } = read(`${name}.cases.json`) as {
    inputs: Array<[string, string | null]>;
    variants: Variant[];
  };
  it.each(variants.map((v) => [v.name, v] as const))('%s', (_, variant) => {
    const tok = Tokenizer.fromJSON({ ...base, truncation: variant.truncation, padding: variant.padding });
    variant.cases.forEach((c, i) => {
      const [text, pair] = inputs[i];
      const what = `${name}/${variant.name} case ${i}: ${JSON.stringify([text, pair])}`;
      if (c.error !== undefined) {
        expect(() => tok.encode(text, pair), what).toThrow(/truncate/);
        return;
      }
      const enc = tok.encode(text, pair);
      expect(enc.ids, what).toEqual(c.ids);
      expect(enc.typeIds, what).toEqual(c.type_ids);
      expect(enc.attentionMask, what).toEqual(c.attention_mask);
      expect(enc.specialTokensMask, what).toEqual(c.special_tokens_mask);
      expect(enc.offsets, what).toEqual(c.offsets);
      expect(tok.decode(enc.ids, { skipSpecialTokens: true }), what).toBe(c.decoded);
    });
  });
});
