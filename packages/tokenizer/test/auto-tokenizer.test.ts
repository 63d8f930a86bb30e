import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, type ChatMessage } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';

// Expected values: transformers' AutoTokenizer.from_pretrained(folder).apply_chat_template(...) on
// the same folders (scripts/make_chat_fixtures.py). The templates are those the models ship.
const root = new URL('./fixtures/chat/', import.meta.url);
const MODELS = ['llama3', 'llama3.1', 'mistral', 'mistral-v0.3', 'qwen2', 'qwen2.5', 'gemma'];

interface Recorded<T> {
  value?: T;
  error?: string;
}
interface Cases {
  chats: Record<string, ChatMessage[]>;
  tools: Array<Record<string, unknown>>;
  cases: Array<{
    chat: string;
    add_generation_prompt: boolean;
    tools: boolean;
    text: Recorded<string>;
    ids: Recorded<number[]>;
  }>;
  encodings: Array<{ text: string; ids: number[]; decoded: string; decoded_all: string }>;
  config: Record<string, unknown>;
}

describe.each(MODELS)('%s: AutoTokenizer + applyChatTemplate equal transformers', (name) => {
  const folder = fileURLToPath(new URL(`${name}/`, root));
  const data = JSON.parse(readFileSync(`${folder}cases.json`, 'utf8')) as Cases;

  it('reads the special tokens, model_max_length, padding side and clean-up setting', async () => {
    const tok = await AutoTokenizer.fromPretrained(folder);
    const { model_max_length, padding_side, clean_up_tokenization_spaces, ...special } = data.config;
    expect(tok.specialTokens).toEqual(special);
    expect(tok.modelMaxLength).toBe(model_max_length);
    expect(tok.paddingSide).toBe(padding_side);
    expect(tok.config.cleanUpTokenizationSpaces).toBe(clean_up_tokenization_spaces);
    for (const e of data.encodings) {
      expect(tok.encode(e.text).ids).toEqual(e.ids);
      expect(tok.decode(e.ids, { skipSpecialTokens: true })).toBe(e.decoded);
      expect(tok.decode(e.ids)).toBe(e.decoded_all);
    }
  });

  it('renders every recorded conversation (text and ids), or fails where transformers fails', async () => {
    const tok = await AutoTokenizer.fromPretrained(folder);
    expect(data.cases.length).toBeGreaterThanOrEqual(8);
    for (const c of data.cases) {
      const what = `${name} ${c.chat} addGenerationPrompt=${c.add_generation_prompt} tools=${c.tools}`;
      const options = {
        addGenerationPrompt: c.add_generation_prompt,
        tools: c.tools ? data.tools : undefined,
      };
      const messages = data.chats[c.chat];
      if (c.text.error !== undefined) {
        // The template's own raise_exception message.
        expect(() => tok.applyChatTemplate(messages, options), what).toThrow(c.text.error);
        continue;
      }
      expect(tok.applyChatTemplate(messages, options), what).toBe(c.text.value);
      expect(tok.applyChatTemplate(messages, { ...options, tokenize: true }), what).toEqual(c.ids.value);
    }
  });
});

describe('AutoTokenizer sources and settings', () => {
  const folder = fileURLToPath(new URL('qwen2/', root));
  const files = () =>
    new Map(readdirSync(folder).map((f) => [`qwen2/${f}`, readFileSync(`${folder}${f}`, 'utf8')]));
  const chat: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

  it('reads a map of files (as a browser folder picker gives them) and a file: URL like the folder', async () => {
    const fromFolder = await AutoTokenizer.fromPretrained(folder);
    const fromMap = await AutoTokenizer.fromPretrained(files());
    const fromUrl = await AutoTokenizer.fromPretrained(new URL('qwen2', root));
    const expected = fromFolder.applyChatTemplate(chat, { addGenerationPrompt: true });
    expect(fromMap.applyChatTemplate(chat, { addGenerationPrompt: true })).toBe(expected);
    expect(fromUrl.applyChatTemplate(chat, { addGenerationPrompt: true })).toBe(expected);
    expect(expected.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('takes special tokens from special_tokens_map.json over tokenizer_config.json', async () => {
    const map = files();
    map.set('qwen2/special_tokens_map.json', JSON.stringify({ eos_token: { content: '<|endoftext|>' } }));
    const tok = await AutoTokenizer.fromPretrained(map);
    expect(tok.eosToken).toBe('<|endoftext|>');
    expect(tok.padToken).toBe('<|endoftext|>');
  });

  it('uses named templates (tool_use when tools are given) and refuses a missing template by name', async () => {
    const map = files();
    const config = JSON.parse(map.get('qwen2/tokenizer_config.json') as string);
    config.chat_template = [
      { name: 'default', template: 'D{{ messages[0].content }}' },
      { name: 'tool_use', template: 'T{{ tools | length }}' },
    ];
    map.set('qwen2/tokenizer_config.json', JSON.stringify(config));
    const tok = await AutoTokenizer.fromPretrained(map);
    expect(tok.applyChatTemplate(chat)).toBe('DHi');
    expect(tok.applyChatTemplate(chat, { tools: [{ type: 'function' }] })).toBe('T1');
    delete config.chat_template;
    map.set('qwen2/tokenizer_config.json', JSON.stringify(config));
    const bare = await AutoTokenizer.fromPretrained(map);
    expect(() => bare.applyChatTemplate(chat)).toThrow(/has no chat template/);
  });

  it('names the problem: no tokenizer.json, bad config fields, bad messages', async () => {
    await expect(AutoTokenizer.fromPretrained(new Map())).rejects.toThrow(/no tokenizer.json/);
    const map = files();
    map.set('qwen2/tokenizer_config.json', JSON.stringify({ padding_side: 'middle' }));
    await expect(AutoTokenizer.fromPretrained(map)).rejects.toThrow(
      /"padding_side" must be "left" or "right"/,
    );
    const tok = await AutoTokenizer.fromPretrained(files());
    expect(() => tok.applyChatTemplate('hi' as unknown as ChatMessage[])).toThrow(
      /messages must be an array/,
    );
    expect(() => tok.applyChatTemplate([{ content: 'x' } as unknown as ChatMessage])).toThrow(
      /messages\[0\]/,
    );
  });
});
