/** A tensor's shape: one non-negative integer per dimension. */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides of a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Formats a shape as `[2,3]` for error messages. */
export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Numpy broadcasting of two shapes; throws naming the op when they do not broadcast. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dimension ${i - n}: ${da} vs ${db}); sizes must be equal or 1`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Normalises a possibly negative axis into [0, rank) (0 for a 0-d tensor, which takes 0 or -1);
 * throws naming the op when out of range.
 */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis)) throw new TypeError(`${op}: dim must be an integer, got ${axis}`);
  // A 0-d tensor accepts dim 0 and -1, as in torch (it behaves as one element along one dim).
  const r = Math.max(rank, 1);
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    throw new RangeError(
      `${op}: dim ${axis} is out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`,
    );
  }
  return a;
}

/** Validates a user-given shape. */
export function checkShape(op: string, shape: readonly unknown[]): number[] {
  if (!Array.isArray(shape))
    throw new TypeError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || (d as number) < 0) {
      throw new TypeError(`${op}: shape ${JSON.stringify(shape)} must hold non-negative integers`);
    }
  }
  return shape as number[];
}
