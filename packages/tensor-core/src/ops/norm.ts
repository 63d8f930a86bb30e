// Normalisation layers as functions: layerNorm, rmsNorm, groupNorm. Statistics are two-pass (mean
// first, then squared deviations) in float32. The normalised dims are flattened into one row, so the
// backend's fused kernel (last dim only) serves any normalizedShape suffix.
import { noGrad, record } from '../autograd.js';
import { fmt, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { add, mul, rsqrt, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { assertTensor, wrap } from './util.js';

/** float32 epsilon, torch's default eps for rms_norm. */
const FLOAT32_EPS = 1.1920928955078125e-7;

function normalizedSuffix(op: string, x: Tensor, normalizedShape: number | readonly number[]): number[] {
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  if (ns.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TypeError(
      `${op}: normalizedShape must hold non-negative integers, got ${JSON.stringify(normalizedShape)}`,
    );
  }
  const suffix = x.shape.slice(x.rank - ns.length);
  if (ns.length > x.rank || suffix.some((s, i) => s !== ns[i])) {
    throw new Error(
      `${op}: normalizedShape ${fmt(ns)} must match the trailing dims of the input ${fmt(x.shape)}`,
    );
  }
  return ns;
}

function checkAffine(
  op: string,
  arg: string,
  t: Tensor | null | undefined,
  shape: readonly number[],
): Tensor | null {
  if (t === null || t === undefined) return null;
  assertTensor(t, arg, op);
  if (t.rank !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`${op}: ${arg} has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
  }
  if (t.dtype === 'bool' || t.dtype === 'int32')
    throw new TypeError(`${op}: ${arg} must be float, got ${t.dtype}`);
  return t;
}

function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !(eps >= 0))
    throw new RangeError(`${op}: eps must be a non-negative number, got ${eps}`);
}

/** [rows, n] float32 contiguous view of x (n = size of the normalised suffix). */
function rows2d(x: Tensor, n: number): Tensor {
  const r = n === 0 ? 0 : x.size / n;
  return x.contiguous('float32').reshape([r, n]);
}
function flat1d(t: Tensor | null, n: number): Tensor | null {
  return t ? t.contiguous('float32').reshape([n]) : null;
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims, as
 * torch.nn.functional.layer_norm: `(x - mean) / sqrt(var + eps) * weight + bias`, with the biased
 * variance. `weight` and `bias` (optional) have shape `normalizedShape`.
 *
 * @example
 * ```ts
 * const x = randn([2, 5, 768]);
 * const gamma = ones([768]);
 * const beta = zeros([768]);
 * layerNorm(x, [768], gamma, beta).shape; // => [2, 5, 768]
 * layerNorm(tensor([1, 2, 3]), 3);        // => [-1.2247, 0, 1.2247]
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  assertTensor(x, 'input', 'layerNorm');
  if (x.dtype === 'bool' || x.dtype === 'int32')
    throw new TypeError(`layerNorm: expected a float input, got ${x.dtype}`);
  const ns = normalizedSuffix('layerNorm', x, normalizedShape);
  const w = checkAffine('layerNorm', 'weight', weight, ns);
  const bi = checkAffine('layerNorm', 'bias', bias, ns);
  checkEps('layerNorm', eps);
  const n = sizeOf(ns);
  const b = x.backend;
  const mark = traceMark();
  const y = noGrad(() => {
    const x2 = rows2d(x, n);
    const w1 = flat1d(w, n);
    const b1 = flat1d(bi, n);
    let out: Tensor;
    if (b.layerNorm && x2.size > 0) {
      out = wrap(b, b.layerNorm(x2, w1, b1, eps), x.shape, 'float32');
    } else {
      const m = mean(x2, 1, true);
      const d = sub(x2, m);
      const v = mean(mul(d, d), 1, true);
      let o = mul(d, rsqrt(add(v, eps)));
      if (w1) o = mul(o, w1);
      if (b1) o = add(o, b1);
      out = o.reshape(x.shape as number[]);
    }
    return out;
  });
  if (mark >= 0) traceOp(mark, 'layerNorm', [x, w, bi], y, { axes: ns.length, eps });
  return record(y, 'layerNorm', [x, w, bi], (g) => {
    const x2 = rows2d(x, n);
    const g2 = g.contiguous().reshape([x2.shape[0], n]);
    const m = mean(x2, 1, true);
    const d = sub(x2, m);
    const rstd = rsqrt(add(mean(mul(d, d), 1, true), eps));
    const xhat = mul(d, rstd);
    const w1 = flat1d(w, n);
    const gxhat = w1 ? mul(g2, w1) : g2;
    const gx = x.requiresGrad
      ? mul(rstd, sub(sub(gxhat, mean(gxhat, 1, true)), mul(xhat, mean(mul(gxhat, xhat), 1, true)))).reshape(
          x.shape as number[],
        )
      : null;
    const gw = w?.requiresGrad ? sum(mul(g2, xhat), 0).reshape(ns) : null;
    const gb = bi?.requiresGrad ? sum(g2, 0).reshape(ns) : null;
    return [gx, gw, gb];
  });
}

/**
 * Root-mean-square normalisation over the trailing `normalizedShape` dims (torch's rms_norm and
 * Llama's RMSNorm): `x / sqrt(mean(x²) + eps) * weight`. `normalizedShape` may be a number (the
 * size of the last dim). `eps` defaults to float32 epsilon, as torch; Llama configs pass 1e-5 or 1e-6.
 *
 * @example
 * ```ts
 * const weight = ones([4]);
 * rmsNorm(tensor([1, 1, 1, 1]).mul(3), [4], weight, 1e-5); // => [1, 1, 1, 1]
 * ```
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  eps: number = FLOAT32_EPS,
): Tensor {
  assertTensor(x, 'input', 'rmsNorm');
  if (x.dtype === 'bool' || x.dtype === 'int32')
    throw new TypeError(`rmsNorm: expected a float input, got ${x.dtype}`);
  const ns = normalizedSuffix('rmsNorm', x, normalizedShape);
  const w = checkAffine('rmsNorm', 'weight', weight, ns);
  checkEps('rmsNorm', eps);
  const n = sizeOf(ns);
  const b = x.backend;
  const mark = traceMark();
  const y = noGrad(() => {
    const x2 = rows2d(x, n);
    const w1 = flat1d(w, n);
    if (b.rmsNorm && x2.size > 0) return wrap(b, b.rmsNorm(x2, w1, eps), x.shape, 'float32');
    let o = mul(x2, rsqrt(add(mean(mul(x2, x2), 1, true), eps)));
    if (w1) o = mul(o, w1);
    return o.reshape(x.shape as number[]);
  });
  if (mark >= 0) traceOp(mark, 'rmsNorm', [x, w], y, { axes: ns.length, eps });
  return record(y, 'rmsNorm', [x, w], (g) => {
    const x2 = rows2d(x, n);
    const g2 = g.contiguous().reshape([x2.shape[0], n]);
    const r = rsqrt(add(mean(mul(x2, x2), 1, true), eps));
    const xhat = mul(x2, r);
    const w1 = flat1d(w, n);
    const gxhat = w1 ? mul(g2, w1) : g2;
    const gx = x.requiresGrad
      ? mul(r, sub(gxhat, mul(xhat, mean(mul(gxhat, xhat), 1, true)))).reshape(x.shape as number[])
      : null;
    const gw = w?.requiresGrad ? sum(mul(g2, xhat), 0).reshape(ns) : null;
    return [gx, gw];
  });
}

/**
 * Group normalisation, as torch.nn.functional.group_norm: the channels of `x` [N, C, ...] split into
 * `numGroups` groups, each normalised over its channels and spatial positions; then per-channel
 * `weight` and `bias` [C] (optional).
 *
 * @example
 * ```ts
 * const images = randn([2, 256, 4, 4]);
 * const gamma = ones([256]);
 * const beta = zeros([256]);
 * groupNorm(images, 32, gamma, beta).shape; // => [2, 256, 4, 4]
 * ```
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  assertTensor(x, 'input', 'groupNorm');
  if (x.rank < 2)
    throw new Error(`groupNorm: expected an input [N, C, ...] with at least 2 dims, got ${fmt(x.shape)}`);
  const c = x.shape[1];
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new Error(
      `groupNorm: numGroups ${numGroups} must be a positive integer dividing the ${c} channels of ${fmt(x.shape)}`,
    );
  }
  const w = checkAffine('groupNorm', 'weight', weight, [c]);
  const bi = checkAffine('groupNorm', 'bias', bias, [c]);
  const nb = x.shape[0];
  const perGroup = (c / numGroups) * sizeOf(x.shape.slice(2));
  const grouped = x.reshape([nb, numGroups, perGroup]);
  let y = layerNorm(grouped, [perGroup], null, null, eps).reshape(x.shape as number[]);
  const bshape = [c, ...new Array<number>(x.rank - 2).fill(1)];
  if (w) y = mul(y, w.reshape(bshape));
  if (bi) y = add(y, bi.reshape(bshape));
  return y;
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link layerNorm}. */
    layerNorm(
      normalizedShape: number | readonly number[],
      weight?: Tensor | null,
      bias?: Tensor | null,
      eps?: number,
    ): Tensor;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).layerNorm = function (
  this: Tensor,
  ns: number | readonly number[],
  w?: Tensor | null,
  bi?: Tensor | null,
  eps?: number,
) {
  return layerNorm(this, ns, w, bi, eps);
};
