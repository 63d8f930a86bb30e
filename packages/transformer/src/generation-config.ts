// generation_config.json: a checkpoint's default generation settings (transformers'
// GenerationConfig), read into `@attnkit/sampling`'s camelCase names. generate() applies them under
// what the caller passes, as transformers does.
import type { GenerationConfig } from '@attnkit/sampling';
import { describe } from './internal.js';

/**
 * Generation defaults a checkpoint carries, in `@attnkit/sampling`'s GenerationConfig names (the
 * same fields, picked from it). Only the keys present in
 * generation_config.json are set.
 */
export type GenerationDefaults = Pick<
  GenerationConfig,
  | 'maxNewTokens'
  | 'maxLength'
  | 'minLength'
  | 'minNewTokens'
  | 'doSample'
  | 'temperature'
  | 'topK'
  | 'topP'
  | 'minP'
  | 'typicalP'
  | 'repetitionPenalty'
  | 'noRepeatNgramSize'
  | 'badWordsIds'
  | 'forcedBosTokenId'
  | 'forcedEosTokenId'
  | 'suppressTokens'
  | 'beginSuppressTokens'
  | 'numBeams'
  | 'lengthPenalty'
  | 'earlyStopping'
  | 'numReturnSequences'
  | 'eosTokenId'
  | 'padTokenId'
  | 'bosTokenId'
  | 'decoderStartTokenId'
  | 'useCache'
>;

type Kind = 'int' | 'number' | 'bool' | 'ids' | 'idList' | 'idLists' | 'stopping';

/** generation_config.json key → [camelCase name, kind]. */
const KEYS: Record<string, [keyof GenerationDefaults, Kind]> = {
  max_new_tokens: ['maxNewTokens', 'int'],
  max_length: ['maxLength', 'int'],
  min_length: ['minLength', 'int'],
  min_new_tokens: ['minNewTokens', 'int'],
  do_sample: ['doSample', 'bool'],
  temperature: ['temperature', 'number'],
  top_k: ['topK', 'int'],
  top_p: ['topP', 'number'],
  min_p: ['minP', 'number'],
  typical_p: ['typicalP', 'number'],
  repetition_penalty: ['repetitionPenalty', 'number'],
  no_repeat_ngram_size: ['noRepeatNgramSize', 'int'],
  bad_words_ids: ['badWordsIds', 'idLists'],
  forced_bos_token_id: ['forcedBosTokenId', 'int'],
  forced_eos_token_id: ['forcedEosTokenId', 'ids'],
  suppress_tokens: ['suppressTokens', 'idList'],
  begin_suppress_tokens: ['beginSuppressTokens', 'idList'],
  num_beams: ['numBeams', 'int'],
  length_penalty: ['lengthPenalty', 'number'],
  early_stopping: ['earlyStopping', 'stopping'],
  num_return_sequences: ['numReturnSequences', 'int'],
  eos_token_id: ['eosTokenId', 'ids'],
  pad_token_id: ['padTokenId', 'int'],
  bos_token_id: ['bosTokenId', 'int'],
  decoder_start_token_id: ['decoderStartTokenId', 'int'],
  use_cache: ['useCache', 'bool'],
};

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function valid(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'int':
      return isId(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'ids':
      return isId(v) || (Array.isArray(v) && v.length > 0 && v.every(isId));
    case 'idList':
      return Array.isArray(v) && v.every(isId);
    case 'idLists':
      return Array.isArray(v) && v.every((r) => Array.isArray(r) && r.every(isId));
    default:
      return typeof v === 'boolean' || v === 'never';
  }
}

/**
 * Reads a generation_config.json object into camelCase generation defaults. Keys that are null are
 * unset (transformers writes null for "none"); keys attnkit's generate() has no setting for
 * (transformers_version, output_* flags, watermarking, ...) are left out; a known key with a value
 * of the wrong kind is refused by name.
 *
 * @example
 * ```ts
 * generationConfigFromJson({ eos_token_id: [2, 32000], do_sample: true, top_p: 0.9 }); // => { doSample: true, topP: 0.9, eosTokenId: [2, 32000] }
 * ```
 */
export function generationConfigFromJson(json: Record<string, unknown>): GenerationDefaults {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`generation_config.json must hold a JSON object, got ${describe(json)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, [name, kind]] of Object.entries(KEYS)) {
    const v = json[key];
    if (v === undefined || v === null) continue;
    if (!valid(kind, v)) {
      throw new TypeError(`generation_config.json: '${key}' has an invalid value ${describe(v)}`);
    }
    out[name] = v;
  }
  return out as GenerationDefaults;
}

/** The generation_config.json object of camelCase defaults (inverse of {@link generationConfigFromJson}). */
export function generationConfigToJson(config: GenerationDefaults): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, [name]] of Object.entries(KEYS)) {
    const v = config[name];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The token-id settings of a config.json (bos, eos, pad, decoder start, forced BOS/EOS), as
 * transformers' `GenerationConfig.from_model_config` takes them when a checkpoint has no
 * generation_config.json.
 */
export function tokenIdDefaults(configJson: Record<string, unknown>): GenerationDefaults {
  const keys = [
    'bos_token_id',
    'eos_token_id',
    'pad_token_id',
    'decoder_start_token_id',
    'forced_bos_token_id',
    'forced_eos_token_id',
  ];
  return generationConfigFromJson(Object.fromEntries(keys.map((k) => [k, configJson[k]])));
}
