// The attention step every block shares, whatever its parameter layout: split heads, attend (with
// the model's KV cache when decoding), merge heads. Projections live in each model file, named as
// the checkpoint names them (GPT-2's c_attn, Llama's q_proj, BERT's query, torch's in_proj_weight).
import { KVCache, type LayerKVCache, scaledDotProductAttention } from '@attnkit/attention';
import { indexSelect, ne, noGrad, type Tensor, tensor } from '@attnkit/tensor-core';
import { allOnes, fmtShape } from '../internal.js';

/** [B, L, H·D] → [B, H, L, D] (a view). */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  const [b, l] = x.shape;
  return x.reshape([b, l, heads, headDim]).transpose(1, 2);
}

/** [B, H, L, D] → [B, L, H·D]. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, l, d] = x.shape;
  return x.transpose(1, 2).reshape([b, l, h * d]);
}

/**
 * A key padding mask for attention: `attentionMask` [B, Lk] (1 = real token, 0 = padding) becomes a
 * bool [B, 1, 1, Lk] (true = attend), or null when nothing is padded.
 */
export function keyPaddingMask(attentionMask: Tensor | null | undefined): Tensor | null {
  if (!attentionMask) return null;
  if (allOnes(attentionMask)) return null;
  const [b, lk] = attentionMask.shape;
  return noGrad(() => ne(attentionMask, 0).reshape([b, 1, 1, lk]));
}

/** Options of {@link attend}. */
export interface AttendOptions {
  /** This layer's cache: new keys/values are appended and attention covers everything cached. */
  cache?: LayerKVCache | null;
  /** Bool [B, 1, 1, Lk] or [B, 1, Lq, Lk] (true = attend), over the past and new keys. */
  mask?: Tensor | null;
  /** Causal masking, aligned bottom-right (new queries are the last positions). */
  causal?: boolean;
  /** Multiplier of q·k (1/√D by default). */
  scale?: number;
  /** Attention dropout (training). */
  dropoutP?: number;
  /** Label for attention capture. */
  name?: string;
}

/**
 * Scaled dot-product attention of q [B, H, Lq, D] over k, v [B, Hkv, Lk, D] (grouped-query when
 * Hkv < H), with a KV cache. On the first call (empty cache) the fresh keys and values are used
 * directly, so gradients reach them; the cache only records them for later steps.
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, options: AttendOptions = {}): Tensor {
  let keys = k;
  let values = v;
  const cache = options.cache;
  if (cache) {
    if (cache.length === 0) noGrad(() => cache.append(k.detach(), v.detach()));
    else ({ keys, values } = cache.append(k.detach(), v.detach()));
  }
  return scaledDotProductAttention(q, keys, values, {
    mask: options.mask ?? null,
    causal: options.causal ?? false,
    scale: options.scale ?? null,
    dropoutP: options.dropoutP ?? 0,
    name: options.name,
  });
}

/** The KV cache a causal LM returns as `pastKeyValues`: one growing {@link LayerKVCache} per layer. */
export function newModelCache(numLayers: number): KVCache {
  return new KVCache({ numLayers });
}

/** Checks a `pastKeyValues` argument: a {@link KVCache} returned by the same kind of model. */
export function cacheArg(past: unknown, numLayers: number, fn: string): KVCache | null {
  if (past === undefined || past === null) return null;
  if (!(past instanceof KVCache)) {
    throw new TypeError(
      `${fn}: 'pastKeyValues' must be the KVCache a previous forward returned, got ${
        (past as object)?.constructor?.name ?? typeof past
      }`,
    );
  }
  if (past.numLayers !== numLayers && past.length > 0) {
    throw new Error(`${fn}: 'pastKeyValues' holds ${past.numLayers} layers, the model has ${numLayers}`);
  }
  return past;
}

/**
 * A new cache holding rows `beamIndices` of `cache` (beam search reorders its hypotheses each step).
 * The old cache is left as it is (the caller disposes it).
 */
export function reorderModelCache(cache: unknown, beamIndices: readonly number[], fn: string): KVCache {
  if (!(cache instanceof KVCache)) throw new TypeError(`${fn}: expected a KVCache`);
  const out = new KVCache({ numLayers: cache.numLayers });
  if (cache.length === 0) return out;
  noGrad(() => {
    const idx = tensor(Int32Array.from(beamIndices), [beamIndices.length], 'int32');
    for (let i = 0; i < cache.numLayers; i++) {
      const layer = cache.layer(i);
      const k = layer.keys as Tensor;
      const v = layer.values as Tensor;
      if (beamIndices.some((j) => !Number.isInteger(j) || j < 0 || j >= k.shape[0])) {
        throw new RangeError(
          `${fn}: beam indices [${beamIndices.join(', ')}] are out of range for a cache of batch ${k.shape[0]} ${fmtShape(k.shape)}`,
        );
      }
      const k2 = indexSelect(k, 0, idx);
      const v2 = indexSelect(v, 0, idx);
      const views = out.layer(i).append(k2, v2);
      for (const t of [k, v, k2, v2, views.keys, views.values]) t.dispose();
    }
    idx.dispose();
  });
  return out;
}

/** Crops a model cache to its first `length` positions in place and returns it (speculative decoding). */
export function cropModelCache(cache: unknown, length: number, fn: string): KVCache {
  if (!(cache instanceof KVCache)) throw new TypeError(`${fn}: expected a KVCache`);
  cache.crop(length);
  return cache;
}
