/**
 * Model configs: diffusers' `config.json` fields in camelCase, read from snake_case JSON.
 */
import { snakeToCamel } from '../schedulers/config.js';

/** Fields a config may hold that change the architecture in ways this port does not build. */
export type Required = Record<string, readonly unknown[]>;

/**
 * Merges a diffusers `config.json` (snake_case or camelCase keys; `_`-prefixed and unknown keys are
 * ignored, as diffusers ignores them) over `defaults`, checks types, and rejects values of
 * `unsupported` fields outside the listed ones. @internal
 */
export function readModelConfig<C extends object>(
  owner: string,
  defaults: C,
  json: unknown,
  unsupported: Required = {},
): C {
  let obj = json;
  if (typeof obj === 'string') {
    try {
      obj = JSON.parse(obj);
    } catch (e) {
      throw new Error(`${owner}: the config text is not valid JSON (${(e as Error).message})`);
    }
  }
  if (obj === undefined) obj = {};
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(
      `${owner}: config must be an object (config.json contents), got ${obj === null ? 'null' : typeof obj}`,
    );
  }
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k.startsWith('_')) continue;
    const key = k.includes('_') ? snakeToCamel(k) : k;
    if (key in unsupported) extra[key] = v;
    if (!(key in defaults)) continue;
    const def = (defaults as Record<string, unknown>)[key];
    if (v !== null && def !== null && def !== undefined) {
      // numbers and booleans may also be given per block (an array), as diffusers allows
      const ok = Array.isArray(def)
        ? Array.isArray(v)
        : typeof v === typeof def || (Array.isArray(v) && typeof def !== 'string');
      if (!ok) {
        throw new TypeError(
          `${owner}: config.${key} must be ${Array.isArray(def) ? 'an array' : `a ${typeof def}`}, got ${JSON.stringify(v)}`,
        );
      }
    }
    out[key] = v;
  }
  for (const [key, allowed] of Object.entries(unsupported)) {
    const v = key in out ? out[key] : (extra[key] ?? null);
    if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v))) {
      throw new Error(
        `${owner}: config.${key} = ${JSON.stringify(v)} is not supported; supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
      );
    }
  }
  return out as C;
}

/** A per-block value: one value for all blocks or an array with one per block. @internal */
export function perBlock<T>(owner: string, name: string, v: T | readonly T[], n: number): T[] {
  if (Array.isArray(v)) {
    if (v.length !== n) throw new Error(`${owner}: config.${name} has ${v.length} entries for ${n} blocks`);
    return [...v];
  }
  return new Array<T>(n).fill(v as T);
}
