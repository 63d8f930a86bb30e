/**
 * Loading diffusers-layout model folders: `config.json` + `diffusion_pytorch_model.safetensors`
 * (or `model.safetensors`), from a path (Node), a URL, or in-memory parts.
 */
import { openFiles, parseJsonObject, readJson, readWeightFiles } from '@attnkit/hub';
import type { Tensor } from '@attnkit/tensor-core';
import { type ByteSource, readSafetensors } from '@attnkit/tensor-core/io';
import type { Module } from '@attnkit/tensor-core/nn';

/**
 * Where a model comes from: a folder path or URL prefix holding `config.json` and
 * `diffusion_pytorch_model.safetensors`, or the parts themselves (a config object or JSON text, and
 * the weights as safetensors bytes / Blob / Response / path, or an already-read state dict).
 */
export type ModelSource =
  | string
  | URL
  | {
      config: unknown;
      weights: ByteSource | Record<string, Tensor>;
    };

const WEIGHT_FILES = ['diffusion_pytorch_model.safetensors', 'model.safetensors'];

/**
 * Renames the attention parameters of checkpoints saved before diffusers 0.14 (`query`, `key`,
 * `value`, `proj_attn`) to today's names (`to_q`, `to_k`, `to_v`, `to_out.0`), as diffusers does on
 * load. 1×1-conv shaped attention weights `[O, I, 1, 1]` are viewed as Linear `[O, I]`.
 */
export function convertLegacyAttentionKeys(state: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const map: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };
  for (const [k, v] of Object.entries(state)) {
    const m = /^(.*\.attentions\.\d+\.)(query|key|value|proj_attn)\.(weight|bias)$/.exec(k);
    if (!m) {
      out[k] = v;
      continue;
    }
    const name = `${m[1]}${map[m[2]]}.${m[3]}`;
    out[name] =
      v.rank === 4 && v.shape[2] === 1 && v.shape[3] === 1 ? v.reshape([v.shape[0], v.shape[1]]) : v;
  }
  return out;
}

/** Reads config + weights and builds the model. @internal */
export async function loadPretrained<M extends Module>(
  source: ModelSource,
  build: (config: Record<string, unknown>) => M,
  op: string,
): Promise<M> {
  let config: unknown;
  let state: Record<string, Tensor>;
  let owned = true;
  if (typeof source === 'string' || source instanceof URL) {
    // a folder (Node) or URL base: config.json + the weights (one file or shards), via @attnkit/hub
    const src = openFiles(source, op);
    config = await readJson(src, 'config.json', op);
    state = await readWeightFiles(src, op, (bytes) => readSafetensors(bytes, { float16: 'float32' }), {
      names: WEIGHT_FILES,
    });
  } else if (source && typeof source === 'object' && 'config' in source && 'weights' in source) {
    config = typeof source.config === 'string' ? parseJsonObject(source.config, 'config', op) : source.config;
    const w = source.weights as unknown;
    const isRecord =
      w !== null &&
      typeof w === 'object' &&
      Object.getPrototypeOf(w) === Object.prototype &&
      Object.values(w as object).every((t) => (t as { isTensor?: boolean })?.isTensor === true);
    owned = !isRecord;
    state = isRecord
      ? (w as Record<string, Tensor>)
      : await readSafetensors(w as ByteSource, { float16: 'float32' });
  } else {
    throw new TypeError(
      `${op}: expected a folder path/URL or { config, weights }, got ${source === null ? 'null' : typeof source}`,
    );
  }
  const model = build(config as Record<string, unknown>);
  const converted = convertLegacyAttentionKeys(state);
  try {
    model.loadStateDict(converted);
  } catch (e) {
    model.dispose();
    throw new Error(`${op}: ${(e as Error).message}`);
  } finally {
    for (const [k, t] of Object.entries(converted)) if (state[k] !== t) t.dispose();
    if (owned) for (const t of Object.values(state)) t.dispose();
  }
  return model;
}
