// The decoder layer of "Attention Is All You Need" (section 3.1): masked self-attention over the
// target, cross-attention over the encoder's output ("memory"), and a feed-forward network, each
// with a residual and layer normalisation (post-LN by default, pre-LN with `normFirst`). Parameter
// names are those of torch's nn.TransformerDecoderLayer.
//
//   post-LN: x = norm1(x + SelfAttn(x, causal));  x = norm2(x + CrossAttn(x, memory));  x = norm3(x + FFN(x))
import { type LayerKVCache, MultiHeadAttention } from '@attnkit/attention';
import { add, dropout, type Tensor } from '@attnkit/tensor-core';
import { LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { type BlockOptions, ffn } from './encoder-block.js';
import { activation } from './feed-forward.js';

/** Options of {@link DecoderBlock.forward}. */
export interface DecoderBlockForwardOptions {
  /** Causal self-attention (default true). */
  causal?: boolean;
  /** Bool [B, Lt]: true marks target padding (torch's tgt_key_padding_mask). */
  tgtKeyPaddingMask?: Tensor | null;
  /** Bool [B, Ls]: true marks source padding (torch's memory_key_padding_mask). */
  memoryKeyPaddingMask?: Tensor | null;
  /** The self-attention's KV cache, for incremental decoding. */
  cache?: LayerKVCache | null;
}

/**
 * One transformer decoder layer (nn.TransformerDecoderLayer with batch_first): `self_attn`,
 * `multihead_attn` (cross-attention), `linear1`, `linear2`, `norm1`, `norm2`, `norm3`.
 *
 * @example
 * ```ts
 * const block = new DecoderBlock(512, 8);
 * const tgt = randn([2, 4, 512]); // [B, Lt, 512]
 * const memory = randn([2, 6, 512]); // [B, Ls, 512], the encoder's output
 * const memoryKeyPaddingMask = tensor([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]], undefined, 'bool'); // true = padding
 * const y = block.forward(tgt, memory, { memoryKeyPaddingMask });
 * y.shape; // => [2, 4, 512]
 * ```
 */
export class DecoderBlock extends Module {
  self_attn: MultiHeadAttention;
  multihead_attn: MultiHeadAttention;
  linear1: Linear;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  readonly normFirst: boolean;
  readonly dropoutP: number;
  private readonly act: (x: Tensor) => Tensor;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options: BlockOptions = {},
  ) {
    super();
    const ff = options.dimFeedforward ?? 2048;
    this.dropoutP = options.dropout ?? 0.1;
    this.self_attn = new MultiHeadAttention({ embedDim: dModel, numHeads: nhead, dropout: this.dropoutP });
    this.multihead_attn = new MultiHeadAttention({
      embedDim: dModel,
      numHeads: nhead,
      dropout: this.dropoutP,
    });
    this.linear1 = new Linear(dModel, ff);
    this.linear2 = new Linear(ff, dModel);
    const eps = options.layerNormEps ?? 1e-5;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.norm3 = new LayerNorm(dModel, { eps });
    this.normFirst = options.normFirst ?? false;
    this.act = activation(options.activation ?? 'relu', 'DecoderBlock');
  }

  /** x [B, Lt, dModel], memory [B, Ls, dModel] → [B, Lt, dModel] */
  override forward(x: Tensor, memory: Tensor, options: DecoderBlockForwardOptions = {}): Tensor {
    const p = this.dropoutP;
    const drop = (t: Tensor) => dropout(t, p, this.training);
    const sa = (h: Tensor) =>
      drop(
        this.self_attn.forward(h, h, h, {
          keyPaddingMask: options.tgtKeyPaddingMask ?? null,
          isCausal: options.causal ?? true,
          cache: options.cache ?? undefined,
          needWeights: false,
        }).output,
      );
    const ca = (h: Tensor) =>
      drop(
        this.multihead_attn.forward(h, memory, memory, {
          keyPaddingMask: options.memoryKeyPaddingMask ?? null,
          needWeights: false,
        }).output,
      );
    const ff = (h: Tensor) => drop(ffn(this, this.act, p, h));
    if (this.normFirst) {
      const a = add(x, sa(this.norm1.forward(x)));
      const b = add(a, ca(this.norm2.forward(a)));
      return add(b, ff(this.norm3.forward(b)));
    }
    const a = this.norm1.forward(add(x, sa(x)));
    const b = this.norm2.forward(add(a, ca(a)));
    return this.norm3.forward(add(b, ff(b)));
  }
}
