// Grouped-query attention as in HF LlamaAttention / MistralAttention: separate q/k/v/o projections,
// numKeyValueHeads ≤ numHeads key/value heads (1 = multi-query), rotary embeddings on q and k,
// causal masking, an optional sliding window and a per-layer KV cache.
import { type Generator, getDefaultGenerator, type Tensor } from '@attnkit/tensor-core';
import { Linear, Module } from '@attnkit/tensor-core/nn';
import { assertFloatArg, assertPositiveInt, assertTensorArg, fmtShape } from './internal.js';
import type { LayerKVCache } from './kv-cache.js';
import { RotaryEmbedding, type RotaryEmbeddingOptions } from './rotary.js';
import { scaledDotProductAttention } from './scaled-dot-product.js';

/** Options of the {@link GroupedQueryAttention} constructor (HF config names, camelCase). */
export interface GroupedQueryAttentionOptions {
  /** Model dimension (hidden_size). */
  hiddenSize: number;
  /** Query heads (num_attention_heads). */
  numHeads: number;
  /** Key/value heads (num_key_value_heads); numHeads by default; 1 is multi-query attention. */
  numKeyValueHeads?: number;
  /**
   * Multi-query attention (Shazeer 2019, "Fast Transformer Decoding"): one key/value head shared by
   * every query head, the same as `numKeyValueHeads: 1`; the KV cache is numHeads times smaller.
   */
  multiQuery?: boolean;
  /** Per-head dimension (head_dim); hiddenSize / numHeads by default. */
  headDim?: number;
  /** Biases on q/k/v (Qwen2: true; Llama: false, the default). */
  qkvBias?: boolean;
  /** Bias on o_proj (default false). */
  outBias?: boolean;
  /** Rotary embeddings on q and k (an instance or its options), or null for none (the default). */
  rope?: RotaryEmbedding | RotaryEmbeddingOptions | null;
  /** Causal masking (default true). */
  causal?: boolean;
  /** Sliding-window size (Mistral's sliding_window), or null. */
  windowSize?: number | null;
  /** Dropout on the attention weights in training mode (attention_dropout; default 0). */
  dropout?: number;
  /** Generator for the initial weights and dropout. */
  generator?: Generator;
  /** Label of this layer in {@link captureAttention} records. */
  name?: string;
}

/** Options of {@link GroupedQueryAttention.forward}. */
export interface GroupedQueryAttentionForwardOptions {
  /** SDPA mask (bool true = attend, or float added) broadcastable to [B, H, Lq, Lk], e.g. padding [B, 1, 1, Lk]. */
  mask?: Tensor | null;
  /** The layer's KV cache; RoPE positions continue from its `position`. */
  cache?: LayerKVCache;
  /** Explicit RoPE positions (overrides the cache's offset). */
  positions?: readonly number[] | Tensor;
  /** Return the weights [B, H, Lq, Lk] (forces the reference path). */
  needWeights?: boolean;
}

/**
 * Llama/Mistral-style attention with grouped-query heads. Parameters use HF names: `q_proj.weight`
 * [H·d, E], `k_proj.weight` [Hkv·d, E], `v_proj.weight` [Hkv·d, E], `o_proj.weight` [E, H·d] (and
 * `.bias` where enabled). Query head h uses key/value head ⌊h / (H / Hkv)⌋, as HF's repeat_kv,
 * without copying k or v.
 *
 * @example
 * ```ts
 * const attn = new GroupedQueryAttention({ hiddenSize: 512, numHeads: 8, numKeyValueHeads: 2,
 *   rope: { rotaryDim: 64, theta: 10000 } });
 * const cache = new LayerKVCache();
 * const prompt = randn([1, 7, 512]);
 * const nextToken = randn([1, 1, 512]);
 * const { output } = attn.forward(prompt, { cache });
 * output.shape;                                         // => [1, 7, 512]
 * attn.forward(nextToken, { cache });                   // continues at position 7
 * cache.position;                                       // => 8
 * ```
 */
export class GroupedQueryAttention extends Module {
  /** hiddenSize → numHeads·headDim. */
  q_proj: Linear;
  /** hiddenSize → numKeyValueHeads·headDim. */
  k_proj: Linear;
  /** hiddenSize → numKeyValueHeads·headDim. */
  v_proj: Linear;
  /** numHeads·headDim → hiddenSize. */
  o_proj: Linear;
  /** Label of this layer in {@link captureAttention} records. */
  name: string | undefined;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly windowSize: number | null;
  readonly dropout: number;
  readonly rope: RotaryEmbedding | null;
  private readonly generator: Generator;

  constructor(options: GroupedQueryAttentionOptions) {
    super();
    const who = 'GroupedQueryAttention';
    if (!options || typeof options !== 'object') {
      throw new TypeError(`${who}: expected options { hiddenSize, numHeads, ... }, got ${String(options)}`);
    }
    assertPositiveInt(options.hiddenSize, 'hiddenSize', who);
    assertPositiveInt(options.numHeads, 'numHeads', who);
    if (options.multiQuery !== undefined && typeof options.multiQuery !== 'boolean') {
      throw new TypeError(`${who}: 'multiQuery' must be a boolean, got ${typeof options.multiQuery}`);
    }
    if (
      options.multiQuery === true &&
      options.numKeyValueHeads !== undefined &&
      options.numKeyValueHeads !== 1
    ) {
      throw new Error(
        `${who}: multiQuery means one key/value head, but numKeyValueHeads is ${options.numKeyValueHeads}`,
      );
    }
    const kv = options.multiQuery === true ? 1 : (options.numKeyValueHeads ?? options.numHeads);
    assertPositiveInt(kv, 'numKeyValueHeads', who);
    if (options.numHeads % kv !== 0) {
      throw new Error(
        `${who}: numHeads (${options.numHeads}) must be a multiple of numKeyValueHeads (${kv})`,
      );
    }
    const headDim = options.headDim ?? options.hiddenSize / options.numHeads;
    if (!Number.isInteger(headDim) || headDim <= 0) {
      throw new Error(
        `${who}: hiddenSize (${options.hiddenSize}) is not divisible by numHeads (${options.numHeads}); give headDim`,
      );
    }
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new RangeError(`${who}: 'dropout' must be a number in [0, 1), got ${String(dropout)}`);
    }
    this.hiddenSize = options.hiddenSize;
    this.numHeads = options.numHeads;
    this.numKeyValueHeads = kv;
    this.headDim = headDim;
    this.causal = options.causal ?? true;
    this.windowSize = options.windowSize ?? null;
    if (this.windowSize !== null) assertPositiveInt(this.windowSize, 'windowSize', who);
    this.dropout = dropout;
    this.generator = options.generator ?? getDefaultGenerator();
    this.name = options.name;
    const rope = options.rope ?? null;
    this.rope = rope === null ? null : rope instanceof RotaryEmbedding ? rope : new RotaryEmbedding(rope);
    if (this.rope && this.rope.rotaryDim > headDim) {
      throw new Error(`${who}: rope.rotaryDim (${this.rope.rotaryDim}) exceeds headDim (${headDim})`);
    }
    const e = this.hiddenSize;
    const hd = this.numHeads * headDim;
    const kvd = kv * headDim;
    const generator = this.generator;
    this.q_proj = new Linear(e, hd, { bias: options.qkvBias === true, generator });
    this.k_proj = new Linear(e, kvd, { bias: options.qkvBias === true, generator });
    this.v_proj = new Linear(e, kvd, { bias: options.qkvBias === true, generator });
    this.o_proj = new Linear(hd, e, { bias: options.outBias === true, generator });
  }

  override extraRepr(): string {
    const window = this.windowSize === null ? '' : `, window=${this.windowSize}`;
    return `heads=${this.numHeads}, kv_heads=${this.numKeyValueHeads}, head_dim=${this.headDim}, causal=${this.causal}${window}`;
  }

  /** Attention over `x` [B, L, hiddenSize] (self-attention); returns [B, L, hiddenSize]. */
  override forward(
    x: Tensor,
    options: GroupedQueryAttentionForwardOptions = {},
  ): { output: Tensor; weights: Tensor | null } {
    const who = 'GroupedQueryAttention.forward';
    assertTensorArg(x, 'x', who);
    assertFloatArg(x, 'x', who);
    if (x.rank !== 3 || x.shape[2] !== this.hiddenSize) {
      throw new Error(`${who}: 'x' must be [B, L, ${this.hiddenSize}], got ${fmtShape(x.shape)}`);
    }
    const [b, l] = x.shape;
    const h = this.numHeads;
    const kvh = this.numKeyValueHeads;
    const d = this.headDim;
    let q = this.q_proj.forward(x).reshape([b, l, h, d]).transpose(1, 2);
    let k = this.k_proj.forward(x).reshape([b, l, kvh, d]).transpose(1, 2);
    let v = this.v_proj.forward(x).reshape([b, l, kvh, d]).transpose(1, 2);
    if (this.rope) {
      const ropeOptions =
        options.positions !== undefined
          ? { positions: options.positions }
          : { offset: options.cache?.position ?? 0 };
      q = this.rope.apply(q, ropeOptions);
      k = this.rope.apply(k, ropeOptions);
    }
    if (options.cache) ({ keys: k, values: v } = options.cache.append(k, v));
    const needWeights = options.needWeights === true;
    const res = scaledDotProductAttention(q, k, v, {
      mask: options.mask ?? null,
      causal: this.causal,
      windowSize: this.windowSize,
      dropoutP: this.training ? this.dropout : 0,
      generator: this.generator,
      returnWeights: needWeights ? true : undefined,
      name: this.name,
    }) as Tensor | { output: Tensor; weights: Tensor };
    const attn = needWeights ? (res as { output: Tensor }).output : (res as Tensor);
    const merged = attn.transpose(1, 2).reshape([b, l, h * d]);
    const output = this.o_proj.forward(merged);
    return { output, weights: needWeights ? (res as { weights: Tensor }).weights : null };
  }
}
