/**
 * diffusers' `Attention` (models/attention_processor.py) with the default processor: multi-head
 * self- or cross-attention over tokens, or over the pixels of a [B, C, H, W] feature map, with
 * diffusers' parameter names (`to_q`, `to_k`, `to_v`, `to_out.0`, `group_norm`).
 */
import { scaledDotProductAttention } from '@attnkit/attention';
import { add, div, type Tensor } from '@attnkit/tensor-core';
import { GroupNorm, Linear, Module } from '@attnkit/tensor-core/nn';

/** Options of {@link Attention} (diffusers' keyword arguments, camelCase). */
export interface AttentionOptions {
  /** Channels of the queries (and of the output). */
  queryDim: number;
  /** Channels of the keys/values source (text embeddings); default: queryDim (self-attention). */
  crossAttentionDim?: number | null;
  /** Number of heads. Default 8. */
  heads?: number;
  /** Channels per head. Default 64. */
  dimHead?: number;
  /** Bias of to_q/to_k/to_v. Default false. */
  bias?: boolean;
  /** Bias of to_out.0. Default true. */
  outBias?: boolean;
  /** GroupNorm the input first (spatial attention blocks) with this many groups. Default none. */
  normNumGroups?: number | null;
  /** GroupNorm epsilon. Default 1e-5. */
  eps?: number;
  /** Add the input to the output. Default false. */
  residualConnection?: boolean;
  /** Output divisor. Default 1. */
  rescaleOutputFactor?: number;
}

/** Multi-head attention as diffusers builds it; works on [B, L, C] tokens or [B, C, H, W] maps. */
export class Attention extends Module {
  group_norm: GroupNorm | null = null;
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: Linear[];
  readonly heads: number;
  readonly dimHead: number;
  readonly queryDim: number;
  readonly crossAttentionDim: number;
  readonly residualConnection: boolean;
  readonly rescaleOutputFactor: number;

  constructor(options: AttentionOptions) {
    super();
    const q = options.queryDim;
    this.heads = options.heads ?? 8;
    this.dimHead = options.dimHead ?? 64;
    const inner = this.heads * this.dimHead;
    this.queryDim = q;
    this.crossAttentionDim = options.crossAttentionDim ?? q;
    const bias = options.bias ?? false;
    this.residualConnection = options.residualConnection ?? false;
    this.rescaleOutputFactor = options.rescaleOutputFactor ?? 1;
    if (options.normNumGroups)
      this.group_norm = new GroupNorm(options.normNumGroups, q, { eps: options.eps ?? 1e-5 });
    this.to_q = new Linear(q, inner, { bias });
    this.to_k = new Linear(this.crossAttentionDim, inner, { bias });
    this.to_v = new Linear(this.crossAttentionDim, inner, { bias });
    this.to_out = [new Linear(inner, q, { bias: options.outBias ?? true })];
  }

  /**
   * hiddenStates [B, L, queryDim] or [B, queryDim, H, W]; encoderHiddenStates [B, S, crossAttentionDim]
   * for cross-attention (null: self-attention) → the input's shape.
   */
  override forward(hiddenStates: Tensor, encoderHiddenStates: Tensor | null = null): Tensor {
    const input = hiddenStates;
    const spatial = input.rank === 4;
    if (!(spatial || input.rank === 3) || input.shape[spatial ? 1 : 2] !== this.queryDim) {
      throw new Error(
        `Attention.forward: expected hiddenStates [B, L, ${this.queryDim}] or [B, ${this.queryDim}, H, W], got [${input.shape.join(', ')}]`,
      );
    }
    if (
      encoderHiddenStates &&
      (encoderHiddenStates.rank !== 3 || encoderHiddenStates.shape[2] !== this.crossAttentionDim)
    ) {
      throw new Error(
        `Attention.forward: expected encoderHiddenStates [B, S, ${this.crossAttentionDim}], got [${encoderHiddenStates.shape.join(', ')}]`,
      );
    }
    const [b, c] = input.shape;
    const hw = spatial ? input.shape[2] * input.shape[3] : 0;
    let x = input;
    if (this.group_norm) x = this.group_norm.forward(spatial ? x : x.transpose(1, 2));
    // tokens [B, L, C]
    if (spatial) x = x.reshape([b, c, hw]).transpose(1, 2);
    else if (this.group_norm) x = x.transpose(1, 2);
    const ctx = encoderHiddenStates ?? x;
    const split = (t: Tensor) => t.reshape([b, t.shape[1], this.heads, this.dimHead]).transpose(1, 2); // [B, h, L, d]
    const qh = split(this.to_q.forward(x));
    const kh = split(this.to_k.forward(ctx));
    const vh = split(this.to_v.forward(ctx));
    const o = scaledDotProductAttention(qh, kh, vh); // [B, h, L, d]
    let y = this.to_out[0].forward(o.transpose(1, 2).reshape([b, o.shape[2], this.heads * this.dimHead]));
    if (spatial) y = y.transpose(1, 2).reshape(input.shape as number[]);
    if (this.residualConnection) y = add(y, input);
    return this.rescaleOutputFactor === 1 ? y : div(y, this.rescaleOutputFactor);
  }
}
