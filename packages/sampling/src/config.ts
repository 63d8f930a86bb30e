import type { Generator } from '@attnkit/tensor-core';
import type { CausalLM, DecodingTokenizer } from './model.js';
import type { LogitsProcessor } from './processors/processor.js';

/**
 * Generation settings, with Hugging Face GenerationConfig names in camelCase (plus OpenAI's
 * presence/frequency penalties and logit bias, and attnkit's `seed`/`generator`).
 */
export interface GenerationConfig {
  /** Tokens to generate (takes precedence over maxLength). */
  maxNewTokens?: number;
  /**
   * Total length (prompt + generated). With neither this nor maxNewTokens set (by the caller or
   * the model's generationConfig), 20 new tokens are generated, as in transformers 5.
   */
  maxLength?: number;
  /** Minimum total length before EOS is allowed. */
  minLength?: number;
  /** Minimum generated tokens before EOS is allowed. */
  minNewTokens?: number;
  /** Sample (true) or decode greedily / by beam search (false, the default). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  noRepeatNgramSize?: number;
  badWordsIds?: number[][];
  logitBias?: Record<number, number>;
  forcedBosTokenId?: number;
  forcedEosTokenId?: number | number[];
  /** Tokens never generated (Whisper's `suppress_tokens`). */
  suppressTokens?: number[];
  /** Tokens not generated first (Whisper's `begin_suppress_tokens`: the blank and EOS). */
  beginSuppressTokens?: number[];
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
  numReturnSequences?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  bosTokenId?: number;
  /**
   * First decoder token of an encoder-decoder model (T5: the pad id, BART: the EOS id); the
   * model's generation_config.json sets it. Encoder-decoder models only.
   */
  decoderStartTokenId?: number;
  /**
   * The first decoder tokens of an encoder-decoder (transformers' `decoder_input_ids`), the same
   * for every row, e.g. Whisper's `<|startoftranscript|>`, language, task, `<|notimestamps|>`.
   * The start token is put first when the prompt does not begin with it; the sequences returned
   * begin with the prompt and maxNewTokens counts the tokens after it.
   */
  decoderPromptIds?: number[];
  /** Strings that end generation of a row once its decoded output contains one (needs `tokenizer`). */
  stopStrings?: string | string[];
  /** Seed of a fresh Generator for sampling. */
  seed?: number;
  /** Generator to draw from (instead of seed). */
  generator?: Generator;
  /** Reuse the model's KV cache between steps (default true). */
  useCache?: boolean;
  /** Return the processed scores of every step. */
  outputScores?: boolean;
  /** Extra processors, applied after the built-in ones. */
  logitsProcessors?: LogitsProcessor[];
  /** Tokenizer for stop strings and streamed text. */
  tokenizer?: DecodingTokenizer;
  /** A draft model for speculative decoding (HF's assistant_model). */
  assistantModel?: CausalLM;
  /** Draft tokens proposed per round (HF's num_assistant_tokens; default 5). */
  numAssistantTokens?: number;
  /** Aborts generation (stream() ends, generate() rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Records top-n candidates before/after each processor for each step (see GenerateOutput.trace). */
  traceTopN?: number;
}

const KEYS = new Set<string>([
  'maxNewTokens',
  'maxLength',
  'minLength',
  'minNewTokens',
  'doSample',
  'temperature',
  'topK',
  'topP',
  'minP',
  'typicalP',
  'repetitionPenalty',
  'presencePenalty',
  'frequencyPenalty',
  'noRepeatNgramSize',
  'badWordsIds',
  'logitBias',
  'forcedBosTokenId',
  'forcedEosTokenId',
  'suppressTokens',
  'beginSuppressTokens',
  'numBeams',
  'lengthPenalty',
  'earlyStopping',
  'numReturnSequences',
  'eosTokenId',
  'padTokenId',
  'bosTokenId',
  'decoderStartTokenId',
  'decoderPromptIds',
  'stopStrings',
  'seed',
  'generator',
  'useCache',
  'outputScores',
  'logitsProcessors',
  'tokenizer',
  'assistantModel',
  'numAssistantTokens',
  'signal',
  'traceTopN',
]);

const SNAKE_HINT: Record<string, string> = {
  max_new_tokens: 'maxNewTokens',
  top_k: 'topK',
  top_p: 'topP',
  do_sample: 'doSample',
  num_beams: 'numBeams',
  repetition_penalty: 'repetitionPenalty',
  eos_token_id: 'eosTokenId',
  pad_token_id: 'padTokenId',
  max_length: 'maxLength',
};

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const isId = (v: unknown): v is number => isInt(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v == null || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) return 'an array';
  return `an object (${(v as object).constructor?.name ?? 'null prototype'})`;
};

/** What each option must be: a test of the value and the words of the error when it fails. */
const RULES: Record<keyof GenerationConfig, [(v: unknown) => boolean, string]> = {
  maxNewTokens: [(v) => isInt(v) && v >= 0, 'an integer >= 0'],
  maxLength: [(v) => isInt(v) && v >= 0, 'an integer >= 0'],
  minLength: [(v) => isInt(v) && v >= 0, 'an integer >= 0'],
  minNewTokens: [(v) => isInt(v) && v >= 0, 'an integer >= 0'],
  doSample: [(v) => typeof v === 'boolean', 'a boolean'],
  temperature: [(v) => isNum(v) && v >= 0 && Number.isFinite(v), 'a finite number >= 0'],
  topK: [(v) => isInt(v) && v >= 0, 'an integer >= 0 (0 disables it)'],
  topP: [(v) => isNum(v) && v > 0 && v <= 1, 'in (0, 1]'],
  minP: [(v) => isNum(v) && v >= 0 && v <= 1, 'in [0, 1]'],
  typicalP: [(v) => isNum(v) && v > 0 && v <= 1, 'in (0, 1]'],
  repetitionPenalty: [(v) => isNum(v) && v > 0 && Number.isFinite(v), 'a finite number > 0'],
  presencePenalty: [(v) => isNum(v) && v >= -2 && v <= 2, 'a number in [-2, 2]'],
  frequencyPenalty: [(v) => isNum(v) && v >= -2 && v <= 2, 'a number in [-2, 2]'],
  noRepeatNgramSize: [(v) => isInt(v) && v >= 0, 'an integer >= 0'],
  badWordsIds: [
    (v) => Array.isArray(v) && v.every((w) => Array.isArray(w) && w.length > 0 && w.every(isId)),
    'a list of non-empty lists of token ids (integers >= 0)',
  ],
  logitBias: [
    (v) =>
      (v instanceof Map
        ? [...v.entries()]
        : isObject(v) && !Array.isArray(v)
          ? Object.entries(v)
          : null
      )?.every(([k, b]) => isId(Number(k)) && isNum(b) && b !== Number.POSITIVE_INFINITY) ?? false,
    'an object (or Map) from token ids (integers >= 0) to biases (finite numbers or -Infinity)',
  ],
  forcedBosTokenId: [isId, 'a token id (an integer >= 0)'],
  forcedEosTokenId: [
    (v) => isId(v) || (Array.isArray(v) && v.every(isId)),
    'a token id (an integer >= 0) or a list of them',
  ],
  suppressTokens: [(v) => Array.isArray(v) && v.every(isId), 'a list of token ids (integers >= 0)'],
  beginSuppressTokens: [(v) => Array.isArray(v) && v.every(isId), 'a list of token ids (integers >= 0)'],
  numBeams: [(v) => isInt(v) && v >= 1, 'an integer >= 1'],
  lengthPenalty: [(v) => isNum(v) && Number.isFinite(v), 'a finite number'],
  earlyStopping: [(v) => typeof v === 'boolean' || v === 'never', "true, false or 'never'"],
  numReturnSequences: [(v) => isInt(v) && v >= 1, 'an integer >= 1'],
  eosTokenId: [
    (v) => isId(v) || (Array.isArray(v) && v.every(isId)),
    'a token id (an integer >= 0) or a list of them',
  ],
  padTokenId: [isId, 'a token id (an integer >= 0)'],
  bosTokenId: [isId, 'a token id (an integer >= 0)'],
  decoderStartTokenId: [isId, 'a token id (an integer >= 0)'],
  decoderPromptIds: [
    (v) => Array.isArray(v) && v.length > 0 && v.every(isId),
    'a non-empty list of token ids',
  ],
  stopStrings: [
    (v) =>
      (typeof v === 'string' && v.length > 0) ||
      (Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0)),
    'a non-empty string or a list of them',
  ],
  seed: [(v) => isNum(v) && Number.isFinite(v), 'a finite number'],
  generator: [
    (v) => isObject(v) && typeof (v as { uniform?: unknown }).uniform === 'function',
    'a Generator (an object with uniform())',
  ],
  useCache: [(v) => typeof v === 'boolean', 'a boolean'],
  outputScores: [(v) => typeof v === 'boolean', 'a boolean'],
  logitsProcessors: [
    (v) =>
      Array.isArray(v) &&
      v.every((p) => isObject(p) && typeof (p as { process?: unknown }).process === 'function'),
    'a list of LogitsProcessors (objects with process())',
  ],
  tokenizer: [
    (v) => isObject(v) && typeof (v as { decode?: unknown }).decode === 'function',
    'a tokenizer (an object with decode(ids))',
  ],
  assistantModel: [
    (v) => isObject(v) && typeof (v as { forward?: unknown }).forward === 'function',
    'a causal LM (an object with forward())',
  ],
  numAssistantTokens: [(v) => isInt(v) && v >= 1, 'an integer >= 1'],
  signal: [
    (v) =>
      typeof AbortSignal === 'function'
        ? v instanceof AbortSignal
        : isObject(v) && typeof (v as { aborted?: unknown }).aborted === 'boolean',
    'an AbortSignal',
  ],
  traceTopN: [(v) => isInt(v) && v >= 1, 'an integer >= 1'],
};

/**
 * Validates a config, naming each bad or unknown key, what it got and what it must be; returns it
 * unchanged. Keys set to undefined or null count as not set (as None in transformers).
 * `who` names the source in errors (default 'generate').
 */
export function validateGenerationConfig(config: GenerationConfig, who = 'generate'): GenerationConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw new TypeError(`${who}: config must be an object of generation options, got ${show(config)}`);
  for (const k of Object.keys(config)) {
    if (!KEYS.has(k)) {
      const hint = SNAKE_HINT[k] ? ` (did you mean '${SNAKE_HINT[k]}'?)` : '';
      throw new TypeError(`${who}: unknown config key '${k}'${hint}`);
    }
    const v = (config as Record<string, unknown>)[k];
    if (v === undefined || v === null) continue;
    const [ok, expected] = RULES[k as keyof GenerationConfig];
    if (!ok(v)) {
      const Err = typeof v === 'number' ? RangeError : TypeError;
      throw new Err(`${who}: ${k} must be ${expected}, got ${show(v)}`);
    }
  }
  return config;
}

/** The cross-option checks, on the merged config (model defaults + caller options). */
function validateCombination(c: GenerationConfig): void {
  if (c.numReturnSequences !== undefined && !c.doSample && c.numReturnSequences > (c.numBeams ?? 1))
    throw new RangeError(
      `generate: numReturnSequences (${c.numReturnSequences}) must be <= numBeams (${c.numBeams ?? 1}) without sampling`,
    );
  if (c.stopStrings !== undefined && !c.tokenizer)
    throw new TypeError('generate: stopStrings needs a tokenizer (config.tokenizer) to decode the output');
}

/** generation_config.json settings that only encoder-decoder generation reads (skipped for causal LMs). */
const ENCODER_DECODER_ONLY = new Set(['decoderStartTokenId', 'decoderPromptIds']);

/** True for a model generate() drives as an encoder-decoder (it has `seq2seqDecoder`). */
export function isSeq2SeqLM(model: unknown): boolean {
  return typeof (model as { seq2seqDecoder?: unknown } | null)?.seq2seqDecoder === 'function';
}

/**
 * The settings generate() runs with: the model's `generationConfig` (its generation_config.json,
 * as loadPretrained reads it) overridden by the caller's options, as transformers merges them.
 * Options set to undefined or null count as not set. maxNewTokens takes precedence over maxLength
 * wherever each comes from (transformers does the same, with a warning).
 */
export function resolveConfig(
  model: { generationConfig?: unknown } | null,
  config: GenerationConfig,
): GenerationConfig {
  validateGenerationConfig(config);
  const defaults = model?.generationConfig;
  const out: Record<string, unknown> = {};
  if (defaults !== undefined && defaults !== null) {
    if (typeof defaults !== 'object' || Array.isArray(defaults))
      throw new TypeError(
        `generate: model.generationConfig must be an object or null, got ${show(defaults)}`,
      );
    const seq2seq = isSeq2SeqLM(model);
    const own = Object.fromEntries(
      Object.entries(defaults).filter(([k]) => seq2seq || !ENCODER_DECODER_ONLY.has(k)),
    );
    validateGenerationConfig(own as GenerationConfig, 'generate (model.generationConfig)');
    for (const [k, v] of Object.entries(own)) if (v !== undefined && v !== null) out[k] = v;
  }
  for (const [k, v] of Object.entries(config)) if (v !== undefined && v !== null) out[k] = v;
  for (const k of ENCODER_DECODER_ONLY)
    if (out[k] !== undefined && model && !isSeq2SeqLM(model))
      throw new TypeError(
        `generate: ${k} applies to encoder-decoder models (models with seq2seqDecoder()); this model is a causal LM`,
      );
  validateCombination(out as GenerationConfig);
  return out as GenerationConfig;
}

/**
 * Maximum total length from a config and prompt width: prompt + maxNewTokens, else maxLength, else
 * prompt + 20 (transformers 5 generates 20 new tokens when no length is set anywhere).
 */
export function resolveMaxLength(config: GenerationConfig, promptWidth: number): number {
  if (config.maxNewTokens !== undefined) return promptWidth + config.maxNewTokens;
  return config.maxLength ?? promptWidth + 20;
}

/** Checks the options that name tokens against the model's vocabulary size (known after the first step). */
export function checkVocab(c: GenerationConfig, vocabSize: number): void {
  const bad = (k: string, id: number) =>
    new RangeError(`generate: ${k} holds token id ${id}, beyond the model's vocabulary of ${vocabSize}`);
  if (c.forcedBosTokenId !== undefined && c.forcedBosTokenId >= vocabSize)
    throw bad('forcedBosTokenId', c.forcedBosTokenId);
  const forcedEos = c.forcedEosTokenId;
  if (forcedEos !== undefined)
    for (const id of Array.isArray(forcedEos) ? forcedEos : [forcedEos])
      if (id >= vocabSize) throw bad('forcedEosTokenId', id);
  if (c.logitBias) {
    const keys = c.logitBias instanceof Map ? [...c.logitBias.keys()] : Object.keys(c.logitBias).map(Number);
    for (const id of keys) if (id >= vocabSize) throw bad('logitBias', id);
  }
}

/** Lets timers and abort signals run between steps (a macrotask turn: setImmediate, or a MessageChannel). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel === 'function') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        r();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((r) => setTimeout(r, 0));
}

/** Rejects with the signal's reason when it has fired (after letting its timers run). */
export async function checkAborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await yieldToEventLoop();
  if (signal.aborted) throw signal.reason ?? new Error('generate: aborted');
}
