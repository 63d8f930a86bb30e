// The encoder layer of "Attention Is All You Need" (section 3.1): self-attention and a feed-forward
// network, each wrapped in a residual connection and layer normalisation. Post-LN (the paper, BERT:
// Add & Norm after each sublayer) by default; pre-LN (GPT-2, ViT: norm before each sublayer) with
// `normFirst`. Parameter names are those of torch's nn.TransformerEncoderLayer.
//
//   post-LN: x = norm1(x + SelfAttn(x));  x = norm2(x + FFN(x))
//   pre-LN:  x = x + SelfAttn(norm1(x));  x = x + FFN(norm2(x))
import { type LayerKVCache, MultiHeadAttention } from '@attnkit/attention';
import { add, dropout, type Tensor } from '@attnkit/tensor-core';
import { LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { type ActivationName, activation } from './feed-forward.js';

/** Options of {@link EncoderBlock} (torch's constructor arguments, camelCase). */
export interface BlockOptions {
  /** Feed-forward width (2048, as torch and the paper). */
  dimFeedforward?: number;
  /** Dropout on attention weights and after each sublayer (0.1). */
  dropout?: number;
  /** Feed-forward activation ('relu'). */
  activation?: ActivationName;
  /** LayerNorm epsilon (1e-5). */
  layerNormEps?: number;
  /** Pre-LN instead of post-LN (false). */
  normFirst?: boolean;
}

/** Options of {@link EncoderBlock.forward}. */
export interface EncoderBlockForwardOptions {
  /** Bool [B, L]: true marks padding to ignore (torch's src_key_padding_mask). */
  keyPaddingMask?: Tensor | null;
  /** Causal self-attention (a decoder-only block). */
  causal?: boolean;
  /** A KV cache for incremental decoding with `causal`. */
  cache?: LayerKVCache | null;
}

/** @internal The feed-forward sublayer shared by the blocks: linear2(dropout(act(linear1(x)))). */
export function ffn(
  m: Module & { linear1: Linear; linear2: Linear },
  act: (x: Tensor) => Tensor,
  p: number,
  x: Tensor,
): Tensor {
  return m.linear2.forward(dropout(act(m.linear1.forward(x)), p, m.training));
}

/**
 * One transformer encoder layer (nn.TransformerEncoderLayer with batch_first): `self_attn`
 * (packed `in_proj_weight`, `out_proj`), `linear1`, `linear2`, `norm1`, `norm2`.
 *
 * @example
 * ```ts
 * const block = new EncoderBlock(512, 8);                 // the 2017 paper's layer
 * const x = randn([2, 5, 512]);                           // [B, L, 512]
 * const keyPaddingMask = tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], undefined, 'bool'); // true = padding
 * const y = block.forward(x, { keyPaddingMask });
 * y.shape; // => [2, 5, 512]
 * ```
 */
export class EncoderBlock extends Module {
  self_attn: MultiHeadAttention;
  linear1: Linear;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  readonly normFirst: boolean;
  readonly dropoutP: number;
  protected readonly act: (x: Tensor) => Tensor;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options: BlockOptions = {},
  ) {
    super();
    const ff = options.dimFeedforward ?? 2048;
    this.dropoutP = options.dropout ?? 0.1;
    this.self_attn = new MultiHeadAttention({ embedDim: dModel, numHeads: nhead, dropout: this.dropoutP });
    this.linear1 = new Linear(dModel, ff);
    this.linear2 = new Linear(ff, dModel);
    const eps = options.layerNormEps ?? 1e-5;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.normFirst = options.normFirst ?? false;
    this.act = activation(options.activation ?? 'relu', 'EncoderBlock');
  }

  /** x [B, L, dModel] → [B, L, dModel] */
  override forward(x: Tensor, options: EncoderBlockForwardOptions = {}): Tensor {
    const p = this.dropoutP;
    const sa = (h: Tensor) =>
      dropout(
        this.self_attn.forward(h, h, h, {
          keyPaddingMask: options.keyPaddingMask ?? null,
          isCausal: options.causal === true,
          cache: options.cache ?? undefined,
          needWeights: false,
        }).output,
        p,
        this.training,
      );
    const ff = (h: Tensor) => dropout(ffn(this, this.act, p, h), p, this.training);
    if (this.normFirst) {
      const a = add(x, sa(this.norm1.forward(x)));
      return add(a, ff(this.norm2.forward(a)));
    }
    const a = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(a, ff(a)));
  }
}
