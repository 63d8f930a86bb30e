import { record } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { tidy } from '../memory.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { intTensor } from './conv.js';
import { assertTensor, wrap } from './util.js';

// Resampling as torch.nn.functional.interpolate. Every mode here is separable: the output is the
// input resampled along each spatial dim in turn. Along one dim, 'nearest' picks one source index
// per output position (a gather), and the linear modes blend two neighbours with weights
// (two gathers, a multiply and an add). Gradients go back through scatterAdd.

/** Resampling modes of {@link interpolate}. */
export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'trilinear';

/** Options of {@link interpolate}: give `size` or `scaleFactor`. */
export interface InterpolateOptions {
  /** Output spatial size: one number for every spatial dim or one per dim. */
  size?: number | readonly number[];
  /** Multiplier of the spatial size (output = floor(input * scaleFactor)). */
  scaleFactor?: number | readonly number[];
  /** 'nearest' by default (torch's legacy nearest: floor(dst * scale)). */
  mode?: InterpolateMode;
  /**
   * Linear modes only: true maps the corner pixels' centres onto each other; false (the default)
   * maps their outer edges, as torch.
   */
  alignCorners?: boolean;
  /** Derive the sampling scale from the computed output size instead of `scaleFactor`. */
  recomputeScaleFactor?: boolean;
}

const LINEAR_RANK: Record<string, number> = { linear: 3, bilinear: 4, trilinear: 5 };

/**
 * Resamples the spatial dims (all after the first two) of `input` [N, C, ...] to `size` or by
 * `scaleFactor`, as torch.nn.functional.interpolate: 'nearest' / 'nearest-exact' for 3-D, 4-D and
 * 5-D inputs, 'linear' (3-D), 'bilinear' (4-D) and 'trilinear' (5-D) with `alignCorners`.
 *
 * @example
 * ```ts
 * const x = randn([1, 3, 4, 4]);
 * interpolate(x, { scaleFactor: 2 }).shape;                   // => [1, 3, 8, 8]
 * interpolate(x, { size: [7, 9], mode: 'bilinear' }).shape;   // => [1, 3, 7, 9]
 * ```
 */
export function interpolate(input: Tensor, options: InterpolateOptions = {}): Tensor {
  const op = 'interpolate';
  assertTensor(input, 'input', op);
  const mode = options.mode ?? 'nearest';
  if (!['nearest', 'nearest-exact', 'linear', 'bilinear', 'trilinear'].includes(mode)) {
    throw new TypeError(
      `${op}: mode must be 'nearest', 'nearest-exact', 'linear', 'bilinear' or 'trilinear', got ${JSON.stringify(mode)}`,
    );
  }
  if (input.rank < 3 || input.rank > 5) {
    throw new Error(
      `${op}: expected input [N, C, ...spatial] with 1 to 3 spatial dims, got ${fmt(input.shape)}`,
    );
  }
  if (!isFloat(input.dtype)) {
    throw new TypeError(`${op}: expected a float input, got ${input.dtype}`);
  }
  const linear = mode in LINEAR_RANK;
  if (linear && LINEAR_RANK[mode] !== input.rank) {
    throw new Error(
      `${op}: mode '${mode}' needs a ${LINEAR_RANK[mode]}-D input, got ${fmt(input.shape)} (${input.rank}-D)`,
    );
  }
  if (!linear && options.alignCorners !== undefined) {
    throw new Error(`${op}: alignCorners is only for the linear modes, not '${mode}'`);
  }
  const nd = input.rank - 2;
  const spatial = input.shape.slice(2);
  const hasSize = options.size !== undefined && options.size !== null;
  const hasScale = options.scaleFactor !== undefined && options.scaleFactor !== null;
  if (hasSize === hasScale) {
    throw new Error(`${op}: give exactly one of size and scaleFactor`);
  }
  const list = (name: string, v: number | readonly number[]): number[] => {
    const arr = typeof v === 'number' ? new Array<number>(nd).fill(v) : [...v];
    if (arr.length !== nd || !arr.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw new TypeError(
        `${op}: ${name} must be a positive number or ${nd} of them (one per spatial dim of ${fmt(input.shape)}), got ${JSON.stringify(v)}`,
      );
    }
    return arr;
  };
  let outSize: number[];
  let scales: (number | undefined)[];
  if (hasSize) {
    outSize = list('size', options.size as number | number[]);
    if (!outSize.every(Number.isInteger)) {
      throw new TypeError(`${op}: size must hold integers, got ${JSON.stringify(options.size)}`);
    }
    scales = new Array(nd).fill(undefined);
  } else {
    const sf = list('scaleFactor', options.scaleFactor as number | number[]);
    outSize = spatial.map((s, i) => Math.floor(s * sf[i]));
    scales = options.recomputeScaleFactor ? new Array(nd).fill(undefined) : sf;
    if (outSize.some((s) => s < 1)) {
      throw new Error(
        `${op}: scaleFactor ${JSON.stringify(options.scaleFactor)} makes an empty output from ${fmt(input.shape)}`,
      );
    }
  }
  const align = options.alignCorners ?? false;
  let y = input.dtype === 'float32' ? input : input.cast('float32');
  for (let i = 0; i < nd; i++) {
    const axis = i + 2;
    const inSize = y.shape[axis];
    const out = outSize[i];
    if (linear) {
      const w = linearWeights(inSize, out, align, scales[i]);
      y = resampleAlong(y, axis, [w.i0, w.i1], [w.l0, w.l1]);
    } else {
      y = resampleAlong(y, axis, [nearestIndex(inSize, out, scales[i], mode === 'nearest-exact')], null);
    }
  }
  return y;
}

/** torch's scale for one dim: 1/scaleFactor when given, else in/out (as float32). */
function scaleOf(inSize: number, out: number, scale: number | undefined): number {
  return Math.fround(scale !== undefined && scale > 0 ? 1 / scale : inSize / out);
}

function nearestIndex(inSize: number, out: number, scale: number | undefined, exact: boolean): Int32Array {
  const s = scaleOf(inSize, out, scale);
  const idx = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const src = exact ? Math.fround((o + 0.5) * s) : Math.fround(o * s);
    idx[o] = Math.min(Math.floor(src), inSize - 1);
  }
  return idx;
}

function linearWeights(
  inSize: number,
  out: number,
  align: boolean,
  scale: number | undefined,
): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const s = align ? (out > 1 ? (inSize - 1) / (out - 1) : 0) : scaleOf(inSize, out, scale);
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const l0 = new Float32Array(out);
  const l1 = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const src = align ? s * o : Math.max(s * (o + 0.5) - 0.5, 0);
    const h0 = Math.min(Math.floor(src), inSize - 1);
    const h1 = h0 + (h0 < inSize - 1 ? 1 : 0);
    const lam = Math.min(Math.max(src - h0, 0), 1);
    i0[o] = h0;
    i1[o] = h1;
    l0[o] = 1 - lam;
    l1[o] = lam;
  }
  return { i0, i1, l0, l1 };
}

/**
 * Resamples `x` along `axis`: y[..., o, ...] = sum_t weights[t][o] * x[..., idx[t][o], ...] (one
 * tap without weights for nearest). Differentiable; the index and weight tensors are made from the
 * host arrays in the forward and again in the backward, so nothing outlives either.
 */
function resampleAlong(x: Tensor, axis: number, idx: Int32Array[], weights: Float32Array[] | null): Tensor {
  const b = x.backend;
  const out = idx[0].length;
  const outShape = [...x.shape];
  outShape[axis] = out;
  const inShape = [...x.shape];
  const along = (shape: readonly number[]) => shape.map((_, d) => (d === axis ? 1 : 0));
  const y = tidy(() => {
    let acc: Tensor | null = null;
    for (let t = 0; t < idx.length; t++) {
      const ix = idx[t];
      const it = intTensor(b, ix, [out]).withLayout(outShape, along(outShape), 0);
      let tap = wrap(b, b.gather(x, axis, it), outShape, 'float32');
      if (weights) {
        const wt = wrap(b, b.upload(weights[t].slice(), 'float32'), [out], 'float32');
        tap = wrap(
          b,
          b.binary('mul', tap, wt.withLayout(outShape, along(outShape), 0), outShape, 'float32', 'float32'),
          outShape,
          'float32',
        );
      }
      acc = acc
        ? wrap(b, b.binary('add', acc, tap, outShape, 'float32', 'float32'), outShape, 'float32')
        : tap;
    }
    return acc as Tensor;
  });
  return record(y, 'interpolate', [x], (g) =>
    tidy(() => {
      let acc = wrap(b, b.fill(inShape, 0, 'float32'), inShape, 'float32');
      idx.forEach((ix, t) => {
        const it = intTensor(b, ix, [out]).withLayout(g.shape, along(g.shape), 0);
        let src = g;
        if (weights) {
          const wt = wrap(b, b.upload(weights[t].slice(), 'float32'), [out], 'float32');
          src = wrap(
            b,
            b.binary('mul', g, wt.withLayout(g.shape, along(g.shape), 0), g.shape, 'float32', 'float32'),
            g.shape,
            'float32',
          );
        }
        acc = wrap(b, b.scatterAdd(acc, axis, it, src), inShape, 'float32');
      });
      return [acc];
    }),
  );
}
