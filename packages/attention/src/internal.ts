// Small helpers shared inside @attnkit/attention. Not exported from the package.
import { fmtShape } from '@attnkit/hub';
import { isFloat, type Tensor } from '@attnkit/tensor-core';

/** `[2, 3]` for error messages (one copy for every package, in @attnkit/hub). */
export { fmtShape };

/** Checks that `x` is a live tensor; names the function and the argument otherwise. */
export function assertTensorArg(x: unknown, arg: string, fn: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    const got = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new TypeError(`${fn}: '${arg}' must be a Tensor, got ${got}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${fn}: '${arg}' was disposed`);
}

/** Checks a float tensor (float32, or float16 / bfloat16). */
export function assertFloatArg(x: Tensor, arg: string, fn: string): void {
  if (!isFloat(x.dtype)) {
    throw new TypeError(`${fn}: '${arg}' must be a float32 (or float16, bfloat16) tensor, got ${x.dtype}`);
  }
}

/** Checks a positive integer option. */
export function assertPositiveInt(v: unknown, arg: string, fn: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${fn}: '${arg}' must be a positive integer, got ${String(v)}`);
  }
}
