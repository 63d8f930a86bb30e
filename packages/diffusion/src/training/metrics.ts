/**
 * Sample-quality metrics for low-dimensional data, computed in float64 on the host.
 */
import type { Tensor } from '@attnkit/tensor-core';

function rows(
  op: string,
  x: Tensor | Float32Array | Float64Array,
  dim?: number,
): { v: ArrayLike<number>; n: number; d: number } {
  if ((x as Tensor).isTensor === true) {
    const t = x as Tensor;
    if (t.rank !== 2) throw new Error(`${op}: expected points [N, D], got shape [${t.shape.join(', ')}]`);
    return { v: t.dataSync(), n: t.shape[0], d: t.shape[1] };
  }
  const a = x as Float64Array;
  if (!dim || a.length % dim !== 0)
    throw new Error(`${op}: a flat array needs dim dividing its length ${a.length}`);
  return { v: a, n: a.length / dim, d: dim };
}

function meanDist(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, d: number): number {
  let s = 0;
  let count = 0;
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let q = 0;
      for (let k = 0; k < d; k++) {
        const diff = a[i * d + k] - b[j * d + k];
        q += diff * diff;
      }
      s += Math.sqrt(q);
      count++;
    }
  }
  return count ? s / count : 0;
}

/**
 * Energy distance between two point sets (Székely & Rizzo): `2E|X−Y| − E|X−X'| − E|Y−Y'|`, zero
 * exactly when the distributions are equal. The V-statistic (every pair, self-pairs included), so
 * the value is ≥ 0 and 0 for identical sets. O(N·M·D) on the host: meant for a few thousand points.
 *
 * @param x points [N, D]
 * @param y points [M, D]
 */
export function energyDistance(x: Tensor, y: Tensor): number {
  const op = 'energyDistance';
  const a = rows(op, x);
  const b = rows(op, y);
  if (a.d !== b.d) throw new Error(`${op}: x has ${a.d} dims per point but y has ${b.d}`);
  if (a.n < 2 || b.n < 2) throw new Error(`${op}: need at least 2 points in each set, got ${a.n} and ${b.n}`);
  return (
    2 * meanDist(a.v, a.n, b.v, b.n, a.d) -
    meanDist(a.v, a.n, a.v, a.n, a.d) -
    meanDist(b.v, b.n, b.v, b.n, b.d)
  );
}
