import type { Backend, Storage } from '../backend.js';
import type { DType } from '../dtype.js';
import { getBackend } from '../registry.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A tensor or a plain number, accepted wherever an op takes a tensor operand. */
export type TensorOrNumber = Tensor | number;

/** Checks that `x` is a live tensor; names the op and argument otherwise. */
export function assertTensor(x: unknown, arg: string, op: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    throw new TypeError(`${op}: argument '${arg}' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${op}: argument '${arg}' was disposed`);
}

/** Checks a tensor's dtype is one of `allowed`. */
export function assertDTypeIn(x: Tensor, allowed: readonly DType[], arg: string, op: string): void {
  if (!allowed.includes(x.dtype)) {
    throw new TypeError(`${op}: argument '${arg}' has dtype ${x.dtype}; expected ${allowed.join(' or ')}`);
  }
}

/** The backend all tensor operands live on (the current one when there are none). */
export function backendOf(op: string, ...xs: (Tensor | number | null | undefined)[]): Backend {
  let b: Backend | null = null;
  for (const x of xs) {
    if (typeof x === 'object' && x) {
      if (b && x.backend !== b) {
        throw new Error(
          `${op}: operands live on different backends ('${b.name}' and '${x.backend.name}'); move a tensor with \`await x.to('${b.name}')\` (or toBackend), and a model's weights with \`await model.to('${b.name}')\`: a model stays on the backend that was current when it was loaded or built`,
        );
      }
      b = x.backend;
    }
  }
  return b ?? getBackend();
}

/** Wraps a storage the backend just wrote. */
export function wrap(b: Backend, s: Storage, shape: readonly number[], dtype: DType): Tensor {
  return Tensor.fromStorage(b, s, shape, dtype);
}

/** A view of `t` broadcast to `shape` (no copy). */
export function broadcastTo(t: Tensor, shape: readonly number[]): Tensor {
  if (t.shape.length === shape.length && t.shape.every((s, i) => s === shape[i])) return t;
  const lead = shape.length - t.rank;
  const strides = shape.map((s, i) =>
    i < lead || (t.shape[i - lead] === 1 && s !== 1) ? 0 : t.strides[i - lead],
  );
  return t.withLayout(shape, strides, t.offset);
}

export { fmt };
