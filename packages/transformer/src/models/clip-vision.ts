// CLIP's image side (Radford et al. 2021) with Hugging Face's parameter names: a pre-LN ViT whose
// class token, after post_layernorm, summarises the image; and CLIPModel, which projects both
// towers into one space where the cosine similarity of a text and an image, scaled by
// exp(logit_scale), is the logit that contrastive training (clipLoss) pushes up for matching pairs.
//
//   pixels [B, C, S, S] ─ patch_embedding (conv, no bias) ─▶ [B, N, E] ─ class_embedding + position_embedding
//     ─▶ [B, N + 1, E] ─▶ pre_layrnorm ─▶ num_hidden_layers × CLIPEncoderLayer (bidirectional)
//     ─▶ last_hidden_state ─▶ post_layernorm(h[:, 0]) ─▶ pooler_output [B, E]
//     (─▶ visual_projection ─▶ image_embeds [B, projection_dim] in CLIPVisionModelWithProjection)
//   CLIPModel: t = text_projection(text pooler), i = visual_projection(image pooler), both divided by
//     their L2 norms; logits_per_text = exp(logit_scale) · t iᵀ [T, I]; logits_per_image = its transpose
import { COMMON_REFUSED, checkProduct, LIMITS } from '@attnkit/hub';
import {
  add,
  concat,
  crossEntropy,
  div,
  exp,
  full,
  matmul,
  mul,
  sqrt,
  sum,
  type Tensor,
} from '@attnkit/tensor-core';
import { type Embedding, init, LayerNorm, Linear, Module, Parameter } from '@attnkit/tensor-core/nn';
import { normalParameter, tokenEmbedding } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  assertTensorArg,
  check,
  configToJson,
  describe,
  type FieldTable,
  fmtShape,
  rangeIds,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';
import {
  CLIPEncoder,
  type CLIPTextConfig,
  type CLIPTextInputs,
  type CLIPTextOutputs,
  CLIPTextTransformer,
  clipTextConfig,
  clipTextConfigFromJson,
  clipTextConfigToJson,
  initCLIPEncoderWeights,
} from './clip.js';
import { checkPixels, patchEmbed } from './vit.js';

/**
 * CLIP's vision configuration, as transformers' CLIPVisionConfig (config.json names in camelCase;
 * defaults are openai/clip-vit-base-patch32's vision tower).
 */
export interface CLIPVisionConfig {
  /** Width E of the transformer. */
  hiddenSize: number;
  /** MLP width. */
  intermediateSize: number;
  /** Output width of `visual_projection` (CLIPVisionModelWithProjection). */
  projectionDim: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numChannels: number;
  /** Side S of the square images it takes. */
  imageSize: number;
  /** Side P of the square patches (S must be a multiple). */
  patchSize: number;
  /** `quick_gelu` (OpenAI's checkpoints) or another activation of transformers' ACT2FN. */
  hiddenAct: string;
  layerNormEps: number;
  attentionDropout: number;
  initializerRange: number;
  initializerFactor: number;
  /** config.json fields this class does not use, kept for saving. */
  extra: Record<string, unknown>;
}

const VISION_FIELDS: FieldTable = {
  hiddenSize: { json: 'hidden_size', default: 768, kind: 'int', min: 1, max: LIMITS.hidden },
  intermediateSize: {
    json: 'intermediate_size',
    default: 3072,
    kind: 'int',
    min: 1,
    max: LIMITS.intermediate,
  },
  projectionDim: { json: 'projection_dim', default: 512, kind: 'int', min: 1, max: LIMITS.hidden },
  numHiddenLayers: { json: 'num_hidden_layers', default: 12, kind: 'int', min: 1, max: LIMITS.layers },
  numAttentionHeads: { json: 'num_attention_heads', default: 12, kind: 'int', min: 1, max: LIMITS.heads },
  numChannels: { json: 'num_channels', default: 3, kind: 'int', min: 1, max: LIMITS.pixels },
  imageSize: { json: 'image_size', default: 224, kind: 'int', min: 1, max: LIMITS.pixels },
  patchSize: { json: 'patch_size', default: 32, kind: 'int', min: 1, max: LIMITS.pixels },
  hiddenAct: { json: 'hidden_act', default: 'quick_gelu', kind: 'string' },
  layerNormEps: { json: 'layer_norm_eps', default: 1e-5, kind: 'number', min: 0, exclusiveMin: true },
  attentionDropout: { json: 'attention_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
  initializerFactor: { json: 'initializer_factor', default: 1, kind: 'number' },
};

const VISION = 'CLIPVisionConfig';

/** Fills a CLIP vision config from camelCase options with clip-vit-base-patch32's defaults. */
export function clipVisionConfig(options: Partial<CLIPVisionConfig> = {}): CLIPVisionConfig {
  const c = resolveConfig<CLIPVisionConfig>(VISION, VISION_FIELDS, options as Record<string, unknown>, false);
  validateVision(c);
  return c;
}

/**
 * Parses a CLIP vision config.json object: a `clip_vision_model` config, or a whole `clip` config,
 * whose `vision_config` is read (with the top-level `projection_dim`, as CLIPModel uses it).
 */
export function clipVisionConfigFromJson(json: Record<string, unknown>): CLIPVisionConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`${VISION}: expected a config.json object, got ${describe(json)}`);
  }
  let src = json;
  if (json.model_type === 'clip' || (json.vision_config !== undefined && json.hidden_size === undefined)) {
    const vision = json.vision_config ?? json.vision_config_dict ?? {};
    if (!vision || typeof vision !== 'object' || Array.isArray(vision)) {
      throw new Error(
        `${VISION}: a 'clip' config.json's "vision_config" must be an object, got ${describe(vision)}`,
      );
    }
    src = { ...(vision as Record<string, unknown>) };
    if (json.projection_dim !== undefined) src.projection_dim = json.projection_dim;
    delete src.model_type;
  }
  const c = resolveConfig<CLIPVisionConfig>(VISION, VISION_FIELDS, src, true, { refuse: COMMON_REFUSED });
  validateVision(c);
  return c;
}

function validateVision(c: CLIPVisionConfig): void {
  checkProduct(
    VISION,
    { intermediate_size: c.intermediateSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'an MLP weight',
  );
  checkProduct(
    VISION,
    { 'image_size²': c.imageSize ** 2, num_channels: c.numChannels },
    LIMITS.tensor,
    'one image',
  );
  check(
    c.hiddenSize % c.numAttentionHeads === 0,
    VISION,
    `hidden_size ${c.hiddenSize} must be divisible by num_attention_heads ${c.numAttentionHeads}`,
  );
  check(
    c.imageSize % c.patchSize === 0,
    VISION,
    `image_size ${c.imageSize} must be a multiple of patch_size ${c.patchSize}`,
  );
  check(
    c.attentionDropout >= 0 && c.attentionDropout < 1,
    VISION,
    `attention_dropout must be in [0, 1), got ${c.attentionDropout}`,
  );
  activation(c.hiddenAct, VISION);
}

/** Parameters of a vision config, within a few percent (norms and biases left out). */
function visionParameters(c: CLIPVisionConfig, projection: boolean): number {
  const e = c.hiddenSize;
  const patches = (c.imageSize / c.patchSize) ** 2;
  return (
    (c.numChannels * c.patchSize ** 2 + patches + 2 + (projection ? c.projectionDim : 0)) * e +
    c.numHiddenLayers * (4 * e * e + 2 * e * c.intermediateSize)
  );
}

/** Outputs of CLIP's vision tower. */
export interface CLIPVisionOutputs {
  /** `[B, N + 1, E]`: the encoder's output (class token first), not layer-normalised, as transformers. */
  lastHiddenState: Tensor;
  /** post_layernorm of the class token's final state, [B, E]. */
  poolerOutput: Tensor;
}

/**
 * Patch embeddings (a conv2d without bias, `patch_embedding`), the learned class token
 * (`class_embedding` [E]) in front, and learned positions (`position_embedding` [N + 1, E]).
 */
export class CLIPVisionEmbeddings extends Module {
  class_embedding: Parameter;
  patch_embedding: Module & { weight: Parameter };
  position_embedding: Embedding;

  constructor(readonly config: CLIPVisionConfig) {
    super();
    const { hiddenSize: e, numChannels: c, patchSize: p, initializerFactor: f } = config;
    const n = (config.imageSize / p) ** 2;
    this.class_embedding = normalParameter([e], e ** -0.5 * f);
    const conv = new Module() as Module & { weight: Parameter };
    conv.weight = normalParameter([e, c, p, p], config.initializerRange * f);
    this.patch_embedding = conv;
    this.position_embedding = tokenEmbedding(n + 1, e, config.initializerRange * f);
  }

  /** pixels [B, C, S, S] → [B, N + 1, E] */
  override forward(pixels: Tensor): Tensor {
    const e = this.config.hiddenSize;
    const x = patchEmbed(pixels, this.patch_embedding.weight, null, this.config.patchSize); // [B, N, E]
    const cls = this.class_embedding.reshape([1, 1, e]).expand([x.shape[0], 1, e]);
    return add(concat([cls, x], 1), this.position_embedding.weight);
  }
}

/**
 * The vision transformer (`vision_model.*`): embeddings, `pre_layrnorm` (transformers' spelling),
 * the bidirectional encoder, and `post_layernorm` on the class token.
 */
export class CLIPVisionTransformer extends Module {
  embeddings: CLIPVisionEmbeddings;
  pre_layrnorm: LayerNorm;
  encoder: CLIPEncoder;
  post_layernorm: LayerNorm;

  constructor(readonly config: CLIPVisionConfig) {
    super();
    const eps = config.layerNormEps;
    this.embeddings = new CLIPVisionEmbeddings(config);
    this.pre_layrnorm = new LayerNorm(config.hiddenSize, { eps });
    this.encoder = new CLIPEncoder(config, false);
    this.post_layernorm = new LayerNorm(config.hiddenSize, { eps });
  }

  /** pixels [B, C, S, S] → `{ lastHiddenState [B, N + 1, E], poolerOutput [B, E] }` */
  override forward(pixels: Tensor, who = 'CLIPVisionTransformer.forward'): CLIPVisionOutputs {
    checkPixels(pixels, this.config.numChannels, this.config.imageSize, who);
    const h = this.encoder.forward(this.pre_layrnorm.forward(this.embeddings.forward(pixels)));
    const cls = h.sliceDim(1, 0, 1).squeeze(1); // [B, E]
    return { lastHiddenState: h, poolerOutput: this.post_layernorm.forward(cls) };
  }
}

/** `{ pixelValues }` or a bare pixels tensor → the pixels. */
function pixelsArg(inputs: { pixelValues: Tensor } | Tensor, who: string): Tensor {
  if (inputs && (inputs as { isTensor?: boolean }).isTensor === true) return inputs as Tensor;
  if (!inputs || typeof inputs !== 'object') {
    throw new TypeError(
      `${who}: expected { pixelValues } or a pixels tensor [B, C, S, S], got ${describe(inputs)}`,
    );
  }
  return (inputs as { pixelValues: Tensor }).pixelValues;
}

const IGNORED_BY_VISION_MODELS = [
  /(^|\.)position_ids$/,
  /^text_model\./,
  /^text_projection\./,
  /^logit_scale$/,
];

/**
 * CLIP's image encoder, as transformers' CLIPVisionModel: names `vision_model.embeddings.*`,
 * `vision_model.pre_layrnorm.*`, `vision_model.encoder.layers.N.*`, `vision_model.post_layernorm.*`.
 * Loads a CLIPVisionModel folder, or the vision half of a whole CLIP checkpoint (with
 * `{ architecture: 'CLIPVisionModel' }`).
 *
 * @example
 * ```ts
 * // clip-vit-base-patch32 gives [B, 50, 768], [B, 768]; this tiny one has 16×16 images in 4×4 patches
 * const vision = (await loadPretrained('packages/transformer/test/fixtures/hfclip-vision', { architecture: 'CLIPVisionModel' })) as CLIPVisionModel;
 * const pixelValues = randn([2, 3, 16, 16]);
 * const { lastHiddenState, poolerOutput } = vision.forward({ pixelValues });
 * [lastHiddenState.shape, poolerOutput.shape]; // => [[2, 17, 32], [2, 32]]
 * ```
 */
export class CLIPVisionModel extends PreTrainedModel {
  readonly modelType = 'clip_vision_model';
  readonly architecture: string = 'CLIPVisionModel';
  readonly config: CLIPVisionConfig;
  vision_model: CLIPVisionTransformer;

  constructor(config: Partial<CLIPVisionConfig> | CLIPVisionConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as CLIPVisionConfig) : clipVisionConfig(config);
    this.vision_model = new CLIPVisionTransformer(this.config);
    initCLIPEncoderWeights(this, this.config);
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return visionParameters(clipVisionConfigFromJson(json), false);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPVisionModel {
    return new CLIPVisionModel(clipVisionConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(VISION_FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'clip_vision_model',
      architectures: [this.architecture],
    };
  }

  override ignoredKeys(): RegExp[] {
    return [...IGNORED_BY_VISION_MODELS, /^visual_projection\./];
  }

  override basePrefix(): string {
    return 'vision_model.';
  }

  /** `{ pixelValues [B, C, S, S] }` (or the bare tensor) → `{ lastHiddenState [B, N + 1, E], poolerOutput [B, E] }` */
  override forward(inputs: { pixelValues: Tensor } | Tensor): CLIPVisionOutputs {
    const who = 'CLIPVisionModel.forward';
    const pixels = pixelsArg(inputs, who);
    return this.run(() => this.vision_model.forward(pixels, who));
  }
}

/** Outputs of {@link CLIPVisionModelWithProjection.forward}. */
export interface CLIPVisionModelWithProjectionOutputs extends CLIPVisionOutputs {
  /** CLIP's image embedding `visual_projection(poolerOutput)`, [B, projection_dim] (not normalised). */
  imageEmbeds: Tensor;
}

/**
 * CLIP's image encoder with its projection into the joint text-image space, as transformers'
 * CLIPVisionModelWithProjection: `vision_model.*` plus `visual_projection.weight`
 * [projection_dim, E] (no bias).
 *
 * @example
 * ```ts
 * const model = (await loadPretrained('packages/transformer/test/fixtures/hfclip-vision-proj')) as CLIPVisionModelWithProjection;
 * const { imageEmbeds } = model.forward({ pixelValues: randn([2, 3, 16, 16]) }); // [B, projection_dim]
 * imageEmbeds.shape; // => [2, 12]
 * ```
 */
export class CLIPVisionModelWithProjection extends PreTrainedModel {
  readonly modelType = 'clip_vision_model';
  readonly architecture: string = 'CLIPVisionModelWithProjection';
  readonly config: CLIPVisionConfig;
  vision_model: CLIPVisionTransformer;
  visual_projection: Linear;

  constructor(config: Partial<CLIPVisionConfig> | CLIPVisionConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as CLIPVisionConfig) : clipVisionConfig(config);
    this.vision_model = new CLIPVisionTransformer(this.config);
    const { hiddenSize: e, projectionDim, initializerFactor: f } = this.config;
    this.visual_projection = new Linear(e, projectionDim, { bias: false });
    initCLIPEncoderWeights(this, this.config);
    init.normal_(this.visual_projection.weight, 0, e ** -0.5 * f);
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return visionParameters(clipVisionConfigFromJson(json), true);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPVisionModelWithProjection {
    return new CLIPVisionModelWithProjection(clipVisionConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(VISION_FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'clip_vision_model',
      architectures: [this.architecture],
    };
  }

  override ignoredKeys(): RegExp[] {
    return IGNORED_BY_VISION_MODELS;
  }

  override basePrefix(): string {
    return 'vision_model.';
  }

  /** `{ pixelValues }` (or the bare tensor) → `{ imageEmbeds [B, P], lastHiddenState [B, N + 1, E], poolerOutput [B, E] }` */
  override forward(inputs: { pixelValues: Tensor } | Tensor): CLIPVisionModelWithProjectionOutputs {
    const who = 'CLIPVisionModelWithProjection.forward';
    const pixels = pixelsArg(inputs, who);
    return this.run(() => {
      const out = this.vision_model.forward(pixels, who);
      return { ...out, imageEmbeds: this.visual_projection.forward(out.poolerOutput) };
    });
  }
}

/** A whole CLIP configuration, as transformers' CLIPConfig. */
export interface CLIPConfig {
  textConfig: CLIPTextConfig;
  visionConfig: CLIPVisionConfig;
  /** Width of the joint space both projections map into (the top-level `projection_dim`). */
  projectionDim: number;
  /** Initial value of `logit_scale` (the log of the softmax temperature's inverse; log(1 / 0.07)). */
  logitScaleInitValue: number;
  initializerFactor: number;
  /** config.json fields this class does not use, kept for saving. */
  extra: Record<string, unknown>;
}

/** Options of {@link clipConfig}: each tower's options and the top-level fields. */
export interface CLIPConfigOptions {
  textConfig?: Partial<CLIPTextConfig>;
  visionConfig?: Partial<CLIPVisionConfig>;
  projectionDim?: number;
  logitScaleInitValue?: number;
  initializerFactor?: number;
}

const TOP_FIELDS: FieldTable = {
  projectionDim: { json: 'projection_dim', default: 512, kind: 'int', min: 1, max: LIMITS.hidden },
  logitScaleInitValue: { json: 'logit_scale_init_value', default: 2.6592, kind: 'number' },
  initializerFactor: { json: 'initializer_factor', default: 1, kind: 'number' },
};

const TOWERS = ['text_config', 'vision_config', 'text_config_dict', 'vision_config_dict'];

/** Fills a whole CLIP config from camelCase options with clip-vit-base-patch32's defaults. */
export function clipConfig(options: CLIPConfigOptions = {}): CLIPConfig {
  const { textConfig = {}, visionConfig = {}, ...top } = options;
  const c = resolveConfig<CLIPConfig>('CLIPConfig', TOP_FIELDS, top as Record<string, unknown>, false);
  return {
    ...c,
    textConfig: clipTextConfig({ ...textConfig, projectionDim: c.projectionDim }),
    visionConfig: clipVisionConfig({ ...visionConfig, projectionDim: c.projectionDim }),
  };
}

/** Parses a `clip` config.json (CLIPModel's): `text_config`, `vision_config` and the top-level fields. */
export function clipConfigFromJson(json: Record<string, unknown>): CLIPConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`CLIPConfig: expected a config.json object, got ${describe(json)}`);
  }
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!TOWERS.includes(k)) top[k] = v;
  const c = resolveConfig<CLIPConfig>('CLIPConfig', TOP_FIELDS, top, true, { refuse: COMMON_REFUSED });
  const whole = { text_config: {}, vision_config: {}, ...json, model_type: 'clip' };
  return { ...c, textConfig: clipTextConfigFromJson(whole), visionConfig: clipVisionConfigFromJson(whole) };
}

/** Inputs of {@link CLIPModel.forward}: the text inputs and the images. */
export interface CLIPInputs extends CLIPTextInputs {
  /** [B_img, C, S, S] images (normalised, as CLIPImageProcessor makes them). */
  pixelValues: Tensor;
  /** Also return the contrastive loss {@link clipLoss} (needs as many texts as images, pairs matched by row). */
  returnLoss?: boolean;
}

/** Outputs of {@link CLIPModel.forward} (transformers' CLIPOutput in camelCase). */
export interface CLIPOutputs {
  /** exp(logit_scale) · cosine similarity, [B_img, B_text]. */
  logitsPerImage: Tensor;
  /** The transpose, [B_text, B_img]. */
  logitsPerText: Tensor;
  /** Projected and L2-normalised text embeddings [B_text, projection_dim]. */
  textEmbeds: Tensor;
  /** Projected and L2-normalised image embeddings [B_img, projection_dim]. */
  imageEmbeds: Tensor;
  textModelOutput: CLIPTextOutputs;
  visionModelOutput: CLIPVisionOutputs;
  /** With `returnLoss`: the scalar contrastive loss. */
  loss?: Tensor;
}

/** x [N, D] / ‖x‖₂ along the last dim. */
function l2Normalize(x: Tensor): Tensor {
  return div(x, sqrt(sum(mul(x, x), -1, true)));
}

/**
 * CLIP's contrastive (InfoNCE) loss, as transformers' `clip_loss`: the mean of the cross-entropy
 * of each text against the images (rows of `logitsPerText` [N, N], the matching image on the
 * diagonal) and of each image against the texts (its columns). Differentiable.
 *
 * @example
 * ```ts
 * const clip = (await loadPretrained('packages/transformer/test/fixtures/hfclip-model')) as CLIPModel;
 * const inputIds = tensor([[0, 5, 6, 1], [0, 7, 8, 1]], undefined, 'int32'); // two captions
 * const pixelValues = randn([2, 3, 16, 16]); // their two images
 * const { logitsPerText } = clip.forward({ inputIds, pixelValues });
 * const loss = clipLoss(logitsPerText);
 * loss.shape; // => []
 * ```
 */
export function clipLoss(logitsPerText: Tensor): Tensor {
  const who = 'clipLoss';
  assertTensorArg(logitsPerText, 'logitsPerText', who);
  const s = logitsPerText.shape;
  if (logitsPerText.rank !== 2 || s[0] !== s[1] || s[0] < 1) {
    throw new Error(
      `${who}: 'logitsPerText' must be a square [N, N] similarity matrix (text i matches image i), got ${fmtShape(s)}`,
    );
  }
  const target = rangeIds(1, 0, s[0]).reshape([s[0]]);
  const caption = crossEntropy(logitsPerText, target);
  const image = crossEntropy(logitsPerText.transpose(0, 1), target);
  return mul(add(caption, image), 0.5);
}

/**
 * CLIP, as transformers' CLIPModel: both towers (`text_model.*`, `vision_model.*`), the
 * projections `text_projection` and `visual_projection` (no bias) and the scalar `logit_scale`.
 * `forward` scores every text against every image.
 *
 * @example
 * ```ts
 * const clip = (await loadPretrained('packages/transformer/test/fixtures/hfclip-model')) as CLIPModel;
 * const inputIds = tensor([[0, 5, 6, 1, 1], [0, 7, 8, 9, 1]], undefined, 'int32');
 * const attentionMask = tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], undefined, 'int32');
 * const pixelValues = randn([3, 3, 16, 16]);
 * const { logitsPerImage } = clip.forward({ inputIds, attentionMask, pixelValues });
 * const probs = softmax(logitsPerImage, -1); // zero-shot: each image over the texts
 * probs.shape; // => [3, 2]
 * ```
 */
export class CLIPModel extends PreTrainedModel {
  readonly modelType = 'clip';
  readonly architecture = 'CLIPModel';
  readonly config: CLIPConfig;
  text_model: CLIPTextTransformer;
  vision_model: CLIPVisionTransformer;
  visual_projection: Linear;
  text_projection: Linear;
  logit_scale: Parameter;

  constructor(config: CLIPConfigOptions | CLIPConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as CLIPConfig) : clipConfig(config as CLIPConfigOptions);
    const { textConfig: t, visionConfig: v, projectionDim: p, initializerFactor: f } = this.config;
    this.text_model = new CLIPTextTransformer(t);
    this.vision_model = new CLIPVisionTransformer(v);
    this.visual_projection = new Linear(v.hiddenSize, p, { bias: false });
    this.text_projection = new Linear(t.hiddenSize, p, { bias: false });
    this.logit_scale = new Parameter(full([], this.config.logitScaleInitValue));
    initCLIPEncoderWeights(this.text_model, t);
    initCLIPEncoderWeights(this.vision_model, v);
    init.normal_(this.visual_projection.weight, 0, v.hiddenSize ** -0.5 * f);
    init.normal_(this.text_projection.weight, 0, t.hiddenSize ** -0.5 * f);
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    const c = clipConfigFromJson(json);
    const t = c.textConfig;
    const e = t.hiddenSize;
    const text =
      (t.vocabSize + t.maxPositionEmbeddings + c.projectionDim) * e +
      t.numHiddenLayers * (4 * e * e + 2 * e * t.intermediateSize);
    return text + visionParameters(c.visionConfig, true);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPModel {
    return new CLIPModel(clipConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    const c = this.config;
    const tower = (json: Record<string, unknown>, type: string) => {
      const { projection_dim: _, ...rest } = json; // the top-level projection_dim is the one used
      return { ...rest, model_type: type };
    };
    return {
      ...configToJson(TOP_FIELDS, c as unknown as Record<string, unknown>),
      text_config: tower(clipTextConfigToJson(c.textConfig), 'clip_text_model'),
      vision_config: tower(
        configToJson(VISION_FIELDS, c.visionConfig as unknown as Record<string, unknown>),
        'clip_vision_model',
      ),
      model_type: 'clip',
      architectures: ['CLIPModel'],
    };
  }

  override ignoredKeys(): RegExp[] {
    return [/(^|\.)position_ids$/];
  }

  /** Projected (not normalised) text features [B, projection_dim], as transformers' get_text_features. */
  getTextFeatures(inputs: CLIPTextInputs | Tensor): Tensor {
    return this.run(() =>
      this.text_projection.forward(this.text_model.forward(inputs, 'CLIPModel.getTextFeatures').poolerOutput),
    );
  }

  /** Projected (not normalised) image features [B, projection_dim], as transformers' get_image_features. */
  getImageFeatures(inputs: { pixelValues: Tensor } | Tensor): Tensor {
    const who = 'CLIPModel.getImageFeatures';
    const pixels = pixelsArg(inputs, who);
    return this.run(() =>
      this.visual_projection.forward(this.vision_model.forward(pixels, who).poolerOutput),
    );
  }

  /**
   * `{ inputIds [B_t, L], attentionMask?, pixelValues [B_i, C, S, S], returnLoss? }` →
   * `{ logitsPerImage [B_i, B_t], logitsPerText [B_t, B_i], textEmbeds, imageEmbeds, loss? }`
   */
  override forward(inputs: CLIPInputs): CLIPOutputs {
    const who = 'CLIPModel.forward';
    if (!inputs || typeof inputs !== 'object' || (inputs as { isTensor?: boolean }).isTensor === true) {
      throw new TypeError(
        `${who}: expected { inputIds, attentionMask?, pixelValues }, got ${describe(inputs)}`,
      );
    }
    const pixels = pixelsArg({ pixelValues: inputs.pixelValues }, who);
    return this.run(() => {
      const visionModelOutput = this.vision_model.forward(pixels, who);
      const textModelOutput = this.text_model.forward(inputs, who);
      const imageEmbeds = l2Normalize(this.visual_projection.forward(visionModelOutput.poolerOutput));
      const textEmbeds = l2Normalize(this.text_projection.forward(textModelOutput.poolerOutput));
      const logitsPerText = mul(matmul(textEmbeds, imageEmbeds.transpose(0, 1)), exp(this.logit_scale));
      const logitsPerImage = logitsPerText.transpose(0, 1);
      const out: CLIPOutputs = {
        logitsPerImage,
        logitsPerText,
        textEmbeds,
        imageEmbeds,
        textModelOutput,
        visionModelOutput,
      };
      if (inputs.returnLoss) out.loss = clipLoss(logitsPerText);
      return out;
    });
  }
}
