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
  /** Total length (prompt + generated); 20 when neither this nor maxNewTokens is given, as HF. */
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
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
  numReturnSequences?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  bosTokenId?: number;
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
  'numBeams',
  'lengthPenalty',
  'earlyStopping',
  'numReturnSequences',
  'eosTokenId',
  'padTokenId',
  'bosTokenId',
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

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`generate: ${message}`);
}
const isInt = (v: unknown): v is number => Number.isInteger(v);

/** Validates a config, naming each bad or unknown key; returns it unchanged. */
export function validateGenerationConfig(config: GenerationConfig): GenerationConfig {
  if (config === null || typeof config !== 'object')
    throw new TypeError('generate: config must be an object');
  for (const k of Object.keys(config)) {
    if (!KEYS.has(k)) {
      const hint = SNAKE_HINT[k] ? ` (did you mean '${SNAKE_HINT[k]}'?)` : '';
      throw new TypeError(`generate: unknown config key '${k}'${hint}`);
    }
  }
  const c = config;
  if (c.maxNewTokens !== undefined)
    check(
      isInt(c.maxNewTokens) && c.maxNewTokens >= 0,
      `maxNewTokens must be an integer >= 0, got ${c.maxNewTokens}`,
    );
  if (c.maxLength !== undefined)
    check(isInt(c.maxLength) && c.maxLength >= 0, `maxLength must be an integer >= 0, got ${c.maxLength}`);
  if (c.minLength !== undefined)
    check(isInt(c.minLength) && c.minLength >= 0, `minLength must be an integer >= 0, got ${c.minLength}`);
  if (c.minNewTokens !== undefined)
    check(
      isInt(c.minNewTokens) && c.minNewTokens >= 0,
      `minNewTokens must be an integer >= 0, got ${c.minNewTokens}`,
    );
  if (c.temperature !== undefined)
    check(
      typeof c.temperature === 'number' && c.temperature >= 0 && Number.isFinite(c.temperature),
      `temperature must be a finite number >= 0, got ${c.temperature}`,
    );
  if (c.topK !== undefined)
    check(isInt(c.topK) && c.topK >= 0, `topK must be an integer >= 0 (0 disables it), got ${c.topK}`);
  if (c.topP !== undefined)
    check(typeof c.topP === 'number' && c.topP > 0 && c.topP <= 1, `topP must be in (0, 1], got ${c.topP}`);
  if (c.minP !== undefined)
    check(typeof c.minP === 'number' && c.minP >= 0 && c.minP <= 1, `minP must be in [0, 1], got ${c.minP}`);
  if (c.typicalP !== undefined)
    check(
      typeof c.typicalP === 'number' && c.typicalP > 0 && c.typicalP <= 1,
      `typicalP must be in (0, 1], got ${c.typicalP}`,
    );
  if (c.repetitionPenalty !== undefined)
    check(
      typeof c.repetitionPenalty === 'number' && c.repetitionPenalty > 0,
      `repetitionPenalty must be > 0, got ${c.repetitionPenalty}`,
    );
  if (c.numBeams !== undefined)
    check(isInt(c.numBeams) && c.numBeams >= 1, `numBeams must be an integer >= 1, got ${c.numBeams}`);
  if (c.numReturnSequences !== undefined) {
    check(
      isInt(c.numReturnSequences) && c.numReturnSequences >= 1,
      `numReturnSequences must be an integer >= 1, got ${c.numReturnSequences}`,
    );
    if (!c.doSample)
      check(
        c.numReturnSequences <= (c.numBeams ?? 1),
        `numReturnSequences (${c.numReturnSequences}) must be <= numBeams (${c.numBeams ?? 1}) without sampling`,
      );
  }
  if (c.noRepeatNgramSize !== undefined)
    check(
      isInt(c.noRepeatNgramSize) && c.noRepeatNgramSize >= 0,
      `noRepeatNgramSize must be an integer >= 0, got ${c.noRepeatNgramSize}`,
    );
  if (c.lengthPenalty !== undefined)
    check(
      typeof c.lengthPenalty === 'number' && Number.isFinite(c.lengthPenalty),
      `lengthPenalty must be a finite number, got ${c.lengthPenalty}`,
    );
  if (c.numAssistantTokens !== undefined)
    check(
      isInt(c.numAssistantTokens) && c.numAssistantTokens >= 1,
      `numAssistantTokens must be an integer >= 1, got ${c.numAssistantTokens}`,
    );
  if (c.traceTopN !== undefined)
    check(isInt(c.traceTopN) && c.traceTopN >= 1, `traceTopN must be an integer >= 1, got ${c.traceTopN}`);
  for (const k of ['eosTokenId', 'forcedEosTokenId'] as const) {
    const v = c[k];
    if (v !== undefined)
      check(
        (Array.isArray(v) ? v : [v]).every((t) => isInt(t) && t >= 0),
        `${k} must be a token id or a list of them, got ${JSON.stringify(v)}`,
      );
  }
  for (const k of ['padTokenId', 'bosTokenId', 'forcedBosTokenId'] as const) {
    const v = c[k];
    if (v !== undefined) check(isInt(v) && v >= 0, `${k} must be a token id (integer >= 0), got ${v}`);
  }
  if (c.stopStrings !== undefined && !c.tokenizer)
    throw new TypeError('generate: stopStrings needs a tokenizer (config.tokenizer) to decode the output');
  if (c.seed !== undefined) check(Number.isFinite(c.seed), `seed must be a finite number, got ${c.seed}`);
  return config;
}
