// Scaled dot-product attention with PyTorch semantics (torch.nn.functional.scaled_dot_product_attention),
// plus grouped-query heads, bottom-right causal alignment, sliding windows and zero rows for queries
// that see no key. The computation is tensor-core's fused `attention` op: its reference composition
// (q kᵀ · scale, mask, softmax, · v: autograd, weights, dropout, any backend) and the backend's fused
// kernel when it has one (flash-style: never materialises Lq×Lk), used when nothing asks for the
// weights. This file adds torch's names and the attention-weight capture.
//
// Shapes: q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv], H a multiple of Hkv (query head h
// uses key/value head floor(h / (H / Hkv)), as HF's repeat_kv). Output [B, H, Lq, Dv].
import { type AttentionOptions, attention, type Generator, type Tensor } from '@attnkit/tensor-core';
import type { BlockSparseLayout } from './block-sparse.js';
import { isCapturingAttention, recordAttention } from './capture.js';

const FN = 'scaledDotProductAttention';

/** Options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /**
   * A boolean mask (true = attend, as torch SDPA) or an additive float mask, broadcastable to
   * [B, H, Lq, Lk]. Float entries of -Infinity exclude a key.
   */
  mask?: Tensor | null;
  /**
   * Causal masking aligned bottom-right: query i of Lq sees keys j <= i + Lk - Lq (the layout of a
   * KV cache: the queries are the last Lq positions). Equal to torch's `is_causal` when Lq = Lk.
   * Combined with `mask` (both must allow a key).
   */
  causal?: boolean;
  /** Multiplier of q·k; 1/sqrt(D) by default (torch's default). */
  scale?: number | null;
  /** Dropout probability on the attention weights (applied whenever > 0, as torch SDPA). */
  dropoutP?: number;
  /** Generator for dropout; the global one by default. */
  generator?: Generator;
  /**
   * Sliding-window size w: query at position p sees keys p - w < j <= p with `causal` (Mistral's
   * convention: the window counts the query's own position), |j - p| < w without it.
   */
  windowSize?: number | null;
  /**
   * A block-sparse layout ({@link stridedLayout}, {@link fixedLayout}, {@link longformerLayout},
   * {@link bigBirdLayout}): query block i sees only the key blocks `layout.visible[i]`. Combined with
   * `mask` and `causal`. On a backend with a block-sparse kernel (backend-cpu, backend-webgpu) the
   * fused forward walks only the visible blocks, so time and memory grow with their number, not
   * Lq·Lk; elsewhere, and on the reference path, it is dense attention under the equivalent boolean
   * mask ({@link blockSparseMask}). Its block size must divide Lq and Lk, and every query block must
   * see a key block (errors name the offending block).
   */
  layout?: BlockSparseLayout | null;
  /** Also return the softmax weights [B, H, Lq, Lk] (forces the reference path). */
  returnWeights?: boolean;
  /** Label of this call in {@link captureAttention} records. */
  name?: string;
  /**
   * `auto` (default): the backend's fused kernel when it has one and nothing needs the weights,
   * else the reference decomposition. `reference` always decomposes; `fused` requires the kernel.
   */
  implementation?: 'auto' | 'fused' | 'reference';
}

/** Output and weights of attention, when the weights were asked for. */
export interface AttentionOutput {
  /** [B, H, Lq, Dv] (the rank of the inputs). */
  output: Tensor;
  /** Softmax weights [B, H, Lq, Lk] (before dropout); rows that see no key are zeros. */
  weights: Tensor;
}

/**
 * Scaled dot-product attention, `softmax(q kᵀ · scale + mask) v`, with torch's semantics and
 * attnkit's extensions: grouped-query heads (k/v may have fewer heads than q), bottom-right causal
 * alignment for Lq ≠ Lk, sliding windows, and zeros (not NaN) for a query that sees no key.
 *
 * Inputs are [B, H, L, D] (rank 2 and 3 are accepted as [L, D] and [N, L, D]). On a backend with
 * a fused attention kernel the Lq×Lk matrix is never materialised unless the weights are needed
 * (`returnWeights`, `dropoutP`, or an active {@link captureAttention}). Gradients flow to q, k, v
 * (and a float mask) on both paths.
 *
 * @example
 * ```ts
 * const q = randn([1, 8, 16, 64]), k = randn([1, 2, 16, 64]), v = randn([1, 2, 16, 64]);
 * const y = scaledDotProductAttention(q, k, v, { causal: true }); // GQA 8:2
 * y.shape; // => [1, 8, 16, 64]
 * const { output, weights } = scaledDotProductAttention(q, k, v, { returnWeights: true });
 * weights.shape; // => [1, 8, 16, 16]
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions & { returnWeights: true },
): AttentionOutput;
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: ScaledDotProductAttentionOptions,
): Tensor;
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor | AttentionOutput {
  if (options === null || typeof options !== 'object') {
    const got = options === null ? 'null' : typeof options;
    throw new TypeError(`${FN}: 'options' must be an object, got ${got}`);
  }
  const capture = isCapturingAttention();
  const { name, returnWeights, layout, ...rest }: ScaledDotProductAttentionOptions & AttentionOptions =
    options;
  if (layout !== undefined && layout !== null) rest.blockSparse = layout;
  if (!(returnWeights === true || capture)) {
    return attention(q, k, v, { ...rest, opName: FN, backwardBlockElements });
  }
  const r = attention(q, k, v, { ...rest, returnWeights: true, opName: FN, backwardBlockElements });
  if (capture) recordAttention(name, r.weights);
  return returnWeights === true ? r : r.output;
}

/** Elements of the recomputed weight block in the fused path's backward (2^22 floats = 16 MiB). */
let backwardBlockElements = 1 << 22;

/** @internal For tests: sets the size of the fused backward's weight blocks; returns the old one. */
export function setBackwardBlockElements(n: number): number {
  const old = backwardBlockElements;
  backwardBlockElements = n;
  return old;
}

/**
 * Which keys each query may see from its position alone ([Lq, Lk], 1 = visible), or null when
 * every key is visible. Query i sits at position i + shift (shift = Lk − Lq by default: the queries
 * are the last Lq positions).
 */
export function positionalVisibility(
  lq: number,
  lk: number,
  causal: boolean,
  window: number | null,
  shift: number = lk - lq,
): Uint8Array | null {
  if (!causal && window === null) return null;
  const out = new Uint8Array(lq * lk);
  for (let i = 0; i < lq; i++) {
    const pos = i + shift;
    for (let j = 0; j < lk; j++) {
      let ok = !causal || j <= pos;
      if (ok && window !== null) ok = causal ? j > pos - window : Math.abs(j - pos) < window;
      out[i * lk + j] = ok ? 1 : 0;
    }
  }
  return out;
}
