// pipeline('text-generation'): prompt text or a chat ─▶ token ids (the chat template for chats)
//   ─▶ generate() / stream() of @attnkit/sampling ─▶ decoded text, as transformers.js returns it.
import { type GenerationConfig, generate, stream } from '@attnkit/sampling';
import type { ChatMessage, PretrainedTokenizer } from '@attnkit/tokenizer';
import { describe } from '../internal.js';
import type { PretrainedTasks } from '../loading.js';

/** The causal language models text generation runs (GPT-2, Llama and the families built on them). */
export type TextGenerationModel = PretrainedTasks['text-generation'];

/** Options of a text-generation call: generation settings (camelCase HF names) and what to return. */
export interface TextGenerationOptions extends Omit<GenerationConfig, 'tokenizer'> {
  /**
   * Return the prompt followed by the new text (true, the default for text prompts) or the new
   * text alone (false), as transformers' `return_full_text`. A chat always returns the
   * conversation with the reply appended.
   */
  returnFullText?: boolean;
  /**
   * Let the tokenizer add its special tokens (a BOS, ...) to a text prompt. Default true, as
   * transformers' pipeline (which uses the tokenizer's default; transformers.js passes false).
   * Chats are encoded without: their template writes the special tokens.
   */
  addSpecialTokens?: boolean;
  /** Called with each new piece of text as it is generated (one prompt at a time). */
  streamer?: (text: string) => void;
}

/** One generated sequence for a text prompt. */
export interface TextGenerationOutput {
  generated_text: string;
}

/**
 * One generated sequence for a chat: the conversation with the assistant's reply appended, or, when
 * the chat ends with an assistant message (a prefill, continued as transformers'
 * `continue_final_message`), with the reply added to that message's content.
 */
export interface ChatGenerationOutput {
  generated_text: ChatMessage[];
}

/**
 * A text-generation pipeline: call it with a prompt, prompts, a chat or chats.
 *
 * @example
 * ```ts
 * // a causal LM folder with tokenizer files and a chat template (here a tiny random GPT-2)
 * const gen = await pipeline('text-generation', 'packages/transformer/test/fixtures/pipe-gpt2');
 * const [out] = await gen('Once upon a time', { maxNewTokens: 20 });
 * const chat = await gen([{ role: 'user', content: 'Hi' }], { maxNewTokens: 20 });
 * chat[0].generated_text.at(-1)?.role; // => 'assistant'
 * let streamed = '';
 * for await (const piece of gen.stream('Once upon a time', { maxNewTokens: 20 })) streamed += piece;
 * ```
 */
export interface TextGenerationPipeline {
  (text: string, options?: TextGenerationOptions): Promise<TextGenerationOutput[]>;
  (texts: string[], options?: TextGenerationOptions): Promise<TextGenerationOutput[][]>;
  (messages: ChatMessage[], options?: TextGenerationOptions): Promise<ChatGenerationOutput[]>;
  (chats: ChatMessage[][], options?: TextGenerationOptions): Promise<ChatGenerationOutput[][]>;
  /** Streams the new text of one prompt or chat, piece by piece (whole characters). */
  stream(input: string | ChatMessage[], options?: TextGenerationOptions): AsyncGenerator<string>;
  readonly task: 'text-generation';
  readonly model: TextGenerationModel;
  readonly tokenizer: PretrainedTokenizer;
  /** Frees the model's weights. */
  dispose(): void;
}

const OP = "pipeline('text-generation')";

type Prepared = { prompts: string[]; chats: ChatMessage[][] | null; ids: number[][] };

/** Whether a chat ends with an assistant message that generation continues (a prefill). */
function continues(chat: ChatMessage[]): boolean {
  return chat[chat.length - 1].role === 'assistant';
}

/** The last message's text (the last text part of a list of parts). */
function finalText(chat: ChatMessage[]): string {
  const content = chat[chat.length - 1].content;
  if (typeof content === 'string') return content;
  const parts = Array.isArray(content) ? content.filter((p) => p.type === 'text') : [];
  const text = parts.at(-1)?.text;
  if (typeof text !== 'string')
    throw new TypeError(`${OP}: the final assistant message to continue has no text content`);
  return text;
}

/**
 * The prompt of a chat: the template with the assistant header after it, or, for a chat ending in
 * an assistant message, the template cut right after that message's text (as transformers'
 * apply_chat_template(continue_final_message=True) does).
 */
function renderChat(tokenizer: PretrainedTokenizer, chat: ChatMessage[]): string {
  if (!continues(chat)) return tokenizer.applyChatTemplate(chat, { addGenerationPrompt: true });
  const rendered = tokenizer.applyChatTemplate(chat, { addGenerationPrompt: false });
  const final = finalText(chat).trim();
  const at = rendered.lastIndexOf(final);
  if (at < 0)
    throw new Error(
      `${OP}: the chat ends with an assistant message to continue, but its text does not appear in the chat template's output`,
    );
  return rendered.slice(0, at + final.length);
}

function isChat(x: unknown): x is ChatMessage[] {
  return (
    Array.isArray(x) && x.length > 0 && typeof x[0] === 'object' && x[0] !== null && !Array.isArray(x[0])
  );
}

/** Prompts, chats and their ids; `batched` tells whether a list of inputs was given. */
function prepare(
  tokenizer: PretrainedTokenizer,
  input: unknown,
  addSpecialTokens: boolean,
): Prepared & { batched: boolean } {
  let batched = false;
  let prompts: string[];
  let chats: ChatMessage[][] | null = null;
  if (typeof input === 'string') prompts = [input];
  else if (isChat(input)) chats = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) {
    batched = true;
    prompts = input;
  } else if (Array.isArray(input) && input.length > 0 && input.every(isChat)) {
    batched = true;
    chats = input;
  } else {
    throw new TypeError(
      `${OP}: the input must be a string, a list of strings, a chat (a list of { role, content } messages) or a list of chats, got ${describe(input)}`,
    );
  }
  if (chats) {
    // the template writes the special tokens itself: encode without adding more (as transformers)
    prompts = chats.map((c) => renderChat(tokenizer, c));
    addSpecialTokens = false;
  }
  const ids = prompts!.map((p) => tokenizer.encode(p, null, { addSpecialTokens }).ids);
  ids.forEach((r, i) => {
    if (r.length === 0) throw new Error(`${OP}: prompt ${i} encodes to no token; give some text`);
  });
  return { prompts: prompts!, chats, ids, batched };
}

function splitOptions(options: TextGenerationOptions | undefined): {
  config: GenerationConfig;
  returnFullText: boolean | undefined;
  addSpecialTokens: boolean;
  streamer: ((text: string) => void) | undefined;
} {
  if (options !== undefined && (options === null || typeof options !== 'object'))
    throw new TypeError(`${OP}: options must be an object, got ${describe(options)}`);
  const { returnFullText, addSpecialTokens, streamer, ...config } = options ?? {};
  if (returnFullText !== undefined && typeof returnFullText !== 'boolean')
    throw new TypeError(`${OP}: returnFullText must be a boolean, got ${describe(returnFullText)}`);
  if (addSpecialTokens !== undefined && typeof addSpecialTokens !== 'boolean')
    throw new TypeError(`${OP}: addSpecialTokens must be a boolean, got ${describe(addSpecialTokens)}`);
  if (streamer !== undefined && typeof streamer !== 'function')
    throw new TypeError(
      `${OP}: streamer must be a function (text: string) => void, got ${describe(streamer)}`,
    );
  return { config, returnFullText, addSpecialTokens: addSpecialTokens ?? true, streamer };
}

/** Builds the pipeline around a loaded model and tokenizer. */
export function textGenerationPipeline(
  model: TextGenerationModel,
  tokenizer: PretrainedTokenizer,
): TextGenerationPipeline {
  const decode = (ids: readonly number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });

  /** The new tokens of every output row (n rows per prompt), padding and the prompt cut off. */
  async function run(
    p: Prepared,
    config: GenerationConfig,
    streamer?: (t: string) => void,
  ): Promise<number[][]> {
    if (streamer) {
      if (p.ids.length !== 1)
        throw new Error(`${OP}: streamer streams one prompt at a time; got ${p.ids.length} prompts`);
      if ((config.numReturnSequences ?? 1) > 1)
        throw new Error(`${OP}: streamer streams one sequence; leave out numReturnSequences`);
      const tokens: number[] = [];
      // one row: the stream ends when it finishes, so every chunk carries a generated token
      for await (const chunk of stream(model, p.ids, { ...config, tokenizer })) {
        tokens.push(chunk.tokenIds[0]);
        if (chunk.text?.[0]) streamer(chunk.text[0]);
      }
      return [tokens];
    }
    const out = await generate(model, p.ids, config);
    const width = Math.max(...p.ids.map((r) => r.length));
    return out.sequences.map((row) => row.slice(width));
  }

  function format(p: Prepared, rows: number[][], returnFullText: boolean | undefined) {
    const perPrompt = rows.length / p.ids.length;
    return p.ids.map((_, i) =>
      rows.slice(i * perPrompt, (i + 1) * perPrompt).map((generated) => {
        // the new tokens decoded alone, as transformers 5 decodes them
        const reply = decode(generated);
        const chat = p.chats?.[i];
        if (chat) {
          if (!continues(chat)) return { generated_text: [...chat, { role: 'assistant', content: reply }] };
          const last = chat[chat.length - 1];
          return { generated_text: [...chat.slice(0, -1), { ...last, content: finalText(chat) + reply }] };
        }
        return { generated_text: (returnFullText ?? true) ? p.prompts[i] + reply : reply };
      }),
    );
  }

  async function call(text: string, options?: TextGenerationOptions): Promise<TextGenerationOutput[]>;
  async function call(texts: string[], options?: TextGenerationOptions): Promise<TextGenerationOutput[][]>;
  async function call(
    messages: ChatMessage[],
    options?: TextGenerationOptions,
  ): Promise<ChatGenerationOutput[]>;
  async function call(
    chats: ChatMessage[][],
    options?: TextGenerationOptions,
  ): Promise<ChatGenerationOutput[][]>;
  async function call(
    input: string | string[] | ChatMessage[] | ChatMessage[][],
    options?: TextGenerationOptions,
  ): Promise<
    | Array<TextGenerationOutput | ChatGenerationOutput>
    | Array<Array<TextGenerationOutput | ChatGenerationOutput>>
  > {
    const o = splitOptions(options);
    const p = prepare(tokenizer, input, o.addSpecialTokens);
    const rows = await run(p, o.config, o.streamer);
    const out = format(p, rows, o.returnFullText);
    return p.batched ? out : out[0];
  }

  async function* streamText(
    input: string | ChatMessage[],
    options?: TextGenerationOptions,
  ): AsyncGenerator<string> {
    const o = splitOptions(options);
    if (o.streamer) throw new TypeError(`${OP}: stream() yields the text itself; leave out options.streamer`);
    if (Array.isArray(input) && !isChat(input))
      throw new TypeError(`${OP}: stream() takes one prompt or one chat, got a list`);
    const p = prepare(tokenizer, input, o.addSpecialTokens);
    for await (const chunk of stream(model, p.ids, { ...o.config, tokenizer })) {
      if (chunk.text?.[0]) yield chunk.text[0];
    }
  }

  return Object.assign(call, {
    stream: streamText,
    task: 'text-generation' as const,
    model,
    tokenizer,
    dispose: () => model.dispose(),
  });
}
