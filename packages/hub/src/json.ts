// JSON files of a checkpoint folder (config.json, generation_config.json, tokenizer_config.json,
// model.safetensors.index.json): parsed with errors that name the file and the source.
import type { FileSource } from './files.js';
import { ConfigError, describe } from './messages.js';

/**
 * Python's `json.dump` writes `NaN`, `Infinity` and `-Infinity` for such floats, which JSON.parse
 * refuses; this rewrites them (outside strings) as `null`, as a float the model cannot use.
 */
function pythonJsonToJson(text: string): string {
  let out = '';
  let i = 0;
  let start = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    const m = /^-?(NaN|Infinity)/.exec(text.slice(i, i + 9));
    if (m && (c === 'N' || c === 'I' || c === '-')) {
      out += `${text.slice(start, i)}null`;
      i += m[0].length;
      start = i;
      continue;
    }
    i++;
  }
  return out + text.slice(start);
}

/**
 * Parses the text (or UTF-8 bytes) of a JSON file that must hold an object. `name` and `where` name
 * the file and its source in messages. Python's NaN/Infinity are read as null.
 *
 * @throws ConfigError naming the file when it is not JSON or not an object
 */
export function parseJsonObject(
  text: string | Uint8Array,
  name: string,
  fn: string,
  where?: string,
): Record<string, unknown> {
  const s = typeof text === 'string' ? text : new TextDecoder().decode(text);
  const at = where ? `${fn}(${where})` : fn;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    try {
      v = JSON.parse(pythonJsonToJson(s));
    } catch {
      throw new ConfigError(`${at}: ${name} is not valid JSON: ${(e as Error).message}`, null, { cause: e });
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new ConfigError(`${at}: ${name} must hold a JSON object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/**
 * Reads and parses a JSON object file of `src`. When the file is absent: null with `optional`,
 * else a ConfigError naming the file and the source.
 */
export async function readJson(
  src: FileSource,
  name: string,
  fn: string,
  options: { optional: true },
): Promise<Record<string, unknown> | null>;
export async function readJson(
  src: FileSource,
  name: string,
  fn: string,
  options?: { optional?: false },
): Promise<Record<string, unknown>>;
export async function readJson(
  src: FileSource,
  name: string,
  fn: string,
  options: { optional?: boolean } = {},
): Promise<Record<string, unknown> | null> {
  const bytes = await src.read(name);
  if (bytes === null) {
    if (options.optional) return null;
    throw new ConfigError(`${fn}(${src.where}): ${name} is missing`);
  }
  return parseJsonObject(bytes, name, fn, src.where);
}
