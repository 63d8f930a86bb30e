import { record } from '../autograd.js';
import type { ReduceOp } from '../backend.js';
import { type DType, isFloat, isHalf } from '../dtype.js';
import { opScope } from '../memory.js';
import { normalizeAxis, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { div, eq, exp, log, mul, sub } from './elementwise.js';
import { assertTensor, broadcastTo, wrap } from './util.js';

/** Which dims to reduce: one, several, or all (undefined). */
export type Dims = number | readonly number[] | undefined;

function axesOf(op: string, x: Tensor, dim: Dims): number[] {
  if (dim === undefined) return x.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const axes = [...new Set(list.map((d) => normalizeAxis(op, d, x.rank)))].sort((a, b) => a - b);
  if (axes.length !== list.length) throw new Error(`${op}: dims [${list.join(',')}] repeat an axis`);
  // A 0-d tensor's dim 0 (or -1) is its one element: reducing over it reduces over no axis.
  return x.rank === 0 ? [] : axes;
}

function keptShape(x: Tensor, axes: number[]): number[] {
  return x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
}
function outShape(x: Tensor, axes: number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(x, axes) : x.shape.filter((_, i) => !axes.includes(i));
}

function rawReduce(op: ReduceOp, x: Tensor, axes: number[], outDtype: DType): Tensor {
  const b = x.backend;
  const needsCast = isHalf(x.dtype) || (x.dtype === 'bool' && op !== 'max' && op !== 'min');
  return opScope(() =>
    wrap(b, b.reduce(op, needsCast ? x.cast(outDtype) : x, axes, outDtype), keptShape(x, axes), outDtype),
  );
}

/** Sum over `dim` (all dims by default), as torch.sum. int/bool inputs sum to int32. */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  assertTensor(x, 'input', 'sum');
  const axes = axesOf('sum', x, dim);
  const dt: DType = isFloat(x.dtype) ? 'float32' : 'int32';
  const mark = traceMark();
  const y = rawReduce('sum', x, axes, dt).reshape(outShape(x, axes, keepdim));
  if (mark >= 0) traceOp(mark, 'sum', [x], y, { axes, keepdim });
  return record(y, 'sum', [x], (g) => [broadcastTo(g.reshape(keptShape(x, axes)), x.shape).contiguous()]);
}

/** Mean over `dim` (all dims by default). */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  assertTensor(x, 'input', 'mean');
  if (!isFloat(x.dtype)) throw new TypeError(`mean: expected a float tensor, got ${x.dtype}; cast it first`);
  const axes = axesOf('mean', x, dim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  return div(sum(x, axes, keepdim), n);
}

/** Product over `dim` (all dims by default). */
export function prod(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  assertTensor(x, 'input', 'prod');
  const axes = axesOf('prod', x, dim);
  const dt: DType = x.dtype === 'int32' || x.dtype === 'bool' ? 'int32' : 'float32';
  const y = rawReduce('prod', x, axes, dt).reshape(outShape(x, axes, keepdim));
  // d/dx_i prod = prod / x_i (inputs with zeros are rare in the course; torch handles them specially).
  return record(y, 'prod', [x], (g) => [
    div(
      mul(
        broadcastTo(g.reshape(keptShape(x, axes)), x.shape),
        broadcastTo(y.reshape(keptShape(x, axes)), x.shape),
      ),
      x,
    ),
  ]);
}

function minmax(op: 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  assertTensor(x, 'input', op);
  const axes = axesOf(op, x, dim);
  for (const a of axes) if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce over dim ${a} of size 0`);
  const dt: DType = isHalf(x.dtype) ? 'float32' : x.dtype;
  const mark = traceMark();
  const kept = rawReduce(op, x, axes, dt);
  const y = kept.reshape(outShape(x, axes, keepdim));
  if (mark >= 0) traceOp(mark, op, [x], y, { axes, keepdim });
  if (dt !== 'float32') return y;
  // Gradient shared evenly among the maxima, as torch's amax/amin.
  return record(y, op, [x], (g) => {
    const hit = eq(x, broadcastTo(kept, x.shape)).cast('float32');
    const count = sum(hit, axes, true);
    return [div(mul(hit, broadcastTo(g.reshape(keptShape(x, axes)), x.shape)), count)];
  });
}

/** Maximum over `dim` (values only; see {@link argmax} for indices). */
export function max(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return minmax('max', x, dim, keepdim);
}
/** Minimum over `dim`. */
export function min(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return minmax('min', x, dim, keepdim);
}

function argminmax(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  assertTensor(x, 'input', op);
  if (dim === undefined) return argminmax(op, x.reshape([-1]), 0, false);
  const a = normalizeAxis(op, dim, x.rank);
  if (x.rank === 0) return argminmax(op, x.reshape([1]), 0, false);
  if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce over dim ${a} of size 0`);
  const mark = traceMark();
  const y = rawReduce(op, x, [a], 'int32').reshape(outShape(x, [a], keepdim));
  if (mark >= 0) traceOp(mark, op, [x], y, { axis: a, keepdim });
  return y;
}
/** Index of the maximum along `dim` (over the flattened tensor by default), int32; first on ties. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argminmax('argmax', x, dim, keepdim);
}
/** Index of the minimum along `dim`, int32. */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argminmax('argmin', x, dim, keepdim);
}

/** Options of {@link variance} and {@link std}. */
export interface VarOptions {
  /** Degrees of freedom correction: 1 (unbiased, torch's default) or 0. */
  correction?: number;
  keepdim?: boolean;
}

/** Variance over `dim` (two-pass: mean first, then squared deviations), as torch.var. */
export function variance(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  assertTensor(x, 'input', 'var');
  const axes = axesOf('var', x, dim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  const correction = options.correction ?? 1;
  const m = mean(x, axes, true);
  const d = sub(x, m);
  return div(sum(mul(d, d), axes, options.keepdim ?? false), Math.max(n - correction, 0));
}
/** Standard deviation over `dim`. */
export function std(x: Tensor, dim?: Dims, options: VarOptions = {}): Tensor {
  return variance(x, dim, options).sqrt();
}

/** log(sum(exp(x))) over `dim`, computed stably (the max is subtracted and detached). */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  assertTensor(x, 'input', 'logsumexp');
  const axes = axesOf('logsumexp', x, dim);
  return opScope(() => {
    const m = finiteOr0(max(x.detach(), axes, true));
    // Rows that are all -inf keep -inf instead of NaN.
    const y = log(sum(exp(sub(x, m)), axes, true)).add(m);
    return keepdim ? y : y.reshape(outShape(x, axes, false));
  });
}

function finiteOr0(m: Tensor): Tensor {
  const b = m.backend;
  return opScope(() => {
    const isInf = wrap(
      b,
      b.binary('eq', abs_(m), Number.POSITIVE_INFINITY, m.shape, 'float32', 'bool'),
      m.shape,
      'bool',
    );
    return wrap(b, b.where(isInf, 0, m, m.shape, 'float32'), m.shape, 'float32');
  });
}
function abs_(m: Tensor): Tensor {
  const b = m.backend;
  return wrap(b, b.unary('abs', m, 'float32'), m.shape, 'float32');
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link sum}. */ sum(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link mean}. */ mean(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link max}. */ max(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link min}. */ min(dim?: Dims, keepdim?: boolean): Tensor;
    /** See {@link argmax}. */ argmax(dim?: number, keepdim?: boolean): Tensor;
    /** See {@link argmin}. */ argmin(dim?: number, keepdim?: boolean): Tensor;
    /** See {@link prod}. */ prod(dim?: Dims, keepdim?: boolean): Tensor;
    /** Variance (torch's Tensor.var); see {@link variance}. */ var(dim?: Dims, options?: VarOptions): Tensor;
    /** See {@link std}. */ std(dim?: Dims, options?: VarOptions): Tensor;
    /** See {@link logsumexp}. */ logsumexp(dim: Dims, keepdim?: boolean): Tensor;
  }
}
const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [k, f] of Object.entries({ sum, mean, max, min, prod })) {
  proto[k] = function (this: Tensor, d?: Dims, kd?: boolean) {
    return f(this, d, kd);
  };
}
proto.argmax = function (this: Tensor, d?: number, kd?: boolean) {
  return argmax(this, d, kd);
};
proto.argmin = function (this: Tensor, d?: number, kd?: boolean) {
  return argmin(this, d, kd);
};
proto.var = function (this: Tensor, d?: Dims, o?: VarOptions) {
  return variance(this, d, o);
};
proto.std = function (this: Tensor, d?: Dims, o?: VarOptions) {
  return std(this, d, o);
};
proto.logsumexp = function (this: Tensor, d: Dims, kd?: boolean) {
  return logsumexp(this, d, kd);
};
