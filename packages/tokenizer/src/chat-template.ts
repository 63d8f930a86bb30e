/**
 * Chat templates: the Jinja template a model ships (tokenizer_config.json `chat_template` or
 * chat_template.jinja) turns a list of messages into the model's prompt text. Rendered with
 * @huggingface/jinja, the implementation the Hugging Face JavaScript libraries use, with the
 * variables transformers' `apply_chat_template` passes: `messages`, `tools`, `documents`,
 * `add_generation_prompt`, the named special tokens (`bos_token`, `eos_token`, ...) and any extra
 * variables.
 */

import { Template } from '@huggingface/jinja';
import { describe } from './models.js';

/** One message of a conversation (the OpenAI / Hugging Face shape; extra fields pass through). */
export interface ChatMessage {
  /** `'system'`, `'user'`, `'assistant'`, `'tool'`, ... */
  role: string;
  /** The text, or a list of content parts (`{ type: 'text', text }`, ...), or null (tool calls only). */
  content?: string | Array<Record<string, unknown>> | null;
  /** Any other field the template reads (`tool_calls`, `tool_call_id`, `name`, ...). */
  [field: string]: unknown;
}

/** A tool as a JSON schema (`{ type: 'function', function: { name, description, parameters } }`). */
export type ChatTool = Record<string, unknown>;

const compiled = new Map<string, Template>();

/** Parses a template once and keeps it. */
function compile(template: string, where: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`${where}: the chat template does not parse: ${(e as Error).message}`);
    }
    if (compiled.size > 32) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

/** Checks a conversation: an array of objects with a string `role`. */
export function checkMessages(messages: unknown, where: string): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages))
    throw new TypeError(
      `${where}: messages must be an array of { role, content } objects, got ${describe(messages)}`,
    );
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof (m as ChatMessage).role !== 'string')
      throw new TypeError(
        `${where}: messages[${i}] must be an object with a string "role", got ${describe(m)}`,
      );
  });
}

/**
 * Renders a chat template with the variables of transformers' `apply_chat_template`.
 * @throws Error naming `where` when the template fails (its `raise_exception` message included).
 */
export function renderChatTemplate(
  template: string,
  variables: Record<string, unknown>,
  where: string,
): string {
  const t = compile(template, where);
  try {
    return t.render(variables);
  } catch (e) {
    throw new Error(`${where}: the chat template failed: ${(e as Error).message}`);
  }
}
