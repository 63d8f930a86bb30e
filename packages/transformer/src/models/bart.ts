// BART (Lewis et al. 2020, "BART: Denoising Sequence-to-Sequence Pre-training"), with Hugging
// Face's parameter names: a post-LN encoder-decoder with learned positions (offset by 2, a quirk of
// fairseq's padding index), a LayerNorm on the embeddings (`layernorm_embedding`), optionally
// √d_model-scaled token embeddings (`scale_embedding`), GELU feed-forwards, a head tied to the shared
// embedding plus a `final_logits_bias`. Decoder inputs are the target shifted right behind
// `decoder_start_token_id` (the EOS id); generation forces BOS first and EOS last
// (`forced_bos_token_id`, `forced_eos_token_id` in generation_config.json).
//
//   src ids [B, Ls] ─ shared·scale + embed_positions(0..Ls-1 + 2) ─ layernorm_embedding
//                   ─▶ encoder.layers × N ─▶ memory [B, Ls, E]
//   tgt ids [B, Lt] ─ shared·scale + embed_positions(past.. + 2) ─ layernorm_embedding
//                   ─▶ decoder.layers × M (self, cross over memory, ff) ─▶ lm_head + final_logits_bias
//   layer: h = LN(h + self_attn(h));  (decoder: h = LN(h + encoder_attn(h, memory)));  h = LN(h + fc2(act(fc1(h))))

import { type LayerKVCache, LearnedPositionalEmbedding } from '@attnkit/attention';
import { COMMON_REFUSED, checkProduct, LIMITS, type RefusedKeys } from '@attnkit/hub';
import type { ConditionedDecoder, Seq2SeqLM } from '@attnkit/sampling';
import { add, dropout, eq, mul, noGrad, ones, type Tensor, tidy, where, zeros } from '@attnkit/tensor-core';
import { Embedding, init, LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { attend, keyPaddingMask, mergeHeads, splitHeads } from '../blocks/attention.js';
import { LMHead } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  ConditionedSeq2SeqDecoder,
  crossAttend,
  EncoderDecoderCache,
  seq2seqCacheArg,
} from '../blocks/seq2seq.js';
import { type GenerationDefaults, tokenIdDefaults } from '../generation-config.js';
import { check, configToJson, type FieldTable, idsArg, maskArg, resolveConfig } from '../internal.js';
import { PreTrainedModel } from './base.js';
import { shiftTokensRight } from './t5.js';

/** BART's learned positions start at index 2 of the table (fairseq's padding offset). */
export const BART_POSITION_OFFSET = 2;

/** BART's configuration (config.json names in camelCase; defaults are facebook/bart-large's). */
export interface BartConfig {
  vocabSize: number;
  /** Longest source or target sequence (the position table holds this + 2 rows). */
  maxPositionEmbeddings: number;
  encoderLayers: number;
  encoderFfnDim: number;
  encoderAttentionHeads: number;
  decoderLayers: number;
  decoderFfnDim: number;
  decoderAttentionHeads: number;
  activationFunction: string;
  dModel: number;
  dropout: number;
  attentionDropout: number;
  activationDropout: number;
  initStd: number;
  /** Multiply token embeddings by √d_model. */
  scaleEmbedding: boolean;
  tieWordEmbeddings: boolean;
  padTokenId: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  decoderStartTokenId: number;
  /** transformers 4 kept these generation settings in config.json (5 moves them to generation_config.json). */
  forcedBosTokenId: number | null;
  forcedEosTokenId: number | number[] | null;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 50265, kind: 'int', min: 1, max: LIMITS.vocab },
  maxPositionEmbeddings: {
    json: 'max_position_embeddings',
    default: 1024,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  encoderLayers: { json: 'encoder_layers', default: 12, kind: 'int', min: 1, max: LIMITS.layers },
  encoderFfnDim: { json: 'encoder_ffn_dim', default: 4096, kind: 'int', min: 1, max: LIMITS.intermediate },
  encoderAttentionHeads: {
    json: 'encoder_attention_heads',
    default: 16,
    kind: 'int',
    min: 1,
    max: LIMITS.heads,
  },
  decoderLayers: { json: 'decoder_layers', default: 12, kind: 'int', min: 1, max: LIMITS.layers },
  decoderFfnDim: { json: 'decoder_ffn_dim', default: 4096, kind: 'int', min: 1, max: LIMITS.intermediate },
  decoderAttentionHeads: {
    json: 'decoder_attention_heads',
    default: 16,
    kind: 'int',
    min: 1,
    max: LIMITS.heads,
  },
  activationFunction: { json: 'activation_function', default: 'gelu', kind: 'string' },
  dModel: { json: 'd_model', default: 1024, kind: 'int', min: 1, max: LIMITS.hidden },
  dropout: { json: 'dropout', default: 0.1, kind: 'number', min: 0, max: 1 },
  attentionDropout: { json: 'attention_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  activationDropout: { json: 'activation_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  initStd: { json: 'init_std', default: 0.02, kind: 'number', min: 0 },
  scaleEmbedding: { json: 'scale_embedding', default: false, kind: 'bool' },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  padTokenId: { json: 'pad_token_id', default: 1, kind: 'int' },
  bosTokenId: { json: 'bos_token_id', default: 0, kind: 'int', nullable: true },
  eosTokenId: { json: 'eos_token_id', default: 2, kind: 'any', nullable: true },
  decoderStartTokenId: { json: 'decoder_start_token_id', default: 2, kind: 'int' },
  forcedBosTokenId: { json: 'forced_bos_token_id', default: null, kind: 'int', nullable: true },
  forcedEosTokenId: { json: 'forced_eos_token_id', default: 2, kind: 'any', nullable: true },
};

/** config.json keys of BART-like checkpoints (mBART, older fairseq ports) that change the computation. */
const REFUSED: RefusedKeys = {
  ...COMMON_REFUSED,
  normalize_before: { why: 'pre-LN layers (mBART)', allowed: [false] },
  add_final_layer_norm: { why: 'a final LayerNorm on each stack (mBART)', allowed: [false] },
  normalize_embedding: { why: 'embeddings without layernorm_embedding', allowed: [true] },
  static_position_embeddings: { why: 'sinusoidal positions', allowed: [false] },
  add_bias_logits: { why: 'a logits bias layer', allowed: [false] },
  extra_pos_embeddings: { why: 'a position offset other than 2', allowed: [2] },
  encoder_layerdrop: { why: 'LayerDrop in training', allowed: [0] },
  decoder_layerdrop: { why: 'LayerDrop in training', allowed: [0] },
  is_decoder: { why: 'a decoder-only BART', allowed: [false] },
};

/** Fills a BART config from camelCase options (bart-large's defaults). */
export function bartConfig(options: Partial<BartConfig> = {}): BartConfig {
  const c = resolveConfig<BartConfig>('BartConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a BART config.json object. */
export function bartConfigFromJson(json: Record<string, unknown>): BartConfig {
  const c = resolveConfig<BartConfig>('BartConfig', FIELDS, json, true, { refuse: REFUSED });
  validate(c);
  return c;
}

function validate(c: BartConfig): void {
  const who = 'BartConfig';
  checkProduct(who, { vocab_size: c.vocabSize, d_model: c.dModel }, LIMITS.tensor, 'the token embedding');
  checkProduct(
    who,
    { max_position_embeddings: c.maxPositionEmbeddings + BART_POSITION_OFFSET, d_model: c.dModel },
    LIMITS.tensor,
    'the position embedding',
  );
  for (const [k, v] of [
    ['encoder_ffn_dim', c.encoderFfnDim],
    ['decoder_ffn_dim', c.decoderFfnDim],
  ] as const)
    checkProduct(who, { [k]: v, d_model: c.dModel }, LIMITS.tensor, 'a feed-forward weight');
  for (const [k, h] of [
    ['encoder_attention_heads', c.encoderAttentionHeads],
    ['decoder_attention_heads', c.decoderAttentionHeads],
  ] as const)
    check(c.dModel % h === 0, who, `d_model ${c.dModel} must be divisible by ${k} ${h}`);
  for (const k of ['padTokenId', 'decoderStartTokenId'] as const)
    check(c[k] < c.vocabSize, who, `${k} ${c[k]} is outside the vocabulary of ${c.vocabSize}`);
  activation(c.activationFunction, who);
}

function bartApproxParameters(c: BartConfig, head: boolean): number {
  const e = c.dModel;
  return (
    c.vocabSize * e * (head && !c.tieWordEmbeddings ? 2 : 1) +
    2 * (c.maxPositionEmbeddings + BART_POSITION_OFFSET) * e +
    c.encoderLayers * (4 * e * e + 2 * e * c.encoderFfnDim) +
    c.decoderLayers * (8 * e * e + 2 * e * c.decoderFfnDim)
  );
}

/** BART's attention (q_proj, k_proj, v_proj, out_proj with biases), scaled by 1/√d. */
export class BartAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  out_proj: Linear;
  readonly headDim: number;

  constructor(
    dModel: number,
    readonly heads: number,
    private readonly p: number,
  ) {
    super();
    this.headDim = dModel / heads;
    this.q_proj = new Linear(dModel, dModel);
    this.k_proj = new Linear(dModel, dModel);
    this.v_proj = new Linear(dModel, dModel);
    this.out_proj = new Linear(dModel, dModel);
  }

  /** Self-attention of x [B, L, E] (cached, `causal` in the decoder), or cross-attention over `memory`. */
  override forward(
    x: Tensor,
    options: { memory?: Tensor | null; mask: Tensor | null; cache: LayerKVCache | null; causal?: boolean },
  ): Tensor {
    const h = this.heads;
    const d = this.headDim;
    const q = splitHeads(this.q_proj.forward(x), h, d); // [B, H, L, D]
    const memory = options.memory;
    const dropoutP = this.training ? this.p : 0;
    const o = memory
      ? crossAttend(
          q,
          () => ({
            k: splitHeads(this.k_proj.forward(memory), h, d),
            v: splitHeads(this.v_proj.forward(memory), h, d),
          }),
          options.cache,
          { mask: options.mask },
        )
      : attend(q, splitHeads(this.k_proj.forward(x), h, d), splitHeads(this.v_proj.forward(x), h, d), {
          cache: options.cache,
          mask: options.mask,
          causal: options.causal,
          dropoutP,
        });
    return this.out_proj.forward(mergeHeads(o));
  }
}

/** The feed-forward of a layer with its residual and LayerNorm (fc1, fc2, final_layer_norm). */
abstract class BartLayerBase extends Module {
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;
  protected readonly act: (x: Tensor) => Tensor;
  constructor(
    protected readonly config: BartConfig,
    ffn: number,
  ) {
    super();
    this.fc1 = new Linear(config.dModel, ffn);
    this.fc2 = new Linear(ffn, config.dModel);
    this.final_layer_norm = new LayerNorm(config.dModel);
    this.act = activation(config.activationFunction, 'BartConfig');
  }
  /** h + dropout(sub) then LayerNorm (post-LN). */
  protected residual(h: Tensor, sub: Tensor, norm: LayerNorm): Tensor {
    return norm.forward(add(h, dropout(sub, this.config.dropout, this.training)));
  }
  protected feedForward(h: Tensor): Tensor {
    const a = dropout(this.act(this.fc1.forward(h)), this.config.activationDropout, this.training);
    return this.residual(h, this.fc2.forward(a), this.final_layer_norm);
  }
}

/** An encoder layer: self_attn, self_attn_layer_norm, fc1, fc2, final_layer_norm. */
export class BartEncoderLayer extends BartLayerBase {
  self_attn: BartAttention;
  self_attn_layer_norm: LayerNorm;
  constructor(config: BartConfig) {
    super(config, config.encoderFfnDim);
    this.self_attn = new BartAttention(config.dModel, config.encoderAttentionHeads, config.attentionDropout);
    this.self_attn_layer_norm = new LayerNorm(config.dModel);
  }
  override forward(h: Tensor, mask: Tensor | null): Tensor {
    const a = this.self_attn.forward(h, { mask, cache: null });
    return this.feedForward(this.residual(h, a, this.self_attn_layer_norm));
  }
}

/** A decoder layer: causal self_attn, encoder_attn over the memory, then the feed-forward. */
export class BartDecoderLayer extends BartLayerBase {
  self_attn: BartAttention;
  self_attn_layer_norm: LayerNorm;
  encoder_attn: BartAttention;
  encoder_attn_layer_norm: LayerNorm;
  constructor(config: BartConfig) {
    super(config, config.decoderFfnDim);
    this.self_attn = new BartAttention(config.dModel, config.decoderAttentionHeads, config.attentionDropout);
    this.self_attn_layer_norm = new LayerNorm(config.dModel);
    this.encoder_attn = new BartAttention(
      config.dModel,
      config.decoderAttentionHeads,
      config.attentionDropout,
    );
    this.encoder_attn_layer_norm = new LayerNorm(config.dModel);
  }
  override forward(
    h: Tensor,
    memory: Tensor,
    masks: { self: Tensor | null; cross: Tensor | null },
    cache: EncoderDecoderCache | null,
    i: number,
  ): Tensor {
    const s = this.self_attn.forward(h, {
      mask: masks.self,
      cache: cache?.selfAttention.layer(i) ?? null,
      causal: true,
    });
    let x = this.residual(h, s, this.self_attn_layer_norm);
    const c = this.encoder_attn.forward(x, {
      memory,
      mask: masks.cross,
      cache: cache?.crossAttention.layer(i) ?? null,
    });
    x = this.residual(x, c, this.encoder_attn_layer_norm);
    return this.feedForward(x);
  }
}

/** Token embeddings (the model's `shared`, scaled) plus learned positions, then layernorm_embedding. */
abstract class BartStackBase extends Module {
  embed_positions: LearnedPositionalEmbedding;
  layernorm_embedding: LayerNorm;
  constructor(
    readonly config: BartConfig,
    readonly embed_tokens: Embedding,
  ) {
    super();
    this.embed_positions = new LearnedPositionalEmbedding({
      maxPositions: config.maxPositionEmbeddings + BART_POSITION_OFFSET,
      dim: config.dModel,
      initStd: config.initStd,
    });
    this.layernorm_embedding = new LayerNorm(config.dModel);
  }
  /** ids [B, L] at positions past .. past + L − 1 → [B, L, E] */
  protected embed(ids: Tensor, past: number, who: string, arg: string): Tensor {
    const l = ids.shape[1];
    const max = this.config.maxPositionEmbeddings;
    if (past + l > max) {
      throw new RangeError(
        `${who}: '${arg}' reaches position ${past + l - 1}, beyond max_position_embeddings ${max} (positions 0..${max - 1})`,
      );
    }
    let x = this.embed_tokens.forward(ids); // [B, L, E]
    if (this.config.scaleEmbedding) x = mul(x, Math.sqrt(this.config.dModel));
    x = add(x, this.embed_positions.forward(l, { offset: past + BART_POSITION_OFFSET }));
    return dropout(this.layernorm_embedding.forward(x), this.config.dropout, this.training);
  }
}

/** BART's encoder (`embed_positions`, `layernorm_embedding`, `layers.N.*`). */
export class BartEncoder extends BartStackBase {
  layers: BartEncoderLayer[];
  constructor(config: BartConfig, embedTokens: Embedding) {
    super(config, embedTokens);
    this.layers = Array.from({ length: config.encoderLayers }, () => new BartEncoderLayer(config));
  }
  /** ids [B, Ls] (+ mask) → [B, Ls, E] */
  override forward(ids: Tensor, mask: Tensor | null, who = 'BartEncoder.forward'): Tensor {
    let h = this.embed(ids, 0, who, 'inputIds');
    const m = keyPaddingMask(mask);
    for (const layer of this.layers) h = layer.forward(h, m);
    return h;
  }
}

/** BART's decoder (`embed_positions`, `layernorm_embedding`, `layers.N.*`). */
export class BartDecoder extends BartStackBase {
  layers: BartDecoderLayer[];
  constructor(config: BartConfig, embedTokens: Embedding) {
    super(config, embedTokens);
    this.layers = Array.from({ length: config.decoderLayers }, () => new BartDecoderLayer(config));
  }
  /** Decoder ids [B, Lt] (the new ones with a cache) → [B, Lt, E] */
  override forward(
    inputs: {
      ids: Tensor;
      mask: Tensor | null;
      memory: Tensor;
      memoryMask: Tensor | null;
      cache: EncoderDecoderCache | null;
    },
    who = 'BartDecoder.forward',
  ): Tensor {
    const past = inputs.cache?.length ?? 0;
    let h = this.embed(inputs.ids, past, who, 'decoderInputIds');
    const masks = { self: keyPaddingMask(inputs.mask), cross: keyPaddingMask(inputs.memoryMask) };
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, inputs.memory, masks, inputs.cache, i);
    });
    return h;
  }
}

/** Inputs of {@link BartModel.forward} and {@link BartForConditionalGeneration.forward}. */
export interface BartInputs {
  /** Source ids, int32 [B, Ls] (not needed with `encoderOutputs`). */
  inputIds?: Tensor;
  /** Source mask [B, Ls]: 1 real, 0 padding. */
  attentionMask?: Tensor | null;
  /**
   * Decoder ids [B, Lt] (only the new ones with a cache). Without them they are built by
   * shifting `labels` (or, for BartModel, `inputIds`) right behind decoder_start_token_id.
   */
  decoderInputIds?: Tensor;
  labels?: Tensor;
  /** Decoder mask [B, past + Lt]: 1 real, 0 padding. */
  decoderAttentionMask?: Tensor | null;
  /** The encoder's output [B, Ls, E] from an earlier call (skips encoding). */
  encoderOutputs?: Tensor | null;
  pastKeyValues?: unknown;
  /** Return a cache (default: in eval mode). */
  useCache?: boolean;
}

/**
 * The bare BART encoder-decoder, as transformers' BartModel (names `shared`, `encoder.*`,
 * `decoder.*`): the decoder's last hidden state and the encoder's.
 *
 * @example
 * ```ts
 * const bart = new BartModel({ vocabSize: 100, dModel: 64, encoderLayers: 2, decoderLayers: 2,
 *   encoderAttentionHeads: 4, decoderAttentionHeads: 4, encoderFfnDim: 128, decoderFfnDim: 128 }).eval();
 * const inputIds = tensor([[0, 5, 6, 7, 2]], undefined, 'int32');
 * const attentionMask = tensor([[1, 1, 1, 1, 1]], undefined, 'int32');
 * const { lastHiddenState } = bart.forward({ inputIds, attentionMask }); // decoder inputs: inputIds shifted right
 * lastHiddenState.shape; // => [1, 5, 64]
 * ```
 */
export class BartModel extends PreTrainedModel {
  readonly modelType = 'bart';
  readonly architecture: string = 'BartModel';
  readonly config: BartConfig;
  shared: Embedding;
  encoder: BartEncoder;
  decoder: BartDecoder;

  constructor(config: Partial<BartConfig> | BartConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as BartConfig) : bartConfig(config);
    const c = this.config;
    this.shared = new Embedding(c.vocabSize, c.dModel);
    init.normal_(this.shared.weight, 0, c.initStd);
    this.encoder = new BartEncoder(c, this.shared);
    this.decoder = new BartDecoder(c, this.shared);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        init.normal_(m.weight, 0, c.initStd);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): BartModel {
    return new BartModel(bartConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return bartApproxParameters(bartConfigFromJson(json), false);
  }

  override configJson(): Record<string, unknown> {
    const json = configToJson(FIELDS, this.config as unknown as Record<string, unknown>);
    return {
      ...json,
      is_encoder_decoder: true,
      model_type: this.modelType,
      architectures: [this.architecture],
    };
  }

  override tiedWeights(): [string, string][] {
    return [
      ['encoder.embed_tokens.weight', 'shared.weight'],
      ['decoder.embed_tokens.weight', 'shared.weight'],
    ];
  }

  override ignoredKeys(): RegExp[] {
    return [/(^|\.)(encoder|decoder)\.version$/, /^final_logits_bias$/, /^lm_head\.weight$/];
  }

  override basePrefix(): string {
    return 'model.';
  }

  /** Source ids [B, Ls] (+ mask) → the encoder's output [B, Ls, E]. */
  encode(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return this.run(() => this.encodeRaw(inputIds, attentionMask ?? null, `${this.architecture}.encode`));
  }

  protected encodeRaw(inputIds: unknown, attentionMask: unknown, who: string): Tensor {
    const ids = idsArg(inputIds, 'inputIds', who);
    return this.encoder.forward(ids, maskArg(attentionMask, 'attentionMask', who, ids.shape), who);
  }

  /** Decoder inputs from labels [B, L]: shifted right behind decoder_start_token_id, -100 → pad. */
  shiftRight(labels: Tensor): Tensor {
    return shiftTokensRight(labels, this.config.padTokenId, this.config.decoderStartTokenId);
  }

  /**
   * Encoder (unless given) and decoder: the decoder's hidden states, the memory and the cache
   * (what both BART classes' forward share; `shiftInputs`: BartModel's decoder inputs default to
   * `inputIds` shifted right).
   */
  runSeq2Seq(
    inputs: BartInputs,
    who: string,
    shiftInputs: boolean,
  ): { hidden: Tensor; memory: Tensor; cache: EncoderDecoderCache | null } {
    if (!inputs || typeof inputs !== 'object')
      throw new TypeError(`${who}: expected { inputIds, decoderInputIds, ... }`);
    const memory = inputs.encoderOutputs ?? this.encodeRaw(inputs.inputIds, inputs.attentionMask, who);
    let decIn = inputs.decoderInputIds;
    if (decIn === undefined && inputs.labels) decIn = this.shiftRight(idsArg(inputs.labels, 'labels', who));
    if (decIn === undefined && shiftInputs && inputs.inputIds)
      decIn = this.shiftRight(idsArg(inputs.inputIds, 'inputIds', who));
    if (decIn === undefined) throw new TypeError(`${who}: pass decoderInputIds (or labels)`);
    const tgt = idsArg(decIn, 'decoderInputIds', who); // [B, Lt]
    const [b, lt] = tgt.shape;
    if (memory.rank !== 3 || memory.shape[0] !== b || memory.shape[2] !== this.config.dModel) {
      throw new Error(
        `${who}: the encoder output [${memory.shape.join(', ')}] does not match decoderInputIds batch ${b} and d_model ${this.config.dModel}`,
      );
    }
    const n = this.config.decoderLayers;
    const past = seq2seqCacheArg(inputs.pastKeyValues, n, who);
    const pastLen = past?.length ?? 0;
    const useCache = inputs.useCache ?? (past !== null || !this.training);
    const cache = past ?? (useCache ? new EncoderDecoderCache(n) : null);
    const srcMask = maskArg(inputs.attentionMask, 'attentionMask', who, [b, memory.shape[1]]);
    const tgtMask = maskArg(inputs.decoderAttentionMask, 'decoderAttentionMask', who, [b, pastLen + lt]);
    const hidden = this.decoder.forward({ ids: tgt, mask: tgtMask, memory, memoryMask: srcMask, cache }, who);
    return { hidden, memory, cache };
  }

  /** → the decoder's last hidden state [B, Lt, E], the encoder's output and the cache. */
  override forward(inputs: BartInputs): {
    lastHiddenState: Tensor;
    encoderLastHiddenState: Tensor;
    pastKeyValues: EncoderDecoderCache | null;
  } {
    return this.run(() => {
      const r = this.runSeq2Seq(inputs, 'BartModel.forward', true);
      return { lastHiddenState: r.hidden, encoderLastHiddenState: r.memory, pastKeyValues: r.cache };
    });
  }
}

/**
 * BART with its language-model head, as transformers' BartForConditionalGeneration (names
 * `model.*`, `lm_head.weight` tied to `model.shared.weight`, `final_logits_bias`). `generate()` of
 * `@attnkit/sampling` drives it as an encoder-decoder, with forced BOS/EOS from its
 * generation_config.json.
 *
 * @example
 * ```ts
 * import { generate } from '@attnkit/sampling';
 * // a tiny random BART
 * const bart = await loadPretrained('packages/transformer/test/fixtures/seq2seq-bart', { architecture: 'BartForConditionalGeneration' });
 * const inputIds = [[0, 5, 6, 7, 2]];
 * const { sequences } = await generate(bart, inputIds, { numBeams: 4, maxNewTokens: 10 });
 * sequences.length; // => 1
 * ```
 */
export class BartForConditionalGeneration extends PreTrainedModel implements Seq2SeqLM {
  readonly modelType = 'bart';
  readonly architecture = 'BartForConditionalGeneration';
  readonly config: BartConfig;
  model: BartModel;
  lm_head: LMHead;
  /** [1, V], added to the logits (a buffer, saved). */
  final_logits_bias: Tensor;

  constructor(config: Partial<BartConfig> | BartConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as BartConfig) : bartConfig(config);
    this.model = new BartModel(this.config);
    this.lm_head = new LMHead(this.config.dModel, this.config.vocabSize, {
      tiedTo: this.config.tieWordEmbeddings ? this.model.shared.weight : null,
      std: this.config.initStd,
    });
    this.final_logits_bias = zeros([1, this.config.vocabSize]);
    this.registerBuffer('final_logits_bias', this.final_logits_bias);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): BartForConditionalGeneration {
    return new BartForConditionalGeneration(bartConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return bartApproxParameters(bartConfigFromJson(json), true);
  }

  /** decoder_start_token_id (BART: the EOS id). */
  get decoderStartTokenId(): number {
    return this.config.decoderStartTokenId;
  }

  override configJson(): Record<string, unknown> {
    const json = configToJson(FIELDS, this.config as unknown as Record<string, unknown>);
    return {
      ...json,
      is_encoder_decoder: true,
      model_type: this.modelType,
      architectures: [this.architecture],
    };
  }

  override tiedWeights(): [string, string][] {
    const t: [string, string][] = [
      ['model.encoder.embed_tokens.weight', 'model.shared.weight'],
      ['model.decoder.embed_tokens.weight', 'model.shared.weight'],
    ];
    if (this.config.tieWordEmbeddings) t.push(['lm_head.weight', 'model.shared.weight']);
    return t;
  }

  override ignoredKeys(): RegExp[] {
    return [/(^|\.)(encoder|decoder)\.version$/];
  }

  override basePrefix(): string {
    return 'model.';
  }

  /** A BartModel checkpoint has no final_logits_bias: zeros, as transformers initialises it. */
  override remapCheckpoint(weights: Record<string, Tensor>): Record<string, Tensor> {
    if ('final_logits_bias' in weights) return weights;
    return { ...weights, final_logits_bias: zeros([1, this.config.vocabSize]) };
  }

  /** Without generation_config.json: the config's token ids, as transformers' from_model_config. */
  override defaultGenerationConfig(): GenerationDefaults {
    return tokenIdDefaults(this.configJson());
  }

  /** Decoder inputs from labels [B, L]: shifted right behind decoder_start_token_id, -100 → pad. */
  shiftRight(labels: Tensor): Tensor {
    return this.model.shiftRight(labels);
  }

  /** Source and decoder ids → logits [B, Lt, V], or one decoding step with a cache. */
  override forward(inputs: BartInputs): {
    logits: Tensor;
    encoderLastHiddenState: Tensor;
    pastKeyValues: EncoderDecoderCache | null;
  } {
    return this.run(() => {
      const r = this.model.runSeq2Seq(inputs, 'BartForConditionalGeneration.forward', false);
      const logits = add(this.lm_head.forward(r.hidden), this.final_logits_bias);
      return { logits, encoderLastHiddenState: r.memory, pastKeyValues: r.cache };
    });
  }

  /** Source ids [B, Ls] (+ mask) → the encoder's output [B, Ls, E]. */
  encode(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return this.model.encode(inputIds, attentionMask);
  }

  /** Encodes a source batch once and returns the decoder bound to it (what generate() drives). */
  seq2seqDecoder(inputIds: Tensor, attentionMask: Tensor | null = null): ConditionedDecoder {
    const who = 'BartForConditionalGeneration.seq2seqDecoder';
    const { memory, mask } = noGrad(() =>
      tidy(() => {
        const ids = idsArg(inputIds, 'inputIds', who);
        const m = maskArg(attentionMask, 'attentionMask', who, ids.shape);
        return {
          memory: this.model.encoder.forward(ids, m, who),
          mask: m ? where(eq(m, 0), 0, 1) : ones(ids.shape),
        };
      }),
    );
    return new ConditionedSeq2SeqDecoder(
      memory,
      mask,
      (x) =>
        this.forward({
          decoderInputIds: x.decoderInputIds,
          decoderAttentionMask: x.decoderAttentionMask,
          encoderOutputs: x.encoderOutputs,
          attentionMask: x.attentionMask,
          pastKeyValues: x.pastKeyValues,
        }),
      'BartForConditionalGeneration',
    );
  }

  /** A cache with its rows reordered (beam search). */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): EncoderDecoderCache {
    const who = 'BartForConditionalGeneration.reorderCache';
    const past = seq2seqCacheArg(pastKeyValues, this.config.decoderLayers, who);
    if (!past) throw new TypeError(`${who}: expected an EncoderDecoderCache`);
    return past.reorder(beamIndices, who);
  }
}
