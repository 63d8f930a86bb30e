// BERT (Devlin et al. 2018), with Hugging Face's parameter names: a post-LN encoder (Add & Norm after
// each sublayer, as the 2017 paper) over word + position + token-type embeddings.
//
//   ids [B, L] ─ embeddings (word + position + token_type, LayerNorm) ─▶ h [B, L, E]
//     ─▶ num_hidden_layers × Layer ─▶ last_hidden_state ─▶ pooler (tanh(dense(h[:, 0]))) / MLM head
//   Layer: a = LayerNorm(h + attention(h));  h = LayerNorm(a + output(act(intermediate(a))))
import { COMMON_REFUSED, checkProduct, LIMITS, type RefusedKeys } from '@attnkit/hub';
import { add, dropout, embedding, type Tensor, tanh, zeros } from '@attnkit/tensor-core';
import { type Embedding, init, LayerNorm, Linear, Module, type Parameter } from '@attnkit/tensor-core/nn';
import { attend, keyPaddingMask, mergeHeads, splitHeads } from '../blocks/attention.js';
import { tokenEmbedding, zeroParameter } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  check,
  configToJson,
  type FieldTable,
  idsArg,
  maskArg,
  rangeIds,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';

/** BERT's configuration (config.json names in camelCase; defaults are bert-base's). */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: string;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  initializerRange: number;
  padTokenId: number | null;
  /** Only 'absolute' is supported. */
  positionEmbeddingType: string;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 30522, kind: 'int', min: 1, max: LIMITS.vocab },
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
  hiddenDropoutProb: { json: 'hidden_dropout_prob', default: 0.1, kind: 'number', min: 0, max: 1 },
  attentionProbsDropoutProb: {
    json: 'attention_probs_dropout_prob',
    default: 0.1,
    kind: 'number',
    min: 0,
    max: 1,
  },
  maxPositionEmbeddings: {
    json: 'max_position_embeddings',
    default: 512,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  typeVocabSize: { json: 'type_vocab_size', default: 2, kind: 'int', min: 1, max: LIMITS.vocab },
  layerNormEps: { json: 'layer_norm_eps', default: 1e-12, kind: 'number', min: 0, exclusiveMin: true },
  initializerRange: { json: 'initializer_range', default: 0.02, kind: 'number' },
  padTokenId: { json: 'pad_token_id', default: 0, kind: 'int', nullable: true },
  positionEmbeddingType: { json: 'position_embedding_type', default: 'absolute', kind: 'string' },
};

/** Fills a BERT config from camelCase options with bert-base's defaults. */
export function bertConfig(options: Partial<BertConfig> = {}): BertConfig {
  const c = resolveConfig<BertConfig>('BertConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a BERT config.json object. */
export function bertConfigFromJson(json: Record<string, unknown>): BertConfig {
  const c = resolveConfig<BertConfig>('BertConfig', FIELDS, json, true, { refuse: REFUSED });
  validate(c);
  return c;
}

/** config.json keys BERT checkpoints may set that change the computation and are not implemented. */
const REFUSED: RefusedKeys = {
  ...COMMON_REFUSED,
  is_decoder: { why: 'BERT as a causal decoder', allowed: [false] },
  add_cross_attention: { why: 'cross-attention layers', allowed: [false] },
};

/** Parameters of a BERT config, within a few percent (norms and biases left out): no allocation. */
export function bertApproxParameters(c: BertConfig): number {
  const e = c.hiddenSize;
  return (
    (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize) * e +
    c.numHiddenLayers * (4 * e * e + 2 * e * c.intermediateSize) +
    e * e
  );
}

function validate(c: BertConfig): void {
  const who = 'BertConfig';
  checkProduct(
    who,
    { vocab_size: c.vocabSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'the token embedding',
  );
  checkProduct(
    who,
    { max_position_embeddings: c.maxPositionEmbeddings, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'the position embedding',
  );
  checkProduct(
    who,
    { intermediate_size: c.intermediateSize, hidden_size: c.hiddenSize },
    LIMITS.tensor,
    'an MLP weight',
  );
  check(
    c.numAttentionHeads > 0 && c.hiddenSize % c.numAttentionHeads === 0,
    who,
    `hidden_size ${c.hiddenSize} must be divisible by num_attention_heads ${c.numAttentionHeads}`,
  );
  check(
    c.positionEmbeddingType === 'absolute',
    who,
    `position_embedding_type '${c.positionEmbeddingType}' is not supported (only 'absolute')`,
  );
  activation(c.hiddenAct, who);
}

function initLinears(m: Module, std: number): void {
  for (const [, x] of m.namedModules()) {
    if (x instanceof Linear) {
      init.normal_(x.weight, 0, std);
      if (x.bias) init.zeros_(x.bias);
    }
  }
}

/** Inputs of BERT's forward (Hugging Face names in camelCase). */
export interface BertInputs {
  /** int32 [B, L] */
  inputIds: Tensor;
  /** [B, L], 1 for real tokens and 0 for padding (all ones by default). */
  attentionMask?: Tensor | null;
  /** int32 [B, L] segment ids (zeros by default). */
  tokenTypeIds?: Tensor | null;
  /** int32 [B, L] positions (0 .. L - 1 by default). */
  positionIds?: Tensor | null;
}

/** Word, position and token-type embeddings, summed and layer-normalised. */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;

  constructor(readonly config: BertConfig) {
    super();
    const std = config.initializerRange;
    this.word_embeddings = tokenEmbedding(config.vocabSize, config.hiddenSize, std);
    this.position_embeddings = tokenEmbedding(config.maxPositionEmbeddings, config.hiddenSize, std);
    this.token_type_embeddings = tokenEmbedding(config.typeVocabSize, config.hiddenSize, std);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  /** ids, token types, positions [B, L] → [B, L, E] */
  override forward(ids: Tensor, tokenTypes: Tensor, positions: Tensor): Tensor {
    const x = add(
      add(this.word_embeddings.forward(ids), this.position_embeddings.forward(positions)),
      embedding(tokenTypes, this.token_type_embeddings.weight),
    );
    return dropout(this.LayerNorm.forward(x), this.config.hiddenDropoutProb, this.training);
  }
}

/** q/k/v projections (`query`, `key`, `value`) and bidirectional attention. */
export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;

  constructor(readonly config: BertConfig) {
    super();
    const e = config.hiddenSize;
    this.query = new Linear(e, e);
    this.key = new Linear(e, e);
    this.value = new Linear(e, e);
  }

  /** h [B, L, E] → context [B, L, E] */
  override forward(h: Tensor, mask: Tensor | null): Tensor {
    const heads = this.config.numAttentionHeads;
    const d = this.config.hiddenSize / heads;
    const q = splitHeads(this.query.forward(h), heads, d); // [B, H, L, D]
    const k = splitHeads(this.key.forward(h), heads, d);
    const v = splitHeads(this.value.forward(h), heads, d);
    const dropoutP = this.training ? this.config.attentionProbsDropoutProb : 0;
    return mergeHeads(attend(q, k, v, { mask, dropoutP }));
  }
}

/** A dense projection, dropout, then Add & Norm with the sublayer's input. */
export class BertAddNorm extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;

  constructor(
    readonly config: BertConfig,
    inFeatures: number,
  ) {
    super();
    this.dense = new Linear(inFeatures, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  /** LayerNorm(residual + dropout(dense(x))) */
  override forward(x: Tensor, residual: Tensor): Tensor {
    const y = dropout(this.dense.forward(x), this.config.hiddenDropoutProb, this.training);
    return this.LayerNorm.forward(add(y, residual));
  }
}

/** Self-attention followed by its Add & Norm (`attention.self`, `attention.output`). */
export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertAddNorm;

  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertAddNorm(config, config.hiddenSize);
  }

  override forward(h: Tensor, mask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(h, mask), h);
  }
}

/** The feed-forward's first layer and activation (`intermediate.dense`). */
export class BertIntermediate extends Module {
  dense: Linear;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
    this.act = activation(config.hiddenAct);
  }

  override forward(x: Tensor): Tensor {
    return this.act(this.dense.forward(x));
  }
}

/** One post-LN encoder layer. */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertAddNorm;

  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertAddNorm(config, config.intermediateSize);
  }

  /** h [B, L, E] → [B, L, E] */
  override forward(h: Tensor, mask: Tensor | null): Tensor {
    const a = this.attention.forward(h, mask);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

/** The stack of layers (`encoder.layer.N.*`). */
export class BertEncoder extends Module {
  layer: BertLayer[];

  constructor(config: BertConfig) {
    super();
    this.layer = Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config));
  }

  override forward(h: Tensor, mask: Tensor | null): Tensor {
    let x = h;
    for (const l of this.layer) x = l.forward(x, mask);
    return x;
  }
}

/** tanh(dense(h[:, 0])): the [CLS] summary (`pooler.dense`). */
export class BertPooler extends Module {
  dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
  }

  /** h [B, L, E] → [B, E] */
  override forward(h: Tensor): Tensor {
    return tanh(this.dense.forward(h.sliceDim(1, 0, 1).squeeze(1)));
  }
}

/** Outputs of {@link BertModel.forward}. */
export interface BertOutputs {
  /** [B, L, E] */
  lastHiddenState: Tensor;
  /** [B, E], or null without a pooling layer. */
  poolerOutput: Tensor | null;
}

/**
 * The BERT encoder, as transformers' BertModel: names `embeddings.*`, `encoder.layer.N.*`,
 * `pooler.dense.*`. Padding is masked with `attentionMask`.
 *
 * @example
 * ```ts
 * const bert = (await loadPretrained('packages/transformer/test/fixtures/bert-tiny')) as BertModel;
 * const inputIds = tensor([[2, 7, 8, 3]], undefined, 'int32');
 * const attentionMask = tensor([[1, 1, 1, 1]], undefined, 'int32');
 * const { lastHiddenState, poolerOutput } = bert.forward({ inputIds, attentionMask });
 * [lastHiddenState.shape, poolerOutput?.shape]; // => [[1, 4, 32], [1, 32]]
 * ```
 */
export class BertModel extends PreTrainedModel {
  readonly modelType = 'bert';
  readonly architecture: string = 'BertModel';
  readonly config: BertConfig;
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;

  constructor(config: Partial<BertConfig> | BertConfig = {}, options: { addPoolingLayer?: boolean } = {}) {
    super();
    this.config = 'extra' in config ? (config as BertConfig) : bertConfig(config);
    this.embeddings = new BertEmbeddings(this.config);
    this.encoder = new BertEncoder(this.config);
    this.pooler = options.addPoolingLayer === false ? null : new BertPooler(this.config);
    initLinears(this, this.config.initializerRange);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): BertModel {
    return new BertModel(bertConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return bertApproxParameters(bertConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'bert',
      architectures: [this.architecture],
    };
  }

  override ignoredKeys(): RegExp[] {
    return [/^cls\./, /(^|\.)position_ids$/];
  }

  override basePrefix(): string {
    return 'bert.';
  }

  /** → `{ lastHiddenState [B, L, E], poolerOutput [B, E] }` */
  override forward(inputs: BertInputs): BertOutputs {
    return this.run(() => this.encode(inputs, 'BertModel.forward'));
  }

  /** @internal forward without the memory scope. */
  encode(inputs: BertInputs, who: string): BertOutputs {
    if (!inputs || typeof inputs !== 'object') throw new TypeError(`${who}: expected { inputIds, ... }`);
    const ids = idsArg(inputs.inputIds, 'inputIds', who); // [B, L]
    const [b, l] = ids.shape;
    if (l > this.config.maxPositionEmbeddings && !inputs.positionIds) {
      throw new RangeError(
        `${who}: ${l} tokens exceed max_position_embeddings ${this.config.maxPositionEmbeddings}`,
      );
    }
    const am = maskArg(inputs.attentionMask, 'attentionMask', who, [b, l]);
    const tt = maskArg(inputs.tokenTypeIds, 'tokenTypeIds', who, [b, l]) ?? zeros([b, l], 'int32');
    const pos = maskArg(inputs.positionIds, 'positionIds', who, [b, l]) ?? rangeIds(b, 0, l);
    const h = this.encoder.forward(this.embeddings.forward(ids, tt, pos), keyPaddingMask(am));
    return { lastHiddenState: h, poolerOutput: this.pooler ? this.pooler.forward(h) : null };
  }
}

/** The MLM head's transform: dense, activation, LayerNorm (`cls.predictions.transform.*`). */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  private readonly act: (x: Tensor) => Tensor;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.act = activation(config.hiddenAct);
  }

  override forward(h: Tensor): Tensor {
    return this.LayerNorm.forward(this.act(this.dense.forward(h)));
  }
}

/** The tied decoder of the MLM head: word embeddings read backwards, plus a bias. */
export class BertDecoder extends Module {
  constructor(
    public weight: Parameter,
    public bias: Parameter,
  ) {
    super();
  }

  override forward(h: Tensor): Tensor {
    return add(h.matmul(this.weight.T), this.bias);
  }
}

/** `cls.predictions`: transform, then the tied decoder. */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  bias: Parameter;
  decoder: BertDecoder;

  constructor(config: BertConfig, wordEmbeddings: Parameter) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.bias = zeroParameter([config.vocabSize]);
    this.decoder = new BertDecoder(wordEmbeddings, this.bias);
  }

  override forward(h: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(h));
  }
}

/** `cls`: holds the prediction head. */
export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(config: BertConfig, wordEmbeddings: Parameter) {
    super();
    this.predictions = new BertLMPredictionHead(config, wordEmbeddings);
  }

  override forward(h: Tensor): Tensor {
    return this.predictions.forward(h);
  }
}

/**
 * BERT with the masked-language-model head, as transformers' BertForMaskedLM: names `bert.*`
 * (no pooler) and `cls.predictions.*`, the decoder tied to the word embeddings.
 *
 * @example
 * ```ts
 * const mlm = (await loadPretrained('packages/transformer/test/fixtures/pipe-bert-mlm')) as BertForMaskedLM;
 * const inputIds = tensor([[2, 7, 8, 3]], undefined, 'int32');
 * const attentionMask = tensor([[1, 1, 1, 1]], undefined, 'int32');
 * const { logits } = mlm.forward({ inputIds, attentionMask }); // [B, L, vocab]
 * logits.shape[1]; // => 4
 * ```
 */
export class BertForMaskedLM extends PreTrainedModel {
  readonly modelType = 'bert';
  readonly architecture = 'BertForMaskedLM';
  readonly config: BertConfig;
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(config: Partial<BertConfig> | BertConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as BertConfig) : bertConfig(config);
    this.bert = new BertModel(this.config, { addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(this.config, this.bert.embeddings.word_embeddings.weight);
    initLinears(this.cls, this.config.initializerRange);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): BertForMaskedLM {
    return new BertForMaskedLM(bertConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return bertApproxParameters(bertConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'bert',
      architectures: ['BertForMaskedLM'],
    };
  }

  override tiedWeights(): [string, string][] {
    return [
      ['cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight'],
      ['cls.predictions.decoder.bias', 'cls.predictions.bias'],
    ];
  }

  override ignoredKeys(): RegExp[] {
    return [/^(bert\.)?pooler\./, /^cls\.seq_relationship\./, /(^|\.)position_ids$/];
  }

  override basePrefix(): string {
    return 'bert.';
  }

  /** → `{ logits [B, L, vocab] }` */
  override forward(inputs: BertInputs): { logits: Tensor } {
    return this.run(() => {
      const h = this.bert.encode(inputs, 'BertForMaskedLM.forward').lastHiddenState;
      return { logits: this.cls.forward(h) };
    });
  }
}
