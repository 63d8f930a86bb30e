/**
 * AutoTokenizer: a Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, chat_template.jinja) as one object, the way transformers'
 * `AutoTokenizer.from_pretrained` reads it: the tokenizer.json pipeline plus the named special
 * tokens, `model_max_length`, `padding_side`, `clean_up_tokenization_spaces` and the chat template.
 */

import { openFiles, readJson, readText } from '@attnkit/hub';
import { type ChatMessage, type ChatTool, checkMessages, renderChatTemplate } from './chat-template.js';
import type { FileSource } from './files.js';
import { cleanupTokenization } from './hf/decoders.js';
import type { TokenizerEncoding } from './hf/encoding.js';
import { type EncodeOptions, Tokenizer } from './hf/tokenizer.js';
import { describe } from './models.js';

/** The named special tokens transformers passes to chat templates (its SPECIAL_TOKENS_ATTRIBUTES). */
export const SPECIAL_TOKEN_NAMES = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

/** A named special token. */
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

/** Options of {@link PretrainedTokenizer.applyChatTemplate}. */
export interface ApplyChatTemplateOptions {
  /** End with the header that starts the assistant's reply (transformers' `add_generation_prompt`). Default false. */
  addGenerationPrompt?: boolean;
  /** Tools the model may call, as JSON schemas. */
  tools?: ChatTool[];
  /** Documents for retrieval-augmented templates. */
  documents?: Array<Record<string, unknown>>;
  /** Return token ids (encoded without adding special tokens, as transformers does) instead of text. */
  tokenize?: boolean;
  /** A template string, or the name of one of the tokenizer's named templates. */
  chatTemplate?: string;
  /** More template variables (they override the special tokens, as transformers' kwargs do). */
  variables?: Record<string, unknown>;
}

/** Options of {@link PretrainedTokenizer.decode}. */
export interface PretrainedDecodeOptions {
  /** Leave out special tokens. Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Remove spaces before punctuation (`' .'` -> `'.'`). Default: the folder's
   * `clean_up_tokenization_spaces`, which transformers 5 ignores for BPE models (so does this).
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** The settings read from tokenizer_config.json / special_tokens_map.json. */
export interface TokenizerConfig {
  /** Named special tokens (bos_token, eos_token, ...) that the folder sets. */
  specialTokens: Partial<Record<SpecialTokenName, string>>;
  /** `additional_special_tokens` / `extra_special_tokens`. */
  additionalSpecialTokens: string[];
  /** Longest input the model takes (transformers' `model_max_length`; 1e30 when unset). */
  modelMaxLength: number;
  /** Which side batches are padded on. */
  paddingSide: 'left' | 'right';
  /** Whether decoding cleans up spaces before punctuation (see {@link PretrainedDecodeOptions}). */
  cleanUpTokenizationSpaces: boolean;
  /** The chat template, or named templates (`default`, `tool_use`, ...); null when the folder has none. */
  chatTemplate: string | Record<string, string> | null;
}

const VERY_LARGE_INTEGER = 1e30;

/** A special token as tokenizer_config.json writes it: a string or `{ "content": ... }`. */
function tokenString(v: unknown, field: string, where: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  throw new Error(`${where}: "${field}" must be a token string or { "content": ... }, got ${describe(v)}`);
}

/** Reads the settings of tokenizer_config.json (+ special_tokens_map.json, chat_template.jinja). */
export function readTokenizerConfig(
  config: Record<string, unknown>,
  specialTokensMap: Record<string, unknown> | null = null,
  chatTemplateFile: string | null = null,
  where = 'readTokenizerConfig',
): TokenizerConfig {
  const specialTokens: Partial<Record<SpecialTokenName, string>> = {};
  for (const name of SPECIAL_TOKEN_NAMES) {
    // special_tokens_map.json overrides tokenizer_config.json, as in transformers.
    const v =
      tokenString(specialTokensMap?.[name], `special_tokens_map.json ${name}`, where) ??
      tokenString(config[name], `tokenizer_config.json ${name}`, where);
    if (v !== undefined) specialTokens[name] = v;
  }
  const extra =
    specialTokensMap?.additional_special_tokens ??
    config.additional_special_tokens ??
    config.extra_special_tokens;
  const additionalSpecialTokens: string[] = [];
  if (Array.isArray(extra))
    extra.forEach((t, i) => {
      const s = tokenString(t, `additional_special_tokens[${i}]`, where);
      if (s !== undefined) additionalSpecialTokens.push(s);
    });
  const mml = config.model_max_length ?? VERY_LARGE_INTEGER;
  if (typeof mml !== 'number' || !(mml > 0))
    throw new Error(
      `${where}: tokenizer_config.json "model_max_length" must be a positive number, got ${describe(mml)}`,
    );
  const side = config.padding_side ?? 'right';
  if (side !== 'left' && side !== 'right')
    throw new Error(
      `${where}: tokenizer_config.json "padding_side" must be "left" or "right", got ${describe(side)}`,
    );
  const clean = config.clean_up_tokenization_spaces ?? false;
  if (typeof clean !== 'boolean')
    throw new Error(
      `${where}: tokenizer_config.json "clean_up_tokenization_spaces" must be a boolean, got ${describe(clean)}`,
    );
  let chatTemplate: string | Record<string, string> | null = null;
  const ct = config.chat_template;
  if (typeof ct === 'string') chatTemplate = ct;
  else if (Array.isArray(ct)) {
    const named: Record<string, string> = {};
    ct.forEach((t, i) => {
      const o = t as { name?: unknown; template?: unknown };
      if (typeof o?.name !== 'string' || typeof o.template !== 'string')
        throw new Error(
          `${where}: tokenizer_config.json chat_template[${i}] must be { "name": string, "template": string }, got ${describe(t)}`,
        );
      named[o.name] = o.template;
    });
    chatTemplate = named;
  } else if (ct !== undefined && ct !== null)
    throw new Error(
      `${where}: tokenizer_config.json "chat_template" must be a string or a list of named templates, got ${describe(ct)}`,
    );
  // transformers 5 writes the template to chat_template.jinja; it wins over the config's.
  if (chatTemplateFile !== null)
    chatTemplate =
      chatTemplate !== null && typeof chatTemplate === 'object'
        ? { ...chatTemplate, default: chatTemplateFile }
        : chatTemplateFile;
  return {
    specialTokens,
    additionalSpecialTokens,
    modelMaxLength: mml,
    paddingSide: side,
    cleanUpTokenizationSpaces: clean,
    chatTemplate,
  };
}

/**
 * A tokenizer with its folder's settings: what `AutoTokenizer.fromPretrained` returns.
 *
 * @example
 * ```ts
 * const tok = await AutoTokenizer.fromPretrained('packages/tokenizer/test/fixtures/chat/qwen2'); // a small tokenizer with Qwen2's chat template
 * const messages = [{ role: 'user', content: 'Hi' }];
 * const prompt = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
 * prompt; // => '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
 * const ids = tok.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true });
 * ```
 */
export class PretrainedTokenizer {
  constructor(
    /** The tokenizer.json pipeline. */
    readonly tokenizer: Tokenizer,
    /** The folder's settings. */
    readonly config: TokenizerConfig,
  ) {}

  /** Named special tokens: `bos_token`, `eos_token`, ... (only those the folder sets). */
  get specialTokens(): Partial<Record<SpecialTokenName, string>> {
    return this.config.specialTokens;
  }
  /** The beginning-of-sequence token, if any. */
  get bosToken(): string | undefined {
    return this.config.specialTokens.bos_token;
  }
  /** The end-of-sequence token, if any. */
  get eosToken(): string | undefined {
    return this.config.specialTokens.eos_token;
  }
  /** The padding token, if any. */
  get padToken(): string | undefined {
    return this.config.specialTokens.pad_token;
  }
  /** The id of a token string. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.tokenToId(token);
  }
  /** `model_max_length`. */
  get modelMaxLength(): number {
    return this.config.modelMaxLength;
  }
  /** `padding_side`. */
  get paddingSide(): 'left' | 'right' {
    return this.config.paddingSide;
  }
  /** The chat template (or named templates), or null. */
  get chatTemplate(): string | Record<string, string> | null {
    return this.config.chatTemplate;
  }

  /** Encodes a text (or a pair) with the tokenizer.json pipeline. */
  encode(text: string, pair?: string | null, options?: EncodeOptions): TokenizerEncoding {
    return this.tokenizer.encode(text, pair, options);
  }

  /** Decodes ids; cleans up spaces as the folder says (see {@link PretrainedDecodeOptions}). */
  decode(ids: ArrayLike<number>, options: PretrainedDecodeOptions = {}): string {
    const text = this.tokenizer.decode(ids, { skipSpecialTokens: options.skipSpecialTokens === true });
    const clean =
      options.cleanUpTokenizationSpaces ??
      (this.config.cleanUpTokenizationSpaces && this.tokenizer.model.type !== 'BPE');
    return clean ? cleanupTokenization(text) : text;
  }

  private template(options: ApplyChatTemplateOptions, where: string): string {
    const ct = this.config.chatTemplate;
    const requested = options.chatTemplate;
    if (requested !== undefined && typeof requested !== 'string')
      throw new TypeError(`${where}: options.chatTemplate must be a string, got ${describe(requested)}`);
    if (ct !== null && typeof ct === 'object') {
      if (requested !== undefined) return ct[requested] ?? requested;
      if (options.tools && ct.tool_use) return ct.tool_use;
      if (ct.default) return ct.default;
      throw new Error(
        `${where}: the tokenizer has named chat templates (${Object.keys(ct).join(', ')}) and none is "default"; pass options.chatTemplate`,
      );
    }
    if (requested !== undefined) return requested;
    if (ct === null)
      throw new Error(
        `${where}: this tokenizer has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja); pass options.chatTemplate`,
      );
    return ct;
  }

  /**
   * Renders a conversation with the model's chat template, as transformers'
   * `apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=...)`.
   * Returns the prompt text, or its ids with `tokenize: true`.
   * @throws Error when the template raises (e.g. roles that do not alternate) or is missing.
   */
  applyChatTemplate(
    messages: ChatMessage[],
    options?: ApplyChatTemplateOptions & { tokenize?: false },
  ): string;
  applyChatTemplate(
    messages: ChatMessage[],
    options: ApplyChatTemplateOptions & { tokenize: true },
  ): number[];
  applyChatTemplate(messages: ChatMessage[], options: ApplyChatTemplateOptions = {}): string | number[] {
    const where = 'PretrainedTokenizer.applyChatTemplate';
    checkMessages(messages, where);
    if (options.tools !== undefined && options.tools !== null && !Array.isArray(options.tools))
      throw new TypeError(
        `${where}: options.tools must be an array of tool schemas, got ${describe(options.tools)}`,
      );
    const text = renderChatTemplate(
      this.template(options, where),
      {
        ...this.config.specialTokens,
        ...options.variables,
        messages,
        tools: options.tools ?? null,
        documents: options.documents ?? null,
        add_generation_prompt: options.addGenerationPrompt === true,
      },
      where,
    );
    if (!options.tokenize) return text;
    return this.tokenizer.encode(text, null, { addSpecialTokens: false }).ids;
  }
}

/** Loads tokenizer folders as transformers' `AutoTokenizer` does. */
// biome-ignore lint/complexity/noStaticOnlyClass: the name users know from transformers (AutoTokenizer.from_pretrained).
export class AutoTokenizer {
  /**
   * Reads tokenizer.json (required), tokenizer_config.json, special_tokens_map.json and
   * chat_template.jinja (each optional) from a folder path, a URL or a map of files.
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * // a folder, a URL base ('https://huggingface.co/Qwen/Qwen2-0.5B-Instruct/resolve/main/') or a map of files
   * const file = readFileSync('packages/tokenizer/test/fixtures/chat/qwen2/tokenizer.json', 'utf8');
   * const tok2 = await AutoTokenizer.fromPretrained(new Map([['tokenizer.json', file]]));
   * tok2.encode('Hello world').tokens; // => ['H', 'e', 'll', 'o', 'Ġw', 'o', 'r', 'l', 'd']
   * ```
   */
  static async fromPretrained(source: FileSource): Promise<PretrainedTokenizer> {
    const where = 'AutoTokenizer.fromPretrained';
    if (source === null || source === undefined)
      throw new TypeError(
        `${where}: source must be a folder path, a URL or a map of files, got ${describe(source)}`,
      );
    const files = openFiles(source, where);
    const [tokJson, cfg, stm, jinja] = await Promise.all([
      readText(files, 'tokenizer.json', where, { optional: true }),
      readJson(files, 'tokenizer_config.json', where, { optional: true }),
      readJson(files, 'special_tokens_map.json', where, { optional: true }),
      readText(files, 'chat_template.jinja', where, { optional: true }),
    ]);
    if (tokJson === null)
      throw new Error(
        `${where}: the source has no tokenizer.json (only fast tokenizers are supported; a folder with just vocab files needs Tokenizer.fromVocabAndMerges)`,
      );
    const tokenizer = Tokenizer.fromJSON(tokJson);
    const config = readTokenizerConfig(cfg ?? {}, stm, jinja, where);
    return new PretrainedTokenizer(tokenizer, config);
  }
}
