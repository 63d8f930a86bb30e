// Small helpers shared inside @attnkit/attention. Not exported from the package.
import { fmtShape } from '@attnkit/hub';
import { allocArray, type Backend, type DType, isGradEnabled, Tensor } from '@attnkit/tensor-core';

/** `[2, 3]` for error messages (one copy for every package, in @attnkit/hub). */
export { fmtShape };

/** Uploads host values as a new tensor on backend `b` (not necessarily the current one). */
export function uploadOn(
  b: Backend,
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
): Tensor {
  const n = shape.reduce((a, c) => a * c, 1);
  const arr = allocArray(dtype, n);
  if (dtype === 'bool') for (let i = 0; i < n; i++) arr[i] = values[i] ? 1 : 0;
  else (arr as Float32Array | Int32Array).set(values as ArrayLike<number>);
  return Tensor.fromStorage(b, b.upload(arr, dtype), [...shape], dtype);
}

/** A new tensor of `shape` filled with `value` on backend `b`. */
export function fillOn(
  b: Backend,
  shape: readonly number[],
  value: number,
  dtype: DType = 'float32',
): Tensor {
  return Tensor.fromStorage(b, b.fill(shape, value, dtype), [...shape], dtype);
}

/** Checks that `x` is a live tensor; names the function and the argument otherwise. */
export function assertTensorArg(x: unknown, arg: string, fn: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    const got = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new TypeError(`${fn}: '${arg}' must be a Tensor, got ${got}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${fn}: '${arg}' was disposed`);
}

/** Checks a float tensor (float32 or float16). */
export function assertFloatArg(x: Tensor, arg: string, fn: string): void {
  if (x.dtype !== 'float32' && x.dtype !== 'float16') {
    throw new TypeError(`${fn}: '${arg}' must be a float32 (or float16) tensor, got ${x.dtype}`);
  }
}

/** Checks a positive integer option. */
export function assertPositiveInt(v: unknown, arg: string, fn: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${fn}: '${arg}' must be a positive integer, got ${String(v)}`);
  }
}

/** True when gradients would be recorded for an op on these inputs. */
export function needsGrad(...xs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  return xs.some((x) => x?.requiresGrad === true);
}

/**
 * A view of `t` with dimension `dim` split into `sizes` (always a view: the new strides are
 * derived from the old one, so it works on broadcast and transposed layouts too).
 */
export function splitDimView(t: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const n = sizes.reduce((a, c) => a * c, 1);
  if (n !== t.shape[dim]) {
    throw new Error(`splitDimView: cannot split dim ${dim} of ${fmtShape(t.shape)} into ${fmtShape(sizes)}`);
  }
  const inner: number[] = [];
  let s = t.strides[dim];
  for (let i = sizes.length - 1; i >= 0; i--) {
    inner.unshift(sizes[i] === 1 ? 0 : s);
    s *= sizes[i];
  }
  const shape = [...t.shape.slice(0, dim), ...sizes, ...t.shape.slice(dim + 1)];
  const strides = [...t.strides.slice(0, dim), ...inner, ...t.strides.slice(dim + 1)];
  return t.withLayout(shape, strides, t.offset);
}
