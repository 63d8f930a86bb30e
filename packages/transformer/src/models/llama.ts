// Llama (Touvron et al. 2023), with Hugging Face's parameter names: a pre-norm decoder with RMSNorm,
// rotary position embeddings (rotate-half layout), a SwiGLU MLP, grouped-query attention and an
// untied head.
//
//   ids [B, L] ─ embed_tokens ─▶ h [B, L, E] ─▶ num_hidden_layers × DecoderLayer ─▶ norm ─▶ lm_head
//   DecoderLayer: h = h + self_attn(input_layernorm(h));  h = h + mlp(post_attention_layernorm(h))
//   self_attn: q [B, H, L, D], k/v [B, Hkv, L, D]; RoPE on q and k; H/Hkv query heads share a k/v head
import { type KVCache, type LayerKVCache, RotaryEmbedding } from '@attnkit/attention';
import { add, type Tensor } from '@attnkit/tensor-core';
import { type Embedding, init, Linear, Module, RMSNorm } from '@attnkit/tensor-core/nn';
import {
  attend,
  cacheArg,
  cropModelCache,
  keyPaddingMask,
  mergeHeads,
  newModelCache,
  reorderModelCache,
  splitHeads,
} from '../blocks/attention.js';
import { LMHead, tokenEmbedding } from '../blocks/embeddings.js';
import { activation, SwiGLU } from '../blocks/feed-forward.js';
import {
  check,
  configToJson,
  describe,
  type FieldTable,
  idsArg,
  maskArg,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';
import type { CausalLMForwardInputs, CausalLMForwardOutputs } from './gpt2.js';

/** Llama's configuration (config.json names in camelCase; defaults are Llama-2-7B's). */
export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Key/value heads (grouped-query attention); equal to numAttentionHeads when null. */
  numKeyValueHeads: number | null;
  /** Per-head size (hiddenSize / numAttentionHeads when null). */
  headDim: number | null;
  hiddenAct: string;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** `{ rope_type: 'linear' | 'llama3', factor, ... }` or null. */
  ropeScaling: Record<string, unknown> | null;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 32000, kind: 'int' },
  hiddenSize: { json: 'hidden_size', default: 4096, kind: 'int' },
  intermediateSize: { json: 'intermediate_size', default: 11008, kind: 'int' },
  numHiddenLayers: { json: 'num_hidden_layers', default: 32, kind: 'int' },
  numAttentionHeads: { json: 'num_attention_heads', default: 32, kind: 'int' },
  numKeyValueHeads: { json: 'num_key_value_heads', default: null, kind: 'int', nullable: true },
  headDim: { json: 'head_dim', default: null, kind: 'int', nullable: true },
  hiddenAct: { json: 'hidden_act', default: 'silu', kind: 'string' },
  maxPositionEmbeddings: { json: 'max_position_embeddings', default: 2048, kind: 'int' },
  rmsNormEps: { json: 'rms_norm_eps', default: 1e-6, kind: 'number' },
  ropeTheta: { json: 'rope_theta', default: 10000, kind: 'number' },
  ropeScaling: { json: 'rope_scaling', default: null, kind: 'any', nullable: true },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: false, kind: 'bool' },
  attentionBias: { json: 'attention_bias', default: false, kind: 'bool' },
  mlpBias: { json: 'mlp_bias', default: false, kind: 'bool' },
  initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
  bosTokenId: { json: 'bos_token_id', default: 1, kind: 'int', nullable: true },
  eosTokenId: { json: 'eos_token_id', default: 2, kind: 'any', nullable: true },
};

/** Fills a Llama config from camelCase options with Llama-2-7B's defaults. */
export function llamaConfig(options: Partial<LlamaConfig> = {}): LlamaConfig {
  const c = resolveConfig<LlamaConfig>('LlamaConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a Llama config.json object. */
export function llamaConfigFromJson(json: Record<string, unknown>): LlamaConfig {
  const c = resolveConfig<LlamaConfig>('LlamaConfig', FIELDS, json, true);
  validate(c);
  return c;
}

function validate(c: LlamaConfig): void {
  const who = 'LlamaConfig';
  const h = c.numAttentionHeads;
  const kv = c.numKeyValueHeads ?? h;
  check(
    h > 0 && kv > 0 && h % kv === 0,
    who,
    `num_attention_heads ${h} must be a multiple of num_key_value_heads ${kv}`,
  );
  if (c.headDim === null) {
    check(
      c.hiddenSize % h === 0,
      who,
      `hidden_size ${c.hiddenSize} must be divisible by num_attention_heads ${h}`,
    );
  }
  check((c.headDim ?? c.hiddenSize / h) % 2 === 0, who, 'the head dim must be even for rotary embeddings');
  activation(c.hiddenAct, who);
  if (c.ropeScaling !== null) {
    const s = c.ropeScaling;
    const type = s && typeof s === 'object' ? (s.rope_type ?? s.type) : undefined;
    if (type !== 'linear' && type !== 'llama3' && type !== 'default') {
      throw new Error(
        `${who}: rope_scaling ${describe(type)} is not supported (supported: 'linear', 'llama3', 'default')`,
      );
    }
  }
}

/** Rotary embeddings of a Llama config, with its rope_scaling applied to the frequencies. */
function llamaRotary(c: LlamaConfig, headDim: number): RotaryEmbedding {
  const rope = new RotaryEmbedding({ rotaryDim: headDim, theta: c.ropeTheta, layout: 'rotate_half' });
  const s = c.ropeScaling as Record<string, number | string> | null;
  if (!s) return rope;
  const type = s.rope_type ?? s.type;
  const factor = Number(s.factor ?? 1);
  const f = rope.invFreq;
  if (type === 'linear') for (let i = 0; i < f.length; i++) f[i] /= factor;
  if (type === 'llama3') {
    const low = Number(s.low_freq_factor ?? 1);
    const high = Number(s.high_freq_factor ?? 4);
    const old = Number(s.original_max_position_embeddings ?? 8192);
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < f.length; i++) {
      const wavelen = (2 * Math.PI) / f[i];
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) f[i] /= factor;
      else {
        const smooth = (old / wavelen - low) / (high - low);
        f[i] = (1 - smooth) * (f[i] / factor) + smooth * f[i];
      }
    }
  }
  return rope;
}

/** Grouped-query self-attention with rotary positions (q_proj, k_proj, v_proj, o_proj). */
export class LlamaAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;

  constructor(
    readonly config: LlamaConfig,
    private readonly rope: RotaryEmbedding,
  ) {
    super();
    this.heads = config.numAttentionHeads;
    this.kvHeads = config.numKeyValueHeads ?? this.heads;
    this.headDim = config.headDim ?? config.hiddenSize / this.heads;
    const e = config.hiddenSize;
    const bias = config.attentionBias;
    this.q_proj = new Linear(e, this.heads * this.headDim, { bias });
    this.k_proj = new Linear(e, this.kvHeads * this.headDim, { bias });
    this.v_proj = new Linear(e, this.kvHeads * this.headDim, { bias });
    this.o_proj = new Linear(this.heads * this.headDim, e, { bias });
  }

  /** x [B, L, E] → [B, L, E]; `positions` is the RoPE offset or int32 position ids [B, L]. */
  override forward(
    x: Tensor,
    positions: number | Tensor,
    cache: LayerKVCache | null,
    mask: Tensor | null,
  ): Tensor {
    const d = this.headDim;
    const at = typeof positions === 'number' ? { offset: positions } : { positions };
    const q = this.rope.apply(splitHeads(this.q_proj.forward(x), this.heads, d), at); // [B, H, L, D]
    const k = this.rope.apply(splitHeads(this.k_proj.forward(x), this.kvHeads, d), at); // [B, Hkv, L, D]
    const v = splitHeads(this.v_proj.forward(x), this.kvHeads, d); // [B, Hkv, L, D]
    const o = attend(q, k, v, { cache, mask, causal: true }); // [B, H, L, D]
    return this.o_proj.forward(mergeHeads(o));
  }
}

/** One decoder layer: pre-RMSNorm attention and SwiGLU MLP, each with a residual. */
export class LlamaDecoderLayer extends Module {
  self_attn: LlamaAttention;
  mlp: SwiGLU;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(config: LlamaConfig, rope: RotaryEmbedding) {
    super();
    this.self_attn = new LlamaAttention(config, rope);
    this.mlp = new SwiGLU(config.hiddenSize, config.intermediateSize, {
      bias: config.mlpBias,
      activation: config.hiddenAct,
    });
    this.input_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    this.post_attention_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
  }

  /** h [B, L, E] → [B, L, E] */
  override forward(
    h: Tensor,
    positions: number | Tensor,
    cache: LayerKVCache | null,
    mask: Tensor | null,
  ): Tensor {
    const a = add(h, this.self_attn.forward(this.input_layernorm.forward(h), positions, cache, mask));
    return add(a, this.mlp.forward(this.post_attention_layernorm.forward(a)));
  }
}

/** The bare Llama decoder (names `embed_tokens`, `layers.N.*`, `norm`). */
export class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;
  /** The rotary embedding every layer shares (frequencies with rope_scaling applied). */
  readonly rotary: RotaryEmbedding;

  constructor(readonly config: LlamaConfig) {
    super();
    const headDim = config.headDim ?? config.hiddenSize / config.numAttentionHeads;
    this.rotary = llamaRotary(config, headDim);
    this.embed_tokens = tokenEmbedding(config.vocabSize, config.hiddenSize, config.initializerRange);
    this.layers = Array.from(
      { length: config.numHiddenLayers },
      () => new LlamaDecoderLayer(config, this.rotary),
    );
    this.norm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        init.normal_(m.weight, 0, config.initializerRange);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }

  /** → hidden states [B, L, E] after the final norm, and the cache. */
  override forward(
    inputs: CausalLMForwardInputs,
    who = 'LlamaModel.forward',
  ): { lastHiddenState: Tensor; pastKeyValues: KVCache | null } {
    if (!inputs || typeof inputs !== 'object') throw new TypeError(`${who}: expected { inputIds, ... }`);
    const ids = idsArg(inputs.inputIds, 'inputIds', who); // [B, L]
    const [b, l] = ids.shape;
    const past = cacheArg(inputs.pastKeyValues, this.config.numHiddenLayers, who);
    const pastLen = past?.length ?? 0;
    const am = maskArg(inputs.attentionMask, 'attentionMask', who, [b, pastLen + l]);
    const positions: number | Tensor =
      maskArg(inputs.positionIds, 'positionIds', who, [b, l]) ?? past?.position ?? 0;
    const useCache = inputs.useCache ?? (past !== null || !this.training);
    const cache = past ?? (useCache ? newModelCache(this.config.numHiddenLayers) : null);
    const mask = keyPaddingMask(am);
    let h = this.embed_tokens.forward(ids); // [B, L, E]
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, positions, cache ? cache.layer(i) : null, mask);
    });
    return { lastHiddenState: this.norm.forward(h), pastKeyValues: cache };
  }
}

/**
 * Llama with its language-model head, as transformers' LlamaForCausalLM: names `model.*` and
 * `lm_head.weight` (untied unless `tieWordEmbeddings`). Also loads Mistral-style checkpoints that
 * share this layout. `forward` follows `@attnkit/sampling`'s CausalLM interface.
 *
 * @example
 * ```ts
 * const model = new LlamaForCausalLM({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
 *   numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 100 }).eval();
 * const { logits } = model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32') });
 * ```
 */
export class LlamaForCausalLM extends PreTrainedModel {
  readonly modelType: string = 'llama';
  readonly architecture: string = 'LlamaForCausalLM';
  readonly config: LlamaConfig;
  model: LlamaModel;
  lm_head: LMHead;

  constructor(config: Partial<LlamaConfig> | LlamaConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as LlamaConfig) : llamaConfig(config);
    this.model = new LlamaModel(this.config);
    this.lm_head = new LMHead(this.config.hiddenSize, this.config.vocabSize, {
      tiedTo: this.config.tieWordEmbeddings ? this.model.embed_tokens.weight : null,
      std: this.config.initializerRange,
    });
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): LlamaForCausalLM {
    return new LlamaForCausalLM(llamaConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: this.modelType,
      architectures: [this.architecture],
    };
  }

  override tiedWeights(): [string, string][] {
    return this.config.tieWordEmbeddings ? [['lm_head.weight', 'model.embed_tokens.weight']] : [];
  }

  override ignoredKeys(): RegExp[] {
    return [/(^|\.)rotary_emb\.inv_freq$/];
  }

  override basePrefix(): string {
    return 'model.';
  }

  /** ids [B, L] → logits [B, L, V] and the KV cache (pass it back with the new tokens only). */
  override forward(inputs: CausalLMForwardInputs): CausalLMForwardOutputs {
    return this.run(() => {
      const out = this.model.forward(inputs, 'LlamaForCausalLM.forward');
      return { logits: this.lm_head.forward(out.lastHiddenState), pastKeyValues: out.pastKeyValues };
    });
  }

  /** A cache with its batch rows reordered (beam search). */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): KVCache {
    return reorderModelCache(pastKeyValues, beamIndices, 'LlamaForCausalLM.reorderCache');
  }

  /** Keeps the first `length` positions of a cache, in place (speculative decoding's rollback). */
  cropCache(pastKeyValues: unknown, length: number): KVCache {
    return cropModelCache(pastKeyValues, length, 'LlamaForCausalLM.cropCache');
  }
}
