// Rotary position embeddings (RoPE, Su et al. 2021). Pairs of features rotate by an angle that grows
// with the position: angle[p, i] = p / theta^(2i / rotaryDim). Two layouts exist in checkpoints:
//   rotate_half (HF Llama, GPT-NeoX): pair i is (x[i], x[i + rd/2]);
//   interleaved (GPT-J, the paper):  pair i is (x[2i], x[2i + 1]).
// Features at and beyond rotaryDim pass through unchanged (partial rotary, as GPT-NeoX/Phi).
import { add, concat, isTracing, mul, opScope, stack, sub, type Tensor, tensor } from '@attnkit/tensor-core';
import { assertFloatArg, assertPositiveInt, assertTensorArg, fmtShape } from './internal.js';

/** Pair layout of rotary embeddings. */
export type RotaryLayout = 'rotate_half' | 'interleaved';

/** Options of {@link RotaryEmbedding}. */
export interface RotaryEmbeddingOptions {
  /** Features rotated (even); the rest of the head dim passes through. */
  rotaryDim: number;
  /** Base of the frequencies (10000 by default; Llama 3 uses 500000). */
  theta?: number;
  /** `rotate_half` (HF Llama/NeoX, default) or `interleaved` (GPT-J). */
  layout?: RotaryLayout;
}

/** Options of {@link RotaryEmbedding.apply}. */
export interface RotaryApplyOptions {
  /** Position of the first token (e.g. the KV cache's `position`); 0 by default. */
  offset?: number;
  /**
   * Explicit positions: L numbers, or an int32 tensor [L] or [B, L] (per-sequence positions, e.g.
   * with left padding). Overrides `offset`.
   */
  positions?: readonly number[] | Tensor;
}

const FN = 'RotaryEmbedding';

/**
 * Rotary position embeddings applied to queries or keys [B, H, L, D] (or any [..., L, D]).
 * cos/sin are computed in float64 from the positions (so large offsets keep their precision)
 * and gradients flow to x.
 *
 * @example
 * ```ts
 * const rope = new RotaryEmbedding({ rotaryDim: 64, theta: 10000 });
 * const cache = new LayerKVCache();
 * const q = randn([1, 32, 1, 64]); // one query position while decoding
 * const q2 = rope.apply(q, { offset: cache.position });
 * q2.shape; // => [1, 32, 1, 64]
 * ```
 */
export class RotaryEmbedding {
  readonly rotaryDim: number;
  readonly theta: number;
  readonly layout: RotaryLayout;
  /** 1 / theta^(2i / rotaryDim), i < rotaryDim / 2, in float64. */
  readonly invFreq: Float64Array;

  constructor(options: RotaryEmbeddingOptions) {
    if (!options || typeof options !== 'object') {
      throw new TypeError(`${FN}: expected options { rotaryDim, theta?, layout? }, got ${String(options)}`);
    }
    assertPositiveInt(options.rotaryDim, 'rotaryDim', FN);
    if (options.rotaryDim % 2 !== 0)
      throw new RangeError(`${FN}: 'rotaryDim' must be even, got ${options.rotaryDim}`);
    const theta = options.theta ?? 10000;
    if (typeof theta !== 'number' || !(theta > 0) || !Number.isFinite(theta)) {
      throw new RangeError(`${FN}: 'theta' must be a positive number, got ${String(theta)}`);
    }
    const layout = options.layout ?? 'rotate_half';
    if (layout !== 'rotate_half' && layout !== 'interleaved') {
      throw new TypeError(`${FN}: 'layout' must be 'rotate_half' or 'interleaved', got ${String(layout)}`);
    }
    this.rotaryDim = options.rotaryDim;
    this.theta = theta;
    this.layout = layout;
    const half = this.rotaryDim / 2;
    this.invFreq = new Float64Array(half);
    for (let i = 0; i < half; i++) this.invFreq[i] = 1 / theta ** ((2 * i) / this.rotaryDim);
  }

  /** cos and sin of the angles, [..., L, rotaryDim / 2] float64 on the host, for these positions. */
  angles(positions: ArrayLike<number>): { cos: Float64Array; sin: Float64Array } {
    const half = this.rotaryDim / 2;
    const n = positions.length;
    const cos = new Float64Array(n * half);
    const sin = new Float64Array(n * half);
    for (let p = 0; p < n; p++) {
      for (let i = 0; i < half; i++) {
        const a = positions[p] * this.invFreq[i];
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    return { cos, sin };
  }

  /** Rotates `x` [..., L, D] (D ≥ rotaryDim) by the angles of its positions. */
  apply(x: Tensor, options: RotaryApplyOptions = {}): Tensor {
    const who = `${FN}.apply`;
    assertTensorArg(x, 'x', who);
    assertFloatArg(x, 'x', who);
    if (x.rank < 2) throw new Error(`${who}: 'x' must be [..., L, D], got ${fmtShape(x.shape)}`);
    const l = x.shape[x.rank - 2];
    const d = x.shape[x.rank - 1];
    if (d < this.rotaryDim) {
      throw new Error(`${who}: 'x' has head dim ${d}, smaller than rotaryDim ${this.rotaryDim}`);
    }
    const half = this.rotaryDim / 2;
    // positions -> table shape [L, half] or [B, 1, L, half]
    let pos: ArrayLike<number>;
    let tableShape: number[];
    const given = options.positions;
    if (given !== undefined && given !== null) {
      if ((given as Tensor).isTensor === true) {
        const t = given as Tensor;
        if (t.dtype !== 'int32' && t.dtype !== 'float32') {
          throw new TypeError(`${who}: 'positions' must be an int32 tensor, got ${t.dtype}`);
        }
        if (t.rank === 1 && t.shape[0] === l) tableShape = [l, half];
        else if (t.rank === 2 && t.shape[1] === l && x.rank >= 3 && t.shape[0] === x.shape[0]) {
          tableShape = [t.shape[0], ...new Array(x.rank - 3).fill(1), l, half];
        } else {
          throw new Error(
            `${who}: 'positions' must be [L] or [B, L] = [${x.rank >= 3 ? x.shape[0] : 'B'}, ${l}], got ${fmtShape(t.shape)}`,
          );
        }
        if (typeof t.backend.readSync !== 'function' || isTracing()) {
          // a backend that reads asynchronously (webgpu): the angles are computed on the device, in
          // float32 as transformers computes them (positions × inverse frequencies, then cos, sin)
          return this.applyOnDevice(x, t, tableShape);
        }
        pos = t.dataSync();
      } else if (Array.isArray(given)) {
        if (given.length !== l)
          throw new Error(`${who}: 'positions' has ${given.length} entries, expected L = ${l}`);
        pos = given;
        tableShape = [l, half];
      } else {
        throw new TypeError(`${who}: 'positions' must be an array of numbers or a tensor`);
      }
    } else {
      const offset = options.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0) {
        throw new RangeError(`${who}: 'offset' must be a non-negative integer, got ${String(offset)}`);
      }
      const arr = new Float64Array(l);
      for (let i = 0; i < l; i++) arr[i] = offset + i;
      pos = arr;
      tableShape = [l, half];
    }
    const { cos, sin } = this.angles(pos);
    const backend = x.backend;
    // the tables are freed at once unless the gradient rule needs them
    return opScope(() => {
      const c = tensor(cos, tableShape, { dtype: 'float32', backend });
      const s = tensor(sin, tableShape, { dtype: 'float32', backend });
      return applyRotary(x, c, s, this.layout, this.rotaryDim);
    });
  }

  /** apply() for a positions tensor on a backend that cannot read synchronously. */
  private applyOnDevice(x: Tensor, positions: Tensor, tableShape: number[]): Tensor {
    const half = this.rotaryDim / 2;
    const b = x.backend;
    if (positions.backend !== b) {
      throw new Error(
        `${FN}.apply: 'positions' lives on the '${positions.backend.name}' backend and 'x' on '${b.name}'; move one with toBackend()`,
      );
    }
    return opScope(() => {
      const pos = positions.cast('float32').reshape([...positions.shape, 1]);
      const inv = tensor(this.invFreq, [half], { dtype: 'float32', backend: b });
      const angles = mul(pos, inv).reshape(tableShape);
      return applyRotary(x, angles.cos(), angles.sin(), this.layout, this.rotaryDim);
    });
  }
}

/**
 * Applies rotary embeddings given cos/sin tables [..., L, rotaryDim / 2] (broadcastable against
 * x's leading dims): the functional form of {@link RotaryEmbedding.apply}.
 */
export function applyRotary(
  x: Tensor,
  cos: Tensor,
  sin: Tensor,
  layout: RotaryLayout = 'rotate_half',
  rotaryDim: number = x.shape[x.rank - 1],
): Tensor {
  const d = x.shape[x.rank - 1];
  const half = rotaryDim / 2;
  const xf = x.dtype === 'float32' ? x : x.cast('float32');
  let y1: Tensor;
  let y2: Tensor;
  let rotated: Tensor;
  if (layout === 'rotate_half') {
    const x1 = xf.sliceDim(-1, 0, half);
    const x2 = xf.sliceDim(-1, half, rotaryDim);
    y1 = sub(mul(x1, cos), mul(x2, sin));
    y2 = add(mul(x2, cos), mul(x1, sin));
    rotated = concat([y1, y2], -1);
  } else {
    const xe = xf.sliceDim(-1, 0, rotaryDim, 2);
    const xo = xf.sliceDim(-1, 1, rotaryDim, 2);
    y1 = sub(mul(xe, cos), mul(xo, sin));
    y2 = add(mul(xo, cos), mul(xe, sin));
    const st = stack([y1, y2], -1);
    rotated = st.reshape([...st.shape.slice(0, -2), rotaryDim]);
  }
  if (rotaryDim === d) return rotated;
  return concat([rotated, xf.sliceDim(-1, rotaryDim, d)], -1);
}
