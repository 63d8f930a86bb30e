// CLIP's text encoder (Radford et al. 2021, "Learning Transferable Visual Models From Natural
// Language Supervision"), with Hugging Face's parameter names: a pre-LN transformer with a causal
// mask over learned token + position embeddings, whose state at the end-of-text token summarises
// the text. Stable Diffusion conditions its U-Net on the whole last hidden state.
//
//   ids [B, L] ─ token_embedding + position_embedding ─▶ h [B, L, E] ─▶ num_hidden_layers × Layer
//     ─▶ final_layer_norm ─▶ last_hidden_state [B, L, E] ─▶ h[b, eos position] ─▶ pooler_output [B, E]
//     (─▶ text_projection ─▶ text_embeds [B, projection_dim] in CLIPTextModelWithProjection)
//   Layer: h = h + self_attn(layer_norm1(h));  h = h + mlp(layer_norm2(h))   (causal attention)
import { COMMON_REFUSED, checkProduct, LIMITS } from '@attnkit/hub';
import { add, argmax, eq, gather, type Tensor } from '@attnkit/tensor-core';
import { type Embedding, init, LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
import { attend, keyPaddingMask, mergeHeads, splitHeads } from '../blocks/attention.js';
import { tokenEmbedding } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  check,
  configToJson,
  describe,
  type FieldTable,
  idsArg,
  maskArg,
  rangeIds,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';

/**
 * CLIP's text configuration, as transformers' CLIPTextConfig (config.json names in camelCase;
 * defaults are openai/clip-vit-base-patch32's text tower).
 */
export interface CLIPTextConfig {
  vocabSize: number;
  /** Width E of the transformer. */
  hiddenSize: number;
  /** MLP width. */
  intermediateSize: number;
  /** Output width of `text_projection` (CLIPTextModelWithProjection). */
  projectionDim: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Learned positions: the longest input (77 for CLIP). */
  maxPositionEmbeddings: number;
  /** `quick_gelu` (x·σ(1.702x), OpenAI's checkpoints) or `gelu` (OpenCLIP's). */
  hiddenAct: string;
  layerNormEps: number;
  attentionDropout: number;
  initializerRange: number;
  initializerFactor: number;
  padTokenId: number | null;
  bosTokenId: number | null;
  /**
   * The end-of-text id that `pooler_output` is read at. 2 is transformers' legacy value (old
   * configs hold it): the pooler then takes the position of the largest id, as the original CLIP.
   */
  eosTokenId: number;
  /** config.json fields this class does not use, kept for saving. */
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 49408, kind: 'int', max: LIMITS.vocab },
  hiddenSize: { json: 'hidden_size', default: 512, kind: 'int', max: LIMITS.hidden },
  intermediateSize: {
    json: 'intermediate_size',
    default: 2048,
    kind: 'int',
    max: LIMITS.intermediate,
  },
  projectionDim: { json: 'projection_dim', default: 512, kind: 'int', min: 1, max: LIMITS.hidden },
  numHiddenLayers: { json: 'num_hidden_layers', default: 12, kind: 'int', min: 1, max: LIMITS.layers },
  numAttentionHeads: { json: 'num_attention_heads', default: 8, kind: 'int', min: 1, max: LIMITS.heads },
  maxPositionEmbeddings: {
    json: 'max_position_embeddings',
    default: 77,
    kind: 'int',
    max: LIMITS.positions,
  },
  hiddenAct: { json: 'hidden_act', default: 'quick_gelu', kind: 'string' },
  layerNormEps: { json: 'layer_norm_eps', default: 1e-5, kind: 'number', min: 0, exclusiveMin: true },
  attentionDropout: { json: 'attention_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
  initializerFactor: { json: 'initializer_factor', default: 1, kind: 'number' },
  padTokenId: { json: 'pad_token_id', default: 1, kind: 'int', nullable: true },
  bosTokenId: { json: 'bos_token_id', default: 49406, kind: 'int', nullable: true },
  eosTokenId: { json: 'eos_token_id', default: 49407, kind: 'int' },
};

const WHO = 'CLIPTextConfig';

/** Fills a CLIP text config from camelCase options with clip-vit-base-patch32's defaults. */
export function clipTextConfig(options: Partial<CLIPTextConfig> = {}): CLIPTextConfig {
  const c = resolveConfig<CLIPTextConfig>(WHO, FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/**
 * Parses a CLIP text config.json object: a `clip_text_model` config (Stable Diffusion's
 * `text_encoder/config.json`), or a whole `clip` config, whose `text_config` is read (with the
 * top-level `projection_dim`, as transformers' CLIPModel uses it).
 */
export function clipTextConfigFromJson(json: Record<string, unknown>): CLIPTextConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`${WHO}: expected a config.json object, got ${describe(json)}`);
  }
  let src = json;
  if (json.model_type === 'clip' || (json.text_config !== undefined && json.hidden_size === undefined)) {
    const text = json.text_config ?? json.text_config_dict;
    if (!text || typeof text !== 'object' || Array.isArray(text)) {
      throw new Error(`${WHO}: a 'clip' config.json must hold a "text_config" object, got ${describe(text)}`);
    }
    src = { ...(text as Record<string, unknown>) };
    if (json.projection_dim !== undefined) src.projection_dim = json.projection_dim;
    delete src.model_type;
  }
  const c = resolveConfig<CLIPTextConfig>(WHO, FIELDS, src, true, { refuse: COMMON_REFUSED });
  validate(c);
  return c;
}

/** The config.json object (snake_case) of a CLIP text config, without model_type or architectures. */
export function clipTextConfigToJson(c: CLIPTextConfig): Record<string, unknown> {
  return configToJson(FIELDS, c as unknown as Record<string, unknown>);
}

/** Parameters of a CLIP text config.json, within a few percent (norms and biases left out): no allocation. */
function clipApproxParameters(json: Record<string, unknown>): number {
  const c = clipTextConfigFromJson(json);
  const e = c.hiddenSize;
  return (
    (c.vocabSize + c.maxPositionEmbeddings + c.projectionDim) * e +
    c.numHiddenLayers * (4 * e * e + 2 * e * c.intermediateSize)
  );
}

function validate(c: CLIPTextConfig): void {
  checkProduct(
    WHO,
    { vocab_size: c.vocabSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'the token embedding',
  );
  checkProduct(
    WHO,
    { intermediate_size: c.intermediateSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'an MLP weight',
  );
  check(
    c.numAttentionHeads > 0 && c.hiddenSize % c.numAttentionHeads === 0,
    WHO,
    `hidden_size ${c.hiddenSize} must be divisible by num_attention_heads ${c.numAttentionHeads}`,
  );
  for (const k of ['vocabSize', 'hiddenSize', 'intermediateSize', 'maxPositionEmbeddings'] as const) {
    check(c[k] > 0, WHO, `${FIELDS[k].json} must be positive, got ${c[k]}`);
  }
  check(
    c.attentionDropout >= 0 && c.attentionDropout < 1,
    WHO,
    `attention_dropout must be in [0, 1), got ${c.attentionDropout}`,
  );
  activation(c.hiddenAct, WHO);
}

/** Inputs of CLIP's text forward (Hugging Face names in camelCase). */
export interface CLIPTextInputs {
  /** int32 [B, L] token ids, L ≤ max_position_embeddings (a rank-1 tensor is one sequence). */
  inputIds: Tensor;
  /**
   * [B, L], 1 for real tokens and 0 for padding (none by default; Stable Diffusion passes none).
   * A position that sees no real token (padding before the first one) gets zero attention output,
   * where transformers mixes the masked scores; real tokens are unaffected.
   */
  attentionMask?: Tensor | null;
  /** int32 [B, L] positions (0 .. L - 1 by default). */
  positionIds?: Tensor | null;
  /** Also return the input of every layer and the last layer's output (before final_layer_norm). */
  outputHiddenStates?: boolean;
}

/** Outputs of {@link CLIPTextModel.forward}. */
export interface CLIPTextOutputs {
  /** [B, L, E] after final_layer_norm: what Stable Diffusion's U-Net attends to. */
  lastHiddenState: Tensor;
  /** The last hidden state at each row's end-of-text token, [B, E]. */
  poolerOutput: Tensor;
  /**
   * With `outputHiddenStates`: num_hidden_layers + 1 tensors [B, L, E], the embeddings and each
   * layer's output (not layer-normalised), as transformers' `hidden_states` (`clip_skip` reads
   * `hiddenStates[hiddenStates.length - 1 - k]`).
   */
  hiddenStates?: Tensor[];
}

/** Token and learned position embeddings, summed (`token_embedding`, `position_embedding`). */
export class CLIPTextEmbeddings extends Module {
  token_embedding: Embedding;
  position_embedding: Embedding;

  constructor(readonly config: CLIPTextConfig) {
    super();
    const std = 0.02 * config.initializerFactor;
    this.token_embedding = tokenEmbedding(config.vocabSize, config.hiddenSize, std);
    this.position_embedding = tokenEmbedding(config.maxPositionEmbeddings, config.hiddenSize, std);
  }

  /** ids, positions [B, L] → [B, L, E] */
  override forward(ids: Tensor, positions: Tensor): Tensor {
    return add(this.token_embedding.forward(ids), this.position_embedding.forward(positions));
  }
}

/**
 * The fields of a CLIP config that its encoder layers read: the text tower's (causal) and the
 * vision tower's (bidirectional) layers are the same modules.
 */
export type CLIPEncoderConfig = Pick<
  CLIPTextConfig,
  | 'hiddenSize'
  | 'intermediateSize'
  | 'numHiddenLayers'
  | 'numAttentionHeads'
  | 'hiddenAct'
  | 'layerNormEps'
  | 'attentionDropout'
  | 'initializerFactor'
>;

/**
 * Multi-head self-attention with separate q/k/v projections and `out_proj`, all with biases;
 * causal in the text tower, bidirectional in the vision tower (`causal` false).
 */
export class CLIPAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  out_proj: Linear;

  constructor(
    readonly config: CLIPEncoderConfig,
    readonly causal = true,
  ) {
    super();
    const e = config.hiddenSize;
    this.q_proj = new Linear(e, e);
    this.k_proj = new Linear(e, e);
    this.v_proj = new Linear(e, e);
    this.out_proj = new Linear(e, e);
  }

  /** h [B, L, E] → [B, L, E] (causal unless built otherwise), with an optional key padding mask [B, 1, 1, L]. */
  override forward(h: Tensor, mask: Tensor | null = null): Tensor {
    const heads = this.config.numAttentionHeads;
    const d = this.config.hiddenSize / heads;
    const q = splitHeads(this.q_proj.forward(h), heads, d); // [B, H, L, D]
    const k = splitHeads(this.k_proj.forward(h), heads, d);
    const v = splitHeads(this.v_proj.forward(h), heads, d);
    const dropoutP = this.training ? this.config.attentionDropout : 0;
    const o = attend(q, k, v, { mask, causal: this.causal, dropoutP }); // [B, H, L, D]
    return this.out_proj.forward(mergeHeads(o));
  }
}

/** The MLP: fc1 (E → intermediate), activation, fc2 (intermediate → E). */
export class CLIPMLP extends Module {
  fc1: Linear;
  fc2: Linear;
  private readonly act: (x: Tensor) => Tensor;

  constructor(readonly config: CLIPEncoderConfig) {
    super();
    this.fc1 = new Linear(config.hiddenSize, config.intermediateSize);
    this.fc2 = new Linear(config.intermediateSize, config.hiddenSize);
    this.act = activation(config.hiddenAct, 'CLIPMLP');
  }

  /** x [B, L, E] → [B, L, E] */
  override forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act(this.fc1.forward(x)));
  }
}

/** A pre-LN layer: h + self_attn(layer_norm1(h)), then h + mlp(layer_norm2(h)). */
export class CLIPEncoderLayer extends Module {
  self_attn: CLIPAttention;
  layer_norm1: LayerNorm;
  mlp: CLIPMLP;
  layer_norm2: LayerNorm;

  constructor(config: CLIPEncoderConfig, causal = true) {
    super();
    const eps = config.layerNormEps;
    this.self_attn = new CLIPAttention(config, causal);
    this.layer_norm1 = new LayerNorm(config.hiddenSize, { eps });
    this.mlp = new CLIPMLP(config);
    this.layer_norm2 = new LayerNorm(config.hiddenSize, { eps });
  }

  /** h [B, L, E] → [B, L, E] */
  override forward(h: Tensor, mask: Tensor | null = null): Tensor {
    const a = add(h, this.self_attn.forward(this.layer_norm1.forward(h), mask));
    return add(a, this.mlp.forward(this.layer_norm2.forward(a)));
  }
}

/** The stack of layers (`encoder.layers.N.*`), causal for text, bidirectional (`causal` false) for images. */
export class CLIPEncoder extends Module {
  layers: CLIPEncoderLayer[];

  constructor(config: CLIPEncoderConfig, causal = true) {
    super();
    this.layers = Array.from({ length: config.numHiddenLayers }, () => new CLIPEncoderLayer(config, causal));
  }

  /** h [B, L, E] → [B, L, E]; `states` (when given) collects every layer's input and the output. */
  override forward(h: Tensor, mask: Tensor | null = null, states?: Tensor[]): Tensor {
    let x = h;
    for (const l of this.layers) {
      states?.push(x);
      x = l.forward(x, mask);
    }
    states?.push(x);
    return x;
  }
}

/** Inputs as a bare id tensor (transformers' positional `input_ids`) or the inputs object. */
function inputsArg(inputs: CLIPTextInputs | Tensor, who: string): CLIPTextInputs {
  if (inputs && (inputs as { isTensor?: boolean }).isTensor === true) return { inputIds: inputs as Tensor };
  if (!inputs || typeof inputs !== 'object') {
    throw new TypeError(
      `${who}: expected { inputIds, attentionMask? } or an int32 id tensor, got ${describe(inputs)}`,
    );
  }
  return inputs as CLIPTextInputs;
}

/**
 * The text transformer (`text_model.*`): embeddings, the causal encoder, `final_layer_norm`, and
 * the pooled state at the end-of-text token.
 */
export class CLIPTextTransformer extends Module {
  embeddings: CLIPTextEmbeddings;
  encoder: CLIPEncoder;
  final_layer_norm: LayerNorm;

  constructor(readonly config: CLIPTextConfig) {
    super();
    this.embeddings = new CLIPTextEmbeddings(config);
    this.encoder = new CLIPEncoder(config);
    this.final_layer_norm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  /** → `{ lastHiddenState [B, L, E], poolerOutput [B, E], hiddenStates? }` */
  override forward(inputs: CLIPTextInputs | Tensor, who = 'CLIPTextTransformer.forward'): CLIPTextOutputs {
    const given = inputsArg(inputs, who);
    const ids = idsArg(given.inputIds, 'inputIds', who); // [B, L]
    const [b, l] = ids.shape;
    const max = this.config.maxPositionEmbeddings;
    if (l > max) {
      throw new RangeError(
        `${who}: 'inputIds' has ${l} tokens, more than max_position_embeddings ${max} (truncate to ${max})`,
      );
    }
    const am = maskArg(given.attentionMask, 'attentionMask', who, [b, l]);
    const pos = maskArg(given.positionIds, 'positionIds', who, [b, l]) ?? rangeIds(b, 0, l);
    const states = given.outputHiddenStates ? ([] as Tensor[]) : undefined;
    const h = this.encoder.forward(this.embeddings.forward(ids, pos), keyPaddingMask(am), states);
    const last = this.final_layer_norm.forward(h); // [B, L, E]
    // transformers: the largest id's position with the legacy eos_token_id 2 (the original CLIP's
    // rule, <|endoftext|> being the largest id), else the first position holding eos_token_id
    // (position 0 when a row has none)
    const eos = this.config.eosTokenId;
    const where = eos === 2 ? argmax(ids.cast('float32'), 1) : argmax(eq(ids, eos).cast('float32'), 1); // [B]
    const e = this.config.hiddenSize;
    const index = where.reshape([b, 1, 1]).expand([b, 1, e]);
    const pooled = gather(last, 1, index).reshape([b, e]);
    return states
      ? { lastHiddenState: last, poolerOutput: pooled, hiddenStates: states }
      : { lastHiddenState: last, poolerOutput: pooled };
  }
}

/** transformers' CLIPPreTrainedModel._init_weights for the encoder layers of `m` (either tower). */
export function initCLIPEncoderWeights(m: Module, config: CLIPEncoderConfig): void {
  const f = config.initializerFactor;
  const e = config.hiddenSize;
  const layers = Math.max(config.numHiddenLayers, 1);
  for (const [, x] of m.namedModules()) {
    if (x instanceof CLIPAttention) {
      const inStd = e ** -0.5 * (2 * layers) ** -0.5 * f;
      for (const p of [x.q_proj, x.k_proj, x.v_proj]) init.normal_(p.weight, 0, inStd);
      init.normal_(x.out_proj.weight, 0, e ** -0.5 * f);
    } else if (x instanceof CLIPMLP) {
      init.normal_(x.fc1.weight, 0, (2 * e) ** -0.5 * f);
      init.normal_(x.fc2.weight, 0, e ** -0.5 * (2 * layers) ** -0.5 * f);
    }
    if (x instanceof Linear && x.bias) init.zeros_(x.bias);
  }
}

const IGNORED_BY_TEXT_MODELS = [
  /(^|\.)position_ids$/,
  /^vision_model\./,
  /^visual_projection\./,
  /^logit_scale$/,
];

/**
 * CLIP's text encoder, as transformers' CLIPTextModel (Stable Diffusion's `text_encoder`): names
 * `text_model.embeddings.*`, `text_model.encoder.layers.N.*`, `text_model.final_layer_norm.*`.
 * Loads SD's `text_encoder` folder, or the text half of a whole CLIP checkpoint (the vision tower
 * and projections are skipped) with `{ architecture: 'CLIPTextModel' }`. `forward` also takes a bare id tensor, as `text_encoder(ids)`.
 *
 * @example
 * ```ts
 * // Stable Diffusion's text_encoder/ gives [B, 77, 768], [B, 768]; this is a tiny one
 * const clip = (await loadPretrained('packages/transformer/test/fixtures/clip-text-sd')) as CLIPTextModel;
 * const inputIds = tensor([[0, 5, 6, 1]], undefined, 'int32');
 * const { lastHiddenState, poolerOutput } = clip.forward({ inputIds });
 * [lastHiddenState.shape, poolerOutput.shape]; // => [[1, 4, 32], [1, 32]]
 * ```
 */
export class CLIPTextModel extends PreTrainedModel {
  readonly modelType = 'clip_text_model';
  readonly architecture: string = 'CLIPTextModel';
  readonly config: CLIPTextConfig;
  text_model: CLIPTextTransformer;

  constructor(config: Partial<CLIPTextConfig> | CLIPTextConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as CLIPTextConfig) : clipTextConfig(config);
    this.text_model = new CLIPTextTransformer(this.config);
    initCLIPEncoderWeights(this, this.config);
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return clipApproxParameters(json);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPTextModel {
    return new CLIPTextModel(clipTextConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'clip_text_model',
      architectures: [this.architecture],
    };
  }

  override ignoredKeys(): RegExp[] {
    return [...IGNORED_BY_TEXT_MODELS, /^text_projection\./];
  }

  override basePrefix(): string {
    return 'text_model.';
  }

  /** ids [B, L] (or `{ inputIds, attentionMask? }`) → `{ lastHiddenState [B, L, E], poolerOutput [B, E] }` */
  override forward(inputs: CLIPTextInputs | Tensor): CLIPTextOutputs {
    return this.run(() => this.text_model.forward(inputs, 'CLIPTextModel.forward'));
  }
}

/** Outputs of {@link CLIPTextModelWithProjection.forward}. */
export interface CLIPTextModelWithProjectionOutputs extends CLIPTextOutputs {
  /** CLIP's text embedding `text_projection(poolerOutput)`, [B, projection_dim]. */
  textEmbeds: Tensor;
}

/**
 * CLIP's text encoder with its projection into the joint text-image space, as transformers'
 * CLIPTextModelWithProjection (SDXL's `text_encoder_2`): `text_model.*` plus
 * `text_projection.weight` [projection_dim, E] (no bias).
 *
 * @example
 * ```ts
 * const model = (await loadPretrained('packages/transformer/test/fixtures/clip-text-projection-padded')) as CLIPTextModelWithProjection;
 * const { textEmbeds } = model.forward({ inputIds: tensor([[0, 5, 6, 1]], undefined, 'int32') }); // [B, projection_dim]
 * textEmbeds.shape; // => [1, 16]
 * ```
 */
export class CLIPTextModelWithProjection extends PreTrainedModel {
  readonly modelType = 'clip_text_model';
  readonly architecture: string = 'CLIPTextModelWithProjection';
  readonly config: CLIPTextConfig;
  text_model: CLIPTextTransformer;
  text_projection: Linear;

  constructor(config: Partial<CLIPTextConfig> | CLIPTextConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as CLIPTextConfig) : clipTextConfig(config);
    this.text_model = new CLIPTextTransformer(this.config);
    this.text_projection = new Linear(this.config.hiddenSize, this.config.projectionDim, { bias: false });
    initCLIPEncoderWeights(this, this.config);
    init.normal_(
      this.text_projection.weight,
      0,
      this.config.hiddenSize ** -0.5 * this.config.initializerFactor,
    );
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return clipApproxParameters(json);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPTextModelWithProjection {
    return new CLIPTextModelWithProjection(clipTextConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'clip_text_model',
      architectures: [this.architecture],
    };
  }

  override ignoredKeys(): RegExp[] {
    return IGNORED_BY_TEXT_MODELS;
  }

  override basePrefix(): string {
    return 'text_model.';
  }

  /** ids [B, L] (or `{ inputIds, ... }`) → `{ textEmbeds [B, P], lastHiddenState [B, L, E], poolerOutput [B, E] }` */
  override forward(inputs: CLIPTextInputs | Tensor): CLIPTextModelWithProjectionOutputs {
    return this.run(() => {
      const out = this.text_model.forward(inputs, 'CLIPTextModelWithProjection.forward');
      return { ...out, textEmbeds: this.text_projection.forward(out.poolerOutput) };
    });
  }
}
