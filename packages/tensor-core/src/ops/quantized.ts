// Symmetric int8 quantisation of weight matrices (per output channel, or per group of input
// features), and the linear layer that reads such weights.
import { isGradEnabled } from '../autograd.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { abs, clamp, div, mul, round, where } from './elementwise.js';
import { type LinearFnOptions, linear } from './matmul.js';
import { max } from './reduce.js';
import { assertTensor, backendOf, wrap } from './util.js';

/** An int8 weight matrix with its scales: `weight[j, q] ≈ q8[j, q] · scales[j, floor(q / groupSize)]`. */
export interface Int8Weight {
  /** int8 [rows, cols], values in [-127, 127]. */
  q: Tensor;
  /** float32 [rows, cols / groupSize]. */
  scales: Tensor;
  /** Columns sharing one scale (cols itself for one scale per row). */
  groupSize: number;
}

/**
 * Quantises a float matrix [rows, cols] to int8, symmetrically per row and per group of
 * `groupSize` columns (default: the whole row, one scale per output channel): each group's scale
 * is max|w| / 127 and `q = round(w / scale)`, so every weight is off by at most scale / 2.
 * All-zero groups get scale 1.
 *
 * @example
 * ```ts
 * const { q, scales } = quantizeInt8(randn([3072, 768]), 128);
 * [q.dtype, q.shape, scales.shape]; // => ['int8', [3072, 768], [3072, 6]]
 * ```
 */
export function quantizeInt8(w: Tensor, groupSize?: number): Int8Weight {
  assertTensor(w, 'weight', 'quantizeInt8');
  if (w.rank !== 2) throw new Error(`quantizeInt8: weight must be 2-D [rows, cols], got ${fmt(w.shape)}`);
  const [rows, cols] = w.shape;
  const g = groupSize ?? cols;
  if (!Number.isInteger(g) || g < 1) {
    throw new TypeError(
      `quantizeInt8: groupSize must be a positive integer, got ${JSON.stringify(groupSize)}`,
    );
  }
  if (cols % g !== 0) {
    throw new Error(
      `quantizeInt8: ${cols} columns do not divide into groups of ${g} (groupSize must divide the width)`,
    );
  }
  const groups = w.reshape([rows, cols / g, g]).cast('float32');
  const amax = max(abs(groups), -1, true); // [rows, G, 1]
  const scale = where(amax.eq(0), 1, div(amax, 127));
  const q = clamp(round(div(groups, scale)), -127, 127)
    .cast('int8')
    .reshape([rows, cols]);
  return { q, scales: scale.reshape([rows, cols / g]), groupSize: g };
}

/** The float32 matrix an {@link Int8Weight} stands for. */
export function dequantizeInt8(w: Int8Weight): Tensor {
  const [rows, cols] = w.q.shape;
  const G = cols / w.groupSize;
  return mul(w.q.reshape([rows, G, w.groupSize]).cast('float32'), w.scales.reshape([rows, G, 1])).reshape([
    rows,
    cols,
  ]);
}

/**
 * `activation(x @ Wᵀ + bias)` for an int8 weight W [out, in] (see {@link quantizeInt8}): one
 * kernel that dequantises inside the product on backends that have it (`Backend.linearInt8`),
 * else {@link dequantizeInt8} then {@link linear}. Inference only: quantised weights get no
 * gradient.
 *
 * @example
 * ```ts
 * const w = randn([32, 128]);
 * const b = zeros([32]);
 * const x = randn([4, 128]);
 * const w8 = quantizeInt8(w, 64);
 * const y = linearInt8(x, w8, b, { activation: 'gelu_tanh' }); // x [batch, in] → [batch, out]
 * y.shape; // => [4, 32]
 * ```
 */
export function linearInt8(
  x: Tensor,
  weight: Int8Weight,
  bias: Tensor | null = null,
  options: LinearFnOptions = {},
): Tensor {
  assertTensor(x, 'input', 'linearInt8');
  if (!weight || typeof weight !== 'object')
    throw new TypeError('linearInt8: weight must be { q, scales, groupSize }');
  assertTensor(weight.q, 'weight.q', 'linearInt8');
  assertTensor(weight.scales, 'weight.scales', 'linearInt8');
  const { q, scales, groupSize } = weight;
  if (q.dtype !== 'int8' || q.rank !== 2) {
    throw new TypeError(
      `linearInt8: weight.q must be an int8 matrix [out, in], got ${q.dtype} ${fmt(q.shape)}`,
    );
  }
  const [n, k] = q.shape;
  if (!Number.isInteger(groupSize) || groupSize < 1 || k % groupSize !== 0) {
    throw new Error(
      `linearInt8: groupSize ${groupSize} must be a positive integer dividing the ${k} input features`,
    );
  }
  if (scales.rank !== 2 || scales.shape[0] !== n || scales.shape[1] !== k / groupSize) {
    throw new Error(`linearInt8: weight.scales must be [${n}, ${k / groupSize}], got ${fmt(scales.shape)}`);
  }
  if (x.rank < 1 || x.shape[x.rank - 1] !== k) {
    throw new Error(`linearInt8: expected input [..., ${k}] for weight [${n}, ${k}], got ${fmt(x.shape)}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new Error(`linearInt8: expected bias [${n}], got ${fmt(bias.shape)}`);
  }
  const be = backendOf('linearInt8', x, q, scales, bias);
  const needsGrad = isGradEnabled() && (x.requiresGrad || bias?.requiresGrad === true);
  if (be.linearInt8 && !needsGrad) {
    const x2 = x.rank === 1 ? x.unsqueeze(0) : x;
    const batch = x2.shape.slice(0, -2);
    const m = x2.shape[x2.rank - 2];
    const fx = x2.dtype === 'float32' ? x2 : x2.cast('float32');
    const fs = scales.dtype === 'float32' ? scales.contiguous() : scales.cast('float32');
    const cq = q.contiguous();
    const fb = !bias || bias.dtype === 'float32' ? bias : bias.cast('float32');
    const storage = be.linearInt8(fx, cq, fs, groupSize, batch, m, k, n, fb, options.activation ?? null);
    for (const [t, orig] of [
      [fx, x2],
      [fs, scales],
      [cq, q],
      [fb, bias],
    ] as const)
      if (t && t !== orig) t.dispose();
    const y = wrap(be, storage, [...batch, m, n], 'float32');
    return x.rank === 1 ? y.reshape([n]) : y;
  }
  const w = dequantizeInt8(weight);
  const y = linear(x, w, bias, options);
  if (!needsGrad) w.dispose();
  return y;
}
