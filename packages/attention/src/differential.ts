// Differential attention (Ye et al. 2024, "Differential Transformer", arXiv:2410.05258) and its
// decoder block. Each head h owns two query/key heads (q1, k1) and (q2, k2) of width d and one value
// head of width 2d; its output is (softmax(q1 k1ᵀ/√d) − λ softmax(q2 k2ᵀ/√d)) V, normalised per head
// with an RMS norm (weight shared by the heads, eps 1e-5) and scaled by (1 − λ_init). λ is a scalar
// of the layer, reparameterised as λ = exp(λq1·λk1) − exp(λq2·λk2) + λ_init with
// λ_init = 0.8 − 0.6·exp(−0.3·layerIndex) (the paper's l − 1 with a 1-based l; the authors' code's
// `depth`, 0-based). Parameter names follow the authors' code (microsoft/unilm,
// Diff-Transformer/multihead_diffattn.py): q_proj, k_proj, v_proj, out_proj, lambda_q1, lambda_k1,
// lambda_q2, lambda_k2, subln.
//
// Each softmax map goes through scaledDotProductAttention (so the fused kernels apply, and A1 V and
// A2 V are two attention calls sharing V), then the difference is taken on the [B, H, L, 2d] outputs:
// (A1 − λ A2) V = A1 V − λ (A2 V).
import {
  add,
  exp,
  type Generator,
  getDefaultGenerator,
  mul,
  randn,
  silu,
  sub,
  sum,
  type Tensor,
} from '@attnkit/tensor-core';
import { Linear, Module, Parameter, RMSNorm } from '@attnkit/tensor-core/nn';
import { assertFloatArg, assertPositiveInt, assertTensorArg, fmtShape } from './internal.js';
import type { LayerKVCache } from './kv-cache.js';
import { scaledDotProductAttention } from './scaled-dot-product.js';

/** The RMS norm epsilon of the authors' code (subln and the block's norms). */
const DIFF_EPS = 1e-5;

/**
 * λ_init of the Differential Transformer for a layer: 0.8 − 0.6·exp(−0.3·layerIndex), with a
 * 0-based `layerIndex` (the paper writes 0.8 − 0.6·exp(−0.3(l − 1)) for a 1-based l).
 */
export function diffLambdaInit(layerIndex: number): number {
  if (typeof layerIndex !== 'number' || !Number.isInteger(layerIndex) || layerIndex < 0) {
    throw new RangeError(
      `diffLambdaInit: 'layerIndex' must be a non-negative integer, got ${String(layerIndex)}`,
    );
  }
  return 0.8 - 0.6 * Math.exp(-0.3 * layerIndex);
}

/** Options of the {@link DiffAttention} constructor. */
export interface DiffAttentionOptions {
  /** Model dimension E; each of the `numHeads` heads has q/k width E / numHeads / 2 and v width E / numHeads. */
  hiddenSize: number;
  /** Differential heads H (each is two softmax maps; the authors' `num_heads`, half of a plain transformer's). */
  numHeads: number;
  /** 0-based index of the layer in the stack: sets λ_init (see {@link diffLambdaInit}). */
  layerIndex: number;
  /** Causal masking, aligned bottom-right for a KV cache (default true). */
  causal?: boolean;
  /** Generator for the initial weights. */
  generator?: Generator;
  /** Label of this layer in {@link captureAttention} records (`<name>.1`, `<name>.2`). */
  name?: string;
}

/** Options of {@link DiffAttention.forward}. */
export interface DiffAttentionForwardOptions {
  /** SDPA mask (bool true = attend, or float added) broadcastable to [B, H, Lq, Lk], applied to both maps. */
  mask?: Tensor | null;
  /** The layer's KV cache: it holds keys [B, H, T, 2d] (k1 ‖ k2) and values [B, H, T, 2d]. */
  cache?: LayerKVCache;
  /** Also return the differential map A1 − λ A2 [B, H, Lq, Lk] (forces the reference path). */
  needWeights?: boolean;
}

/**
 * Differential attention: per head `(1 − λ_init) · RMSNorm((softmax(q1 k1ᵀ/√d) − λ softmax(q2 k2ᵀ/√d)) V)`,
 * the difference of two softmax maps cancelling the attention both give to irrelevant context.
 * Parameters (authors' names): `q_proj.weight`, `k_proj.weight`, `v_proj.weight`, `out_proj.weight`
 * [E, E] (no biases), `lambda_q1`, `lambda_k1`, `lambda_q2`, `lambda_k2` [d] (initialised N(0, 0.1²)),
 * `subln.weight` [2d]. Query/key head 2h is head h's first map, 2h + 1 its second.
 *
 * @example
 * ```ts
 * const attn = new DiffAttention({ hiddenSize: 64, numHeads: 2, layerIndex: 0 });
 * const { output } = attn.forward(randn([1, 10, 64]));
 * output.shape;                                          // => [1, 10, 64]
 * attn.lambda().item();                                  // λ = exp(λq1·λk1) − exp(λq2·λk2) + 0.2
 * ```
 */
export class DiffAttention extends Module {
  /** E → 2H·d (q1, q2 of every head). */
  q_proj: Linear;
  /** E → 2H·d (k1, k2 of every head). */
  k_proj: Linear;
  /** E → H·2d. */
  v_proj: Linear;
  /** H·2d → E. */
  out_proj: Linear;
  lambda_q1: Parameter;
  lambda_k1: Parameter;
  lambda_q2: Parameter;
  lambda_k2: Parameter;
  /** Per-head RMS norm over 2d (weight shared by the heads). */
  subln: RMSNorm;
  /** Label of this layer in {@link captureAttention} records. */
  name: string | undefined;
  readonly hiddenSize: number;
  readonly numHeads: number;
  /** q/k width d of one map (E / H / 2); values are 2d wide. */
  readonly headDim: number;
  readonly layerIndex: number;
  /** 0.8 − 0.6·exp(−0.3·layerIndex). */
  readonly lambdaInit: number;
  readonly causal: boolean;

  constructor(options: DiffAttentionOptions) {
    super();
    const who = 'DiffAttention';
    if (!options || typeof options !== 'object') {
      throw new TypeError(
        `${who}: expected options { hiddenSize, numHeads, layerIndex }, got ${String(options)}`,
      );
    }
    assertPositiveInt(options.hiddenSize, 'hiddenSize', who);
    assertPositiveInt(options.numHeads, 'numHeads', who);
    if (options.hiddenSize % (2 * options.numHeads) !== 0) {
      throw new Error(
        `${who}: hiddenSize (${options.hiddenSize}) must be divisible by 2·numHeads (${2 * options.numHeads}): each head splits into two maps`,
      );
    }
    if (options.causal !== undefined && typeof options.causal !== 'boolean') {
      throw new TypeError(`${who}: 'causal' must be a boolean, got ${typeof options.causal}`);
    }
    this.lambdaInit = diffLambdaInit(options.layerIndex);
    this.layerIndex = options.layerIndex;
    this.hiddenSize = options.hiddenSize;
    this.numHeads = options.numHeads;
    this.headDim = options.hiddenSize / options.numHeads / 2;
    this.causal = options.causal ?? true;
    this.name = options.name;
    const generator = options.generator ?? getDefaultGenerator();
    const e = this.hiddenSize;
    const d = this.headDim;
    this.q_proj = new Linear(e, e, { bias: false, generator });
    this.k_proj = new Linear(e, e, { bias: false, generator });
    this.v_proj = new Linear(e, e, { bias: false, generator });
    this.out_proj = new Linear(e, e, { bias: false, generator });
    const lam = () => new Parameter(mul(randn([d], { generator }), 0.1));
    this.lambda_q1 = lam();
    this.lambda_k1 = lam();
    this.lambda_q2 = lam();
    this.lambda_k2 = lam();
    this.subln = new RMSNorm(2 * d, { eps: DIFF_EPS });
  }

  override extraRepr(): string {
    return `heads=${this.numHeads}, head_dim=${this.headDim}, layer_index=${this.layerIndex}, lambda_init=${this.lambdaInit.toFixed(4)}, causal=${this.causal}`;
  }

  /** λ = exp(λq1·λk1) − exp(λq2·λk2) + λ_init, a scalar tensor (differentiable). */
  lambda(): Tensor {
    const l1 = exp(sum(mul(this.lambda_q1, this.lambda_k1)));
    const l2 = exp(sum(mul(this.lambda_q2, this.lambda_k2)));
    return add(sub(l1, l2), this.lambdaInit);
  }

  /** Differential self-attention over `x` [B, L, E]; returns [B, L, E] (and A1 − λ A2 when asked). */
  override forward(
    x: Tensor,
    options: DiffAttentionForwardOptions = {},
  ): { output: Tensor; weights: Tensor | null } {
    const who = 'DiffAttention.forward';
    assertTensorArg(x, 'x', who);
    assertFloatArg(x, 'x', who);
    if (x.rank !== 3 || x.shape[2] !== this.hiddenSize) {
      throw new Error(`${who}: 'x' must be [B, L, ${this.hiddenSize}], got ${fmtShape(x.shape)}`);
    }
    const [b, l] = x.shape;
    const h = this.numHeads;
    const d = this.headDim;
    // [B, H, L, 2d]: q/k heads 2h and 2h + 1 side by side (q1 ‖ q2), the value head 2d wide
    const q = this.q_proj
      .forward(x)
      .reshape([b, l, h, 2 * d])
      .transpose(1, 2);
    let k = this.k_proj
      .forward(x)
      .reshape([b, l, h, 2 * d])
      .transpose(1, 2);
    let v = this.v_proj
      .forward(x)
      .reshape([b, l, h, 2 * d])
      .transpose(1, 2);
    if (options.cache) ({ keys: k, values: v } = options.cache.append(k, v));
    const needWeights = options.needWeights === true;
    const map = (part: 0 | 1) => {
      const sdpaOptions = {
        mask: options.mask ?? null,
        causal: this.causal,
        name: this.name === undefined ? undefined : `${this.name}.${part + 1}`,
      };
      const qi = q.sliceDim(3, part * d, (part + 1) * d);
      const ki = k.sliceDim(3, part * d, (part + 1) * d);
      if (needWeights) return scaledDotProductAttention(qi, ki, v, { ...sdpaOptions, returnWeights: true });
      return { output: scaledDotProductAttention(qi, ki, v, sdpaOptions), weights: null };
    };
    const a1 = map(0);
    const a2 = map(1);
    const lambda = this.lambda();
    const diff = sub(a1.output, mul(a2.output, lambda));
    const normed = mul(this.subln.forward(diff), 1 - this.lambdaInit);
    const output = this.out_proj.forward(normed.transpose(1, 2).reshape([b, l, this.hiddenSize]));
    const weights = a1.weights && a2.weights ? sub(a1.weights, mul(a2.weights, lambda)) : null;
    return { output, weights };
  }
}

/** Options of the {@link DiffTransformerBlock} constructor. */
export interface DiffTransformerBlockOptions extends DiffAttentionOptions {
  /** Hidden width of the SwiGLU feed-forward (the paper uses 8/3·E). */
  intermediateSize: number;
  /** Epsilon of the two RMS norms (default 1e-5). */
  eps?: number;
}

/**
 * A Differential Transformer decoder layer (paper eq. 4): `Y = DiffAttn(RMSNorm(X)) + X`, then
 * `SwiGLU(RMSNorm(Y)) + Y` with `SwiGLU(x) = down_proj(silu(gate_proj x) ⊙ up_proj x)`.
 * Parameters: `attn_norm.weight`, `attn.*` ({@link DiffAttention}), `ffn_norm.weight`,
 * `ffn.gate_proj.weight`, `ffn.up_proj.weight` [F, E], `ffn.down_proj.weight` [E, F] (no biases).
 *
 * @example
 * ```ts
 * const layers = [0, 1, 2].map((i) =>
 *   new DiffTransformerBlock({ hiddenSize: 64, numHeads: 2, layerIndex: i, intermediateSize: 172 }));
 * const x = randn([1, 10, 64]);
 * let h = x; for (const layer of layers) h = layer.forward(h);
 * h.shape; // => [1, 10, 64]
 * ```
 */
export class DiffTransformerBlock extends Module {
  attn_norm: RMSNorm;
  attn: DiffAttention;
  ffn_norm: RMSNorm;
  ffn: SwiGLU;

  constructor(options: DiffTransformerBlockOptions) {
    super();
    if (!options || typeof options !== 'object') {
      throw new TypeError(
        `DiffTransformerBlock: expected options { hiddenSize, numHeads, layerIndex, intermediateSize }, got ${String(options)}`,
      );
    }
    assertPositiveInt(options.intermediateSize, 'intermediateSize', 'DiffTransformerBlock');
    const eps = options.eps ?? DIFF_EPS;
    this.attn_norm = new RMSNorm(options.hiddenSize, { eps });
    this.attn = new DiffAttention(options);
    this.ffn_norm = new RMSNorm(options.hiddenSize, { eps });
    this.ffn = new SwiGLU(options.hiddenSize, options.intermediateSize, options.generator);
  }

  /** `x` [B, L, E] → [B, L, E]; `cache` and `mask` go to the attention. */
  override forward(x: Tensor, options: Omit<DiffAttentionForwardOptions, 'needWeights'> = {}): Tensor {
    const h = add(x, this.attn.forward(this.attn_norm.forward(x), options).output);
    return add(h, this.ffn.forward(this.ffn_norm.forward(h)));
  }
}

/** The block's feed-forward: down_proj(silu(gate_proj x) ⊙ up_proj x), no biases. */
class SwiGLU extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;

  constructor(e: number, f: number, generator?: Generator) {
    super();
    this.gate_proj = new Linear(e, f, { bias: false, generator });
    this.up_proj = new Linear(e, f, { bias: false, generator });
    this.down_proj = new Linear(f, e, { bias: false, generator });
  }

  override forward(x: Tensor): Tensor {
    return this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x)));
  }
}
