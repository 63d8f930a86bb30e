/**
 * Timestep embeddings (diffusers' `models/embeddings.py`): the sinusoidal projection of the
 * timestep and the two-layer MLP that maps it to the U-Net's conditioning vector.
 */
import { type Tensor, tensor } from '@attnkit/tensor-core';
import { Linear, Module } from '@attnkit/tensor-core/nn';
import { activation } from './activations.js';

/** Options of {@link getTimestepEmbedding}, diffusers' `get_timestep_embedding` arguments. */
export interface TimestepEmbeddingOptions {
  /** Put cos before sin (diffusers' `flip_sin_to_cos`). Default false. */
  flipSinToCos?: boolean;
  /** Frequency denominator shift: exponent = −ln(maxPeriod)·i/(half − shift). Default 1. */
  downscaleFreqShift?: number;
  /** Multiplier of the arguments. Default 1. */
  scale?: number;
  /** Longest period. Default 10000. */
  maxPeriod?: number;
}

/**
 * Sinusoidal timestep embedding `[sin(t·f_i), cos(t·f_i)]` with `f_i = exp(−ln(maxPeriod)·i/(half − shift))`
 * (the Transformer's positional encoding applied to diffusion timesteps), as diffusers'
 * `get_timestep_embedding`. Frequencies and products are computed in float64 on the host, then
 * rounded to float32 (torch computes them in float32; the difference is below 1e-6 relative in
 * the arguments and ~1e-4 absolute in sin/cos at t ≈ 1000).
 *
 * @param timesteps one timestep per batch element (may be fractional)
 * @returns [B, embeddingDim]
 */
export function getTimestepEmbedding(
  timesteps: readonly number[],
  embeddingDim: number,
  options: TimestepEmbeddingOptions = {},
): Tensor {
  if (!Number.isInteger(embeddingDim) || embeddingDim < 1) {
    throw new RangeError(
      `getTimestepEmbedding: embeddingDim must be a positive integer, got ${embeddingDim}`,
    );
  }
  const flip = options.flipSinToCos ?? false;
  const shift = options.downscaleFreqShift ?? 1;
  const scale = options.scale ?? 1;
  const maxPeriod = options.maxPeriod ?? 10000;
  const half = Math.floor(embeddingDim / 2);
  const b = timesteps.length;
  const out = new Float64Array(b * embeddingDim);
  // torch computes exponent and the frequencies in float32: mirror its rounding of the frequencies
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(-Math.log(maxPeriod) * i) / (half - shift));
    freqs[i] = Math.fround(Math.exp(exponent));
  }
  for (let r = 0; r < b; r++) {
    const t = timesteps[r];
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new TypeError(`getTimestepEmbedding: timesteps[${r}] must be a finite number, got ${String(t)}`);
    }
    for (let i = 0; i < half; i++) {
      const arg = Math.fround(scale * Math.fround(Math.fround(t) * freqs[i]));
      const s = Math.sin(arg);
      const c = Math.cos(arg);
      out[r * embeddingDim + (flip ? half + i : i)] = s;
      out[r * embeddingDim + (flip ? i : half + i)] = c;
    }
  }
  return tensor(out, [b, embeddingDim]);
}

/** diffusers' `Timesteps` module: {@link getTimestepEmbedding} with fixed options (no parameters). */
export class Timesteps extends Module {
  constructor(
    readonly numChannels: number,
    readonly flipSinToCos: boolean,
    readonly downscaleFreqShift: number,
    readonly scale = 1,
  ) {
    super();
  }

  /** timesteps (one per batch element) → [B, numChannels] */
  override forward(timesteps: readonly number[]): Tensor {
    return getTimestepEmbedding(timesteps, this.numChannels, {
      flipSinToCos: this.flipSinToCos,
      downscaleFreqShift: this.downscaleFreqShift,
      scale: this.scale,
    });
  }
}

/** diffusers' `TimestepEmbedding`: `linear_2(act(linear_1(x)))`. */
export class TimestepEmbedding extends Module {
  linear_1: Linear;
  linear_2: Linear;

  constructor(
    inChannels: number,
    timeEmbedDim: number,
    readonly actFn = 'silu',
    outDim?: number,
  ) {
    super();
    this.linear_1 = new Linear(inChannels, timeEmbedDim);
    this.linear_2 = new Linear(timeEmbedDim, outDim ?? timeEmbedDim);
  }

  /** [B, inChannels] → [B, timeEmbedDim] */
  override forward(sample: Tensor): Tensor {
    return this.linear_2.forward(activation(this.actFn, this.linear_1.forward(sample)));
  }
}

/** Broadcasts one timestep to a batch, or checks one per element. @internal */
export function batchTimesteps(op: string, timestep: number | readonly number[], batch: number): number[] {
  const ts = typeof timestep === 'number' ? new Array<number>(batch).fill(timestep) : Array.from(timestep);
  if (ts.length === 1 && batch > 1) return new Array<number>(batch).fill(ts[0]);
  if (ts.length !== batch) {
    throw new Error(
      `${op}: got ${ts.length} timesteps for a batch of ${batch}; pass one number or one per sample`,
    );
  }
  return ts;
}
