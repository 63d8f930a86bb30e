// The pieces every attnkit error message is made of: what a value is, a shape, and a check that
// names the function. One copy, imported by every package (attnkit's "validation at the door").

/** `[2, 3]`: a shape for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * What a value is, for messages: `null`, `undefined`, `an array of length 3`, `a float32 Tensor
 * [2, 3]`, the class name of an object, or the type and value of a primitive (`number NaN`,
 * `string "abc"`; long strings are cut at 40 characters).
 *
 * @example
 * ```ts
 * const a = [1, 2];
 * `matmul: 'a' must be a Tensor, got ${describe(a)}`; // => 'matmul: \'a\' must be a Tensor, got an array of length 2'
 * ```
 */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object' || typeof v === 'function') {
    const t = v as { isTensor?: boolean; dtype?: string; shape?: readonly number[] };
    if (t.isTensor === true && Array.isArray(t.shape)) return `a ${t.dtype} Tensor ${fmtShape(t.shape)}`;
    if (typeof v === 'function') return `function ${(v as { name?: string }).name || '(anonymous)'}`;
    return (v as object).constructor?.name ?? 'object';
  }
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'bigint') return `bigint ${v}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Throws `new Error('<who>: <msg>')` unless `cond`.
 *
 * @example
 * ```ts
 * const [hidden, heads] = [768, 5];
 * let message = '';
 * try {
 *   check(heads > 0 && hidden % heads === 0, 'GPT2Config', `n_embd ${hidden} must be divisible by n_head ${heads}`);
 * } catch (e) {
 *   message = (e as Error).message;
 * }
 * message; // => 'GPT2Config: n_embd 768 must be divisible by n_head 5'
 * ```
 */
export function check(cond: boolean, who: string, msg: string): asserts cond {
  if (!cond) throw new Error(`${who}: ${msg}`);
}

/**
 * A config.json (or a file of a checkpoint folder) that attnkit refuses: a wrong type, an
 * out-of-range size, a setting that is not implemented, a missing or malformed file. `key` names
 * the config.json key at fault when there is one.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The config.json key at fault (snake_case), or null. */
  readonly key: string | null;

  constructor(message: string, key: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}
