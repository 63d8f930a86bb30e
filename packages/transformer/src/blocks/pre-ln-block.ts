// The pre-LN block of GPT-2-style decoder-only models (Xiong et al. 2020, "On Layer Normalization in
// the Transformer Architecture"): normalise before each sublayer, add the residual after, causal
// self-attention. Same parameters and names as {@link EncoderBlock} (torch's layer with norm_first).
//
//   x = x + CausalSelfAttn(norm1(x));  x = x + FFN(norm2(x))
import type { LayerKVCache } from '@attnkit/attention';
import type { Tensor } from '@attnkit/tensor-core';
import { type BlockOptions, EncoderBlock } from './encoder-block.js';

/**
 * A pre-LN causal block: an {@link EncoderBlock} with `normFirst` and causal self-attention, ready
 * for a KV cache.
 *
 * @example
 * ```ts
 * import { KVCache } from '@attnkit/attention';
 * const block = new PreLNBlock(256, 4, { activation: 'gelu' });
 * const kv = new KVCache({ numLayers: 1 });
 * const y = block.forward(randn([1, 5, 256]), { cache: kv.layer(0) });
 * y.shape; // => [1, 5, 256]
 * kv.position; // => 5
 * ```
 */
export class PreLNBlock extends EncoderBlock {
  constructor(dModel: number, nhead: number, options: Omit<BlockOptions, 'normFirst'> = {}) {
    super(dModel, nhead, { ...options, normFirst: true });
  }

  /** x [B, L, dModel] → [B, L, dModel], causal */
  override forward(
    x: Tensor,
    options: { keyPaddingMask?: Tensor | null; cache?: LayerKVCache | null } = {},
  ): Tensor {
    return super.forward(x, { ...options, causal: true });
  }
}
