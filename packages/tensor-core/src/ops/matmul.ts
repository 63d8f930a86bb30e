import { isGradEnabled, record } from '../autograd.js';
import type { Backend, LinearActivation } from '../backend.js';
import { isHalf } from '../dtype.js';
import { opScope } from '../memory.js';
import { broadcastShapes, fmt } from '../shape.js';
import { reduceToShape, Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { add, gelu, relu, sigmoid, silu, tanh } from './elementwise.js';
import { assertTensor, backendOf, broadcastTo, wrap } from './util.js';

export type { LinearActivation } from '../backend.js';

/**
 * Matrix product with torch.matmul semantics: 1-D operands are promoted (and the added dim
 * removed), batch dims broadcast. Float32 compute; transposed operands are read through their
 * strides, never copied.
 *
 * @example
 * ```ts
 * matmul(randn([8, 2, 3]), randn([3, 4])).shape; // => [8, 2, 4]
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
  const mark = traceMark();
  // 1-D operands promoted to matrices: [k] → [1, k] on the left, [k] → [k, 1] on the right
  const promote = (): [Tensor, Tensor] => [
    a.rank === 1 ? a.unsqueeze(0) : a,
    b.rank === 1 ? b.unsqueeze(1) : b,
  ];
  const m = a.rank === 1 ? 1 : a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const k2 = b.rank === 1 ? b.shape[0] : b.shape[b.rank - 2];
  const n = b.rank === 1 ? 1 : b.shape[b.rank - 1];
  if (k !== k2)
    throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} != ${k2})`);
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch];
  if (a.rank !== 1) shape.push(m);
  if (b.rank !== 1) shape.push(n);
  // promotions, casts and broadcast views of the operands are intermediates of the scope: left
  // alive, a view would hold its operand's storage (and a packed copy of it) after the operand
  // is disposed
  const y = opScope(() => {
    const [a2, b2] = promote();
    const fa = a2.dtype === 'float32' ? a2 : a2.cast('float32');
    const fb = b2.dtype === 'float32' ? b2 : b2.cast('float32');
    const va = broadcastTo(fa, [...batch, m, k]);
    const vb = broadcastTo(fb, [...batch, k, n]);
    const out = wrap(be, be.matmul(va, vb, batch, m, k, n), [...batch, m, n], 'float32');
    return a.rank === 1 || b.rank === 1 ? out.reshape(shape) : out;
  });
  if (mark >= 0) traceOp(mark, 'matmul', [a, b], y);
  return record(y, 'matmul', [a, b], (g) => {
    const [a2, b2] = promote();
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

const LINEAR_ACTIVATIONS: Record<LinearActivation, (x: Tensor) => Tensor> = {
  relu,
  gelu: (x) => gelu(x),
  gelu_tanh: (x) => gelu(x, { approximate: 'tanh' }),
  silu,
  sigmoid,
  tanh,
};

/** Options of {@link linear}. */
export interface LinearFnOptions {
  /** Elementwise activation applied to `x Wᵀ + b` (none by default). */
  activation?: LinearActivation | null;
}

/**
 * `activation(x @ weightᵀ + bias)`, as torch.nn.functional.linear followed by an activation:
 * x [..., in], weight [out, in], bias [out] (or null). Backends with a fused matmul epilogue
 * (`Backend.linear`) compute it in one kernel when no gradient is recorded; otherwise, and on
 * backends without it, it is `matmul`, `add` and the activation (same values, with gradients).
 * A float16 or bfloat16 weight is read in place and widened to float32 inside the kernel on
 * backends that have `Backend.linear16` (the CPU), else cast to float32 first.
 *
 * @example
 * ```ts
 * const x = randn([2, 768]);
 * const w1 = randn([3072, 768]);
 * const b1 = zeros([3072]);
 * const h = linear(x, w1, b1, { activation: 'gelu' }); // x [batch, 768], w1 [3072, 768], b1 [3072]
 * h.shape; // => [2, 3072]
 * ```
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: LinearFnOptions = {},
): Tensor {
  assertTensor(x, 'input', 'linear');
  assertTensor(weight, 'weight', 'linear');
  if (bias !== null && bias !== undefined) assertTensor(bias, 'bias', 'linear');
  const act = options.activation ?? null;
  if (act !== null && !Object.hasOwn(LINEAR_ACTIVATIONS, act)) {
    throw new TypeError(
      `linear: activation must be one of ${Object.keys(LINEAR_ACTIVATIONS).join(', ')} or null, got ${JSON.stringify(act)}`,
    );
  }
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new Error(
      `linear: expected input [..., in] and weight [out, in], got input ${fmt(x.shape)} and weight ${fmt(weight.shape)}`,
    );
  }
  const n = weight.shape[0];
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new Error(`linear: expected bias [${n}] (weight's out features), got ${fmt(bias.shape)}`);
  }
  const be = backendOf('linear', x, weight, bias);
  const mark = traceMark();
  const y = linearImpl(be, x, weight, bias ?? null, n, act);
  if (mark >= 0) traceOp(mark, 'linear', [x, weight, bias ?? null], y, { activation: act });
  return y;
}

function linearImpl(
  be: Backend,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  n: number,
  act: LinearActivation | null,
): Tensor {
  const needsGrad = isGradEnabled() && (x.requiresGrad || weight.requiresGrad || bias?.requiresGrad === true);
  if (be.linear16 && isHalf(weight.dtype) && !needsGrad) {
    const fused = be.linear16;
    // a 16-bit weight is read in place by the kernel (widened to float32 there)
    return opScope(() => {
      const x2 = x.rank === 1 ? x.unsqueeze(0) : x;
      const batch = x2.shape.slice(0, -2);
      const m = x2.shape[x2.rank - 2];
      const k = x2.shape[x2.rank - 1];
      const fx = x2.dtype === 'float32' ? x2 : x2.cast('float32');
      const cw = weight.contiguous();
      const fb = !bias || bias.dtype === 'float32' ? bias : bias.cast('float32');
      const y = wrap(be, fused.call(be, fx, cw, batch, m, k, n, fb, act), [...batch, m, n], 'float32');
      return x.rank === 1 ? y.reshape([n]) : y;
    });
  }
  if (be.linear && !needsGrad) {
    const fused = be.linear;
    // casts and views of the operands are intermediates of the scope
    return opScope(() => {
      const x2 = x.rank === 1 ? x.unsqueeze(0) : x;
      const batch = x2.shape.slice(0, -2);
      const m = x2.shape[x2.rank - 2];
      const k = x2.shape[x2.rank - 1];
      const fx = x2.dtype === 'float32' ? x2 : x2.cast('float32');
      const fw = weight.dtype === 'float32' ? weight : weight.cast('float32');
      const fb = !bias || bias.dtype === 'float32' ? bias : bias.cast('float32');
      const vb = broadcastTo(fw.T, [...batch, k, n]);
      const y = wrap(be, fused.call(be, fx, vb, batch, m, k, n, fb, act), [...batch, m, n], 'float32');
      return x.rank === 1 ? y.reshape([n]) : y;
    });
  }
  let y = matmul(x, weight.T);
  if (bias) y = add(y, bias);
  return act ? LINEAR_ACTIVATIONS[act](y) : y;
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link matmul}. */ matmul(other: Tensor): Tensor;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).matmul = function (this: Tensor, o: Tensor) {
  return matmul(this, o);
};
