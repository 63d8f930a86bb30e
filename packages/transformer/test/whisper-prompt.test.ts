// Whisper's decoder prompt against transformers 5.18's WhisperTokenizerFast.prefix_tokens
// (scripts/seq2seq_refs.py): a tokenizer.json with Whisper's special tokens in Whisper's order,
// loaded with @attnkit/tokenizer's AutoTokenizer, gives the same prompt for language codes and
// names, both tasks, with and without timestamps; its special tokens decode (or are skipped) as
// transformers decodes them.
import { AutoTokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import { WHISPER_LANGUAGES, whisperPromptIds } from '../src/index.js';
import { loadFixture } from './helpers.js';

interface PromptCase {
  language: string | null;
  task: 'transcribe' | 'translate' | null;
  timestamps: boolean;
  prefix: number[];
}

describe("whisperPromptIds equals transformers' prefix_tokens", () => {
  it('for codes, names, both tasks, with and without timestamps', async () => {
    const fx = loadFixture('seq2seq-whisper-tokenizer');
    const tok = await AutoTokenizer.fromPretrained(fx.dir);
    const cases = fx.meta.prompts as PromptCase[];
    expect(cases.length).toBe(6);
    for (const c of cases) {
      expect(whisperPromptIds(tok, c), JSON.stringify(c)).toEqual(c.prefix);
    }
    const ids = fx.meta.encoded as number[];
    expect(tok.decode(ids)).toBe(fx.meta.decoded);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(fx.meta.decoded_skip);
    expect(WHISPER_LANGUAGES.length).toBe(100);
  });

  it('refuses unknown languages and tasks, and tokenizers without Whisper tokens', async () => {
    const tok = await AutoTokenizer.fromPretrained(loadFixture('seq2seq-whisper-tokenizer').dir);
    expect(() => whisperPromptIds(tok, { language: 'xx' })).toThrow(/unsupported language 'xx'.*en, zh/);
    expect(() => whisperPromptIds(tok, { language: 'klingon' })).toThrow(/english/);
    expect(() => whisperPromptIds(tok, { task: 'summarize' as never })).toThrow(/transcribe/);
    expect(() => whisperPromptIds({ tokenToId: () => undefined })).toThrow(/<\|startoftranscript\|>/);
  });
});
