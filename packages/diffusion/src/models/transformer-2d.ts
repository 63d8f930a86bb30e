/**
 * diffusers' `Transformer2DModel` for continuous inputs: GroupNorm, project the pixels to tokens,
 * run `BasicTransformerBlock`s (self- and cross-attention), project back, add the input.
 */
import { add, type Tensor } from '@attnkit/tensor-core';
import { Conv2d, GroupNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { BasicTransformerBlock, type FeedForwardActivation } from './attention.js';

/** Options of {@link Transformer2DModel}. */
export interface Transformer2DModelOptions {
  numAttentionHeads: number;
  attentionHeadDim: number;
  inChannels: number;
  /** Number of transformer blocks. Default 1. */
  numLayers?: number;
  /** Channels of the text embeddings (null: self-attention only). */
  crossAttentionDim?: number | null;
  /** GroupNorm groups. Default 32. */
  normNumGroups?: number;
  /** Linear instead of 1×1 conv projections (SD 2). Default false. */
  useLinearProjection?: boolean;
  onlyCrossAttention?: boolean;
  attentionBias?: boolean;
  activationFn?: FeedForwardActivation;
}

/** Spatial transformer: [B, C, H, W] → [B, C, H, W], conditioned on text tokens. */
export class Transformer2DModel extends Module {
  norm: GroupNorm;
  proj_in: Conv2d | Linear;
  transformer_blocks: BasicTransformerBlock[];
  proj_out: Conv2d | Linear;
  readonly useLinearProjection: boolean;
  readonly innerDim: number;

  constructor(o: Transformer2DModelOptions) {
    super();
    const inner = o.numAttentionHeads * o.attentionHeadDim;
    this.innerDim = inner;
    this.useLinearProjection = o.useLinearProjection ?? false;
    this.norm = new GroupNorm(o.normNumGroups ?? 32, o.inChannels, { eps: 1e-6 });
    this.proj_in = this.useLinearProjection
      ? new Linear(o.inChannels, inner)
      : new Conv2d(o.inChannels, inner, 1);
    this.transformer_blocks = Array.from(
      { length: o.numLayers ?? 1 },
      () =>
        new BasicTransformerBlock({
          dim: inner,
          numAttentionHeads: o.numAttentionHeads,
          attentionHeadDim: o.attentionHeadDim,
          crossAttentionDim: o.crossAttentionDim ?? null,
          onlyCrossAttention: o.onlyCrossAttention,
          attentionBias: o.attentionBias,
          activationFn: o.activationFn,
        }),
    );
    this.proj_out = this.useLinearProjection
      ? new Linear(inner, o.inChannels)
      : new Conv2d(inner, o.inChannels, 1);
  }

  /** x [B, C, H, W], text [B, S, D] → [B, C, H, W] */
  override forward(x: Tensor, encoderHiddenStates: Tensor | null = null): Tensor {
    const [b, , hgt, wid] = x.shape;
    let h = this.norm.forward(x);
    const toTokens = (t: Tensor) => t.permute(0, 2, 3, 1).reshape([b, hgt * wid, t.shape[1]]);
    if (this.useLinearProjection) h = (this.proj_in as Linear).forward(toTokens(h));
    else h = toTokens((this.proj_in as Conv2d).forward(h));
    for (const block of this.transformer_blocks) h = block.forward(h, encoderHiddenStates);
    const toMap = (t: Tensor) => t.reshape([b, hgt, wid, t.shape[2]]).permute(0, 3, 1, 2);
    if (this.useLinearProjection) h = toMap((this.proj_out as Linear).forward(h));
    else h = (this.proj_out as Conv2d).forward(toMap(h).contiguous());
    return add(h, x);
  }
}
