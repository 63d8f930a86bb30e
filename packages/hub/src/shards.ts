// Weights of a checkpoint: one safetensors file, or shards listed by an index
// (`model.safetensors.index.json`: `{ "weight_map": { "<tensor name>": "<shard file>" } }`).
// The hub knows the layout; the caller parses each file (safetensors → tensors lives in tensor-core).
import type { FileSource } from './files.js';
import { parseJsonObject } from './json.js';
import { ConfigError } from './messages.js';

/** Options of {@link readWeightFiles}. */
export interface WeightFileOptions {
  /**
   * The single-file names to look for, in order (default `['model.safetensors']`; diffusers folders use
   * `['diffusion_pytorch_model.safetensors', 'model.safetensors']`). For each, `<name>.index.json` is
   * the index of its shards.
   */
  names?: readonly string[];
}

/** A value {@link readWeightFiles} can free when a later shard fails (a Tensor). */
export interface WeightLike {
  dispose(): void;
}

/** The shard files of an index's `weight_map`, in first-listed order, checked. @internal */
export function shardFiles(index: Record<string, unknown>, indexName: string, at: string): string[] {
  const map = index.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw new ConfigError(`${at}: ${indexName} has no "weight_map" object`, 'weight_map');
  }
  const files: string[] = [];
  for (const [tensor, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.length === 0 || file.includes('..')) {
      throw new ConfigError(
        `${at}: ${indexName} maps '${tensor}' to ${JSON.stringify(file)}, not a file name`,
      );
    }
    if (!files.includes(file)) files.push(file);
  }
  return files;
}

/**
 * Reads the weights of `src`: the first of `names` that exists, or every shard its
 * `<name>.index.json` lists, each parsed by `parse` (e.g. tensor-core's `readSafetensors`) and merged
 * into one record. Tensors listed by the index must be in their shards; a tensor stored twice keeps
 * its first copy (the other is disposed). On any failure, everything read so far is disposed.
 *
 * @throws ConfigError naming the missing file or the tensors missing from their shards
 * @example
 * ```ts
 * import { readSafetensors } from '@attnkit/tensor-core/io';
 * const src = openFiles('packages/transformer/test/fixtures/gpt2-bf16-sharded'); // three shards and an index
 * const weights = await readWeightFiles(src, 'loadPretrained', (bytes) => readSafetensors(bytes));
 * Object.keys(weights).length > 0; // => true
 * ```
 */
export async function readWeightFiles<T extends WeightLike>(
  src: FileSource,
  fn: string,
  parse: (bytes: Uint8Array, file: string) => Promise<Record<string, T>> | Record<string, T>,
  options: WeightFileOptions = {},
): Promise<Record<string, T>> {
  const names = options.names ?? ['model.safetensors'];
  const at = `${fn}(${src.where})`;
  for (const name of names) {
    const single = await src.read(name);
    if (single) return parse(single, name);
  }
  for (const name of names) {
    const indexName = `${name}.index.json`;
    const indexBytes = await src.read(indexName);
    if (!indexBytes) continue;
    const index = parseJsonObject(indexBytes, indexName, fn, src.where);
    const files = shardFiles(index, indexName, at);
    const out: Record<string, T> = {};
    const free = () => {
      for (const t of Object.values(out)) t.dispose();
    };
    try {
      for (const file of files) {
        const bytes = await src.read(file);
        if (!bytes) throw new ConfigError(`${at}: the shard '${file}' listed in ${indexName} is missing`);
        const part = await parse(bytes, file);
        for (const [k, t] of Object.entries(part)) {
          if (k in out) t.dispose();
          else out[k] = t;
        }
      }
      const listed = Object.keys(index.weight_map as Record<string, unknown>).filter((k) => !(k in out));
      if (listed.length) {
        throw new ConfigError(
          `${at}: tensors listed in ${indexName} are not in their shards: ${listed.join(', ')}`,
        );
      }
    } catch (e) {
      free();
      throw e;
    }
    return out;
  }
  throw new ConfigError(
    `${at}: found neither ${names.join(' nor ')} nor ${names.map((n) => `${n}.index.json`).join(' nor ')} (only safetensors checkpoints are supported)`,
  );
}
