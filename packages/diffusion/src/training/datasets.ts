/**
 * 2-D toy distributions for diffusion demos and tests, drawn from a seeded Generator: two moons,
 * a swiss roll and concentric rings. Each is scaled to roughly unit variance per axis, the scale a
 * diffusion model with unit-variance noise expects.
 */
import { Generator, type Tensor, tensor } from '@attnkit/tensor-core';

/** Options of the toy datasets. */
export interface ToyDataOptions {
  /** Source of randomness (a fresh `Generator(0)` by default). */
  generator?: Generator;
  /** Standard deviation of Gaussian jitter added to each point (before scaling). */
  noise?: number;
}

function checkN(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: n must be a positive integer, got ${n}`);
}

function finish(xs: Float64Array, n: number, mean: [number, number], scale: number): Tensor {
  for (let i = 0; i < n; i++) {
    xs[2 * i] = (xs[2 * i] - mean[0]) / scale;
    xs[2 * i + 1] = (xs[2 * i + 1] - mean[1]) / scale;
  }
  return tensor(xs, [n, 2]);
}

/**
 * Two interleaving half circles (scikit-learn's `make_moons`), centred and scaled: [n, 2].
 *
 * @example
 * ```ts
 * const x = makeMoons(1000, { generator: new Generator(1), noise: 0.05 });
 * ```
 */
export function makeMoons(n: number, options: ToyDataOptions = {}): Tensor {
  checkN('makeMoons', n);
  const g = options.generator ?? new Generator(0);
  const noise = options.noise ?? 0.05;
  const xs = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * g.uniform();
    const upper = g.uniform() < 0.5;
    const x = upper ? Math.cos(t) : 1 - Math.cos(t);
    const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
    xs[2 * i] = x + noise * g.normal();
    xs[2 * i + 1] = y + noise * g.normal();
  }
  return finish(xs, n, [0.5, 0.25], 0.6);
}

/** A 2-D swiss roll (the x–z plane of scikit-learn's `make_swiss_roll`), scaled: [n, 2]. */
export function makeSwissRoll(n: number, options: ToyDataOptions = {}): Tensor {
  checkN('makeSwissRoll', n);
  const g = options.generator ?? new Generator(0);
  const noise = options.noise ?? 0.3;
  const xs = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * g.uniform());
    xs[2 * i] = t * Math.cos(t) + noise * g.normal();
    xs[2 * i + 1] = t * Math.sin(t) + noise * g.normal();
  }
  return finish(xs, n, [0, 0], 7.5);
}

/** Concentric rings of radii 1, 2 and 3 (equal point density per unit length), scaled: [n, 2]. */
export function makeRings(n: number, options: ToyDataOptions & { rings?: number } = {}): Tensor {
  checkN('makeRings', n);
  const g = options.generator ?? new Generator(0);
  const noise = options.noise ?? 0.05;
  const k = options.rings ?? 3;
  const total = (k * (k + 1)) / 2;
  const xs = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    // radius r chosen with probability proportional to r
    let u = g.uniform() * total;
    let r = 1;
    while (u >= r && r < k) {
      u -= r;
      r++;
    }
    const a = 2 * Math.PI * g.uniform();
    xs[2 * i] = r * Math.cos(a) + noise * g.normal();
    xs[2 * i + 1] = r * Math.sin(a) + noise * g.normal();
  }
  return finish(xs, n, [0, 0], 1.6);
}
