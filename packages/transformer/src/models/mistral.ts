// Mistral (Jiang et al. 2023), with Hugging Face's parameter names: Llama's pre-norm decoder (RMSNorm,
// rotary positions, SwiGLU, grouped-query attention) whose attention looks back over a sliding
// window only, so the KV cache can roll: it keeps the last `sliding_window` positions and memory
// stays flat however long the generation runs.
//
//   ids [B, L] ─ embed_tokens ─▶ h ─▶ num_hidden_layers × DecoderLayer ─▶ norm ─▶ lm_head ─▶ logits [B, L, V]
//   DecoderLayer: h = h + self_attn(input_layernorm(h));  h = h + mlp(post_attention_layernorm(h))
//   self_attn: query at position p sees keys p − sliding_window < j ≤ p (all j ≤ p without a window)
//
// The decoder here is shared by the families that differ from it in one part: Qwen2 (q/k/v biases,
// per-layer windows; qwen2.ts) and Mixtral (a sparse mixture of experts as the MLP; mixtral.ts).
import { KVCache, type LayerKVCache, type RotaryEmbedding } from '@attnkit/attention';
import { LIMITS, sizeField } from '@attnkit/hub';
import { add, type Tensor } from '@attnkit/tensor-core';
import { type Embedding, init, Linear, Module, RMSNorm } from '@attnkit/tensor-core/nn';
import { attend, cacheArg, keyPaddingMask, mergeHeads, splitHeads } from '../blocks/attention.js';
import { LMHead, tokenEmbedding } from '../blocks/embeddings.js';
import { activation, SwiGLU } from '../blocks/feed-forward.js';
import {
  type RopeSettings,
  reachedLength,
  ropeConfigJson,
  ropeSettings,
  ScaledRotary,
} from '../blocks/rope-scaling.js';
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

/** The config fields every Llama-style decoder here has (config.json names in camelCase). */
export interface DecoderConfigBase {
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
  /** transformers 4's `rope_theta` (version 5 writes it inside `rope_parameters`). */
  ropeTheta: number;
  /** transformers 4's rope scaling dict, or null. */
  ropeScaling: Record<string, unknown> | null;
  /** transformers 5's `{ rope_type, rope_theta, factor, ... }`, or null. */
  ropeParameters: Record<string, unknown> | null;
  /** Attention window (null: full causal attention). */
  slidingWindow: number | null;
  tieWordEmbeddings: boolean;
  attentionDropout: number;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
  extra: Record<string, unknown>;
}

/** Mistral's configuration (defaults are Mistral-7B-v0.3's, as transformers' MistralConfig). */
export type MistralConfig = DecoderConfigBase;

/** The field table of a Llama-style decoder with these defaults. */
export function decoderFields(d: {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number | null;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
}): FieldTable {
  return {
    vocabSize: sizeField('vocab_size', d.vocabSize, LIMITS.vocab),
    hiddenSize: sizeField('hidden_size', d.hiddenSize, LIMITS.hidden),
    intermediateSize: sizeField('intermediate_size', d.intermediateSize, LIMITS.intermediate),
    numHiddenLayers: sizeField('num_hidden_layers', d.numHiddenLayers, LIMITS.layers),
    numAttentionHeads: sizeField('num_attention_heads', d.numAttentionHeads, LIMITS.heads),
    numKeyValueHeads: sizeField('num_key_value_heads', d.numKeyValueHeads, LIMITS.heads, { nullable: true }),
    headDim: sizeField('head_dim', null, LIMITS.headDim),
    hiddenAct: { json: 'hidden_act', default: 'silu', kind: 'string' },
    maxPositionEmbeddings: sizeField('max_position_embeddings', d.maxPositionEmbeddings, LIMITS.positions),
    rmsNormEps: { json: 'rms_norm_eps', default: d.rmsNormEps, kind: 'number' },
    ropeTheta: { json: 'rope_theta', default: d.ropeTheta, kind: 'number' },
    ropeScaling: { json: 'rope_scaling', default: null, kind: 'any', nullable: true },
    ropeParameters: { json: 'rope_parameters', default: null, kind: 'any', nullable: true },
    slidingWindow: { json: 'sliding_window', default: d.slidingWindow, kind: 'any', nullable: true },
    tieWordEmbeddings: { json: 'tie_word_embeddings', default: false, kind: 'bool' },
    attentionDropout: { json: 'attention_dropout', default: 0, kind: 'number' },
    initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
    bosTokenId: { json: 'bos_token_id', default: d.bosTokenId, kind: 'int', nullable: true },
    eosTokenId: { json: 'eos_token_id', default: d.eosTokenId, kind: 'any', nullable: true },
    padTokenId: { json: 'pad_token_id', default: null, kind: 'int', nullable: true },
  };
}

const FIELDS = decoderFields({
  vocabSize: 32000,
  hiddenSize: 4096,
  intermediateSize: 14336,
  numHiddenLayers: 32,
  numAttentionHeads: 32,
  numKeyValueHeads: 8,
  maxPositionEmbeddings: 4096 * 32,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  slidingWindow: 4096,
  bosTokenId: 1,
  eosTokenId: 2,
});

/**
 * Checks the fields every decoder here shares, naming the config.json key that is out of range.
 * Runs before any tensor is allocated.
 */
export function validateDecoderConfig(c: DecoderConfigBase, who: string): RopeSettings {
  for (const [key, v] of [
    ['vocab_size', c.vocabSize],
    ['hidden_size', c.hiddenSize],
    ['intermediate_size', c.intermediateSize],
    ['num_hidden_layers', c.numHiddenLayers],
    ['num_attention_heads', c.numAttentionHeads],
    ['max_position_embeddings', c.maxPositionEmbeddings],
  ] as const) {
    check(v > 0, who, `${key} must be a positive integer, got ${v}`);
  }
  const h = c.numAttentionHeads;
  const kv = c.numKeyValueHeads ?? h;
  check(kv > 0, who, `num_key_value_heads must be a positive integer, got ${kv}`);
  check(h % kv === 0, who, `num_attention_heads ${h} must be a multiple of num_key_value_heads ${kv}`);
  if (c.headDim === null) {
    check(
      c.hiddenSize % h === 0,
      who,
      `num_attention_heads ${h} must divide hidden_size ${c.hiddenSize} (or set head_dim)`,
    );
  } else check(c.headDim > 0, who, `head_dim must be a positive integer, got ${c.headDim}`);
  const headDim = c.headDim ?? c.hiddenSize / h;
  check(headDim % 2 === 0, who, `the head dim (head_dim) must be even for rotary embeddings, got ${headDim}`);
  const w = c.slidingWindow;
  check(
    w === null || (typeof w === 'number' && Number.isInteger(w) && w > 0),
    who,
    `sliding_window must be a positive integer or null, got ${describe(w)}`,
  );
  check(
    c.attentionDropout >= 0 && c.attentionDropout < 1,
    who,
    `attention_dropout must be in [0, 1), got ${c.attentionDropout}`,
  );
  check(c.rmsNormEps > 0, who, `rms_norm_eps must be positive, got ${c.rmsNormEps}`);
  activation(c.hiddenAct, who);
  return ropeSettings(c, headDim, who);
}

/** How one family's decoder differs from Mistral's (derived from its config). */
export interface DecoderLayout {
  /** Biases on q_proj, k_proj, v_proj (Qwen2). */
  qkvBias: boolean;
  /** Bias on o_proj. */
  oBias: boolean;
  /** The window of each layer (null: full attention). */
  windows: (number | null)[];
}

/** Mistral's layout: no biases, every layer with the config's sliding_window. */
function mistralLayout(c: DecoderConfigBase): DecoderLayout {
  return {
    qkvBias: false,
    oBias: false,
    windows: Array.from({ length: c.numHiddenLayers }, () => c.slidingWindow),
  };
}

/** Grouped-query self-attention with rotary positions and an optional sliding window. */
export class MistralAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;

  constructor(
    readonly config: DecoderConfigBase,
    layout: DecoderLayout,
    /** The layer's window (null: full causal attention). */
    readonly window: number | null,
    private readonly rope: ScaledRotary,
  ) {
    super();
    this.heads = config.numAttentionHeads;
    this.kvHeads = config.numKeyValueHeads ?? this.heads;
    this.headDim = config.headDim ?? config.hiddenSize / this.heads;
    const e = config.hiddenSize;
    this.q_proj = new Linear(e, this.heads * this.headDim, { bias: layout.qkvBias });
    this.k_proj = new Linear(e, this.kvHeads * this.headDim, { bias: layout.qkvBias });
    this.v_proj = new Linear(e, this.kvHeads * this.headDim, { bias: layout.qkvBias });
    this.o_proj = new Linear(this.heads * this.headDim, e, { bias: layout.oBias });
  }

  /** x [B, L, E] → [B, L, E]; `positions` is the RoPE offset or int32 position ids [B, L]. */
  override forward(
    x: Tensor,
    positions: number | Tensor,
    cache: LayerKVCache | null,
    mask: Tensor | null,
  ): Tensor {
    const d = this.headDim;
    const rotary: RotaryEmbedding = this.rope.rotary;
    const at = typeof positions === 'number' ? { offset: positions } : { positions };
    const q = rotary.apply(splitHeads(this.q_proj.forward(x), this.heads, d), at); // [B, H, L, D]
    const k = rotary.apply(splitHeads(this.k_proj.forward(x), this.kvHeads, d), at); // [B, Hkv, L, D]
    const v = splitHeads(this.v_proj.forward(x), this.kvHeads, d); // [B, Hkv, L, D]
    const o = attend(q, k, v, {
      cache,
      mask,
      causal: true,
      windowSize: this.window,
      scale: this.rope.attentionScale(d),
      dropoutP: this.training ? this.config.attentionDropout : 0,
    }); // [B, H, L, D]
    return this.o_proj.forward(mergeHeads(o));
  }
}

/** What a decoder layer's feed-forward returns: the output, and router logits for a mixture of experts. */
export type FeedForwardResult = Tensor | { output: Tensor; routerLogits: Tensor };

/** One decoder layer: pre-RMSNorm attention and feed-forward, each with a residual. */
export class MistralDecoderLayer extends Module {
  self_attn: MistralAttention;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;
  mlp?: SwiGLU;

  constructor(config: DecoderConfigBase, layout: DecoderLayout, layer: number, rope: ScaledRotary) {
    super();
    this.self_attn = new MistralAttention(config, layout, layout.windows[layer], rope);
    this.input_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    this.post_attention_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    this.mlp = this.makeFeedForward(config);
  }

  /** The feed-forward block (Mistral's SwiGLU `mlp`); Mixtral's layer has none here and its own. */
  protected makeFeedForward(config: DecoderConfigBase): SwiGLU | undefined {
    return new SwiGLU(config.hiddenSize, config.intermediateSize, { activation: config.hiddenAct });
  }

  /** The feed-forward of normalised h [B, L, E]. */
  protected feedForward(x: Tensor): FeedForwardResult {
    return (this.mlp as SwiGLU).forward(x);
  }

  /** h [B, L, E] → [B, L, E]; router logits of a mixture of experts are pushed onto `routerLogits`. */
  override forward(
    h: Tensor,
    positions: number | Tensor,
    cache: LayerKVCache | null,
    mask: Tensor | null,
    routerLogits?: Tensor[],
  ): Tensor {
    const a = add(h, this.self_attn.forward(this.input_layernorm.forward(h), positions, cache, mask));
    const f = this.feedForward(this.post_attention_layernorm.forward(a));
    if ((f as Tensor).isTensor === true) return add(a, f as Tensor);
    const moe = f as { output: Tensor; routerLogits: Tensor };
    routerLogits?.push(moe.routerLogits);
    return add(a, moe.output);
  }
}

/** What the bare decoder returns. */
export interface DecoderModelOutputs {
  /** [B, L, E] after the final norm. */
  lastHiddenState: Tensor;
  pastKeyValues: KVCache | null;
  /** Router logits of every layer, [B·L, experts] each (mixtures of experts only). */
  routerLogits: Tensor[];
}

/** The bare Mistral decoder (names `embed_tokens`, `layers.N.*`, `norm`). */
export class MistralModel extends Module {
  embed_tokens: Embedding;
  layers: MistralDecoderLayer[];
  norm: RMSNorm;
  /** The rotary embedding every layer shares (with the config's rope scaling). */
  readonly rope: ScaledRotary;
  /** The window every layer shares, when they all share one: the KV cache then rolls. */
  readonly cacheWindow: number | null;

  constructor(
    readonly config: DecoderConfigBase,
    readonly layout: DecoderLayout = mistralLayout(config),
    makeLayer: (i: number, rope: ScaledRotary) => MistralDecoderLayer = (i, rope) =>
      new MistralDecoderLayer(config, layout, i, rope),
  ) {
    super();
    const headDim = config.headDim ?? config.hiddenSize / config.numAttentionHeads;
    this.rope = new ScaledRotary(ropeSettings(config, headDim, 'MistralModel'));
    const w = layout.windows;
    this.cacheWindow = w.length > 0 && w.every((x) => x !== null && x === w[0]) ? w[0] : null;
    this.embed_tokens = tokenEmbedding(config.vocabSize, config.hiddenSize, config.initializerRange);
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, i) => makeLayer(i, this.rope));
    this.norm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        init.normal_(m.weight, 0, config.initializerRange);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }

  /** A new KV cache for this model: it rolls (keeps the last `window` positions) when the layers share a window. */
  newCache(): KVCache {
    const window = this.cacheWindow;
    return window === null
      ? new KVCache({ numLayers: this.config.numHiddenLayers })
      : new KVCache({ numLayers: this.config.numHiddenLayers, window, initialCapacity: window });
  }

  /** → hidden states [B, L, E] after the final norm, the cache, and router logits (MoE). */
  override forward(inputs: CausalLMForwardInputs, who = 'MistralModel.forward'): DecoderModelOutputs {
    if (!inputs || typeof inputs !== 'object') throw new TypeError(`${who}: expected { inputIds, ... }`);
    const ids = idsArg(inputs.inputIds, 'inputIds', who); // [B, L]
    const [b, l] = ids.shape;
    const past = cacheArg(inputs.pastKeyValues, this.config.numHiddenLayers, who);
    const pastLen = past?.position ?? 0; // tokens seen so far (a rolling cache holds fewer)
    const am = maskArg(inputs.attentionMask, 'attentionMask', who, [b, pastLen + l]);
    const positions: number | Tensor = maskArg(inputs.positionIds, 'positionIds', who, [b, l]) ?? pastLen;
    const useCache = inputs.useCache ?? (past !== null || !this.training);
    const cache = past ?? (useCache ? this.newCache() : null);
    const mask = keyPaddingMask(am); // [B, 1, 1, past + L] or null
    this.rope.prepare(reachedLength(positions, l, pastLen)); // dynamic / longrope frequencies
    const routerLogits: Tensor[] = [];
    let h = this.embed_tokens.forward(ids); // [B, L, E]
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, positions, cache ? cache.layer(i) : null, mask, routerLogits);
    });
    return { lastHiddenState: this.norm.forward(h), pastKeyValues: cache, routerLogits };
  }
}

/**
 * The causal LM shared by Mistral, Qwen2 and Mixtral: `model.*` (the decoder) and `lm_head.weight`
 * (untied unless `tieWordEmbeddings`); `forward` follows `@attnkit/sampling`'s CausalLM interface.
 */
export abstract class DecoderForCausalLM<C extends DecoderConfigBase> extends PreTrainedModel {
  readonly config: C;
  model: MistralModel;
  lm_head: LMHead;

  protected constructor(config: C, model: MistralModel) {
    super();
    this.config = config;
    this.model = model;
    this.lm_head = new LMHead(config.hiddenSize, config.vocabSize, {
      tiedTo: config.tieWordEmbeddings ? model.embed_tokens.weight : null,
      std: config.initializerRange,
    });
  }

  /** The config.json field table of the family. */
  protected abstract fields(): FieldTable;

  override configJson(): Record<string, unknown> {
    const json = ropeConfigJson(
      configToJson(this.fields(), this.config as unknown as Record<string, unknown>),
    );
    // transformers' Qwen2 reads a head_dim key even when it is null: leave it out unless set
    if (json.head_dim === null) delete json.head_dim;
    return { ...json, model_type: this.modelType, architectures: [this.architecture] };
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
      const out = this.model.forward(inputs, `${this.architecture}.forward`);
      return { logits: this.lm_head.forward(out.lastHiddenState), pastKeyValues: out.pastKeyValues };
    });
  }

  /** The cache with its batch rows reordered (beam search); in place, keeping the window and position. */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): KVCache {
    const who = `${this.architecture}.reorderCache`;
    if (!(pastKeyValues instanceof KVCache))
      throw new TypeError(`${who}: expected the KVCache forward returned`);
    try {
      pastKeyValues.selectRows(beamIndices);
    } catch (e) {
      throw new RangeError(`${who}: ${(e as Error).message}`);
    }
    return pastKeyValues;
  }
}

/**
 * Mistral with its language-model head, as transformers' MistralForCausalLM. Its attention sees the
 * last `sliding_window` positions only, and its KV cache rolls: it keeps that window, so memory
 * stays flat over long generations.
 *
 * @example
 * ```ts
 * const model = new MistralForCausalLM({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
 *   numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 100, slidingWindow: 8 }).eval();
 * const { logits } = model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32') });
 * ```
 */
export class MistralForCausalLM extends DecoderForCausalLM<MistralConfig> {
  readonly modelType: string = 'mistral';
  readonly architecture: string = 'MistralForCausalLM';

  constructor(config: Partial<MistralConfig> | MistralConfig = {}) {
    const c = 'extra' in config ? (config as MistralConfig) : mistralConfig(config);
    super(c, new MistralModel(c));
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): MistralForCausalLM {
    return new MistralForCausalLM(mistralConfigFromJson(json));
  }

  protected fields(): FieldTable {
    return FIELDS;
  }
}

/** Fills a Mistral config from camelCase options with Mistral-7B's defaults. */
export function mistralConfig(options: Partial<MistralConfig> = {}): MistralConfig {
  const c = resolveConfig<MistralConfig>('MistralConfig', FIELDS, options as Record<string, unknown>, false);
  validateDecoderConfig(c, 'MistralConfig');
  return c;
}

/** Parses a Mistral config.json object (transformers 4 or 5 keys). */
export function mistralConfigFromJson(json: Record<string, unknown>): MistralConfig {
  const c = resolveConfig<MistralConfig>('MistralConfig', FIELDS, json, true);
  validateDecoderConfig(c, 'MistralConfig');
  return c;
}
