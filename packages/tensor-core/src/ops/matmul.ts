import { record } from '../autograd.js';
import { broadcastShapes, fmt } from '../shape.js';
import { reduceToShape, Tensor } from '../tensor.js';
import { assertTensor, backendOf, broadcastTo, wrap } from './util.js';

/**
 * Matrix product with torch.matmul semantics: 1-D operands are promoted (and the added dim
 * removed), batch dims broadcast. Float32 compute; transposed operands are read through their
 * strides, never copied.
 *
 * @example
 * ```ts
 * matmul(randn([8, 2, 3]), randn([3, 4])); // [8, 2, 4]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor(a, 'input', 'matmul');
  assertTensor(b, 'other', 'matmul');
  if (a.rank === 0 || b.rank === 0) {
    throw new Error(
      `matmul: both arguments need at least 1 dimension, got ${fmt(a.shape)} @ ${fmt(b.shape)}`,
    );
  }
  const be = backendOf('matmul', a, b);
  const a2 = a.rank === 1 ? a.unsqueeze(0) : a;
  const b2 = b.rank === 1 ? b.unsqueeze(1) : b;
  const m = a2.shape[a2.rank - 2];
  const k = a2.shape[a2.rank - 1];
  const k2 = b2.shape[b2.rank - 2];
  const n = b2.shape[b2.rank - 1];
  if (k !== k2)
    throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} != ${k2})`);
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const fa = a2.dtype === 'float32' ? a2 : a2.cast('float32');
  const fb = b2.dtype === 'float32' ? b2 : b2.cast('float32');
  const va = broadcastTo(fa, [...batch, m, k]);
  const vb = broadcastTo(fb, [...batch, k, n]);
  let y = wrap(be, be.matmul(va, vb, batch, m, k, n), [...batch, m, n], 'float32');
  if (a.rank === 1 || b.rank === 1) {
    const shape = [...batch];
    if (a.rank !== 1) shape.push(m);
    if (b.rank !== 1) shape.push(n);
    y = y.reshape(shape);
  }
  return record(y, 'matmul', [a, b], (g) => {
    let g2 = g;
    if (a.rank === 1 || b.rank === 1) g2 = g.reshape([...batch, m, n]);
    const ga = a.requiresGrad
      ? reduceToShape(matmul(g2, b2.transpose(-1, -2)), a2.shape).reshape(a.shape as number[])
      : null;
    const gb = b.requiresGrad
      ? reduceToShape(matmul(a2.transpose(-1, -2), g2), b2.shape).reshape(b.shape as number[])
      : null;
    return [ga, gb];
  });
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link matmul}. */ matmul(other: Tensor): Tensor;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).matmul = function (this: Tensor, o: Tensor) {
  return matmul(this, o);
};
