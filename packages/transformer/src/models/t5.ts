// T5 (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
// Transformer"), with Hugging Face's parameter names: a pre-norm encoder-decoder with T5's RMS
// layer norm (no mean, no bias), no position embeddings but a learned relative position bias
// (bidirectional buckets in the encoder, causal in the decoder; computed in each stack's first
// layer and shared by the others), attention without the 1/√d scale, and a ReLU (T5) or gated-GELU
// (T5 v1.1, Flan-T5) feed-forward. The head shares the embedding (with a d_model^-0.5 rescale of
// the decoder output) or has its own weight.
//
//   src ids [B, Ls] ─ shared ─▶ encoder.block × N ─▶ final_layer_norm ─▶ memory [B, Ls, E]
//   tgt ids [B, Lt] ─ shared ─▶ decoder.block × M (self, cross over memory, ff) ─▶ final_layer_norm
//                   ─ (× d_model^-0.5 when tied) ─▶ lm_head ─▶ logits [B, Lt, V]
//   block.layer.0: h = h + SelfAttention(layer_norm(h))        (+ relative position bias)
//   block.layer.1: h = h + EncDecAttention(layer_norm(h), memory)   (decoder only)
//   block.layer.-1: h = h + DenseReluDense(layer_norm(h))

import { type LayerKVCache, RelativePositionBias } from '@attnkit/attention';
import { COMMON_REFUSED, checkProduct, LIMITS, type RefusedKeys } from '@attnkit/hub';
import type { ConditionedDecoder, Seq2SeqLM } from '@attnkit/sampling';
import { add, dropout, eq, mul, noGrad, ones, type Tensor, tensor, tidy, where } from '@attnkit/tensor-core';
import { Embedding, init, Linear, Module, RMSNorm } from '@attnkit/tensor-core/nn';
import { attend, mergeHeads, splitHeads } from '../blocks/attention.js';
import { LMHead } from '../blocks/embeddings.js';
import { activation } from '../blocks/feed-forward.js';
import {
  additivePaddingMask,
  ConditionedSeq2SeqDecoder,
  crossAttend,
  EncoderDecoderCache,
  seq2seqCacheArg,
} from '../blocks/seq2seq.js';
import { type GenerationDefaults, tokenIdDefaults } from '../generation-config.js';
import { check, configToJson, type FieldTable, idsArg, maskArg, resolveConfig } from '../internal.js';
import { PreTrainedModel } from './base.js';

/** The `feed_forward_proj` values T5 checkpoints use (`gated-<act>` is T5 v1.1's gated unit). */
export const T5_FEED_FORWARD_PROJ = [
  'relu',
  'gated-gelu',
  'gelu',
  'gated-relu',
  'silu',
  'gated-silu',
  'gelu_new',
  'gated-gelu_new',
] as const;

/** T5's configuration (config.json names in camelCase; defaults are t5-small's). */
export interface T5Config {
  vocabSize: number;
  dModel: number;
  /** Width of one attention head (heads × dKv need not equal dModel). */
  dKv: number;
  dFf: number;
  /** Encoder layers. */
  numLayers: number;
  /** Decoder layers (numLayers when null). */
  numDecoderLayers: number | null;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  dropoutRate: number;
  layerNormEpsilon: number;
  initializerFactor: number;
  /** 'relu' (T5), 'gated-gelu' (T5 v1.1, Flan-T5), ... (see {@link T5_FEED_FORWARD_PROJ}). */
  feedForwardProj: string;
  /** The head shares the token embedding (`shared.weight`). */
  tieWordEmbeddings: boolean;
  /**
   * Multiply the decoder output by d_model^-0.5 before the head (transformers 5 writes it; when
   * null it is `tieWordEmbeddings`, as transformers 4 read it).
   */
  scaleDecoderOutputs: boolean | null;
  padTokenId: number;
  eosTokenId: number | number[] | null;
  /** First decoder token (null: the pad id, T5's convention). */
  decoderStartTokenId: number | null;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 32128, kind: 'int', min: 1, max: LIMITS.vocab },
  dModel: { json: 'd_model', default: 512, kind: 'int', min: 1, max: LIMITS.hidden },
  dKv: { json: 'd_kv', default: 64, kind: 'int', min: 1, max: LIMITS.headDim },
  dFf: { json: 'd_ff', default: 2048, kind: 'int', min: 1, max: LIMITS.intermediate },
  numLayers: { json: 'num_layers', default: 6, kind: 'int', min: 1, max: LIMITS.layers },
  numDecoderLayers: {
    json: 'num_decoder_layers',
    default: null,
    kind: 'int',
    min: 1,
    max: LIMITS.layers,
    nullable: true,
  },
  numHeads: { json: 'num_heads', default: 8, kind: 'int', min: 1, max: LIMITS.heads },
  relativeAttentionNumBuckets: {
    json: 'relative_attention_num_buckets',
    default: 32,
    kind: 'int',
    min: 4,
    max: 1 << 16,
  },
  relativeAttentionMaxDistance: {
    json: 'relative_attention_max_distance',
    default: 128,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  dropoutRate: { json: 'dropout_rate', default: 0.1, kind: 'number', min: 0, max: 1 },
  layerNormEpsilon: { json: 'layer_norm_epsilon', default: 1e-6, kind: 'number', min: 0, exclusiveMin: true },
  initializerFactor: { json: 'initializer_factor', default: 1.0, kind: 'number', min: 0 },
  feedForwardProj: {
    json: 'feed_forward_proj',
    default: 'relu',
    kind: 'string',
    values: T5_FEED_FORWARD_PROJ,
  },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  scaleDecoderOutputs: { json: 'scale_decoder_outputs', default: null, kind: 'bool', nullable: true },
  padTokenId: { json: 'pad_token_id', default: 0, kind: 'int' },
  eosTokenId: { json: 'eos_token_id', default: 1, kind: 'any', nullable: true },
  decoderStartTokenId: { json: 'decoder_start_token_id', default: null, kind: 'int', nullable: true },
};

/** config.json keys a T5 checkpoint may set that change the computation and are not implemented. */
const REFUSED: RefusedKeys = {
  ...COMMON_REFUSED,
  is_decoder: { why: 'a decoder-only T5 stack', allowed: [false] },
  add_cross_attention: { why: 'extra cross-attention layers', allowed: [false] },
};

/** Fills a T5 config from camelCase options (t5-small's defaults). */
export function t5Config(options: Partial<T5Config> = {}): T5Config {
  const c = resolveConfig<T5Config>('T5Config', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a T5 config.json object (transformers 4 or 5). */
export function t5ConfigFromJson(json: Record<string, unknown>): T5Config {
  const c = resolveConfig<T5Config>('T5Config', FIELDS, json, true, { refuse: REFUSED });
  validate(c);
  return c;
}

function validate(c: T5Config): void {
  const who = 'T5Config';
  checkProduct(who, { vocab_size: c.vocabSize, d_model: c.dModel }, LIMITS.tensor, 'the token embedding');
  checkProduct(who, { d_ff: c.dFf, d_model: c.dModel }, LIMITS.tensor, 'a feed-forward weight');
  checkProduct(
    who,
    { num_heads: c.numHeads, d_kv: c.dKv, d_model: c.dModel },
    LIMITS.tensor,
    'the query projection',
  );
  check(
    c.padTokenId < c.vocabSize,
    who,
    `pad_token_id ${c.padTokenId} is outside the vocabulary of ${c.vocabSize}`,
  );
  if (c.decoderStartTokenId !== null)
    check(
      c.decoderStartTokenId < c.vocabSize,
      who,
      `decoder_start_token_id ${c.decoderStartTokenId} is outside the vocabulary of ${c.vocabSize}`,
    );
  activation(t5Activation(c), who);
}

/** The activation of the feed-forward ('gated-gelu' uses the tanh GELU, as transformers). */
function t5Activation(c: T5Config): string {
  if (c.feedForwardProj === 'gated-gelu') return 'gelu_new';
  return c.feedForwardProj.replace(/^gated-/, '');
}

/** Whether the decoder output is scaled by d_model^-0.5 before the head. */
function scalesDecoderOutputs(c: T5Config): boolean {
  return c.scaleDecoderOutputs ?? c.tieWordEmbeddings;
}

/** Parameters of a T5 config, within a few percent (norms left out): no allocation. */
function t5ApproxParameters(c: T5Config, decoder = true): number {
  const e = c.dModel;
  const inner = c.numHeads * c.dKv;
  const ff = (c.feedForwardProj.startsWith('gated-') ? 3 : 2) * e * c.dFf;
  const dec = c.numDecoderLayers ?? c.numLayers;
  let n = c.vocabSize * e + c.numLayers * (4 * e * inner + ff);
  if (decoder) n += dec * (8 * e * inner + ff) + (c.tieWordEmbeddings ? 0 : c.vocabSize * e);
  return n;
}

/** T5's attention (q, k, v, o without biases), unscaled; the first layer owns the relative position bias. */
export class T5Attention extends Module {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  relative_attention_bias: RelativePositionBias | null = null;
  readonly heads: number;
  readonly dKv: number;

  constructor(config: T5Config, hasRelativeAttentionBias: boolean, bidirectional: boolean) {
    super();
    this.heads = config.numHeads;
    this.dKv = config.dKv;
    const inner = this.heads * this.dKv;
    const f = config.initializerFactor;
    this.q = new Linear(config.dModel, inner, { bias: false });
    this.k = new Linear(config.dModel, inner, { bias: false });
    this.v = new Linear(config.dModel, inner, { bias: false });
    this.o = new Linear(inner, config.dModel, { bias: false });
    // transformers' T5 initialisation
    init.normal_(this.q.weight, 0, f * (config.dModel * this.dKv) ** -0.5);
    init.normal_(this.k.weight, 0, f * config.dModel ** -0.5);
    init.normal_(this.v.weight, 0, f * config.dModel ** -0.5);
    init.normal_(this.o.weight, 0, f * inner ** -0.5);
    if (hasRelativeAttentionBias) {
      this.relative_attention_bias = new RelativePositionBias({
        numHeads: this.heads,
        numBuckets: config.relativeAttentionNumBuckets,
        maxDistance: config.relativeAttentionMaxDistance,
        bidirectional,
        initStd: f * config.dModel ** -0.5,
      });
    }
  }

  /**
   * Self-attention of x [B, L, E] (with the cache of this layer when decoding; `causal` in the
   * decoder), or cross-attention over `memory` [B, Ls, E] when given. `mask` is the float bias
   * [1 or B, H, L, Lk] (relative positions plus padding).
   */
  override forward(
    x: Tensor,
    options: { memory?: Tensor | null; mask: Tensor | null; cache: LayerKVCache | null; causal?: boolean },
  ): Tensor {
    const d = this.dKv;
    const q = splitHeads(this.q.forward(x), this.heads, d); // [B, H, L, D]
    let o: Tensor;
    const memory = options.memory;
    if (memory) {
      o = crossAttend(
        q,
        () => ({
          k: splitHeads(this.k.forward(memory), this.heads, d),
          v: splitHeads(this.v.forward(memory), this.heads, d),
        }),
        options.cache,
        { mask: options.mask, scale: 1 },
      );
    } else {
      const k = splitHeads(this.k.forward(x), this.heads, d);
      const v = splitHeads(this.v.forward(x), this.heads, d);
      o = attend(q, k, v, { cache: options.cache, mask: options.mask, causal: options.causal, scale: 1 });
    }
    return this.o.forward(mergeHeads(o)); // [B, L, E]
  }
}

/** `layer.0` of a block: pre-norm self-attention with a residual. */
export class T5LayerSelfAttention extends Module {
  SelfAttention: T5Attention;
  layer_norm: RMSNorm;
  constructor(
    config: T5Config,
    hasBias: boolean,
    private readonly decoder: boolean,
  ) {
    super();
    this.SelfAttention = new T5Attention(config, hasBias, !decoder);
    this.layer_norm = new RMSNorm(config.dModel, { eps: config.layerNormEpsilon });
  }
  override forward(h: Tensor, mask: Tensor | null, cache: LayerKVCache | null, p: number): Tensor {
    const a = this.SelfAttention.forward(this.layer_norm.forward(h), { mask, cache, causal: this.decoder });
    return add(h, dropout(a, p, this.training));
  }
}

/** `layer.1` of a decoder block: pre-norm cross-attention over the encoder output. */
export class T5LayerCrossAttention extends Module {
  EncDecAttention: T5Attention;
  layer_norm: RMSNorm;
  constructor(config: T5Config) {
    super();
    this.EncDecAttention = new T5Attention(config, false, true);
    this.layer_norm = new RMSNorm(config.dModel, { eps: config.layerNormEpsilon });
  }
  override forward(
    h: Tensor,
    memory: Tensor,
    mask: Tensor | null,
    cache: LayerKVCache | null,
    p: number,
  ): Tensor {
    const a = this.EncDecAttention.forward(this.layer_norm.forward(h), { memory, mask, cache });
    return add(h, dropout(a, p, this.training));
  }
}

/** T5's ReLU feed-forward: `wo(act(wi(x)))`, no biases. */
export class T5DenseActDense extends Module {
  wi: Linear;
  wo: Linear;
  private readonly act: (x: Tensor) => Tensor;
  constructor(
    config: T5Config,
    private readonly p: number,
  ) {
    super();
    this.wi = new Linear(config.dModel, config.dFf, { bias: false });
    this.wo = new Linear(config.dFf, config.dModel, { bias: false });
    init.normal_(this.wi.weight, 0, config.initializerFactor * config.dModel ** -0.5);
    init.normal_(this.wo.weight, 0, config.initializerFactor * config.dFf ** -0.5);
    this.act = activation(t5Activation(config), 'T5DenseActDense');
  }
  override forward(x: Tensor): Tensor {
    return this.wo.forward(dropout(this.act(this.wi.forward(x)), this.p, this.training));
  }
}

/** T5 v1.1's gated feed-forward: `wo(act(wi_0(x)) · wi_1(x))`, no biases. */
export class T5DenseGatedActDense extends Module {
  wi_0: Linear;
  wi_1: Linear;
  wo: Linear;
  private readonly act: (x: Tensor) => Tensor;
  constructor(
    config: T5Config,
    private readonly p: number,
  ) {
    super();
    this.wi_0 = new Linear(config.dModel, config.dFf, { bias: false });
    this.wi_1 = new Linear(config.dModel, config.dFf, { bias: false });
    this.wo = new Linear(config.dFf, config.dModel, { bias: false });
    init.normal_(this.wi_0.weight, 0, config.initializerFactor * config.dModel ** -0.5);
    init.normal_(this.wi_1.weight, 0, config.initializerFactor * config.dModel ** -0.5);
    init.normal_(this.wo.weight, 0, config.initializerFactor * config.dFf ** -0.5);
    this.act = activation(t5Activation(config), 'T5DenseGatedActDense');
  }
  override forward(x: Tensor): Tensor {
    const h = mul(this.act(this.wi_0.forward(x)), this.wi_1.forward(x));
    return this.wo.forward(dropout(h, this.p, this.training));
  }
}

/** The last layer of a block: pre-norm feed-forward with a residual. */
export class T5LayerFF extends Module {
  DenseReluDense: T5DenseActDense | T5DenseGatedActDense;
  layer_norm: RMSNorm;
  constructor(
    config: T5Config,
    private readonly p: number,
  ) {
    super();
    this.DenseReluDense = config.feedForwardProj.startsWith('gated-')
      ? new T5DenseGatedActDense(config, p)
      : new T5DenseActDense(config, p);
    this.layer_norm = new RMSNorm(config.dModel, { eps: config.layerNormEpsilon });
  }
  override forward(h: Tensor): Tensor {
    return add(h, dropout(this.DenseReluDense.forward(this.layer_norm.forward(h)), this.p, this.training));
  }
}

/** One block: `layer` = [self-attention, (cross-attention,) feed-forward]. */
export class T5Block extends Module {
  layer: Module[];
  constructor(
    config: T5Config,
    hasBias: boolean,
    readonly decoder: boolean,
  ) {
    super();
    const p = config.dropoutRate;
    this.layer = decoder
      ? [
          new T5LayerSelfAttention(config, hasBias, true),
          new T5LayerCrossAttention(config),
          new T5LayerFF(config, p),
        ]
      : [new T5LayerSelfAttention(config, hasBias, false), new T5LayerFF(config, p)];
  }
}

/** Inputs of {@link T5Stack.forward}. */
interface StackInputs {
  ids: Tensor;
  /** Padding of the stack's own tokens [B, past + L]. */
  mask: Tensor | null;
  memory?: Tensor | null;
  memoryMask?: Tensor | null;
  cache?: EncoderDecoderCache | null;
}

/** An encoder or decoder stack (`embed_tokens` is the model's `shared`; `block.N.*`; `final_layer_norm`). */
export class T5Stack extends Module {
  block: T5Block[];
  final_layer_norm: RMSNorm;

  constructor(
    readonly config: T5Config,
    readonly embed_tokens: Embedding,
    readonly decoder: boolean,
  ) {
    super();
    const n = decoder ? (config.numDecoderLayers ?? config.numLayers) : config.numLayers;
    this.block = Array.from({ length: n }, (_, i) => new T5Block(config, i === 0, decoder));
    this.final_layer_norm = new RMSNorm(config.dModel, { eps: config.layerNormEpsilon });
  }

  /** ids [B, L] → hidden states [B, L, E] after the final norm. */
  override forward(inputs: StackInputs): Tensor {
    const { ids, cache } = inputs;
    const p = this.config.dropoutRate;
    const [, l] = ids.shape;
    const past = cache?.length ?? 0;
    // the relative position bias of the first layer, shared by every layer, plus padding
    const first = (this.block[0].layer[0] as T5LayerSelfAttention).SelfAttention;
    let selfMask = (first.relative_attention_bias as RelativePositionBias).forward(l, past + l, {
      pastLength: past,
    }); // [1, H, L, past + L]
    const pad = additivePaddingMask(inputs.mask);
    if (pad) selfMask = add(selfMask, pad); // [B, H, L, past + L]
    const crossMask = this.decoder ? additivePaddingMask(inputs.memoryMask) : null;
    let h = dropout(this.embed_tokens.forward(ids), p, this.training); // [B, L, E]
    this.block.forEach((block, i) => {
      h = (block.layer[0] as T5LayerSelfAttention).forward(
        h,
        selfMask,
        cache?.selfAttention.layer(i) ?? null,
        p,
      );
      if (this.decoder) {
        h = (block.layer[1] as T5LayerCrossAttention).forward(
          h,
          inputs.memory as Tensor,
          crossMask,
          cache?.crossAttention.layer(i) ?? null,
          p,
        );
      }
      h = (block.layer[block.layer.length - 1] as T5LayerFF).forward(h);
    });
    return dropout(this.final_layer_norm.forward(h), p, this.training);
  }
}

/** Inputs of {@link T5ForConditionalGeneration.forward} (transformers' names in camelCase). */
export interface T5Inputs {
  /** Source ids, int32 [B, Ls] (not needed with `encoderOutputs`). */
  inputIds?: Tensor;
  /** Source mask [B, Ls]: 1 real, 0 padding. */
  attentionMask?: Tensor | null;
  /** Decoder ids [B, Lt]: the start token, then the target shifted right (only the new ones with a cache). */
  decoderInputIds?: Tensor;
  /** Target ids [B, Lt]: the decoder inputs are built from them (shifted right) when decoderInputIds is absent. */
  labels?: Tensor;
  /** Decoder mask [B, past + Lt]: 1 real, 0 padding. */
  decoderAttentionMask?: Tensor | null;
  /** The encoder's output [B, Ls, E] from an earlier call (skips encoding). */
  encoderOutputs?: Tensor | null;
  /** The cache a previous call returned. */
  pastKeyValues?: unknown;
  /** Return a cache (default: in eval mode). */
  useCache?: boolean;
}

/** Outputs of {@link T5ForConditionalGeneration.forward}. */
export interface T5Outputs {
  /** [B, Lt, V] */
  logits: Tensor;
  /** The encoder's output [B, Ls, E]. */
  encoderLastHiddenState: Tensor;
  /** The decoder's self- and cross-attention cache, or null. */
  pastKeyValues: EncoderDecoderCache | null;
}

/** Shared parts of the two T5 classes: config handling and the encoder. */
abstract class T5Base extends PreTrainedModel {
  readonly modelType = 't5';
  readonly config: T5Config;
  shared: Embedding;
  encoder: T5Stack;

  constructor(config: Partial<T5Config> | T5Config) {
    super();
    this.config = 'extra' in config ? (config as T5Config) : t5Config(config);
    this.shared = new Embedding(this.config.vocabSize, this.config.dModel);
    init.normal_(this.shared.weight, 0, this.config.initializerFactor);
    this.encoder = new T5Stack(this.config, this.shared, false);
  }

  override configJson(): Record<string, unknown> {
    const json = configToJson(FIELDS, this.config as unknown as Record<string, unknown>);
    json.scale_decoder_outputs = scalesDecoderOutputs(this.config);
    json.num_decoder_layers = this.config.numDecoderLayers ?? this.config.numLayers;
    json.is_encoder_decoder = true;
    return { ...json, model_type: this.modelType, architectures: [this.architecture] };
  }

  /** Source ids [B, Ls] (+ mask) → encoder output [B, Ls, E]. */
  protected encodeRaw(inputIds: unknown, attentionMask: unknown, who: string): Tensor {
    const ids = idsArg(inputIds, 'inputIds', who);
    const am = maskArg(attentionMask, 'attentionMask', who, ids.shape);
    return this.encoder.forward({ ids, mask: am });
  }
}

/**
 * T5 with its language-model head, as transformers' T5ForConditionalGeneration (names `shared`,
 * `encoder.block.N.layer.M.*`, `decoder.*`, `lm_head`). `forward` runs the encoder (or takes
 * `encoderOutputs`) and the decoder; `@attnkit/sampling`'s generate() drives it as an
 * encoder-decoder (greedy, sampling, beam search), with the decoder's KV cache and the
 * cross-attention keys/values computed once.
 *
 * @example
 * ```ts
 * const model = new T5ForConditionalGeneration({ vocabSize: 100, dModel: 64, dKv: 16, dFf: 128,
 *   numLayers: 2, numHeads: 4, feedForwardProj: 'gated-gelu' }).eval();
 * import { generate } from '@attnkit/sampling';
 * const src = tensor([[5, 6, 7, 1]], undefined, 'int32');
 * const tgt = tensor([[0, 8, 9]], undefined, 'int32');
 * const { logits } = model.forward({ inputIds: src, decoderInputIds: tgt });
 * logits.shape; // => [1, 3, 100]
 * const { sequences } = await generate(model, [[5, 6, 7, 1]], { maxNewTokens: 10, numBeams: 4 });
 * ```
 */
export class T5ForConditionalGeneration extends T5Base implements Seq2SeqLM {
  readonly architecture = 'T5ForConditionalGeneration';
  decoder: T5Stack;
  lm_head: LMHead;

  constructor(config: Partial<T5Config> | T5Config = {}) {
    super(config);
    const c = this.config;
    this.decoder = new T5Stack(c, this.shared, true);
    this.lm_head = new LMHead(c.dModel, c.vocabSize, {
      tiedTo: c.tieWordEmbeddings ? this.shared.weight : null,
      std: c.initializerFactor,
    });
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): T5ForConditionalGeneration {
    return new T5ForConditionalGeneration(t5ConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return t5ApproxParameters(t5ConfigFromJson(json));
  }

  /** The first decoder token: decoder_start_token_id, else the pad id. */
  get decoderStartTokenId(): number {
    return this.config.decoderStartTokenId ?? this.config.padTokenId;
  }

  /** Without generation_config.json: the config's token ids, as transformers' from_model_config. */
  override defaultGenerationConfig(): GenerationDefaults {
    return tokenIdDefaults(this.configJson());
  }

  override tiedWeights(): [string, string][] {
    const t: [string, string][] = [
      ['encoder.embed_tokens.weight', 'shared.weight'],
      ['decoder.embed_tokens.weight', 'shared.weight'],
    ];
    if (this.config.tieWordEmbeddings) t.push(['lm_head.weight', 'shared.weight']);
    return t;
  }

  override ignoredKeys(): RegExp[] {
    return [/^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$/];
  }

  /**
   * Labels [B, Lt] shifted right behind the decoder start token, with the ignored label -100
   * replaced by the pad id (transformers' `_shift_right`): the decoder inputs of teacher forcing.
   */
  shiftRight(labels: Tensor): Tensor {
    return shiftTokensRight(labels, this.config.padTokenId, this.decoderStartTokenId);
  }

  /** Source and decoder ids → logits [B, Lt, V] (teacher forcing), or one decoding step with a cache. */
  override forward(inputs: T5Inputs): T5Outputs {
    const who = 'T5ForConditionalGeneration.forward';
    if (!inputs || typeof inputs !== 'object')
      throw new TypeError(`${who}: expected { inputIds, decoderInputIds, ... }`);
    return this.run(() => {
      const memory = inputs.encoderOutputs ?? this.encodeRaw(inputs.inputIds, inputs.attentionMask, who);
      const decIn =
        inputs.decoderInputIds ??
        (inputs.labels ? this.shiftRight(idsArg(inputs.labels, 'labels', who)) : undefined);
      if (decIn === undefined) throw new TypeError(`${who}: pass decoderInputIds (or labels)`);
      const tgt = idsArg(decIn, 'decoderInputIds', who); // [B, Lt]
      const [b, lt] = tgt.shape;
      if (memory.rank !== 3 || memory.shape[0] !== b || memory.shape[2] !== this.config.dModel) {
        throw new Error(
          `${who}: the encoder output [${memory.shape.join(', ')}] does not match decoderInputIds batch ${b} and d_model ${this.config.dModel}`,
        );
      }
      const numLayers = this.decoder.block.length;
      const past = seq2seqCacheArg(inputs.pastKeyValues, numLayers, who);
      const pastLen = past?.length ?? 0;
      const useCache = inputs.useCache ?? (past !== null || !this.training);
      const cache = past ?? (useCache ? new EncoderDecoderCache(numLayers) : null);
      const srcMask = maskArg(inputs.attentionMask, 'attentionMask', who, [b, memory.shape[1]]);
      const tgtMask = maskArg(inputs.decoderAttentionMask, 'decoderAttentionMask', who, [b, pastLen + lt]);
      let h = this.decoder.forward({ ids: tgt, mask: tgtMask, memory, memoryMask: srcMask, cache }); // [B, Lt, E]
      if (scalesDecoderOutputs(this.config)) h = mul(h, this.config.dModel ** -0.5);
      return { logits: this.lm_head.forward(h), encoderLastHiddenState: memory, pastKeyValues: cache };
    });
  }

  /** Source ids [B, Ls] (+ mask) → the encoder's output [B, Ls, E]. */
  encode(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return this.run(() =>
      this.encodeRaw(inputIds, attentionMask ?? null, 'T5ForConditionalGeneration.encode'),
    );
  }

  /** Encodes a source batch once and returns the decoder bound to it (what generate() drives). */
  seq2seqDecoder(inputIds: Tensor, attentionMask: Tensor | null = null): ConditionedDecoder {
    const who = 'T5ForConditionalGeneration.seq2seqDecoder';
    const { memory, mask } = noGrad(() =>
      tidy(() => {
        const m = maskArg(attentionMask, 'attentionMask', who, idsArg(inputIds, 'inputIds', who).shape);
        return {
          memory: this.encodeRaw(inputIds, m, who),
          mask: m ? where(eq(m, 0), 0, 1) : ones(idsArg(inputIds, 'inputIds', who).shape),
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
      'T5ForConditionalGeneration',
    );
  }

  /** A cache with its rows reordered (beam search). */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): EncoderDecoderCache {
    const past = seq2seqCacheArg(
      pastKeyValues,
      this.decoder.block.length,
      'T5ForConditionalGeneration.reorderCache',
    );
    if (!past)
      throw new TypeError('T5ForConditionalGeneration.reorderCache: expected an EncoderDecoderCache');
    return past.reorder(beamIndices);
  }
}

/**
 * The T5 encoder alone, as transformers' T5EncoderModel (names `shared`, `encoder.*`): the text
 * encoder of Flan-T5-based pipelines (e.g. image generators' T5 text encoders).
 *
 * @example
 * ```ts
 * const enc = new T5EncoderModel({ vocabSize: 100, dModel: 64, dKv: 16, dFf: 128, numLayers: 2, numHeads: 4 }).eval();
 * const inputIds = tensor([[5, 6, 7, 1]], undefined, 'int32');
 * const attentionMask = tensor([[1, 1, 1, 1]], undefined, 'int32');
 * const { lastHiddenState } = enc.forward({ inputIds, attentionMask });
 * lastHiddenState.shape; // => [1, 4, 64]
 * ```
 */
export class T5EncoderModel extends T5Base {
  readonly architecture = 'T5EncoderModel';

  constructor(config: Partial<T5Config> | T5Config = {}) {
    super(config);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): T5EncoderModel {
    return new T5EncoderModel(t5ConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return t5ApproxParameters(t5ConfigFromJson(json), false);
  }

  override tiedWeights(): [string, string][] {
    return [['encoder.embed_tokens.weight', 'shared.weight']];
  }

  override ignoredKeys(): RegExp[] {
    return [/^decoder\./, /^lm_head\./];
  }

  /** ids [B, L] (+ mask) → the encoder's last hidden state [B, L, E]. */
  override forward(inputs: { inputIds: Tensor; attentionMask?: Tensor | null }): { lastHiddenState: Tensor } {
    const who = 'T5EncoderModel.forward';
    if (!inputs || typeof inputs !== 'object') throw new TypeError(`${who}: expected { inputIds, ... }`);
    return this.run(() => ({ lastHiddenState: this.encodeRaw(inputs.inputIds, inputs.attentionMask, who) }));
  }
}

/**
 * Decoder inputs from labels [B, L]: `decoderStartTokenId` then the labels without their last
 * position, with -100 (ignored labels) replaced by `padTokenId` (transformers' shift_tokens_right).
 * Reads the labels synchronously (a CPU tensor).
 */
export function shiftTokensRight(labels: Tensor, padTokenId: number, decoderStartTokenId: number): Tensor {
  const [b, l] = labels.shape;
  if (!labels.backend.readSync)
    throw new Error('shiftTokensRight: labels must be readable synchronously (a CPU tensor)');
  const src = labels.dataSync();
  const out = new Int32Array(b * l);
  for (let i = 0; i < b; i++) {
    out[i * l] = decoderStartTokenId;
    for (let j = 1; j < l; j++) {
      const v = src[i * l + j - 1];
      out[i * l + j] = v === -100 ? padTokenId : v;
    }
  }
  return tensor(out, [b, l], 'int32');
}
