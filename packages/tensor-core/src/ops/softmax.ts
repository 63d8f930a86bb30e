// softmax and logSoftmax along any dim. The backend's fused kernel serves the last dim when it has
// one; otherwise (and for other dims) the stable decomposition: subtract the row max, exp, sum.
import { noGrad, record } from '../autograd.js';
import { opScope } from '../memory.js';
import { normalizeAxis } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { div, exp, log, mul, sub } from './elementwise.js';
import { max, sum } from './reduce.js';
import { assertTensor, wrap } from './util.js';

function softmaxImpl(op: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  assertTensor(x, 'input', op);
  if (x.dtype === 'bool') throw new TypeError(`${op}: expected a float tensor, got bool`);
  if (x.rank === 0) return softmaxImpl(op, x.reshape([1]), 0).reshape([]);
  const d = normalizeAxis(op, dim, x.rank);
  const log_ = op === 'logSoftmax';
  const b = x.backend;
  const mark = traceMark();
  // The forward's intermediates live in a scope; only y survives it (the gradient reads y alone).
  const y = opScope(() =>
    noGrad(() => {
      if (x.size === 0) return wrap(b, b.fill(x.shape, 0, 'float32'), x.shape, 'float32');
      if (d === x.rank - 1 && b.softmax) {
        return wrap(b, b.softmax(x.contiguous('float32'), log_), x.shape, 'float32');
      }
      const xf = x.dtype === 'float32' ? x : x.cast('float32');
      const z = sub(xf, max(xf, d, true));
      const e = exp(z);
      const s = sum(e, d, true);
      return log_ ? sub(z, log(s)) : div(e, s);
    }),
  );
  if (mark >= 0) traceOp(mark, op, [x], y, { axis: d });
  return record(y, op, [x], (g) => {
    if (log_) return [sub(g, mul(exp(y), sum(g, d, true)))];
    return [mul(y, sub(g, sum(mul(g, y), d, true)))];
  });
}

/**
 * Softmax along `dim` (the last by default), as torch.nn.functional.softmax: `exp(x - max) / sum`.
 * Rows that are all -inf give NaN, as in torch.
 *
 * @example
 * ```ts
 * softmax(tensor([1, 2, 3])); // => [0.09, 0.2447, 0.6652]
 * const scores = randn([2, 3, 4]);
 * softmax(scores, 1).sum(1); // => [[1, 1, 1, 1], [1, 1, 1, 1]]
 * ```
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl('softmax', x, dim);
}

/**
 * log(softmax(x)) along `dim`, computed stably as `x - max - log(sum(exp(x - max)))` (torch's
 * log_softmax).
 */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl('logSoftmax', x, dim);
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link softmax}. */ softmax(dim?: number): Tensor;
    /** See {@link logSoftmax}. */ logSoftmax(dim?: number): Tensor;
  }
}
const proto = Tensor.prototype as unknown as Record<string, unknown>;
proto.softmax = function (this: Tensor, dim?: number) {
  return softmax(this, dim);
};
proto.logSoftmax = function (this: Tensor, dim?: number) {
  return logSoftmax(this, dim);
};
