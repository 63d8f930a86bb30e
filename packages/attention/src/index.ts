/**
 * @attnkit/attention: scaled dot-product attention with PyTorch semantics, multi-head, grouped-query
 * and cross attention, a KV cache, sliding windows, positional encodings (sinusoidal, learned,
 * RoPE, ALiBi, T5's relative position bias), flash-style fused kernels and attention-weight capture, on any tensor-core backend.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { randn } from '@attnkit/tensor-core';
 * import { scaledDotProductAttention } from '@attnkit/attention';
 * const q = randn([1, 4, 8, 16]), k = randn([1, 4, 8, 16]), v = randn([1, 4, 8, 16]);
 * const y = scaledDotProductAttention(q, k, v, { causal: true });
 * y.shape; // => [1, 4, 8, 16]
 * ```
 * @packageDocumentation
 */

/**
 * x @ wᵀ + b, as torch.nn.functional.linear: tensor-core's `linear`, re-exported (the two were once
 * separate functions).
 *
 * @deprecated import `linear` from `@attnkit/tensor-core`.
 */
export { linear } from '@attnkit/tensor-core';
export type { AlibiBiasOptions } from './alibi.js';
export { alibiBias, alibiSlopes } from './alibi.js';
export type { BlockSparseLayout } from './block-sparse.js';
export {
  bigBirdLayout,
  blockSparseMask,
  fixedLayout,
  longformerLayout,
  stridedLayout,
} from './block-sparse.js';
export type { AttentionRecord, CapturedAttention } from './capture.js';
export { captureAttention, isCapturingAttention } from './capture.js';
export type {
  DiffAttentionForwardOptions,
  DiffAttentionOptions,
  DiffTransformerBlockOptions,
} from './differential.js';
export { DiffAttention, DiffTransformerBlock, diffLambdaInit } from './differential.js';
export type {
  GroupedQueryAttentionForwardOptions,
  GroupedQueryAttentionOptions,
} from './grouped-query.js';
export { GroupedQueryAttention } from './grouped-query.js';
export type { CachedKeysValues, KVCacheOptions } from './kv-cache.js';
export { KVCache, LayerKVCache } from './kv-cache.js';
export type {
  MultiHeadAttentionForwardOptions,
  MultiHeadAttentionOptions,
  MultiHeadAttentionResult,
} from './multi-head.js';
export { MultiHeadAttention } from './multi-head.js';
export type { LearnedPositionalEmbeddingOptions, SinusoidalOptions } from './positional.js';
export { LearnedPositionalEmbedding, sinusoidalPositionalEncoding } from './positional.js';
export type {
  RelativePositionBiasOptions,
  RelativePositionBucketOptions,
} from './relative-position.js';
export {
  RelativePositionBias,
  relativePositionBucket,
  relativePositionBuckets,
} from './relative-position.js';
export type { RotaryApplyOptions, RotaryEmbeddingOptions, RotaryLayout } from './rotary.js';
export { applyRotary, RotaryEmbedding } from './rotary.js';
export type { AttentionOutput, ScaledDotProductAttentionOptions } from './scaled-dot-product.js';
export { positionalVisibility, scaledDotProductAttention } from './scaled-dot-product.js';
