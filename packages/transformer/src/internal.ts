// Helpers shared inside @attnkit/transformer (not exported from the package): argument checks that
// name the function and tensor arguments. Config tables and messages come from @attnkit/hub.
import { describe, fmtShape } from '@attnkit/hub';
import { fromValues, type Tensor } from '@attnkit/tensor-core';

/** Checks a live tensor argument. */
export function assertTensorArg(x: unknown, arg: string, fn: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    throw new TypeError(`${fn}: '${arg}' must be a Tensor, got ${describe(x)}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${fn}: '${arg}' was disposed`);
}

/**
 * Token ids as int32 [batch, seq] (a rank-1 tensor is one sequence): the shape every model takes.
 * Returns the [B, L] view.
 */
export function idsArg(x: unknown, arg: string, fn: string): Tensor {
  assertTensorArg(x, arg, fn);
  if (x.dtype !== 'int32') {
    throw new TypeError(`${fn}: '${arg}' must hold int32 token ids, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
  if (x.rank === 1) return x.unsqueeze(0);
  if (x.rank !== 2 || x.shape[1] === 0) {
    throw new Error(`${fn}: '${arg}' must be [batch, seq] with seq >= 1, got ${fmtShape(x.shape)}`);
  }
  return x;
}

/** An optional [batch, n] tensor of any dtype whose shape must be exactly `want`. */
export function maskArg(x: unknown, arg: string, fn: string, want: readonly number[]): Tensor | null {
  if (x === undefined || x === null) return null;
  assertTensorArg(x, arg, fn);
  const t = x.rank === 1 && want.length === 2 && want[0] === 1 ? x.unsqueeze(0) : x;
  if (t.rank !== want.length || t.shape.some((s, i) => s !== want[i])) {
    throw new Error(`${fn}: '${arg}' must be ${fmtShape(want)}, got ${fmtShape(x.shape)}`);
  }
  return t;
}

/** Positions `start .. start + len - 1` for every row: int32 [batch, len]. */
export function rangeIds(batch: number, start: number, len: number): Tensor {
  const v = new Int32Array(batch * len);
  for (let b = 0; b < batch; b++) for (let i = 0; i < len; i++) v[b * len + i] = start + i;
  return fromValues(v, [batch, len], 'int32');
}

/** True when every element of a synchronously readable tensor is non-zero (a mask with no padding). */
export function allOnes(mask: Tensor): boolean {
  if (!mask.backend.readSync) return false;
  const d = mask.dataSync();
  for (let i = 0; i < d.length; i++) if (d[i] === 0) return false;
  return true;
}

// config field tables, resolveConfig and the message helpers live in @attnkit/hub (one copy for
// every package); re-exported here so model files import their helpers from one place.
export {
  check,
  configToJson,
  describe,
  type FieldSpec,
  type FieldTable,
  fmtShape,
  resolveConfig,
} from '@attnkit/hub';
