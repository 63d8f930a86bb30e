/**
 * @attnkit/tensor-core/io: reading and writing tensors in the Hugging Face safetensors format, in
 * Node and in browsers (no Node-only import at module load; `node:fs` is loaded only for paths).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { readSafetensors, saveSafetensors } from '@attnkit/tensor-core/io';
 * import { Linear } from '@attnkit/tensor-core/nn';
 * const model = new Linear(3, 2);
 * const file = join(mkdtempSync(join(tmpdir(), 'attnkit-')), 'model.safetensors');
 * await saveSafetensors(file, model.stateDict(), { format: 'pt' });
 * const state = await readSafetensors(file); // Record<string, Tensor>
 * Object.keys(state).sort(); // => ['bias', 'weight']
 * new Linear(3, 2).loadStateDict(state);
 * ```
 * @packageDocumentation
 */
import type { Tensor } from '../tensor.js';
import {
  checkReadOptions,
  type ReadSafetensorsOptions,
  readSafetensorsSync,
  type SafetensorsContents,
  type TensorRecord,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from './safetensors.js';
import { type ByteSource, readBytes, writeFileBytes } from './source.js';

export type { JsonObject, JsonValue } from './json.js';
export type {
  ReadSafetensorsOptions,
  SafetensorsContents,
  SafetensorsDType,
  SafetensorsEntry,
  SafetensorsHeader,
  TensorRecord,
  WriteSafetensorsOptions,
} from './safetensors.js';
export {
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readSafetensorsSync,
  SafetensorsError,
  writeSafetensors,
  writeSafetensorsSync,
} from './safetensors.js';
export type { ByteSource } from './source.js';

/**
 * Reads a safetensors file and returns its tensors by name: exactly the record
 * `Module.loadStateDict` accepts. Use {@link readSafetensorsWithMetadata} for `__metadata__`.
 *
 * `source` is a path or file: URL (Node), an http(s) URL, a fetch `Response`, a `Blob`/`File`
 * (browser), or the bytes (`ArrayBuffer`, `Uint8Array`, Node `Buffer`). The file is read once;
 * each tensor is copied once into the backend (typed-array views on the file where aligned).
 *
 * Dtypes: F32 → float32; F16 → float16 storage (or float32 with `{ float16: 'float32' }`);
 * BF16 → float32 (exact; or bfloat16 storage with `{ bfloat16: 'keep' }`); F64 → float32 (rounded; see `notes` of the metadata variant);
 * I32, I16, I8, U16, U8 → int32; I64, U32, U64 → int32 when every value fits (else an error);
 * BOOL → bool.
 *
 * @throws {SafetensorsError} for malformed files, naming the file, the tensor and the problem
 *   (no tensor is created when the file is bad)
 * @example
 * ```ts
 * // in a browser: readSafetensors(await fetch('/model.safetensors')); here a Response of bytes
 * const bytes = await writeSafetensors({ 'lm_head.weight': randn([10, 4]) });
 * const w = await readSafetensors(new Response(Uint8Array.from(bytes)));
 * w['lm_head.weight'].shape; // => [10, 4]
 * ```
 */
export async function readSafetensors(
  source: ByteSource,
  options: ReadSafetensorsOptions = {},
): Promise<Record<string, Tensor>> {
  return (await readSafetensorsWithMetadata(source, options)).tensors;
}

/** Like {@link readSafetensors}, also returning `__metadata__`, stored dtypes and conversion notes. */
export async function readSafetensorsWithMetadata(
  source: ByteSource,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  checkReadOptions('readSafetensors', options);
  const { bytes, where } = await readBytes(source, 'readSafetensors');
  return readSafetensorsSync(bytes, options, where);
}

/**
 * Writes tensors to a safetensors file (Node only; in a browser use {@link writeSafetensors},
 * which returns the bytes).
 *
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * await saveSafetensors(join(mkdtempSync(join(tmpdir(), 'attnkit-')), 'weights.safetensors'), { w: randn([4, 4]) }, { format: 'pt' });
 * ```
 */
export async function saveSafetensors(
  path: string | URL,
  tensors: TensorRecord,
  metadata?: Record<string, string> | null,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const bytes = await writeSafetensors(tensors, metadata, options);
  await writeFileBytes(path, bytes, 'saveSafetensors');
}
