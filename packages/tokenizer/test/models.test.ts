import { encodingForModel, encodingNameForModel, getEncoding } from '@attnkit/tokenizer';
import { getEncodingNameForModel, getEncoding as tiktokenGetEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';

const MODELS = [
  'gpt2',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4o-2024-08-06',
  'o1',
  'o3-mini',
  'o4-mini',
  'gpt-4.1',
  'gpt-4.1-nano',
  'gpt-5',
  'gpt-4',
  'gpt-4-32k',
  'gpt-4-turbo',
  'gpt-3.5-turbo',
  'gpt-3.5-turbo-0613',
  'gpt-35-turbo',
  'text-embedding-ada-002',
  'text-embedding-3-small',
  'text-davinci-003',
  'code-davinci-002',
  'text-davinci-edit-001',
  'davinci',
  'curie',
  'ada',
  'text-similarity-babbage-001',
] as const;

describe('model -> encoding', () => {
  it('agrees with js-tiktoken on known model names', () => {
    for (const m of MODELS) expect([m, encodingNameForModel(m)]).toEqual([m, getEncodingNameForModel(m)]);
  });
  it('resolves dated snapshots and fine-tunes by prefix, and rejects unknown models', async () => {
    expect(encodingNameForModel('gpt-4o-2099-01-01')).toBe('o200k_base');
    expect(encodingNameForModel('ft:gpt-4o-mini:acme::abc123')).toBe('o200k_base');
    expect(encodingNameForModel('gpt-4-0125-preview')).toBe('cl100k_base');
    // tiktoken (Python) maps the 2023 base models to cl100k_base (js-tiktoken 1.0.21 differs here).
    expect(encodingNameForModel('davinci-002')).toBe('cl100k_base');
    expect(encodingNameForModel('babbage-002')).toBe('cl100k_base');
    expect(() => encodingNameForModel('llama-3')).toThrow(/unknown model "llama-3"/);
    await expect(encodingForModel('nope')).rejects.toThrow(/unknown model/);
    expect((await encodingForModel('gpt-4o')).name).toBe('o200k_base');
  });
  it('p50k_edit adds the FIM special tokens (parity with js-tiktoken)', async () => {
    const enc = await getEncoding('p50k_edit');
    const text = '<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>';
    expect(enc.encode(text, { allowedSpecial: 'all' })).toEqual(
      tiktokenGetEncoding('p50k_edit').encode(text, 'all'),
    );
  });
});
