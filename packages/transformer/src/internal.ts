// Helpers shared inside @attnkit/transformer (not exported from the package): argument checks that
// name the function, and the table-driven parsing of Hugging Face config.json files.
import { fromValues, type Tensor } from '@attnkit/tensor-core';

/** `[2, 3]` for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** What a value is, for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    if ((v as { isTensor?: boolean }).isTensor === true) {
      const t = v as Tensor;
      return `a ${t.dtype} Tensor ${fmtShape(t.shape)}`;
    }
    return (v as object).constructor?.name ?? 'object';
  }
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks a live tensor argument. */
export function assertTensorArg(x: unknown, arg: string, fn: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    throw new TypeError(`${fn}: '${arg}' must be a Tensor, got ${describe(x)}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${fn}: '${arg}' was disposed`);
}

/**
 * Token ids as int32 [batch, seq] (a rank-1 tensor is one sequence): the shape every model takes.
 * Returns the [B, L] view.
 */
export function idsArg(x: unknown, arg: string, fn: string): Tensor {
  assertTensorArg(x, arg, fn);
  if (x.dtype !== 'int32') {
    throw new TypeError(`${fn}: '${arg}' must hold int32 token ids, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
  if (x.rank === 1) return x.unsqueeze(0);
  if (x.rank !== 2 || x.shape[1] === 0) {
    throw new Error(`${fn}: '${arg}' must be [batch, seq] with seq >= 1, got ${fmtShape(x.shape)}`);
  }
  return x;
}

/** An optional [batch, n] tensor of any dtype whose shape must be exactly `want`. */
export function maskArg(x: unknown, arg: string, fn: string, want: readonly number[]): Tensor | null {
  if (x === undefined || x === null) return null;
  assertTensorArg(x, arg, fn);
  const t = x.rank === 1 && want.length === 2 && want[0] === 1 ? x.unsqueeze(0) : x;
  if (t.rank !== want.length || t.shape.some((s, i) => s !== want[i])) {
    throw new Error(`${fn}: '${arg}' must be ${fmtShape(want)}, got ${fmtShape(x.shape)}`);
  }
  return t;
}

/** Positions `start .. start + len - 1` for every row: int32 [batch, len]. */
export function rangeIds(batch: number, start: number, len: number): Tensor {
  const v = new Int32Array(batch * len);
  for (let b = 0; b < batch; b++) for (let i = 0; i < len; i++) v[b * len + i] = start + i;
  return fromValues(v, [batch, len], 'int32');
}

/** True when every element of a synchronously readable tensor is non-zero (a mask with no padding). */
export function allOnes(mask: Tensor): boolean {
  if (!mask.backend.readSync) return false;
  const d = mask.dataSync();
  for (let i = 0; i < d.length; i++) if (d[i] === 0) return false;
  return true;
}

// ---------------------------------------------------------------- configs

/** One field of a config: its config.json (snake_case) name, default and kind. */
export interface FieldSpec {
  json: string;
  default: unknown;
  kind: 'int' | 'number' | 'string' | 'bool' | 'any';
  /** Other config.json names accepted for the field (e.g. `hidden_size` for GPT-2's `n_embd`). */
  aliases?: string[];
  nullable?: boolean;
}

/** A table of fields, keyed by the camelCase name. */
export type FieldTable = Record<string, FieldSpec>;

function checkField(who: string, key: string, spec: FieldSpec, v: unknown): unknown {
  if (v === null && spec.nullable) return null;
  const bad = (want: string) =>
    new TypeError(`${who}: config field '${key}' (${spec.json}) must be ${want}, got ${describe(v)}`);
  switch (spec.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad('a non-negative integer');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a finite number');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('a boolean');
      return v;
    default:
      return v;
  }
}

/**
 * Fills a config from camelCase options (constructor arguments) or a config.json object
 * (snake_case names, `fromJson`), with the defaults of `table`. Unknown config.json fields are
 * kept under `extra` so that saving writes them back.
 */
export function resolveConfig<T>(
  who: string,
  table: FieldTable,
  given: Record<string, unknown> | undefined,
  fromJson: boolean,
): T & { extra: Record<string, unknown> } {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new TypeError(`${who}: expected a config object, got ${describe(given)}`);
  }
  const src = given ?? {};
  const out: Record<string, unknown> = {};
  const used = new Set<string>();
  for (const [key, spec] of Object.entries(table)) {
    let v: unknown;
    if (fromJson) {
      for (const name of [spec.json, ...(spec.aliases ?? [])]) {
        if (name in src && src[name] !== undefined) {
          v = src[name];
          break;
        }
      }
      used.add(spec.json);
      for (const a of spec.aliases ?? []) used.add(a);
    } else {
      v = src[key];
      used.add(key);
    }
    out[key] = v === undefined ? spec.default : checkField(who, key, spec, v);
  }
  const extra: Record<string, unknown> = {};
  if (fromJson) {
    for (const [k, v] of Object.entries(src)) if (!used.has(k)) extra[k] = v;
  } else if (src.extra && typeof src.extra === 'object') {
    Object.assign(extra, src.extra);
  } else {
    for (const k of Object.keys(src)) {
      if (!used.has(k) && k !== 'extra') {
        throw new TypeError(`${who}: unknown config option '${k}' (known: ${Object.keys(table).join(', ')})`);
      }
    }
  }
  out.extra = extra;
  return out as T & { extra: Record<string, unknown> };
}

/**
 * config.json keys that hold floats (the 'number' fields of every table used so far): written
 * with a decimal point even when integral (`1.0`), as transformers 5's typed configs require.
 */
export const FLOAT_CONFIG_KEYS = new Set<string>();

/** The config.json object of a resolved config (snake_case names, extras kept). */
export function configToJson(table: FieldTable, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...((config.extra as Record<string, unknown>) ?? {}) };
  for (const [key, spec] of Object.entries(table)) {
    out[spec.json] = config[key];
    if (spec.kind === 'number') FLOAT_CONFIG_KEYS.add(spec.json);
  }
  return out;
}

/**
 * A config.json text: 2-space JSON in which integral values of float keys keep a decimal point
 * (`"layer_norm_eps": 1.0`, not `1`): transformers 5 refuses an int where its config declares a float.
 */
export function configJsonText(config: Record<string, unknown>): string {
  const mark = '\u0000float:';
  const text = JSON.stringify(
    config,
    (key, v) =>
      typeof v === 'number' && Number.isInteger(v) && FLOAT_CONFIG_KEYS.has(key) ? `${mark}${v}` : v,
    2,
  );
  return `${text.replace(/"\\u0000float:(-?\d+)"/g, '$1.0')}\n`;
}

/** Throws unless `cond`, with a message naming the function. */
export function check(cond: boolean, who: string, msg: string): void {
  if (!cond) throw new Error(`${who}: ${msg}`);
}
