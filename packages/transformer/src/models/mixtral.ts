// Mixtral (Jiang et al. 2024, "Mixtral of Experts"), with Hugging Face's parameter names: Mistral's
// decoder (mistral.ts) whose feed-forward is a sparse mixture of experts. A router scores the
// experts for every token, the token runs through its top `num_experts_per_tok` experts only, and
// their outputs are mixed by the router probabilities renormalised over the chosen ones.
//
//   block_sparse_moe: router logits = x W_gateᵀ [tokens, experts] ─ softmax ─ top-k ─ renormalise
//                     y = Σ_j w_j · expert_j(x),  expert(x) = w2(silu(w1 x) ⊙ w3 x)
//
// Checkpoints name the experts in two ways: block_sparse_moe.experts.N.{w1,w2,w3}.weight (what
// transformers 4 and 5 write to disk) and, in transformers 5's memory layout, mlp.gate.weight with
// the experts fused as mlp.experts.gate_up_proj [experts, 2·ffn, hidden] and mlp.experts.down_proj
// [experts, hidden, ffn]. Both load.

import { LIMITS, sizeField } from '@attnkit/hub';
import { concat, div, mul, oneHot, softmax, sum, type Tensor, topk } from '@attnkit/tensor-core';
import { MixtureOfExperts } from '../blocks/moe.js';
import type { ScaledRotary } from '../blocks/rope-scaling.js';
import { check, type FieldTable, fmtShape, resolveConfig } from '../internal.js';
import type { CausalLMForwardInputs, CausalLMForwardOutputs } from './gpt2.js';
import {
  type DecoderConfigBase,
  DecoderForCausalLM,
  type DecoderLayout,
  decoderFields,
  type FeedForwardResult,
  MistralDecoderLayer,
  MistralModel,
  validateDecoderConfig,
} from './mistral.js';

/** Mixtral's configuration (config.json names in camelCase; defaults are Mixtral-8x7B's). */
export interface MixtralConfig extends DecoderConfigBase {
  /** Experts per layer (`num_local_experts`; transformers also reads `num_experts`). */
  numLocalExperts: number;
  /** Experts each token runs through. */
  numExpertsPerTok: number;
  /** Return the router logits and the load-balancing loss from forward. */
  outputRouterLogits: boolean;
  /** Weight of the load-balancing loss in the training loss. */
  routerAuxLossCoef: number;
  /** Multiplicative router input noise while training (only 0 is implemented). */
  routerJitterNoise: number;
}

const FIELDS: FieldTable = {
  ...decoderFields({
    vocabSize: 32000,
    hiddenSize: 4096,
    intermediateSize: 14336,
    numHiddenLayers: 32,
    numAttentionHeads: 32,
    numKeyValueHeads: 8,
    maxPositionEmbeddings: 4096 * 32,
    rmsNormEps: 1e-5,
    ropeTheta: 1e6,
    slidingWindow: null,
    bosTokenId: 1,
    eosTokenId: 2,
  }),
  numLocalExperts: sizeField('num_local_experts', 8, LIMITS.experts, { aliases: ['num_experts'] }),
  numExpertsPerTok: sizeField('num_experts_per_tok', 2, LIMITS.experts),
  outputRouterLogits: { json: 'output_router_logits', default: false, kind: 'bool' },
  routerAuxLossCoef: { json: 'router_aux_loss_coef', default: 0.001, kind: 'number' },
  routerJitterNoise: { json: 'router_jitter_noise', default: 0, kind: 'number' },
};

function validate(c: MixtralConfig): void {
  const who = 'MixtralConfig';
  validateDecoderConfig(c, who);
  check(c.numLocalExperts > 0, who, `num_local_experts must be a positive integer, got ${c.numLocalExperts}`);
  check(
    c.numExpertsPerTok > 0 && c.numExpertsPerTok <= c.numLocalExperts,
    who,
    `num_experts_per_tok must be in [1, num_local_experts = ${c.numLocalExperts}], got ${c.numExpertsPerTok}`,
  );
  check(
    c.routerJitterNoise === 0,
    who,
    `router_jitter_noise ${c.routerJitterNoise} is not implemented (only 0, no router noise while training)`,
  );
}

/** Fills a Mixtral config from camelCase options with Mixtral-8x7B's defaults. */
export function mixtralConfig(options: Partial<MixtralConfig> = {}): MixtralConfig {
  const c = resolveConfig<MixtralConfig>('MixtralConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a Mixtral config.json object (transformers 4 or 5 keys). */
export function mixtralConfigFromJson(json: Record<string, unknown>): MixtralConfig {
  const c = resolveConfig<MixtralConfig>('MixtralConfig', FIELDS, json, true);
  validate(c);
  return c;
}

/** A Mixtral decoder layer: attention, then the sparse mixture of experts `block_sparse_moe`. */
export class MixtralDecoderLayer extends MistralDecoderLayer {
  block_sparse_moe: MixtureOfExperts;

  constructor(config: MixtralConfig, layout: DecoderLayout, layer: number, rope: ScaledRotary) {
    super(config, layout, layer, rope);
    this.block_sparse_moe = new MixtureOfExperts(config.hiddenSize, config.intermediateSize, {
      numExperts: config.numLocalExperts,
      topK: config.numExpertsPerTok,
      activation: config.hiddenAct,
    });
  }

  protected override makeFeedForward(): undefined {
    return undefined;
  }

  protected override feedForward(x: Tensor): FeedForwardResult {
    const { output, routerLogits } = this.block_sparse_moe.forward(x);
    return { output, routerLogits };
  }
}

/** Inputs of {@link MixtralForCausalLM.forward}. */
export interface MixtralForwardInputs extends CausalLMForwardInputs {
  /** Return `routerLogits` and `auxLoss` (default: the config's output_router_logits). */
  outputRouterLogits?: boolean;
}

/** Outputs of {@link MixtralForCausalLM.forward}. */
export interface MixtralForwardOutputs extends CausalLMForwardOutputs {
  /** Router logits of every layer, [B·L, experts] each (with `outputRouterLogits`). */
  routerLogits?: Tensor[];
  /** The load-balancing loss over every layer (with `outputRouterLogits`), as transformers' aux_loss. */
  auxLoss?: Tensor;
}

/**
 * The load-balancing loss of a Mixtral forward, as transformers' `load_balancing_loss_func`: the
 * router logits of every layer pooled, `experts · Σ_e f_e · P_e` with f_e the share of top-k
 * choices that went to expert e and P_e its mean router probability, over the real tokens of
 * `attentionMask` [B, L] (every token when null).
 */
export function mixtralAuxLoss(
  routerLogits: Tensor[],
  numExperts: number,
  topK: number,
  attentionMask: Tensor | null = null,
): Tensor {
  const logits = concat(routerLogits, 0); // [layers·B·L, n]
  const probs = softmax(logits, -1);
  const chosen = oneHot(topk(probs.detach(), topK, -1).indices, numExperts).cast('float32'); // [M, k, n]
  const counts = sum(chosen, 1); // [M, n]
  let weights: Tensor | null = null;
  if (attentionMask) {
    const flat = attentionMask.reshape([-1]).cast('float32'); // [B·L]
    if (logits.shape[0] !== flat.shape[0] * routerLogits.length) {
      throw new Error(
        `mixtralAuxLoss: attentionMask ${fmtShape(attentionMask.shape)} does not cover the ${logits.shape[0] / routerLogits.length} routed tokens`,
      );
    }
    weights = concat(
      routerLogits.map(() => flat),
      0,
    ).unsqueeze(1); // [M, 1]
  }
  const total = weights ? sum(weights) : logits.shape[0];
  const perExpert = (x: Tensor) => div(sum(weights ? mul(x, weights) : x, 0), total); // [n]
  return mul(sum(mul(perExpert(counts), perExpert(probs))), numExperts);
}

/**
 * Mixtral with its language-model head, as transformers' MixtralForCausalLM: names `model.*` (the
 * experts as `block_sparse_moe.experts.N.{w1,w2,w3}`, `block_sparse_moe.gate`) and
 * `lm_head.weight`. Each token runs through `numExpertsPerTok` of `numLocalExperts` experts per
 * layer. `forward` follows `@attnkit/sampling`'s CausalLM interface and returns the router logits
 * and load-balancing loss on request.
 *
 * Only the chosen experts run, which needs the routing on the host: on backends that read only
 * asynchronously (webgpu) use a synchronous backend for MoE models.
 *
 * @example
 * ```ts
 * const model = new MixtralForCausalLM({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
 *   numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 100, numLocalExperts: 8, numExpertsPerTok: 2 });
 * const inputIds = tensor([[1, 2, 3]], undefined, 'int32');
 * const { logits, auxLoss } = model.forward({ inputIds, outputRouterLogits: true });
 * auxLoss?.shape; // => []
 * ```
 */
export class MixtralForCausalLM extends DecoderForCausalLM<MixtralConfig> {
  readonly modelType: string = 'mixtral';
  readonly architecture: string = 'MixtralForCausalLM';

  constructor(config: Partial<MixtralConfig> | MixtralConfig = {}) {
    const c = 'extra' in config ? (config as MixtralConfig) : mixtralConfig(config);
    const layout: DecoderLayout = {
      qkvBias: false,
      oBias: false,
      windows: Array.from({ length: c.numHiddenLayers }, () => c.slidingWindow),
    };
    super(c, new MistralModel(c, layout, (i, rope) => new MixtralDecoderLayer(c, layout, i, rope)));
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): MixtralForCausalLM {
    return new MixtralForCausalLM(mixtralConfigFromJson(json));
  }

  protected fields(): FieldTable {
    return FIELDS;
  }

  /** ids [B, L] → logits [B, L, V], the KV cache, and (on request) router logits and the aux loss. */
  override forward(inputs: MixtralForwardInputs): MixtralForwardOutputs {
    return this.run(() => {
      const out = this.model.forward(inputs, 'MixtralForCausalLM.forward');
      const result: MixtralForwardOutputs = {
        logits: this.lm_head.forward(out.lastHiddenState),
        pastKeyValues: out.pastKeyValues,
      };
      if (inputs.outputRouterLogits ?? this.config.outputRouterLogits) {
        const am = inputs.attentionMask ?? null;
        const l = inputs.inputIds.shape[inputs.inputIds.rank - 1];
        const mask = am ? (am.rank === 1 ? am.unsqueeze(0) : am).sliceDim(-1, -l) : null;
        result.routerLogits = out.routerLogits;
        result.auxLoss = mixtralAuxLoss(
          out.routerLogits,
          this.config.numLocalExperts,
          this.config.numExpertsPerTok,
          mask,
        );
      }
      return result;
    });
  }

  /**
   * Checkpoint tensors in transformers 5's fused layout (mlp.gate, mlp.experts.gate_up_proj,
   * mlp.experts.down_proj) renamed and split into block_sparse_moe's per-expert weights. The new
   * tensors are returned; the caller disposes them.
   */
  override remapCheckpoint(weights: Record<string, Tensor>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const ffn = this.config.intermediateSize;
    for (const [name, t] of Object.entries(weights)) {
      const m = /^(.*)\.mlp\.(gate\.weight|experts\.gate_up_proj|experts\.down_proj)$/.exec(name);
      if (!m) {
        out[name] = t;
        continue;
      }
      const base = `${m[1]}.block_sparse_moe`;
      if (m[2] === 'gate.weight') {
        out[`${base}.gate.weight`] = t;
        continue;
      }
      if (t.rank !== 3) throw new Error(`${name}: expected [experts, out, in], got ${fmtShape(t.shape)}`);
      for (let e = 0; e < t.shape[0]; e++) {
        const w = t.sliceDim(0, e, e + 1).squeeze(0); // [out, in]
        if (m[2] === 'experts.down_proj') out[`${base}.experts.${e}.w2.weight`] = w.contiguous();
        else {
          out[`${base}.experts.${e}.w1.weight`] = w.sliceDim(0, 0, ffn).contiguous();
          out[`${base}.experts.${e}.w3.weight`] = w.sliceDim(0, ffn, 2 * ffn).contiguous();
        }
      }
    }
    return out;
  }
}
