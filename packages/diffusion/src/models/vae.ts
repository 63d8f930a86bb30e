/**
 * The VAE's encoder, decoder and latent distribution (diffusers' `models/autoencoders/vae.py`).
 */
import { add, chunk, clamp, exp, type Generator, mul, randn, type Tensor } from '@attnkit/tensor-core';
import { Conv2d, GroupNorm, Module } from '@attnkit/tensor-core/nn';
import { activation } from './activations.js';
import {
  type DownBlockBase,
  getDownBlock,
  getUpBlock,
  UNetMidBlock2D,
  type UpBlockBase,
} from './unet-2d-blocks.js';

/** Shared options of {@link Encoder} and {@link Decoder}. */
export interface VaeCoderOptions {
  inChannels: number;
  outChannels: number;
  blockTypes: string[];
  blockOutChannels: number[];
  layersPerBlock: number;
  normNumGroups: number;
  actFn: string;
  midBlockAddAttention: boolean;
}

/** Image → moments of the latent Gaussian (2·latentChannels when `doubleZ`). */
export class Encoder extends Module {
  conv_in: Conv2d;
  down_blocks: DownBlockBase[];
  mid_block: UNetMidBlock2D;
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;

  constructor(
    readonly o: VaeCoderOptions,
    doubleZ = true,
  ) {
    super();
    const boc = o.blockOutChannels;
    this.conv_in = new Conv2d(o.inChannels, boc[0], 3, { padding: 1 });
    this.down_blocks = [];
    let out = boc[0];
    o.blockTypes.forEach((type, i) => {
      const inC = out;
      out = boc[i];
      this.down_blocks.push(
        getDownBlock(
          type,
          {
            numLayers: o.layersPerBlock,
            inChannels: inC,
            outChannels: out,
            addDownsample: i !== boc.length - 1,
            resnetEps: 1e-6,
            downsamplePadding: 0,
            resnetActFn: o.actFn,
            resnetGroups: o.normNumGroups,
            attentionHeadDim: out,
            tembChannels: null,
          },
          'Encoder',
        ),
      );
    });
    const last = boc[boc.length - 1];
    this.mid_block = new UNetMidBlock2D({
      inChannels: last,
      tembChannels: null,
      resnetEps: 1e-6,
      resnetActFn: o.actFn,
      resnetGroups: o.normNumGroups,
      attentionHeadDim: last,
      addAttention: o.midBlockAddAttention,
    });
    this.conv_norm_out = new GroupNorm(o.normNumGroups, last, { eps: 1e-6 });
    this.conv_out = new Conv2d(last, doubleZ ? 2 * o.outChannels : o.outChannels, 3, { padding: 1 });
  }

  /** [B, in, H, W] → [B, 2·latent, H/f, W/f] */
  override forward(x: Tensor): Tensor {
    let h = this.conv_in.forward(x);
    for (const b of this.down_blocks) h = b.forward(h).hiddenStates;
    h = this.mid_block.forward(h);
    return this.conv_out.forward(activation(this.o.actFn, this.conv_norm_out.forward(h)));
  }
}

/** Latents → image. */
export class Decoder extends Module {
  conv_in: Conv2d;
  mid_block: UNetMidBlock2D;
  up_blocks: UpBlockBase[];
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;

  constructor(readonly o: VaeCoderOptions) {
    super();
    const boc = o.blockOutChannels;
    const last = boc[boc.length - 1];
    this.conv_in = new Conv2d(o.inChannels, last, 3, { padding: 1 });
    this.mid_block = new UNetMidBlock2D({
      inChannels: last,
      tembChannels: null,
      resnetEps: 1e-6,
      resnetActFn: o.actFn,
      resnetGroups: o.normNumGroups,
      attentionHeadDim: last,
      addAttention: o.midBlockAddAttention,
    });
    const rev = [...boc].reverse();
    this.up_blocks = [];
    let out = rev[0];
    o.blockTypes.forEach((type, i) => {
      const prev = out;
      out = rev[i];
      this.up_blocks.push(
        getUpBlock(
          type,
          {
            numLayers: o.layersPerBlock + 1,
            inChannels: prev,
            outChannels: out,
            prevOutputChannels: prev,
            addUpsample: i !== boc.length - 1,
            resnetEps: 1e-6,
            resnetActFn: o.actFn,
            resnetGroups: o.normNumGroups,
            attentionHeadDim: out,
            tembChannels: null,
          },
          'Decoder',
        ),
      );
    });
    this.conv_norm_out = new GroupNorm(o.normNumGroups, boc[0], { eps: 1e-6 });
    this.conv_out = new Conv2d(boc[0], o.outChannels, 3, { padding: 1 });
  }

  /** [B, latent, h, w] → [B, out, h·f, w·f] */
  override forward(z: Tensor): Tensor {
    let h = this.conv_in.forward(z);
    h = this.mid_block.forward(h);
    for (const b of this.up_blocks) h = b.forward(h);
    return this.conv_out.forward(activation(this.o.actFn, this.conv_norm_out.forward(h)));
  }
}

/** The encoder's diagonal Gaussian over latents: mean and log-variance (clamped to [−30, 20]). */
export class DiagonalGaussianDistribution {
  readonly mean: Tensor;
  readonly logvar: Tensor;
  readonly std: Tensor;

  /** `parameters` (shape [B, 2·C, h, w]) holds the mean, then the log-variance, along dim 1. */
  constructor(parameters: Tensor) {
    const [mean, logvar] = chunk(parameters, 2, 1);
    this.mean = mean;
    this.logvar = clamp(logvar, -30, 20);
    this.std = exp(mul(this.logvar, 0.5));
  }

  /** A draw `mean + std · ε`. */
  sample(generator?: Generator): Tensor {
    return add(this.mean, mul(this.std, randn(this.mean.shape, { generator })));
  }

  /** The mean (the most likely latent). */
  mode(): Tensor {
    return this.mean;
  }

  /** KL divergence to N(0, I), summed over C, h, w: [B]. */
  kl(): Tensor {
    const v = exp(this.logvar);
    return mul(add(add(mul(this.mean, this.mean), v), this.logvar.neg().sub(1)), 0.5).sum([1, 2, 3]);
  }
}
