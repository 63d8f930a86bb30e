/**
 * ResNet blocks and resampling layers (diffusers' `models/resnet.py`, `downsampling.py`,
 * `upsampling.py`), with diffusers' parameter names.
 */
import { add, chunk, div, interpolate, mul, pad, type Tensor } from '@attnkit/tensor-core';
import { Conv2d, GroupNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { activation } from './activations.js';

/** Options of {@link ResnetBlock2D} (diffusers' keyword arguments, camelCase). */
export interface ResnetBlock2DOptions {
  inChannels: number;
  /** Default: inChannels. */
  outChannels?: number;
  /** Channels of the time embedding; null for a block without one (the VAE). Default 512. */
  tembChannels?: number | null;
  /** GroupNorm groups of norm1. Default 32. */
  groups?: number;
  /** GroupNorm groups of norm2. Default: groups. */
  groupsOut?: number;
  /** GroupNorm epsilon. Default 1e-6. */
  eps?: number;
  /** Activation (`non_linearity`). Default 'silu' (`swish`). */
  nonLinearity?: string;
  /** `'default'` adds the projected embedding; `'scale_shift'` modulates norm2 (FiLM). Default 'default'. */
  timeEmbeddingNorm?: 'default' | 'scale_shift';
  /** Output divisor. Default 1. */
  outputScaleFactor?: number;
  /** Force (or skip) the 1×1 shortcut convolution. Default: when in ≠ out channels. */
  useInShortcut?: boolean;
  /** Bias of the shortcut convolution. Default true. */
  convShortcutBias?: boolean;
}

/**
 * Pre-activation ResNet block with a time embedding:
 * `h = conv1(act(norm1(x))) + proj(act(temb)); h = conv2(act(norm2(h))); out = (shortcut(x) + h) / s`.
 */
export class ResnetBlock2D extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  time_emb_proj: Linear | null = null;
  norm2: GroupNorm;
  conv2: Conv2d;
  conv_shortcut: Conv2d | null = null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly nonLinearity: string;
  readonly timeEmbeddingNorm: 'default' | 'scale_shift';
  readonly outputScaleFactor: number;

  constructor(options: ResnetBlock2DOptions) {
    super();
    const inC = options.inChannels;
    const outC = options.outChannels ?? inC;
    const groups = options.groups ?? 32;
    const eps = options.eps ?? 1e-6;
    const temb = options.tembChannels === undefined ? 512 : options.tembChannels;
    this.inChannels = inC;
    this.outChannels = outC;
    this.nonLinearity = options.nonLinearity ?? 'silu';
    this.timeEmbeddingNorm = options.timeEmbeddingNorm ?? 'default';
    this.outputScaleFactor = options.outputScaleFactor ?? 1;
    this.norm1 = new GroupNorm(groups, inC, { eps });
    this.conv1 = new Conv2d(inC, outC, 3, { padding: 1 });
    if (temb !== null) {
      this.time_emb_proj = new Linear(temb, this.timeEmbeddingNorm === 'scale_shift' ? 2 * outC : outC);
    }
    this.norm2 = new GroupNorm(options.groupsOut ?? groups, outC, { eps });
    this.conv2 = new Conv2d(outC, outC, 3, { padding: 1 });
    if (options.useInShortcut ?? inC !== outC) {
      this.conv_shortcut = new Conv2d(inC, outC, 1, { bias: options.convShortcutBias ?? true });
    }
  }

  /** x [B, in, H, W], temb [B, tembChannels] (or null) → [B, out, H, W] */
  override forward(x: Tensor, temb: Tensor | null = null): Tensor {
    let h = this.conv1.forward(activation(this.nonLinearity, this.norm1.forward(x)));
    let t: Tensor | null = null;
    if (this.time_emb_proj && temb) {
      t = this.time_emb_proj.forward(activation(this.nonLinearity, temb));
      t = t.reshape([t.shape[0], t.shape[1], 1, 1]);
    }
    if (this.timeEmbeddingNorm === 'default') {
      if (t) h = add(h, t);
      h = this.norm2.forward(h);
    } else {
      h = this.norm2.forward(h);
      if (t) {
        const [scale, shift] = chunk(t, 2, 1);
        h = add(mul(h, add(scale, 1)), shift);
      }
    }
    h = this.conv2.forward(activation(this.nonLinearity, h));
    const skip = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
    const out = add(skip, h);
    return this.outputScaleFactor === 1 ? out : div(out, this.outputScaleFactor);
  }
}

/**
 * Halves H and W with a stride-2 3×3 convolution (`conv`). With `padding = 0` the input is first
 * padded by one on the right and bottom, as diffusers (the VAE encoder).
 */
export class Downsample2D extends Module {
  conv: Conv2d;

  constructor(
    readonly channels: number,
    outChannels = channels,
    readonly padding = 1,
  ) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { stride: 2, padding });
  }

  /** [B, C, H, W] → [B, out, ⌈H/2⌉, ⌈W/2⌉] */
  override forward(x: Tensor): Tensor {
    if (x.shape[1] !== this.channels) {
      throw new Error(
        `Downsample2D.forward: expected ${this.channels} channels, got shape [${x.shape.join(', ')}]`,
      );
    }
    const h = this.padding === 0 ? pad(x, [0, 1, 0, 1]) : x;
    return this.conv.forward(h);
  }
}

/** Doubles H and W (nearest neighbour, or to `outputSize`), then a 3×3 convolution (`conv`). */
export class Upsample2D extends Module {
  conv: Conv2d;

  constructor(
    readonly channels: number,
    outChannels = channels,
  ) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { padding: 1 });
  }

  /** [B, C, H, W] → [B, out, 2H, 2W] (or outputSize) */
  override forward(x: Tensor, outputSize?: readonly [number, number]): Tensor {
    if (x.shape[1] !== this.channels) {
      throw new Error(
        `Upsample2D.forward: expected ${this.channels} channels, got shape [${x.shape.join(', ')}]`,
      );
    }
    const up = outputSize ? interpolate(x, { size: outputSize }) : interpolate(x, { scaleFactor: 2 });
    return this.conv.forward(up);
  }
}
