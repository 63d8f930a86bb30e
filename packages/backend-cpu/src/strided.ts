import type { View } from '@attnkit/tensor-core';

/**
 * Walks the rows (last dimension) of several views of the same shape in row-major order, calling
 * `row(offsets)` with each view's offset of the row's first element. Inner loops then step by each
 * view's last stride. One closure call per row, none per element.
 */
export function forEachRow(
  shape: readonly number[],
  views: readonly { strides: readonly number[]; offset: number }[],
  row: (offsets: Int32Array | number[], rowIndex: number) => void,
): void {
  const rank = shape.length;
  const nv = views.length;
  const offs = views.map((v) => v.offset);
  if (rank <= 1) {
    if (rank === 1 && shape[0] === 0) return;
    row(offs, 0);
    return;
  }
  let rows = 1;
  for (let i = 0; i < rank - 1; i++) rows *= shape[i];
  if (rows === 0 || shape[rank - 1] === 0) return;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    row(offs, r);
    // increment the multi-index over dims 0..rank-2
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let v = 0; v < nv; v++) offs[v] += views[v].strides[d];
      if (idx[d] < shape[d]) break;
      for (let v = 0; v < nv; v++) offs[v] -= views[v].strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Offsets of every element of a view, in row-major order. */
export function offsetsOf(v: Pick<View, 'shape' | 'strides' | 'offset'>): Int32Array {
  let n = 1;
  for (const s of v.shape) n *= s;
  const out = new Int32Array(n);
  const last = v.shape.length ? v.shape[v.shape.length - 1] : 1;
  const st = v.shape.length ? v.strides[v.strides.length - 1] : 0;
  let k = 0;
  forEachRow(v.shape, [v], (o) => {
    let off = o[0];
    for (let i = 0; i < last; i++, off += st) out[k++] = off;
  });
  return out;
}
