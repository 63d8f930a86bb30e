/**
 * Transformer blocks of the conditional U-Net (diffusers' `models/attention.py`): `FeedForward` with
 * GEGLU and `BasicTransformerBlock` (self-attention, cross-attention to text, feed-forward, each
 * pre-LayerNorm with a residual).
 */
import { add, chunk, gelu, mul, type Tensor } from '@attnkit/tensor-core';
import { Dropout, LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { Attention } from './attention-processor.js';

/** GEGLU (Shazeer 2020): `proj` to 2·dimOut, then `hidden · gelu(gate)`. */
export class GEGLU extends Module {
  proj: Linear;
  constructor(dimIn: number, dimOut: number) {
    super();
    this.proj = new Linear(dimIn, dimOut * 2);
  }
  /** [..., dimIn] → [..., dimOut] */
  override forward(x: Tensor): Tensor {
    const [hidden, gate] = chunk(this.proj.forward(x), 2, -1);
    return mul(hidden, gelu(gate));
  }
}

/** diffusers' `GELU` activation layer: `gelu(proj(x))` (exact, or tanh-approximate). */
export class GELUProj extends Module {
  proj: Linear;
  constructor(
    dimIn: number,
    dimOut: number,
    readonly approximate: 'none' | 'tanh' = 'none',
  ) {
    super();
    this.proj = new Linear(dimIn, dimOut);
  }
  /** [..., dimIn] → [..., dimOut] */
  override forward(x: Tensor): Tensor {
    return gelu(this.proj.forward(x), { approximate: this.approximate });
  }
}

/** Activation names of {@link FeedForward} (diffusers' `activation_fn`). */
export type FeedForwardActivation = 'geglu' | 'gelu' | 'gelu-approximate';

/** diffusers' `FeedForward`: `net.0` (activation with its projection), `net.1` dropout, `net.2` Linear. */
export class FeedForward extends Module {
  net: Module[];
  constructor(
    dim: number,
    options: { dimOut?: number; mult?: number; activationFn?: FeedForwardActivation; innerDim?: number } = {},
  ) {
    super();
    const inner = options.innerDim ?? Math.floor(dim * (options.mult ?? 4));
    const act = options.activationFn ?? 'geglu';
    let first: Module;
    if (act === 'geglu') first = new GEGLU(dim, inner);
    else if (act === 'gelu') first = new GELUProj(dim, inner);
    else if (act === 'gelu-approximate') first = new GELUProj(dim, inner, 'tanh');
    else
      throw new Error(
        `FeedForward: unknown activationFn ${JSON.stringify(act)}; expected 'geglu', 'gelu' or 'gelu-approximate'`,
      );
    this.net = [first, new Dropout(0), new Linear(inner, options.dimOut ?? dim)];
  }
  /** [..., dim] → [..., dimOut] */
  override forward(x: Tensor): Tensor {
    const h = (this.net[0] as GEGLU).forward(x);
    return (this.net[2] as Linear).forward(h);
  }
}

/** Options of {@link BasicTransformerBlock}. */
export interface BasicTransformerBlockOptions {
  dim: number;
  numAttentionHeads: number;
  attentionHeadDim: number;
  /** Channels of the text embeddings; null: no cross-attention. */
  crossAttentionDim?: number | null;
  /** Bias of the q/k/v projections. Default false. */
  attentionBias?: boolean;
  /** attn1 attends to the text instead of itself. Default false. */
  onlyCrossAttention?: boolean;
  /** Feed-forward activation. Default 'geglu'. */
  activationFn?: FeedForwardActivation;
  /** LayerNorm epsilon. Default 1e-5. */
  normEps?: number;
}

/** Pre-LN transformer block: `x += attn1(norm1(x)); x += attn2(norm2(x), text); x += ff(norm3(x))`. */
export class BasicTransformerBlock extends Module {
  norm1: LayerNorm;
  attn1: Attention;
  norm2: LayerNorm | null = null;
  attn2: Attention | null = null;
  norm3: LayerNorm;
  ff: FeedForward;
  readonly onlyCrossAttention: boolean;

  constructor(o: BasicTransformerBlockOptions) {
    super();
    const eps = o.normEps ?? 1e-5;
    const cross = o.crossAttentionDim ?? null;
    this.onlyCrossAttention = o.onlyCrossAttention ?? false;
    const common = {
      queryDim: o.dim,
      heads: o.numAttentionHeads,
      dimHead: o.attentionHeadDim,
      bias: o.attentionBias ?? false,
    };
    this.norm1 = new LayerNorm(o.dim, { eps });
    this.attn1 = new Attention({ ...common, crossAttentionDim: this.onlyCrossAttention ? cross : null });
    if (cross !== null) {
      this.norm2 = new LayerNorm(o.dim, { eps });
      this.attn2 = new Attention({ ...common, crossAttentionDim: cross });
    }
    this.norm3 = new LayerNorm(o.dim, { eps });
    this.ff = new FeedForward(o.dim, { activationFn: o.activationFn });
  }

  /** x [B, L, dim], text [B, S, crossAttentionDim] → [B, L, dim] */
  override forward(x: Tensor, encoderHiddenStates: Tensor | null = null): Tensor {
    let h = add(
      this.attn1.forward(this.norm1.forward(x), this.onlyCrossAttention ? encoderHiddenStates : null),
      x,
    );
    if (this.attn2 && this.norm2) h = add(this.attn2.forward(this.norm2.forward(h), encoderHiddenStates), h);
    return add(this.ff.forward(this.norm3.forward(h)), h);
  }
}
