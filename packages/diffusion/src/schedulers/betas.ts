/**
 * Noise schedules and the float64 host math every scheduler shares. Tables are computed in float64
 * (diffusers computes them in float32, which drifts by ~1e-4); numpy's rounding and spacing rules
 * are reproduced exactly because timesteps depend on them.
 */
import type { BaseSchedulerConfig } from './config.js';

/**
 * numpy's `linspace(start, stop, num)` in float64: `start + i * step`, last value exactly `stop`.
 */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** numpy's `arange(start, stop, step)` in float64: `ceil((stop - start) / step)` values `start + i * step`. */
export function npArange(start: number, stop: number, step: number): Float64Array {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return out;
}

/** numpy's `round` (half to even): `roundHalfEven(832.5) === 832`, `roundHalfEven(833.5) === 834`. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** numpy's `interp(x, arange(len(fp)), fp)`: linear interpolation at (fractional) index `x`, clamped at the ends. */
export function interpIndex(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0];
  if (x >= n - 1) return fp[n - 1];
  const i = Math.floor(x);
  const t = x - i;
  return t === 0 ? fp[i] : fp[i] + (fp[i + 1] - fp[i]) * t;
}

/**
 * Betas of a cosine-like `alpha_bar` (diffusers' `betas_for_alpha_bar`):
 * `beta_i = min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), maxBeta)`. With `'cosine'`,
 * `alpha_bar(t) = cos((t + 0.008) / 1.008 · π/2)²` (`squaredcos_cap_v2`, Nichol & Dhariwal 2021).
 */
export function betasForAlphaBar(
  numDiffusionTimesteps: number,
  maxBeta = 0.999,
  alphaTransformType: 'cosine' | 'exp' = 'cosine',
): Float64Array {
  const alphaBar =
    alphaTransformType === 'cosine'
      ? (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2
      : (t: number) => Math.exp(t * -12.0);
  const out = new Float64Array(numDiffusionTimesteps);
  for (let i = 0; i < numDiffusionTimesteps; i++) {
    const t1 = i / numDiffusionTimesteps;
    const t2 = (i + 1) / numDiffusionTimesteps;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return out;
}

/**
 * Rescales betas so the last timestep has zero signal-to-noise ratio (diffusers'
 * `rescale_zero_terminal_snr`, "Common Diffusion Noise Schedules and Sample Steps are Flawed").
 */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const n = betas.length;
  const sqrtBar = new Float64Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= 1 - betas[i];
    sqrtBar[i] = Math.sqrt(acc);
  }
  const first = sqrtBar[0];
  const last = sqrtBar[n - 1];
  for (let i = 0; i < n; i++) sqrtBar[i] = ((sqrtBar[i] - last) * first) / (first - last);
  const out = new Float64Array(n);
  let prev = 1;
  for (let i = 0; i < n; i++) {
    const bar = sqrtBar[i] ** 2;
    out[i] = 1 - (i === 0 ? bar : bar / prev);
    prev = bar;
  }
  return out;
}

/**
 * The betas a scheduler config describes, in float64: `trainedBetas` when given, else `linear`
 * (`linspace(betaStart, betaEnd, N)`), `scaled_linear` (`linspace(√betaStart, √betaEnd, N)²`) or
 * `squaredcos_cap_v2`; then the zero-terminal-SNR rescale when asked.
 *
 * @example
 * ```ts
 * const betas = makeBetas({ numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012,
 *   betaSchedule: 'scaled_linear', trainedBetas: null, rescaleBetasZeroSnr: false });
 * ```
 */
export function makeBetas(
  config: Pick<
    BaseSchedulerConfig,
    'numTrainTimesteps' | 'betaStart' | 'betaEnd' | 'betaSchedule' | 'trainedBetas' | 'rescaleBetasZeroSnr'
  >,
): Float64Array {
  const { numTrainTimesteps: n, betaStart, betaEnd, betaSchedule } = config;
  let betas: Float64Array;
  if (config.trainedBetas) betas = Float64Array.from(config.trainedBetas);
  else if (betaSchedule === 'linear') betas = npLinspace(betaStart, betaEnd, n);
  else if (betaSchedule === 'scaled_linear')
    betas = npLinspace(betaStart ** 0.5, betaEnd ** 0.5, n).map((b) => b * b);
  else if (betaSchedule === 'squaredcos_cap_v2') betas = betasForAlphaBar(n);
  else {
    throw new Error(
      `makeBetas: unknown betaSchedule ${JSON.stringify(betaSchedule)}; expected 'linear', 'scaled_linear' or 'squaredcos_cap_v2'`,
    );
  }
  return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** Cumulative product `alphasCumprod[t] = Π_{s ≤ t} (1 - betas[s])`, in float64. */
export function alphasCumprodOf(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= 1 - betas[i];
    out[i] = acc;
  }
  return out;
}
