// Rotary-embedding parameters in both spellings of transformers' config.json:
//   transformers 4: "rope_theta": 500000, "rope_scaling": { "rope_type": "llama3", "factor": 8, … }
//                   (older files: "type" instead of "rope_type")
//   transformers 5: "rope_parameters": { "rope_type": "llama3", "rope_theta": 500000, "factor": 8, … }
// standardRope() returns the transformers 5 dict, as RotaryEmbeddingConfigMixin.standardize_rope_params
// builds it: rope_type defaults to "default", rope_theta comes from the dict, then from the top-level
// key, then from the family's default; llama3/yarn/longrope get original_max_position_embeddings.
import { ConfigError, describe } from './messages.js';

/** Rotary parameters in transformers 5's `rope_parameters` form. */
export interface RopeParameters {
  rope_type: string;
  rope_theta: number;
  /** Scaling factor (linear, dynamic, yarn, llama3, longrope). */
  factor?: number;
  [key: string]: unknown;
}

/** Options of {@link standardRope}. */
export interface StandardRopeOptions {
  /** The family's default base (transformers' `default_theta`, 10000 for most). */
  defaultTheta?: number;
  /** The config's max_position_embeddings (for llama3/yarn/longrope's original length). */
  maxPositionEmbeddings?: number;
  /** The rope types the family implements (others are refused by name). Default: all. */
  supported?: readonly string[];
}

/** The config.json keys that carry rotary parameters (both spellings). */
export const ROPE_KEYS = ['rope_parameters', 'rope_scaling', 'rope_theta', 'partial_rotary_factor'] as const;

/**
 * The rotary parameters of a config.json object in transformers 5's form, from either spelling.
 * Keys of the dict are kept as they are (their meaning depends on `rope_type`).
 *
 * @throws ConfigError naming the key: not an object, a per-layer-type (nested) dict, a rope type
 *   outside `supported`, a non-finite or non-positive theta or factor
 * @example
 * ```ts
 * standardRope({ rope_theta: 500000, rope_scaling: { type: 'linear', factor: 2 } }, 'LlamaConfig'); // => { type: 'linear', factor: 2, rope_type: 'linear', rope_theta: 500000 }
 * ```
 */
export function standardRope(
  json: Record<string, unknown>,
  who: string,
  options: StandardRopeOptions = {},
): RopeParameters {
  const scaling = json.rope_scaling ?? null;
  const params = json.rope_parameters ?? null;
  const key = scaling !== null ? 'rope_scaling' : 'rope_parameters';
  const given = scaling ?? params;
  if (given !== null && (typeof given !== 'object' || Array.isArray(given))) {
    throw new ConfigError(
      `${who}: config field '${key}' must be an object or null, got ${describe(given)}`,
      key,
    );
  }
  const dict: Record<string, unknown> = { ...((given as Record<string, unknown> | null) ?? {}) };
  const nested = Object.values(dict).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
  if (nested.length > 0) {
    throw new ConfigError(
      `${who}: config field '${key}' holds rotary parameters per layer type (${Object.keys(dict).join(', ')}), which attnkit does not implement`,
      key,
    );
  }
  const topTheta = json.rope_theta;
  if (
    topTheta !== undefined &&
    topTheta !== null &&
    (typeof topTheta !== 'number' || !(topTheta > 0) || !Number.isFinite(topTheta))
  ) {
    throw new ConfigError(
      `${who}: config field 'rope_theta' must be a positive number, got ${describe(topTheta)}`,
      'rope_theta',
    );
  }
  if (dict.rope_type === undefined) dict.rope_type = dict.type ?? 'default';
  if (dict.rope_theta === undefined || dict.rope_theta === null)
    dict.rope_theta = topTheta ?? options.defaultTheta ?? 10000;
  const partial = json.partial_rotary_factor;
  if (partial !== undefined && partial !== null && dict.partial_rotary_factor === undefined)
    dict.partial_rotary_factor = partial;
  const type = dict.rope_type;
  if (typeof type !== 'string') {
    throw new ConfigError(
      `${who}: config field '${key}' has rope_type ${describe(type)}, expected a string`,
      key,
    );
  }
  if (options.supported && !options.supported.includes(type)) {
    throw new ConfigError(
      `${who}: config field '${key}' asks for rope_type '${type}', which attnkit does not implement (supported: ${options.supported.join(', ')})`,
      key,
    );
  }
  const theta = dict.rope_theta;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) {
    throw new ConfigError(
      `${who}: config field '${key}' has rope_theta ${describe(theta)}, expected a positive number`,
      key,
    );
  }
  for (const k of [
    'factor',
    'low_freq_factor',
    'high_freq_factor',
    'original_max_position_embeddings',
    'partial_rotary_factor',
  ]) {
    const v = dict[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(
        `${who}: config field '${key}' has ${k} ${describe(v)}, expected a positive number`,
        key,
      );
    }
  }
  if (['llama3', 'yarn', 'longrope'].includes(type) && dict.original_max_position_embeddings === undefined) {
    const orig = json.original_max_position_embeddings ?? options.maxPositionEmbeddings;
    if (orig !== undefined) dict.original_max_position_embeddings = orig;
  }
  return dict as RopeParameters;
}
