/**
 * A small MLP denoiser for low-dimensional data: the sinusoidal timestep embedding is projected
 * and added to the projected input, then residual SiLU layers predict the noise (or v, or x0).
 */

import { add, type Generator, silu, type Tensor } from '@attnkit/tensor-core';
import { Linear, Module } from '@attnkit/tensor-core/nn';
import { getTimestepEmbedding } from '../models/embeddings.js';
import type { Denoiser } from './train-denoiser.js';

/** Options of {@link MLPDenoiser}. */
export interface MLPDenoiserOptions {
  /** Dimension of the data points. Default 2. */
  dim?: number;
  /** Hidden width. Default 128. */
  hidden?: number;
  /** Number of residual hidden layers. Default 3. */
  layers?: number;
  /** Channels of the sinusoidal timestep embedding. Default 32. */
  timeEmbedDim?: number;
  /** Generator for the initial weights. */
  generator?: Generator;
}

/**
 * `x [B, dim], t → prediction [B, dim]`:
 * `h = in(x) + time(emb(t)); h = h + layer_i(silu(h)); out(silu(h))`.
 *
 * @example
 * ```ts
 * const model = new MLPDenoiser({ dim: 2, hidden: 128 });
 * const noisyPoints = randn([3, 2]);
 * const eps = model.forward(noisyPoints, [999, 10, 0]); // one timestep per point
 * eps.shape; // => [3, 2]
 * ```
 */
export class MLPDenoiser extends Module implements Denoiser {
  input_proj: Linear;
  time_proj: Linear;
  hidden_layers: Linear[];
  output_proj: Linear;
  readonly dim: number;
  readonly timeEmbedDim: number;

  constructor(options: MLPDenoiserOptions = {}) {
    super();
    const dim = options.dim ?? 2;
    const hidden = options.hidden ?? 128;
    const g = options.generator;
    this.dim = dim;
    this.timeEmbedDim = options.timeEmbedDim ?? 32;
    this.input_proj = new Linear(dim, hidden, { generator: g });
    this.time_proj = new Linear(this.timeEmbedDim, hidden, { generator: g });
    this.hidden_layers = Array.from(
      { length: options.layers ?? 3 },
      () => new Linear(hidden, hidden, { generator: g }),
    );
    this.output_proj = new Linear(hidden, dim, { generator: g });
  }

  /** x [B, dim], one timestep per row (or one for all) → [B, dim] */
  override forward(x: Tensor, timesteps: number | readonly number[]): Tensor {
    if (x?.rank !== 2 || x.shape[1] !== this.dim) {
      throw new Error(
        `MLPDenoiser.forward: expected x [B, ${this.dim}], got ${x?.shape ? `[${x.shape.join(', ')}]` : String(x)}`,
      );
    }
    const b = x.shape[0];
    const ts = typeof timesteps === 'number' ? new Array<number>(b).fill(timesteps) : timesteps;
    if (ts.length !== b)
      throw new Error(`MLPDenoiser.forward: got ${ts.length} timesteps for a batch of ${b}`);
    const temb = getTimestepEmbedding(ts, this.timeEmbedDim, { flipSinToCos: true, downscaleFreqShift: 0 });
    let h = add(this.input_proj.forward(x), this.time_proj.forward(temb));
    for (const layer of this.hidden_layers) h = add(h, layer.forward(silu(h)));
    return this.output_proj.forward(silu(h));
  }
}
