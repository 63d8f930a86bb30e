/**
 * AutoencoderKL (diffusers' `models/autoencoders/autoencoder_kl.py`): the KL-regularised VAE of
 * latent diffusion, mapping images to latents (×1/8 per side in Stable Diffusion) and back.
 */
import type { Tensor } from '@attnkit/tensor-core';
import { Conv2d, Module } from '@attnkit/tensor-core/nn';
import { checkActivation } from './activations.js';
import { readModelConfig } from './config.js';
import { loadPretrained, type ModelSource } from './loading.js';
import { Decoder, DiagonalGaussianDistribution, Encoder } from './vae.js';

/** AutoencoderKL config: diffusers' fields in camelCase, with diffusers' defaults. */
export interface AutoencoderKLConfig {
  inChannels: number;
  outChannels: number;
  downBlockTypes: string[];
  upBlockTypes: string[];
  blockOutChannels: number[];
  layersPerBlock: number;
  actFn: string;
  latentChannels: number;
  normNumGroups: number;
  sampleSize: number;
  /** Latents are multiplied by this before diffusion (0.18215 in SD 1.x). */
  scalingFactor: number;
  /** Subtracted before scaling (SD 3 / Flux); null for none. */
  shiftFactor: number | null;
  useQuantConv: boolean;
  usePostQuantConv: boolean;
  midBlockAddAttention: boolean;
}

/** diffusers' defaults of {@link AutoencoderKL}. */
export const AUTOENCODER_KL_DEFAULTS: AutoencoderKLConfig = Object.freeze({
  inChannels: 3,
  outChannels: 3,
  downBlockTypes: ['DownEncoderBlock2D'],
  upBlockTypes: ['UpDecoderBlock2D'],
  blockOutChannels: [64],
  layersPerBlock: 1,
  actFn: 'silu',
  latentChannels: 4,
  normNumGroups: 32,
  sampleSize: 32,
  scalingFactor: 0.18215,
  shiftFactor: null,
  useQuantConv: true,
  usePostQuantConv: true,
  midBlockAddAttention: true,
}) as AutoencoderKLConfig;

/**
 * The latent-diffusion VAE. `encode(x).latentDist` is the Gaussian over latents; `decode(z)` maps
 * latents back to images. Multiply latents by `config.scalingFactor` before diffusion and divide
 * before decoding, as diffusers' pipelines do.
 *
 * @example
 * ```ts
 * // a diffusers folder (config.json + diffusion_pytorch_model.safetensors), e.g. a pipeline's vae/
 * const vae = await AutoencoderKL.fromPretrained('packages/diffusion/test/fixtures/models/vae_tiny');
 * const generator = new Generator(0);
 * const image = rand([1, 3, 8, 8]).mul(2).sub(1);
 * const z = vae.encode(image).latentDist.sample(generator).mul(vae.config.scalingFactor);
 * z.shape; // => [1, 4, 4, 4]
 * const back = vae.decode(z.div(vae.config.scalingFactor));
 * back.shape; // => [1, 3, 8, 8]
 * ```
 */
export class AutoencoderKL extends Module {
  readonly config: Readonly<AutoencoderKLConfig>;
  encoder: Encoder;
  decoder: Decoder;
  quant_conv: Conv2d | null = null;
  post_quant_conv: Conv2d | null = null;

  /** Builds the model from camelCase or snake_case config fields. */
  constructor(config: Partial<AutoencoderKLConfig> | Record<string, unknown> = {}) {
    super();
    const op = 'AutoencoderKL';
    const c = readModelConfig(op, AUTOENCODER_KL_DEFAULTS, config);
    this.config = Object.freeze(c);
    checkActivation(op, c.actFn);
    const n = c.blockOutChannels.length;
    if (c.downBlockTypes.length !== n || c.upBlockTypes.length !== n) {
      throw new Error(
        `${op}: blockOutChannels (${n}), downBlockTypes and upBlockTypes must have the same length`,
      );
    }
    const common = {
      blockOutChannels: c.blockOutChannels,
      layersPerBlock: c.layersPerBlock,
      normNumGroups: c.normNumGroups,
      actFn: c.actFn,
      midBlockAddAttention: c.midBlockAddAttention,
    };
    this.encoder = new Encoder({
      ...common,
      inChannels: c.inChannels,
      outChannels: c.latentChannels,
      blockTypes: c.downBlockTypes,
    });
    this.decoder = new Decoder({
      ...common,
      inChannels: c.latentChannels,
      outChannels: c.outChannels,
      blockTypes: c.upBlockTypes,
    });
    if (c.useQuantConv) this.quant_conv = new Conv2d(2 * c.latentChannels, 2 * c.latentChannels, 1);
    if (c.usePostQuantConv) this.post_quant_conv = new Conv2d(c.latentChannels, c.latentChannels, 1);
  }

  /** Loads `config.json` + `diffusion_pytorch_model.safetensors` (diffusers' `vae/` folder). */
  static async fromPretrained(source: ModelSource): Promise<AutoencoderKL> {
    return loadPretrained(source, (cfg) => new AutoencoderKL(cfg), 'AutoencoderKL.fromPretrained');
  }

  /** Downsampling factor per side: 2^(blocks − 1). */
  get scaleFactor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** Image [B, inChannels, H, W] in [−1, 1] → the latent distribution. */
  encode(x: Tensor): { latentDist: DiagonalGaussianDistribution } {
    const c = this.config;
    if (x?.rank !== 4 || x.shape[1] !== c.inChannels) {
      throw new Error(
        `AutoencoderKL.encode: expected an image [B, ${c.inChannels}, H, W], got ${x?.shape ? `[${x.shape.join(', ')}]` : String(x)}`,
      );
    }
    let h = this.encoder.forward(x);
    if (this.quant_conv) h = this.quant_conv.forward(h);
    return { latentDist: new DiagonalGaussianDistribution(h) };
  }

  /** Latents [B, latentChannels, h, w] → image [B, outChannels, h·f, w·f]. */
  decode(z: Tensor): Tensor {
    const c = this.config;
    if (z?.rank !== 4 || z.shape[1] !== c.latentChannels) {
      throw new Error(
        `AutoencoderKL.decode: expected latents [B, ${c.latentChannels}, h, w], got ${z?.shape ? `[${z.shape.join(', ')}]` : String(z)}`,
      );
    }
    const h = this.post_quant_conv ? this.post_quant_conv.forward(z) : z;
    return this.decoder.forward(h);
  }

  /** Encode, take the mean (or a sample with `generator`), decode. */
  override forward(
    x: Tensor,
    options: { samplePosterior?: boolean; generator?: import('@attnkit/tensor-core').Generator } = {},
  ): Tensor {
    const dist = this.encode(x).latentDist;
    const z = options.samplePosterior ? dist.sample(options.generator) : dist.mode();
    return this.decode(z);
  }
}
