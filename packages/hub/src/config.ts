// config.json field tables: each field of a model's config with its config.json name, camelCase
// name, default, kind, legacy aliases (transformers 4 and 5 spellings) and bounds. One resolver
// reads either spelling, refuses wrong types and absurd sizes by key before anything is allocated,
// refuses keys that change the computation and are not implemented, and keeps unknown harmless
// keys (as transformers keeps them) so that saving writes them back.
//
//   config.json ──▶ resolveConfig(table) ──▶ { camelCase fields…, extra: { unknown keys } }
//                        │ refuses: wrong kind · out of [min, max] · refused keys with their values
import { ConfigError, describe } from './messages.js';

/** The kind of a config field's value. */
export type FieldKind = 'int' | 'number' | 'string' | 'bool' | 'any';

/** One field of a config: its config.json (snake_case) name, default, kind and bounds. */
export interface FieldSpec {
  /** The config.json name written when saving (the transformers 5 spelling). */
  json: string;
  /** The value when the key is absent (and, for `nullable` fields, may be null). */
  default: unknown;
  kind: FieldKind;
  /** Other config.json names read for the field, in order (legacy spellings: `n_embd` for `hidden_size`). */
  aliases?: readonly string[];
  /** Accept null (meaning "derived from other fields"). */
  nullable?: boolean;
  /** Smallest accepted value of an 'int' or 'number' field (default 0 for 'int'). */
  min?: number;
  /** Largest accepted value of an 'int' or 'number' field (default {@link LIMITS}.int for 'int'). */
  max?: number;
  /** For 'number' fields: the bound `min` is exclusive (e.g. eps > 0). */
  exclusiveMin?: boolean;
  /** The accepted values of a 'string' (or 'any') field. */
  values?: readonly unknown[];
}

/** A table of fields, keyed by the camelCase name. */
export type FieldTable = Record<string, FieldSpec>;

/**
 * Upper bounds for sizes and counts, far above every released checkpoint (Llama-3.1-405B: hidden
 * 16384, intermediate 53248, 126 layers, 128 heads, vocabulary 128256; Gemma 3: vocabulary 262144)
 * and far below what would exhaust memory before the first tensor. A config above them is refused
 * naming the key.
 */
export const LIMITS = {
  /** Vocabulary size. */
  vocab: 1 << 22,
  /** Hidden size (d_model). */
  hidden: 1 << 17,
  /** MLP width. */
  intermediate: 1 << 19,
  /** Layers (blocks). */
  layers: 4096,
  /** Attention heads (query or key/value). */
  heads: 4096,
  /** One head's width. */
  headDim: 1 << 14,
  /** Context length (max_position_embeddings; stored tables are also bounded by parameters). */
  positions: 1 << 26,
  /** Experts of a mixture-of-experts layer. */
  experts: 1 << 12,
  /** Image side in pixels, and channels. */
  pixels: 1 << 16,
  /** Any other integer (token ids, counts). */
  int: 2 ** 31 - 1,
  /** Values in one tensor (a product of sizes, see {@link checkProduct}). */
  tensor: 2 ** 31 - 1,
} as const;

/** A size field: a positive integer up to `max` (a {@link LIMITS} entry). */
export function sizeField(
  json: string,
  def: number | null,
  max: number,
  extra: Partial<FieldSpec> = {},
): FieldSpec {
  return {
    json,
    default: def,
    kind: 'int',
    min: 1,
    max,
    ...(def === null ? { nullable: true } : {}),
    ...extra,
  };
}

/**
 * A config.json key that changes the computation in a way attnkit does not implement. It is refused
 * by name unless it is absent, null, or one of `allowed` (compared as JSON), or `accept(value)` holds.
 */
export interface RefusedKey {
  /** What the key would change, for the message ("sliding-window attention"). */
  why: string;
  /** Values that mean "off" (the default computation), e.g. `[false]`, `[0]`. */
  allowed?: readonly unknown[];
  /** Accepts other values (e.g. a quantization config whose method is implemented). */
  accept?: (value: unknown) => boolean;
}

/** Refused keys by config.json name. */
export type RefusedKeys = Record<string, RefusedKey>;

/** Options of {@link resolveConfig}. */
export interface ResolveConfigOptions {
  /** Keys that are refused unless off (see {@link RefusedKey}); config.json names. */
  refuse?: RefusedKeys;
}

/** A few refusals that hold for every transformers model: quantized or pruned checkpoints. */
export const COMMON_REFUSED: RefusedKeys = {
  quantization_config: { why: 'quantized weights (bitsandbytes, GPTQ, AWQ, …) are not implemented' },
  pruned_heads: { why: 'pruned attention heads are not implemented', allowed: [{}] },
};

function bounds(spec: FieldSpec): string {
  const min = spec.min ?? (spec.kind === 'int' ? 0 : undefined);
  const hi = spec.max === undefined ? '' : ` <= ${spec.max}`;
  if (spec.kind === 'int') {
    if (min === 0) return `a non-negative integer${hi}`;
    if (min === 1) return `a positive integer${hi}`;
    return `an integer >= ${min}${hi}`;
  }
  const lo = min === undefined ? '' : ` ${spec.exclusiveMin ? '>' : '>='} ${min}`;
  return `a finite number${lo}${spec.max === undefined ? '' : `${lo ? ' and' : ''} <= ${spec.max}`}`;
}

function checkField(who: string, key: string, spec: FieldSpec, name: string, v: unknown): unknown {
  if (v === null && spec.nullable) return null;
  const bad = (want: string) =>
    new ConfigError(`${who}: config field '${key}' (${name}) must be ${want}, got ${describe(v)}`, name);
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const isInt = spec.kind === 'int';
      if (typeof v !== 'number' || !Number.isFinite(v) || (isInt && !Number.isInteger(v))) {
        throw bad(bounds(spec));
      }
      const min = spec.min ?? (isInt ? 0 : -Infinity);
      const max = spec.max ?? (isInt ? LIMITS.int : Infinity);
      if (v < min || (spec.exclusiveMin && v === min) || v > max) {
        throw new ConfigError(
          `${who}: config field '${key}' (${name}) = ${v} is out of range: it must be ${bounds(spec)}${
            v > max ? ' (a larger value is refused before anything is allocated)' : ''
          }`,
          name,
        );
      }
      break;
    }
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      break;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('a boolean');
      break;
    default:
      break;
  }
  if (spec.values && !spec.values.some((a) => JSON.stringify(a) === JSON.stringify(v))) {
    throw new ConfigError(
      `${who}: config field '${key}' (${name}) = ${describe(v)} is not supported; supported: ${spec.values
        .map((a) => JSON.stringify(a))
        .join(', ')}`,
      name,
    );
  }
  return v;
}

/**
 * Refuses the keys of `json` that change the computation and are not implemented (see
 * {@link RefusedKey}). `who` names the config class in the message.
 *
 * @throws ConfigError naming the key, its value and what it would change
 */
export function refuseKeys(who: string, json: Record<string, unknown>, refuse: RefusedKeys): void {
  for (const [key, rule] of Object.entries(refuse)) {
    if (!Object.hasOwn(json, key)) continue;
    const v = json[key];
    if (v === null || v === undefined) continue;
    if (rule.allowed?.some((a) => JSON.stringify(a) === JSON.stringify(v))) continue;
    if (rule.accept?.(v)) continue;
    const shown = JSON.stringify(v) ?? describe(v);
    throw new ConfigError(
      `${who}: config.json sets '${key}' = ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}, which attnkit does not implement (${rule.why})${
        rule.allowed ? `; accepted: ${rule.allowed.map((a) => JSON.stringify(a)).join(', ')} or absent` : ''
      }`,
      key,
    );
  }
}

/**
 * Fills a config from camelCase options (constructor arguments; `fromJson` false) or a config.json
 * object (`fromJson` true: each field's `json` name, then its `aliases`), with the defaults of
 * `table`. Every value is checked (kind, bounds, accepted values) and `options.refuse` keys are
 * refused unless off. Unknown config.json keys are kept under `extra` so that saving writes them
 * back; unknown camelCase options are an error.
 *
 * @throws ConfigError naming the field, its config.json name, what it got and what was expected
 * @example
 * ```ts
 * import type { FieldTable } from '@attnkit/hub';
 * const TABLE: FieldTable = {
 *   hiddenSize: sizeField('hidden_size', 768, LIMITS.hidden, { aliases: ['n_embd'] }),
 *   hiddenAct: { json: 'hidden_act', default: 'gelu', kind: 'string' },
 * };
 * const json = { n_embd: 256 }; // a config.json that uses GPT-2's legacy name
 * const c = resolveConfig<{ hiddenSize: number; hiddenAct: string }>('MyConfig', TABLE, json, true);
 * [c.hiddenSize, c.hiddenAct]; // => [256, 'gelu']
 * ```
 */
export function resolveConfig<T>(
  who: string,
  table: FieldTable,
  given: Record<string, unknown> | undefined,
  fromJson: boolean,
  options: ResolveConfigOptions = {},
): T & { extra: Record<string, unknown> } {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new ConfigError(`${who}: expected a config object, got ${describe(given)}`);
  }
  const src = given ?? {};
  const out: Record<string, unknown> = {};
  const used = new Set<string>();
  if (fromJson && options.refuse) refuseKeys(who, src, options.refuse);
  for (const [key, spec] of Object.entries(table)) {
    let v: unknown;
    let name = spec.json;
    if (fromJson) {
      for (const n of [spec.json, ...(spec.aliases ?? [])]) {
        if (Object.hasOwn(src, n) && src[n] !== undefined) {
          v = src[n];
          name = n;
          break;
        }
      }
      used.add(spec.json);
      for (const a of spec.aliases ?? []) used.add(a);
    } else {
      v = src[key];
      used.add(key);
    }
    out[key] = v === undefined ? spec.default : checkField(who, key, spec, name, v);
  }
  const extra: Record<string, unknown> = {};
  if (fromJson) {
    for (const [k, v] of Object.entries(src)) if (!used.has(k)) extra[k] = v;
  } else {
    if (src.extra && typeof src.extra === 'object') Object.assign(extra, src.extra);
    for (const k of Object.keys(src)) {
      if (!used.has(k) && k !== 'extra') {
        throw new ConfigError(
          `${who}: unknown config option '${k}' (known: ${Object.keys(table).join(', ')})`,
          k,
        );
      }
    }
    if (options.refuse) refuseKeys(who, extra, options.refuse);
  }
  out.extra = extra;
  return out as T & { extra: Record<string, unknown> };
}

/** The config.json object of a resolved config (the fields' `json` names, extras kept). */
export function configToJson(table: FieldTable, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...((config.extra as Record<string, unknown>) ?? {}) };
  for (const [key, spec] of Object.entries(table)) {
    for (const a of spec.aliases ?? []) delete out[a];
    out[spec.json] = config[key];
  }
  return out;
}

/** Converts `numTrainTimesteps` to `num_train_timesteps`. */
export function camelToSnake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Converts `num_train_timesteps` to `numTrainTimesteps`. */
export function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Refuses a product of sizes above `limit` (e.g. vocabulary × hidden size for the embedding table),
 * naming the keys, before anything is allocated.
 *
 * @throws ConfigError naming the keys and the product
 */
export function checkProduct(who: string, sizes: Record<string, number>, limit: number, what: string): void {
  let p = 1;
  for (const v of Object.values(sizes)) p *= v;
  if (p > limit) {
    const parts = Object.entries(sizes).map(([k, v]) => `${k} ${v}`);
    throw new ConfigError(
      `${who}: ${what} would hold ${p.toExponential(2)} values (${parts.join(' × ')}), above the limit ${limit.toExponential(2)}; refused before allocating`,
      Object.keys(sizes)[0] ?? null,
    );
  }
}
