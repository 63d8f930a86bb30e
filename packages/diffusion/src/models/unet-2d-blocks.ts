/**
 * The U-Net's down, mid and up blocks (diffusers' `models/unets/unet_2d_blocks.py`), with diffusers'
 * class names and parameter names (`resnets.N`, `attentions.N`, `downsamplers.0`, `upsamplers.0`).
 */
import { concat, type Tensor } from '@attnkit/tensor-core';
import { Module } from '@attnkit/tensor-core/nn';
import { Attention } from './attention-processor.js';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.js';
import { Transformer2DModel } from './transformer-2d.js';

/** Shared options of the blocks (diffusers' `get_down_block` / `get_up_block` arguments). */
export interface BlockOptions {
  numLayers: number;
  inChannels: number;
  outChannels: number;
  /** null for blocks without a time embedding (the VAE). */
  tembChannels: number | null;
  resnetEps: number;
  resnetActFn: string;
  resnetGroups: number;
  resnetTimeScaleShift?: 'default' | 'scale_shift';
  outputScaleFactor?: number;
  /** Spatial attention: channels per head (`attention_head_dim`). */
  attentionHeadDim?: number | null;
  /** Cross-attention blocks: number of heads. */
  numAttentionHeads?: number;
  crossAttentionDim?: number | null;
  transformerLayersPerBlock?: number;
  useLinearProjection?: boolean;
  onlyCrossAttention?: boolean;
}

/** Down block options. */
export interface DownBlockOptions extends BlockOptions {
  addDownsample: boolean;
  downsamplePadding?: number;
}

/** Up block options. */
export interface UpBlockOptions extends BlockOptions {
  /** Channels coming from the block below. */
  prevOutputChannels: number;
  addUpsample: boolean;
}

/** Which attention a U-Net block carries: none, self-attention over pixels, or cross-attention to text. */
export type AttentionKind = 'none' | 'spatial' | 'cross';

function resnet(o: BlockOptions, inC: number, outC: number): ResnetBlock2D {
  return new ResnetBlock2D({
    inChannels: inC,
    outChannels: outC,
    tembChannels: o.tembChannels,
    eps: o.resnetEps,
    groups: o.resnetGroups,
    nonLinearity: o.resnetActFn,
    timeEmbeddingNorm: o.resnetTimeScaleShift ?? 'default',
    outputScaleFactor: o.outputScaleFactor ?? 1,
  });
}

function spatialAttention(o: BlockOptions, channels: number, groups: number | null): Attention {
  const headDim = o.attentionHeadDim ?? channels;
  return new Attention({
    queryDim: channels,
    heads: Math.floor(channels / headDim),
    dimHead: headDim,
    rescaleOutputFactor: o.outputScaleFactor ?? 1,
    eps: o.resnetEps,
    normNumGroups: groups,
    residualConnection: true,
    bias: true,
  });
}

function crossTransformer(o: BlockOptions, channels: number): Transformer2DModel {
  const heads = o.numAttentionHeads ?? 1;
  return new Transformer2DModel({
    numAttentionHeads: heads,
    attentionHeadDim: Math.floor(channels / heads),
    inChannels: channels,
    numLayers: o.transformerLayersPerBlock ?? 1,
    crossAttentionDim: o.crossAttentionDim ?? null,
    normNumGroups: o.resnetGroups,
    useLinearProjection: o.useLinearProjection,
    onlyCrossAttention: o.onlyCrossAttention,
  });
}

function runAttention(a: Attention | Transformer2DModel, h: Tensor, enc: Tensor | null): Tensor {
  return a instanceof Attention ? a.forward(h) : a.forward(h, enc);
}

/** Output of a down block: the hidden state and the skip connections it saved. */
export interface DownBlockOutput {
  hiddenStates: Tensor;
  resSamples: Tensor[];
}

/** Base of the down blocks: resnets (each optionally followed by attention) and a downsampler. */
export class DownBlockBase extends Module {
  resnets: ResnetBlock2D[];
  attentions: (Attention | Transformer2DModel)[];
  downsamplers: Downsample2D[];

  protected constructor(o: DownBlockOptions, kind: AttentionKind) {
    super();
    this.resnets = [];
    this.attentions = [];
    for (let i = 0; i < o.numLayers; i++) {
      const inC = i === 0 ? o.inChannels : o.outChannels;
      this.resnets.push(resnet(o, inC, o.outChannels));
      if (kind === 'spatial') this.attentions.push(spatialAttention(o, o.outChannels, o.resnetGroups));
      if (kind === 'cross') this.attentions.push(crossTransformer(o, o.outChannels));
    }
    this.downsamplers = o.addDownsample
      ? [new Downsample2D(o.outChannels, o.outChannels, o.downsamplePadding ?? 1)]
      : [];
  }

  /** [B, in, H, W] → hidden [B, out, H/2, W/2] and the skip tensors (one per resnet, plus the downsampled). */
  override forward(
    h: Tensor,
    temb: Tensor | null = null,
    encoderHiddenStates: Tensor | null = null,
  ): DownBlockOutput {
    const resSamples: Tensor[] = [];
    let x = h;
    this.resnets.forEach((r, i) => {
      x = r.forward(x, temb);
      const a = this.attentions[i];
      if (a) x = runAttention(a, x, encoderHiddenStates);
      resSamples.push(x);
    });
    for (const d of this.downsamplers) {
      x = d.forward(x);
      resSamples.push(x);
    }
    return { hiddenStates: x, resSamples };
  }
}

/** ResNets then a strided-conv downsampler. */
export class DownBlock2D extends DownBlockBase {
  constructor(o: DownBlockOptions) {
    super(o, 'none');
  }
}
/** ResNets each followed by spatial self-attention, then a downsampler. */
export class AttnDownBlock2D extends DownBlockBase {
  constructor(o: DownBlockOptions) {
    super(o, 'spatial');
  }
}
/** ResNets each followed by a spatial transformer with cross-attention to text, then a downsampler. */
export class CrossAttnDownBlock2D extends DownBlockBase {
  constructor(o: DownBlockOptions) {
    super(o, 'cross');
  }
}
/** The VAE encoder's block: ResNets without time embedding, then a downsampler (padding 0). */
export class DownEncoderBlock2D extends DownBlockBase {
  constructor(o: DownBlockOptions) {
    super({ ...o, tembChannels: null }, 'none');
  }
  /** [B, in, H, W] → [B, out, H/2, W/2] */
  encode(h: Tensor): Tensor {
    return this.forward(h).hiddenStates;
  }
}

/** Base of the up blocks: resnets over [hidden, skip] concatenations (each optionally followed by attention), then an upsampler. */
export class UpBlockBase extends Module {
  resnets: ResnetBlock2D[];
  attentions: (Attention | Transformer2DModel)[];
  upsamplers: Upsample2D[];
  private readonly usesSkips: boolean;

  protected constructor(o: UpBlockOptions, kind: AttentionKind, usesSkips = true) {
    super();
    this.usesSkips = usesSkips;
    this.resnets = [];
    this.attentions = [];
    for (let i = 0; i < o.numLayers; i++) {
      let inC: number;
      if (usesSkips) {
        const resSkip = i === o.numLayers - 1 ? o.inChannels : o.outChannels;
        inC = (i === 0 ? o.prevOutputChannels : o.outChannels) + resSkip;
      } else inC = i === 0 ? o.inChannels : o.outChannels;
      this.resnets.push(resnet(o, inC, o.outChannels));
      if (kind === 'spatial') this.attentions.push(spatialAttention(o, o.outChannels, o.resnetGroups));
      if (kind === 'cross') this.attentions.push(crossTransformer(o, o.outChannels));
    }
    this.upsamplers = o.addUpsample ? [new Upsample2D(o.outChannels, o.outChannels)] : [];
  }

  /**
   * hidden [B, prev, H, W] and the skips (consumed from the end, one per resnet) → [B, out, 2H, 2W]
   * (or `upsampleSize`).
   */
  override forward(
    h: Tensor,
    resSamples: readonly Tensor[] = [],
    temb: Tensor | null = null,
    encoderHiddenStates: Tensor | null = null,
    upsampleSize?: readonly [number, number],
  ): Tensor {
    let x = h;
    const skips = [...resSamples];
    this.resnets.forEach((r, i) => {
      if (this.usesSkips) {
        const skip = skips.pop();
        if (!skip)
          throw new Error(
            `${this.constructor.name}.forward: expected ${this.resnets.length} skip tensors, got ${resSamples.length}`,
          );
        x = concat([x, skip], 1);
      }
      x = r.forward(x, temb);
      const a = this.attentions[i];
      if (a) x = runAttention(a, x, encoderHiddenStates);
    });
    for (const u of this.upsamplers) x = u.forward(x, upsampleSize);
    return x;
  }
}

/** ResNets over skip concatenations, then an upsampler. */
export class UpBlock2D extends UpBlockBase {
  constructor(o: UpBlockOptions) {
    super(o, 'none');
  }
}
/** ResNets over skips each followed by spatial self-attention, then an upsampler. */
export class AttnUpBlock2D extends UpBlockBase {
  constructor(o: UpBlockOptions) {
    super(o, 'spatial');
  }
}
/** ResNets over skips each followed by a cross-attention transformer, then an upsampler. */
export class CrossAttnUpBlock2D extends UpBlockBase {
  constructor(o: UpBlockOptions) {
    super(o, 'cross');
  }
}
/** The VAE decoder's block: ResNets without skips or time embedding, then an upsampler. */
export class UpDecoderBlock2D extends UpBlockBase {
  constructor(o: UpBlockOptions) {
    super({ ...o, tembChannels: null }, 'none', false);
  }
}

/** Options of the middle blocks. */
export interface MidBlockOptions {
  inChannels: number;
  tembChannels: number | null;
  resnetEps: number;
  resnetActFn: string;
  /** Default min(inChannels / 4, 32). */
  resnetGroups?: number | null;
  /** GroupNorm groups of the attention (default: resnetGroups). */
  attnGroups?: number | null;
  resnetTimeScaleShift?: 'default' | 'scale_shift';
  outputScaleFactor?: number;
  numLayers?: number;
  addAttention?: boolean;
  attentionHeadDim?: number | null;
  numAttentionHeads?: number;
  crossAttentionDim?: number | null;
  transformerLayersPerBlock?: number;
  useLinearProjection?: boolean;
}

class MidBlockBase extends Module {
  resnets: ResnetBlock2D[];
  attentions: (Attention | Transformer2DModel)[];

  protected constructor(o: MidBlockOptions, cross: boolean) {
    super();
    const groups = o.resnetGroups ?? Math.min(Math.floor(o.inChannels / 4), 32);
    const bo: BlockOptions = {
      numLayers: 1,
      inChannels: o.inChannels,
      outChannels: o.inChannels,
      tembChannels: o.tembChannels,
      resnetEps: o.resnetEps,
      resnetActFn: o.resnetActFn,
      resnetGroups: groups,
      resnetTimeScaleShift: o.resnetTimeScaleShift,
      outputScaleFactor: o.outputScaleFactor,
      attentionHeadDim: o.attentionHeadDim,
      numAttentionHeads: o.numAttentionHeads,
      crossAttentionDim: o.crossAttentionDim,
      transformerLayersPerBlock: o.transformerLayersPerBlock,
      useLinearProjection: o.useLinearProjection,
    };
    const attnGroups = o.attnGroups ?? ((o.resnetTimeScaleShift ?? 'default') === 'default' ? groups : null);
    this.resnets = [resnet(bo, o.inChannels, o.inChannels)];
    this.attentions = [];
    for (let i = 0; i < (o.numLayers ?? 1); i++) {
      if (cross) this.attentions.push(crossTransformer(bo, o.inChannels));
      else if (o.addAttention ?? true) this.attentions.push(spatialAttention(bo, o.inChannels, attnGroups));
      this.resnets.push(resnet(bo, o.inChannels, o.inChannels));
    }
  }

  /** [B, C, H, W] → [B, C, H, W] */
  override forward(h: Tensor, temb: Tensor | null = null, encoderHiddenStates: Tensor | null = null): Tensor {
    let x = this.resnets[0].forward(h, temb);
    for (let i = 1; i < this.resnets.length; i++) {
      const a = this.attentions[i - 1];
      if (a) x = runAttention(a, x, encoderHiddenStates);
      x = this.resnets[i].forward(x, temb);
    }
    return x;
  }
}

/** Middle of the U-Net / VAE: resnet, (spatial attention, resnet) × numLayers. */
export class UNetMidBlock2D extends MidBlockBase {
  constructor(o: MidBlockOptions) {
    super(o, false);
  }
}
/** Middle of the conditional U-Net: resnet, (cross-attention transformer, resnet) × numLayers. */
export class UNetMidBlock2DCrossAttn extends MidBlockBase {
  constructor(o: MidBlockOptions) {
    super(o, true);
  }
}

/** Down block types this port builds. */
export const DOWN_BLOCK_TYPES = [
  'DownBlock2D',
  'AttnDownBlock2D',
  'CrossAttnDownBlock2D',
  'DownEncoderBlock2D',
] as const;
/** Up block types this port builds. */
export const UP_BLOCK_TYPES = [
  'UpBlock2D',
  'AttnUpBlock2D',
  'CrossAttnUpBlock2D',
  'UpDecoderBlock2D',
] as const;

/** diffusers' `get_down_block`: a down block by its type name. */
export function getDownBlock(type: string, o: DownBlockOptions, owner = 'getDownBlock'): DownBlockBase {
  switch (type) {
    case 'DownBlock2D':
      return new DownBlock2D(o);
    case 'AttnDownBlock2D':
      return new AttnDownBlock2D(o);
    case 'CrossAttnDownBlock2D':
      return new CrossAttnDownBlock2D(o);
    case 'DownEncoderBlock2D':
      return new DownEncoderBlock2D(o);
    default:
      throw new Error(
        `${owner}: unsupported down block type ${JSON.stringify(type)}; supported: ${DOWN_BLOCK_TYPES.join(', ')}`,
      );
  }
}

/** diffusers' `get_up_block`: an up block by its type name. */
export function getUpBlock(type: string, o: UpBlockOptions, owner = 'getUpBlock'): UpBlockBase {
  switch (type) {
    case 'UpBlock2D':
      return new UpBlock2D(o);
    case 'AttnUpBlock2D':
      return new AttnUpBlock2D(o);
    case 'CrossAttnUpBlock2D':
      return new CrossAttnUpBlock2D(o);
    case 'UpDecoderBlock2D':
      return new UpDecoderBlock2D(o);
    default:
      throw new Error(
        `${owner}: unsupported up block type ${JSON.stringify(type)}; supported: ${UP_BLOCK_TYPES.join(', ')}`,
      );
  }
}
