/**
 * Which tiktoken encoding each OpenAI model uses (names and prefixes as tiktoken maps them).
 */

import { describe as describeValue } from '@attnkit/hub';

/** The encodings `getEncoding` can load. `gpt2` is r50k_base under its original name. */
export type EncodingName = 'gpt2' | 'r50k_base' | 'p50k_base' | 'p50k_edit' | 'cl100k_base' | 'o200k_base';

/** All encoding names accepted by {@link getEncoding}. */
export const ENCODING_NAMES: readonly EncodingName[] = [
  'gpt2',
  'r50k_base',
  'p50k_base',
  'p50k_edit',
  'cl100k_base',
  'o200k_base',
];

const O200K_MODELS = [
  'gpt-5',
  'gpt-4.5-preview',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-4o',
  'gpt-4o-mini',
  'chatgpt-4o-latest',
  'o1',
  'o1-mini',
  'o1-preview',
  'o1-pro',
  'o3',
  'o3-mini',
  'o3-pro',
  'o4-mini',
  'gpt-5-mini',
  'gpt-5-nano',
  'gpt-5-chat-latest',
  'gpt-4o-realtime',
  'gpt-4o-audio-preview',
  'gpt-4o-search-preview',
  'gpt-4o-mini-search-preview',
];
const CL100K_MODELS = [
  'gpt-4',
  'gpt-4-32k',
  'gpt-4-turbo',
  'gpt-4-turbo-preview',
  'gpt-4-vision-preview',
  'gpt-3.5-turbo',
  'gpt-3.5-turbo-16k',
  'gpt-3.5-turbo-instruct',
  'gpt-35-turbo',
  'gpt-3.5',
  'gpt-35',
  'text-embedding-ada-002',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'davinci-002',
  'babbage-002',
];
const P50K_MODELS = [
  'text-davinci-003',
  'text-davinci-002',
  'code-davinci-002',
  'code-davinci-001',
  'code-cushman-002',
  'code-cushman-001',
  'davinci-codex',
  'cushman-codex',
];
const P50K_EDIT_MODELS = ['text-davinci-edit-001', 'code-davinci-edit-001'];
const R50K_MODELS = [
  'text-davinci-001',
  'text-curie-001',
  'text-babbage-001',
  'text-ada-001',
  'davinci',
  'curie',
  'babbage',
  'ada',
  'text-similarity-davinci-001',
  'text-similarity-curie-001',
  'text-similarity-babbage-001',
  'text-similarity-ada-001',
  'text-search-davinci-doc-001',
  'text-search-curie-doc-001',
  'text-search-babbage-doc-001',
  'text-search-ada-doc-001',
  'code-search-babbage-code-001',
  'code-search-ada-code-001',
];

const MODEL_TO_ENCODING = new Map<string, EncodingName>([
  ['gpt2', 'gpt2'],
  ['gpt-2', 'gpt2'],
  ...O200K_MODELS.map((m): [string, EncodingName] => [m, 'o200k_base']),
  ...CL100K_MODELS.map((m): [string, EncodingName] => [m, 'cl100k_base']),
  ...P50K_MODELS.map((m): [string, EncodingName] => [m, 'p50k_base']),
  ...P50K_EDIT_MODELS.map((m): [string, EncodingName] => [m, 'p50k_edit']),
  ...R50K_MODELS.map((m): [string, EncodingName] => [m, 'r50k_base']),
]);

/** Dated and fine-tuned variants: the first matching prefix wins (longest prefixes first). */
const PREFIX_TO_ENCODING: ReadonlyArray<[string, EncodingName]> = [
  ['ft:gpt-4o', 'o200k_base'],
  ['ft:gpt-4.1', 'o200k_base'],
  ['ft:gpt-4', 'cl100k_base'],
  ['ft:gpt-3.5-turbo', 'cl100k_base'],
  ['ft:davinci-002', 'cl100k_base'],
  ['ft:babbage-002', 'cl100k_base'],
  ['chatgpt-4o-', 'o200k_base'],
  ['gpt-4o-', 'o200k_base'],
  ['gpt-4.1-', 'o200k_base'],
  ['gpt-4.5-', 'o200k_base'],
  ['gpt-5-', 'o200k_base'],
  ['o1-', 'o200k_base'],
  ['o3-', 'o200k_base'],
  ['o4-mini-', 'o200k_base'],
  ['gpt-4-', 'cl100k_base'],
  ['gpt-3.5-turbo-', 'cl100k_base'],
  ['gpt-35-turbo-', 'cl100k_base'],
];

/**
 * The encoding a model uses, e.g. `'gpt-4o'` -> `'o200k_base'`, `'gpt-4'` -> `'cl100k_base'`,
 * `'gpt2'` -> `'gpt2'` (r50k_base). Dated snapshots (`'gpt-4o-2024-08-06'`) and fine-tunes
 * (`'ft:gpt-4o-mini:org::id'`) resolve by prefix.
 * @throws Error naming the model when it is unknown.
 * @example
 * ```ts
 * encodingNameForModel('gpt-4o-mini'); // => 'o200k_base'
 * ```
 */
export function encodingNameForModel(model: string): EncodingName {
  if (typeof model !== 'string') {
    throw new TypeError(`encodingNameForModel: model must be a string, got ${describe(model)}`);
  }
  const exact = MODEL_TO_ENCODING.get(model);
  if (exact) return exact;
  for (const [prefix, enc] of PREFIX_TO_ENCODING) if (model.startsWith(prefix)) return enc;
  throw new Error(
    `encodingNameForModel: unknown model ${JSON.stringify(model)}; expected an OpenAI model name such as 'gpt-4o', 'gpt-4', 'gpt-3.5-turbo', 'text-davinci-003' or 'gpt2', or call getEncoding() with one of ${ENCODING_NAMES.join(', ')}`,
  );
}

/**
 * A short description of a value for error messages: `@attnkit/hub`'s `describe` (one copy for
 * every package), with strings read as `the string "…"` (the tokenizer's messages say
 * `ids[0] is the string "5"`).
 */
export function describe(value: unknown): string {
  return typeof value === 'string' ? `the ${describeValue(value)}` : describeValue(value);
}
