// The Vision Transformer (Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words"), with Hugging
// Face's parameter names: the image cut into patches, each patch linearly embedded (a conv2d with
// stride = kernel = patch size), a learned [CLS] token prepended, learned positions added, a pre-LN
// encoder, and a classifier on the final [CLS] state.
//
//   pixels [B, C, H, W] ─ projection ─▶ [B, E, H/P, W/P] ─ flatten ─▶ [B, N, E] ─ [CLS] + pos ─▶ [B, N+1, E]
//     ─▶ num_hidden_layers × Layer ─▶ layernorm ─▶ classifier(h[:, 0]) ─▶ logits [B, num_labels]
//   Layer: h = h + attention(layernorm_before(h));  h = h + output(intermediate(layernorm_after(h)))
import { COMMON_REFUSED, checkProduct, LIMITS } from '@attnkit/hub';
import { add, concat, conv2d, dropout, type Tensor } from '@attnkit/tensor-core';
import { init, LayerNorm, Linear, Module, type Parameter } from '@attnkit/tensor-core/nn';
import { attend, mergeHeads, splitHeads } from '../blocks/attention.js';
import { normalParameter, zeroParameter } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  assertTensorArg,
  check,
  configToJson,
  type FieldTable,
  fmtShape,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';

/** ViT's configuration (config.json names in camelCase; defaults are ViT-B/16 at 224 px). */
export interface ViTConfig {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: string;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  layerNormEps: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  qkvBias: boolean;
  initializerRange: number;
  /** Class names by index (its size is the number of labels). */
  id2label: Record<string, string> | null;
  /** Size of the pooler's output (hiddenSize when null). */
  poolerOutputSize: number | null;
  /** The pooler's activation (an HF activation name; 'tanh'). */
  poolerAct: string;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  hiddenSize: { json: 'hidden_size', default: 768, kind: 'int', min: 1, max: LIMITS.hidden },
  numHiddenLayers: { json: 'num_hidden_layers', default: 12, kind: 'int', min: 1, max: LIMITS.layers },
  numAttentionHeads: { json: 'num_attention_heads', default: 12, kind: 'int', min: 1, max: LIMITS.heads },
  intermediateSize: {
    json: 'intermediate_size',
    default: 3072,
    kind: 'int',
    min: 1,
    max: LIMITS.intermediate,
  },
  hiddenAct: { json: 'hidden_act', default: 'gelu', kind: 'string' },
  hiddenDropoutProb: { json: 'hidden_dropout_prob', default: 0, kind: 'number', min: 0, max: 1 },
  attentionProbsDropoutProb: {
    json: 'attention_probs_dropout_prob',
    default: 0,
    kind: 'number',
    min: 0,
    max: 1,
  },
  layerNormEps: { json: 'layer_norm_eps', default: 1e-12, kind: 'number', min: 0, exclusiveMin: true },
  imageSize: { json: 'image_size', default: 224, kind: 'int', min: 1, max: LIMITS.pixels },
  patchSize: { json: 'patch_size', default: 16, kind: 'int', min: 1, max: LIMITS.pixels },
  numChannels: { json: 'num_channels', default: 3, kind: 'int', min: 1, max: LIMITS.pixels },
  qkvBias: { json: 'qkv_bias', default: true, kind: 'bool' },
  initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
  id2label: { json: 'id2label', default: null, kind: 'any', nullable: true },
  poolerOutputSize: { json: 'pooler_output_size', default: null, kind: 'int', nullable: true },
  poolerAct: { json: 'pooler_act', default: 'tanh', kind: 'string' },
};

/** Fills a ViT config from camelCase options with ViT-B/16's defaults. */
export function vitConfig(options: Partial<ViTConfig> = {}): ViTConfig {
  const c = resolveConfig<ViTConfig>('ViTConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a ViT config.json object. */
export function vitConfigFromJson(json: Record<string, unknown>): ViTConfig {
  const c = resolveConfig<ViTConfig>('ViTConfig', FIELDS, json, true, { refuse: COMMON_REFUSED });
  validate(c);
  return c;
}

/** Parameters of a ViT config.json, within a few percent (norms and biases left out): no allocation. */
function vitApproxParameters(json: Record<string, unknown>): number {
  const c = vitConfigFromJson(json);
  const e = c.hiddenSize;
  const patches = (c.imageSize / c.patchSize) ** 2;
  return (
    (c.numChannels * c.patchSize ** 2 + patches + 1) * e +
    c.numHiddenLayers * (4 * e * e + 2 * e * c.intermediateSize)
  );
}

function validate(c: ViTConfig): void {
  const who = 'ViTConfig';
  checkProduct(
    who,
    { intermediate_size: c.intermediateSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'an MLP weight',
  );
  checkProduct(
    who,
    { 'image_size²': c.imageSize ** 2, num_channels: c.numChannels },
    LIMITS.tensor,
    'one image',
  );
  check(
    c.numAttentionHeads > 0 && c.hiddenSize % c.numAttentionHeads === 0,
    who,
    `hidden_size ${c.hiddenSize} must be divisible by num_attention_heads ${c.numAttentionHeads}`,
  );
  check(
    c.patchSize > 0 && c.imageSize % c.patchSize === 0,
    who,
    `image_size ${c.imageSize} must be a multiple of patch_size ${c.patchSize}`,
  );
  activation(c.hiddenAct, who);
  activation(c.poolerAct, who);
  check(c.poolerOutputSize !== 0, who, 'pooler_output_size must be a positive integer or null, got 0');
}

/** Number of classes of a config (id2label's size; 2 when absent, as transformers). */
function numLabels(c: ViTConfig): number {
  return c.id2label ? Object.keys(c.id2label).length : 2;
}

/**
 * Patches to vectors: pixels [B, C, H, W] → [B, (H/P)·(W/P), E] by a conv2d with kernel = stride =
 * patch size P (weight [E, C, P, P], bias [E] or none), patches in row-major order. ViT's and
 * CLIP's vision towers embed patches so.
 */
export function patchEmbed(pixels: Tensor, weight: Tensor, bias: Tensor | null, patchSize: number): Tensor {
  const x = conv2d(pixels, weight, bias, { stride: patchSize }); // [B, E, H/P, W/P]
  return x.flatten(2).transpose(1, 2);
}

/** Refuses pixels that are not [B, channels, size, size], naming the expected shape. */
export function checkPixels(pixels: unknown, channels: number, size: number, who: string): Tensor {
  assertTensorArg(pixels, 'pixelValues', who);
  const s = pixels.shape;
  if (pixels.rank !== 4 || s[1] !== channels || s[2] !== size || s[3] !== size) {
    const what =
      pixels.rank === 4 && s[1] !== channels ? ` (${s[1]} channels where the model takes ${channels})` : '';
    throw new Error(
      `${who}: 'pixelValues' must be [B, ${channels}, ${size}, ${size}], got ${fmtShape(s)}${what}`,
    );
  }
  return pixels;
}

/** Patches to vectors: a conv2d with kernel = stride = patch size (`projection`). */
export class ViTPatchEmbeddings extends Module {
  projection: Module & { weight: Parameter; bias: Parameter };

  constructor(readonly config: ViTConfig) {
    super();
    const { hiddenSize: e, numChannels: c, patchSize: p } = config;
    const proj = new Module() as Module & { weight: Parameter; bias: Parameter };
    proj.weight = normalParameter([e, c, p, p], config.initializerRange);
    proj.bias = zeroParameter([e]);
    this.projection = proj;
  }

  /** pixels [B, C, H, W] → patches [B, N, E] */
  override forward(pixels: Tensor): Tensor {
    return patchEmbed(pixels, this.projection.weight, this.projection.bias, this.config.patchSize);
  }
}

/** [CLS] token, patch embeddings and learned positions. */
export class ViTEmbeddings extends Module {
  cls_token: Parameter;
  position_embeddings: Parameter;
  patch_embeddings: ViTPatchEmbeddings;

  constructor(readonly config: ViTConfig) {
    super();
    const n = (config.imageSize / config.patchSize) ** 2;
    this.cls_token = normalParameter([1, 1, config.hiddenSize], config.initializerRange);
    this.position_embeddings = normalParameter([1, n + 1, config.hiddenSize], config.initializerRange);
    this.patch_embeddings = new ViTPatchEmbeddings(config);
  }

  /** pixels [B, C, H, W] → [B, N + 1, E] */
  override forward(pixels: Tensor): Tensor {
    const x = this.patch_embeddings.forward(pixels); // [B, N, E]
    const cls = this.cls_token.expand(x.shape[0], 1, this.config.hiddenSize);
    const h = add(concat([cls, x], 1), this.position_embeddings);
    return dropout(h, this.config.hiddenDropoutProb, this.training);
  }
}

/** Self-attention projections (`query`, `key`, `value`). */
export class ViTSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;

  constructor(readonly config: ViTConfig) {
    super();
    const e = config.hiddenSize;
    this.query = new Linear(e, e, { bias: config.qkvBias });
    this.key = new Linear(e, e, { bias: config.qkvBias });
    this.value = new Linear(e, e, { bias: config.qkvBias });
  }

  override forward(h: Tensor): Tensor {
    const heads = this.config.numAttentionHeads;
    const d = this.config.hiddenSize / heads;
    const dropoutP = this.training ? this.config.attentionProbsDropoutProb : 0;
    const q = splitHeads(this.query.forward(h), heads, d);
    const k = splitHeads(this.key.forward(h), heads, d);
    const v = splitHeads(this.value.forward(h), heads, d);
    return mergeHeads(attend(q, k, v, { dropoutP }));
  }
}

/** A dense layer with dropout (`dense`), the residual added by the layer. */
export class ViTDense extends Module {
  dense: Linear;

  constructor(
    readonly config: ViTConfig,
    inFeatures: number,
    outFeatures: number,
  ) {
    super();
    this.dense = new Linear(inFeatures, outFeatures);
  }

  override forward(x: Tensor): Tensor {
    return dropout(this.dense.forward(x), this.config.hiddenDropoutProb, this.training);
  }
}

/** `attention.attention` and `attention.output`. */
export class ViTAttention extends Module {
  attention: ViTSelfAttention;
  output: ViTDense;

  constructor(config: ViTConfig) {
    super();
    this.attention = new ViTSelfAttention(config);
    this.output = new ViTDense(config, config.hiddenSize, config.hiddenSize);
  }

  override forward(h: Tensor): Tensor {
    return this.output.forward(this.attention.forward(h));
  }
}

/** One pre-LN encoder layer. */
export class ViTLayer extends Module {
  attention: ViTAttention;
  intermediate: ViTDense;
  output: ViTDense;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: ViTConfig) {
    super();
    this.attention = new ViTAttention(config);
    this.intermediate = new ViTDense(config, config.hiddenSize, config.intermediateSize);
    this.output = new ViTDense(config, config.intermediateSize, config.hiddenSize);
    this.layernorm_before = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.layernorm_after = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.act = activation(config.hiddenAct);
  }

  /** h [B, T, E] → [B, T, E] */
  override forward(h: Tensor): Tensor {
    const a = add(h, this.attention.forward(this.layernorm_before.forward(h)));
    const m = this.act(this.intermediate.dense.forward(this.layernorm_after.forward(a)));
    return add(a, this.output.forward(m));
  }
}

/** `encoder.layer.N.*` */
export class ViTEncoder extends Module {
  layer: ViTLayer[];

  constructor(config: ViTConfig) {
    super();
    this.layer = Array.from({ length: config.numHiddenLayers }, () => new ViTLayer(config));
  }

  override forward(h: Tensor): Tensor {
    let x = h;
    for (const l of this.layer) x = l.forward(x);
    return x;
  }
}

/** The pooler: a dense layer and activation (tanh) on the final [CLS] state (`pooler.dense`). */
export class ViTPooler extends Module {
  dense: Linear;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: ViTConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.poolerOutputSize ?? config.hiddenSize);
    this.act = activation(config.poolerAct, 'ViTPooler');
  }

  /** h [B, N + 1, E] → [B, poolerOutputSize] */
  override forward(h: Tensor): Tensor {
    return this.act(this.dense.forward(h.sliceDim(1, 0, 1).squeeze(1)));
  }
}

/** Options of {@link ViTModel}. */
export interface ViTModelOptions {
  /** Build the pooler (`pooler.dense`), as transformers' ViTModel does by default (true). */
  addPoolingLayer?: boolean;
}

/** What {@link ViTModel.forward} returns for `{ pixelValues }`. */
export interface ViTModelOutputs {
  /** [B, N + 1, E] after the final layernorm. */
  lastHiddenState: Tensor;
  /** [B, poolerOutputSize], or null without a pooler. */
  poolerOutput: Tensor | null;
}

/**
 * The ViT backbone, as transformers' ViTModel (the base model google/vit-base-patch16-224-in21k
 * ships): `embeddings`, `encoder`, `layernorm` and the pooler `pooler.dense` (tanh of a dense layer
 * on the final [CLS] state). Loads with loadPretrained from ViTModel checkpoints, with or without
 * the `vit.` prefix.
 *
 * @example
 * ```ts
 * // vit-base-patch16-224-in21k gives [B, 197, 768], [B, 768]; this tiny one has 16 patches of 32 features
 * const vit = (await loadPretrained('packages/transformer/test/fixtures/hf-vit-model')) as ViTModel;
 * const pixelValues = randn([2, 3, 16, 16]);
 * const { lastHiddenState, poolerOutput } = vit.forward({ pixelValues });
 * [lastHiddenState.shape, poolerOutput?.shape]; // => [[2, 17, 32], [2, 32]]
 * ```
 */
export class ViTModel extends PreTrainedModel {
  readonly modelType = 'vit';
  readonly architecture = 'ViTModel';
  readonly config: ViTConfig;
  embeddings: ViTEmbeddings;
  encoder: ViTEncoder;
  layernorm: LayerNorm;
  pooler?: ViTPooler;

  constructor(options: Partial<ViTConfig> | ViTConfig = {}, modelOptions: ViTModelOptions = {}) {
    super();
    const config = 'extra' in options ? (options as ViTConfig) : vitConfig(options);
    this.config = config;
    this.embeddings = new ViTEmbeddings(config);
    this.encoder = new ViTEncoder(config);
    this.layernorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    if (modelOptions.addPoolingLayer ?? true) this.pooler = new ViTPooler(config);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        init.truncNormal_(m.weight, 0, config.initializerRange);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): ViTModel {
    return new ViTModel(vitConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'vit',
      architectures: ['ViTModel'],
    };
  }

  override basePrefix(): string {
    return 'vit.';
  }

  /**
   * `{ pixelValues [B, C, H, W] }` → `{ lastHiddenState [B, N + 1, E], poolerOutput [B, E] }`; a bare
   * pixels tensor → the last hidden state only (the backbone's own form).
   */
  override forward(pixels: Tensor): Tensor;
  override forward(inputs: { pixelValues: Tensor }): ViTModelOutputs;
  override forward(arg: Tensor | { pixelValues: Tensor }): Tensor | ViTModelOutputs {
    if (arg && (arg as Tensor).isTensor === true) return this.backbone(arg as Tensor);
    if (!arg || typeof arg !== 'object') throw new TypeError('ViTModel.forward: expected { pixelValues }');
    const pixels = (arg as { pixelValues: Tensor }).pixelValues;
    return this.run(() => {
      const h = this.backbone(pixels);
      return { lastHiddenState: h, poolerOutput: this.pooler ? this.pooler.forward(h) : null };
    });
  }

  /** pixels [B, C, H, W] → last hidden state [B, N + 1, E] */
  private backbone(pixels: Tensor): Tensor {
    checkPixels(pixels, this.config.numChannels, this.config.imageSize, 'ViTModel.forward');
    return this.layernorm.forward(this.encoder.forward(this.embeddings.forward(pixels)));
  }
}

/**
 * ViT with a classification head, as transformers' ViTForImageClassification: names `vit.*` and
 * `classifier.*`; the class is read from the final [CLS] state.
 *
 * @example
 * ```ts
 * const vit = new ViTForImageClassification({ imageSize: 32, patchSize: 4, hiddenSize: 64,
 *   numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 128, id2label: { 0: 'cat', 1: 'dog' } });
 * const pixelValues = randn([4, 3, 32, 32]);
 * const { logits } = vit.forward({ pixelValues });
 * logits.shape; // => [4, 2]
 * ```
 */
export class ViTForImageClassification extends PreTrainedModel {
  readonly modelType = 'vit';
  readonly architecture = 'ViTForImageClassification';
  readonly config: ViTConfig;
  vit: ViTModel;
  classifier: Linear;

  constructor(config: Partial<ViTConfig> | ViTConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as ViTConfig) : vitConfig(config);
    this.vit = new ViTModel(this.config, { addPoolingLayer: false });
    this.classifier = new Linear(this.config.hiddenSize, numLabels(this.config));
    init.zeros_(this.classifier.bias as Parameter);
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return vitApproxParameters(json);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): ViTForImageClassification {
    return new ViTForImageClassification(vitConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'vit',
      architectures: ['ViTForImageClassification'],
    };
  }

  override ignoredKeys(): RegExp[] {
    return [/^(vit\.)?pooler\./];
  }

  override basePrefix(): string {
    return 'vit.';
  }

  /** `{ pixelValues [B, C, H, W] }` → `{ logits [B, numLabels], lastHiddenState [B, N + 1, E] }` */
  override forward(inputs: { pixelValues: Tensor }): { logits: Tensor; lastHiddenState: Tensor } {
    if (!inputs || typeof inputs !== 'object') {
      throw new TypeError('ViTForImageClassification.forward: expected { pixelValues }');
    }
    return this.run(() => {
      const h = this.vit.forward(inputs.pixelValues);
      const cls = h.sliceDim(1, 0, 1).squeeze(1); // [B, E]
      return { logits: this.classifier.forward(cls), lastHiddenState: h };
    });
  }
}
