// Dropout: zeroes elements with probability p and scales the survivors by 1 / (1 - p). The mask is
// drawn on the host from a seeded Generator, so a seed gives the same mask on every backend.

import { isFloat } from '../dtype.js';
import { opScope } from '../memory.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { mul } from './elementwise.js';
import { assertTensor, wrap } from './util.js';

/**
 * torch.nn.functional.dropout: in training, each element is zeroed with probability `p` and the rest
 * are scaled by `1 / (1 - p)`; outside training (or with p = 0) the input comes back unchanged.
 * Draws from `generator` (the global one, see manualSeed, by default).
 *
 * @example
 * ```ts
 * const model = new Linear(4, 4).eval();
 * const x = randn([2, 4]);
 * const h = dropout(x, 0.1, model.training); // identity in evaluation mode
 * Array.from(await h.data()).join() === Array.from(await x.data()).join(); // => true
 * ```
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  assertTensor(x, 'input', 'dropout');
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`dropout: p must be a probability in [0, 1], got ${p}`);
  }
  if (!isFloat(x.dtype)) {
    throw new TypeError(`dropout: expected a float input, got ${x.dtype} ${fmt(x.shape)}`);
  }
  if (!training || p === 0) return x;
  const g = generator ?? getDefaultGenerator();
  const n = x.size;
  const mask = new Float32Array(n);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = g.uniform() >= p ? scale : 0;
  const b = x.backend;
  // the mask stays alive only when the gradient rule reads it
  return opScope(() => mul(x, wrap(b, b.upload(mask, 'float32'), x.shape, 'float32')));
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link dropout}. */ dropout(p?: number, training?: boolean, generator?: Generator): Tensor;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).dropout = function (
  this: Tensor,
  p?: number,
  training?: boolean,
  generator?: Generator,
) {
  return dropout(this, p, training, generator);
};
