// ALiBi (Press et al. 2022, "Train Short, Test Long"): no position embeddings; each head adds a
// linear penalty slope_h · (j − i) to the scores, so far-away keys count less.
import { type Tensor, tensor } from '@attnkit/tensor-core';
import { assertPositiveInt } from './internal.js';

/**
 * The ALiBi slope of each head, in float64: for a power of two n, the geometric sequence
 * r, r², …, rⁿ with r = 2^(−8/n); otherwise the slopes of the nearest lower power of two p followed by
 * every other slope of 2p (r₂¹, r₂³, …), as the paper's code and HF BLOOM's build_alibi_tensor.
 *
 * @example
 * ```ts
 * alibiSlopes(8); // => [0.5, 0.25, 0.125, 0.0625, 0.0313, 0.0156, 0.0078, 0.0039]
 * ```
 */
export function alibiSlopes(numHeads: number): number[] {
  assertPositiveInt(numHeads, 'numHeads', 'alibiSlopes');
  const p = 2 ** Math.floor(Math.log2(numHeads));
  const base = 2 ** -(2 ** -(Math.log2(p) - 3));
  const slopes: number[] = [];
  for (let i = 1; i <= p; i++) slopes.push(base ** i);
  if (p !== numHeads) {
    const extra = 2 ** -(2 ** -(Math.log2(2 * p) - 3));
    const rem = Math.min(p, numHeads - p);
    for (let i = 1; i < 1 + 2 * rem; i += 2) slopes.push(extra ** i);
  }
  return slopes;
}

/** Options of {@link alibiBias}. */
export interface AlibiBiasOptions {
  /** Slopes per head (default {@link alibiSlopes}(numHeads)). */
  slopes?: readonly number[];
}

/**
 * The ALiBi bias [1, H, Lq, Lk] to pass as a float `mask` to {@link scaledDotProductAttention}
 * together with `causal: true`: bias[h, i, j] = slope_h · (j − (i + Lk − Lq)), the queries being the
 * last Lq positions (as with a KV cache). Under the causal mask this equals BLOOM's slope_h · j form
 * after the softmax.
 *
 * @example
 * ```ts
 * const [lq, lk] = [6, 6];
 * const q = randn([1, 12, lq, 16]), k = randn([1, 12, lk, 16]), v = randn([1, 12, lk, 16]);
 * const y = scaledDotProductAttention(q, k, v, { mask: alibiBias(12, lq, lk), causal: true });
 * y.shape; // => [1, 12, 6, 16]
 * ```
 */
export function alibiBias(numHeads: number, lq: number, lk: number, options: AlibiBiasOptions = {}): Tensor {
  assertPositiveInt(numHeads, 'numHeads', 'alibiBias');
  assertPositiveInt(lq, 'lq', 'alibiBias');
  assertPositiveInt(lk, 'lk', 'alibiBias');
  const slopes = options.slopes ?? alibiSlopes(numHeads);
  if (slopes.length !== numHeads) {
    throw new Error(`alibiBias: 'slopes' has ${slopes.length} entries, expected numHeads = ${numHeads}`);
  }
  const vals = new Float64Array(numHeads * lq * lk);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < lq; i++) {
      const pos = i + lk - lq;
      for (let j = 0; j < lk; j++) vals[(h * lq + i) * lk + j] = slopes[h] * (j - pos);
    }
  }
  return tensor(vals, [1, numHeads, lq, lk], 'float32');
}
