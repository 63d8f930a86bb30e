// Sampling indices from categorical distributions. Uniforms are drawn on the host from a seeded
// Generator and uploaded; the search runs in ops, so a seed gives the same samples on every backend.

import { noGrad } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { opScope } from '../memory.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { div, le, log, minimum } from './elementwise.js';
import { sum } from './reduce.js';
import { cumsum, topk } from './sort.js';
import { assertTensor, wrap } from './util.js';

/** Options of {@link multinomial}. */
export interface MultinomialOptions {
  /** Draw with replacement (default false, as torch). */
  replacement?: boolean;
  /** The generator to draw from; the global one by default. */
  generator?: Generator;
}

/**
 * torch.multinomial: `numSamples` category indices per row of `probs` ([C] or [B, C]; non-negative
 * weights, not necessarily normalised), int32 of shape [numSamples] or [B, numSamples].
 * With replacement each draw inverts the cumulative distribution; without replacement rows are
 * ranked by the exponential-race keys `log(u) / p` (Efraimidis-Spirakis), which draws the same
 * distribution as torch's sequential sampling.
 *
 * @example
 * ```ts
 * const logits = tensor([[0, 0, 10], [10, 0, 0]]);
 * const next = multinomial(softmax(logits), 1, { generator: new Generator(42) }); // [B, 1]
 * next.shape; // => [2, 1]
 * ```
 */
export function multinomial(probs: Tensor, numSamples: number, options: MultinomialOptions = {}): Tensor {
  assertTensor(probs, 'probs', 'multinomial');
  if (probs.rank !== 1 && probs.rank !== 2) {
    throw new Error(`multinomial: probs must be 1-D or 2-D, got ${fmt(probs.shape)}`);
  }
  if (!isFloat(probs.dtype)) {
    throw new TypeError(`multinomial: probs must be a float tensor, got ${probs.dtype}`);
  }
  const replacement = options.replacement ?? false;
  const rows = probs.rank === 2 ? probs.shape[0] : 1;
  const c = probs.shape[probs.rank - 1];
  if (!Number.isInteger(numSamples) || numSamples < 1) {
    throw new RangeError(`multinomial: numSamples must be a positive integer, got ${numSamples}`);
  }
  if (c === 0) throw new Error(`multinomial: probs ${fmt(probs.shape)} has no categories`);
  if (!replacement && numSamples > c) {
    throw new RangeError(
      `multinomial: cannot draw ${numSamples} samples without replacement from ${c} categories`,
    );
  }
  const p2 = probs.reshape([rows, c]);
  checkRows(p2, numSamples, replacement);
  const g = options.generator ?? getDefaultGenerator();
  const b = probs.backend;
  const out = opScope(() =>
    noGrad(() => {
      if (replacement) {
        const u = new Float32Array(rows * numSamples);
        for (let i = 0; i < u.length; i++) u[i] = g.uniform();
        const ut = wrap(b, b.upload(u, 'float32'), [rows, numSamples, 1], 'float32');
        const cdf = cumsum(p2.cast('float32'), 1);
        const cdfn = div(cdf, cdf.sliceDim(1, c - 1, c)).reshape([rows, 1, c]);
        // index = number of categories whose normalised cdf is <= u (first one whose cdf exceeds u)
        const below = le(cdfn, ut);
        const count = sum(below, 2);
        return minimum(count, c - 1);
      }
      const u = new Float32Array(rows * c);
      for (let i = 0; i < u.length; i++) u[i] = ((g.nextUint32() >>> 8) + 0.5) / 16777216; // (0, 1)
      const ut = wrap(b, b.upload(u, 'float32'), [rows, c], 'float32');
      const keys = div(log(ut), p2);
      return topk(keys, numSamples, 1, true).indices;
    }),
  );
  return probs.rank === 1 ? out.reshape([numSamples]) : out;
}

/** Validates the weights on backends that read synchronously (GPU backends skip this). */
function checkRows(p: Tensor, numSamples: number, replacement: boolean): void {
  if (!p.backend.readSync || p.size === 0) return;
  const v = p.dataSync();
  const [rows, c] = p.shape;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let nonzero = 0;
    for (let j = 0; j < c; j++) {
      const x = v[r * c + j];
      if (!(x >= 0) || !Number.isFinite(x)) {
        throw new RangeError(`multinomial: probs must be finite and non-negative; row ${r} holds ${x}`);
      }
      s += x;
      if (x > 0) nonzero++;
    }
    if (!(s > 0)) throw new RangeError(`multinomial: row ${r} of probs sums to 0`);
    if (!replacement && nonzero < numSamples) {
      throw new RangeError(
        `multinomial: row ${r} has ${nonzero} non-zero categories, fewer than the ${numSamples} samples drawn without replacement`,
      );
    }
  }
}
