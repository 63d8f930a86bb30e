import { noGrad } from '../autograd.js';
import { zeros } from '../creation.js';
import { keep, tidy } from '../memory.js';
import { abs, add, clamp, div, maximum, mul, pow, sqrt } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

/**
 * Rescales the gradients of `params` so that their combined norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: `total = ‖(‖g₁‖, ‖g₂‖, ...)‖`, every gradient multiplied by
 * `min(1, maxNorm / (total + 1e-6))`. Returns the total norm before clipping as a scalar tensor
 * (nothing is read back to the host, so it never stalls a GPU backend). Parameters without a
 * gradient are skipped. `normType` is 2 by default; `Infinity` uses the largest |g|.
 *
 * @example
 * ```ts
 * const model = new Linear(4, 1);
 * const optimizer = new SGD(model.parameters(), { lr: 0.1 });
 * const loss = mseLoss(model.forward(randn([8, 4])), ones([8, 1]).mul(100));
 * loss.backward();
 * const norm = clipGradNorm(model.parameters(), 1.0); // the norm before clipping
 * optimizer.step();
 * ```
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw new RangeError(`clipGradNorm: maxNorm must be a number >= 0, got ${JSON.stringify(maxNorm)}`);
  }
  if (typeof normType !== 'number' || !(normType > 0)) {
    throw new RangeError(
      `clipGradNorm: normType must be a positive number or Infinity, got ${JSON.stringify(normType)}`,
    );
  }
  const list = [...params];
  list.forEach((p, i) => {
    if (!p || (p as { isTensor?: boolean }).isTensor !== true) {
      throw new TypeError(`clipGradNorm: params[${i}] is not a Tensor`);
    }
  });
  const withGrad = list.filter((p) => p.grad);
  if (withGrad.length === 0) return zeros([]);
  return noGrad(() => {
    const total = tidy(() => {
      if (normType === Number.POSITIVE_INFINITY) {
        let m: Tensor | null = null;
        for (const p of withGrad) {
          const v = max(abs(p.grad as Tensor));
          m = m ? maximum(m, v) : v;
        }
        return m as Tensor;
      }
      let acc: Tensor | null = null;
      for (const p of withGrad) {
        const s =
          normType === 2
            ? sum(mul(p.grad as Tensor, p.grad as Tensor))
            : sum(pow(abs(p.grad as Tensor), normType));
        acc = acc ? add(acc, s) : s;
      }
      return normType === 2 ? sqrt(acc as Tensor) : pow(acc as Tensor, 1 / normType);
    });
    tidy(() => {
      const coef = clamp(div(maxNorm, add(total, 1e-6)), null, 1);
      for (const p of withGrad) {
        const g = p.grad as Tensor;
        // A new tensor rather than an in-place write: two leaves' gradients may share storage.
        p.grad = keep(mul(g, coef));
        g.dispose();
      }
    });
    return total;
  });
}

/**
 * Clamps every gradient of `params` into [-clipValue, clipValue] in place of the old gradient, as
 * torch.nn.utils.clip_grad_value_.
 */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) {
    throw new RangeError(`clipGradValue: clipValue must be a number >= 0, got ${JSON.stringify(clipValue)}`);
  }
  noGrad(() => {
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      p.grad = keep(tidy(() => clamp(g, -clipValue, clipValue)));
      g.dispose();
    }
  });
}
