// Whisper (Radford et al. 2022, "Robust Speech Recognition via Large-Scale Weak Supervision"), with
// Hugging Face's parameter names: log-mel features [B, mels, 2·max_source_positions] through two
// GELU convolutions (the second halves the time axis) plus fixed sinusoidal positions, a pre-LN
// encoder, and a pre-LN decoder with learned positions and cross-attention; the head (`proj_out`)
// shares the decoder's token embedding. Queries are scaled by 1/√d; keys have no bias.
//
//   features [B, M, 2S] ─ gelu(conv1) ─ gelu(conv2, stride 2) ─ + embed_positions ─▶ layers × N ─ layer_norm ─▶ memory [B, S, E]
//   tokens [B, T] ─ embed_tokens + embed_positions(past..) ─▶ layers × N (self, cross over memory, ff) ─ layer_norm ─ proj_out ─▶ logits
//   layer: h = h + attn(LN(h));  (decoder: h = h + encoder_attn(LN(h), memory));  h = h + fc2(gelu(fc1(LN(h))))

import type { LayerKVCache } from '@attnkit/attention';
import { COMMON_REFUSED, checkProduct, LIMITS, type RefusedKeys } from '@attnkit/hub';
import type { ConditionedDecoder, Seq2SeqLM } from '@attnkit/sampling';
import { add, dropout, fromValues, gelu, mul, noGrad, ones, type Tensor, tidy } from '@attnkit/tensor-core';
import { Conv1d, Embedding, init, LayerNorm, Linear, Module } from '@attnkit/tensor-core/nn';
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
import {
  assertTensorArg,
  check,
  configToJson,
  type FieldTable,
  fmtShape,
  idsArg,
  maskArg,
  resolveConfig,
} from '../internal.js';
import { PreTrainedModel } from './base.js';

/** Whisper's configuration (config.json names in camelCase; defaults are whisper-tiny's). */
export interface WhisperConfig {
  vocabSize: number;
  numMelBins: number;
  encoderLayers: number;
  encoderAttentionHeads: number;
  decoderLayers: number;
  decoderAttentionHeads: number;
  encoderFfnDim: number;
  decoderFfnDim: number;
  activationFunction: string;
  dModel: number;
  dropout: number;
  attentionDropout: number;
  activationDropout: number;
  initStd: number;
  /** transformers' Whisper reads but never applies it (kept for saving). */
  scaleEmbedding: boolean;
  /** Encoder positions: the features hold twice as many frames (1500 ↔ 3000 frames of 30 s). */
  maxSourcePositions: number;
  /** Longest decoder sequence (448). */
  maxTargetPositions: number;
  tieWordEmbeddings: boolean;
  padTokenId: number | null;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  /** `<|startoftranscript|>` */
  decoderStartTokenId: number;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 51865, kind: 'int', min: 1, max: LIMITS.vocab },
  numMelBins: { json: 'num_mel_bins', default: 80, kind: 'int', min: 1, max: 1 << 12 },
  encoderLayers: { json: 'encoder_layers', default: 4, kind: 'int', min: 1, max: LIMITS.layers },
  encoderAttentionHeads: {
    json: 'encoder_attention_heads',
    default: 6,
    kind: 'int',
    min: 1,
    max: LIMITS.heads,
  },
  decoderLayers: { json: 'decoder_layers', default: 4, kind: 'int', min: 1, max: LIMITS.layers },
  decoderAttentionHeads: {
    json: 'decoder_attention_heads',
    default: 6,
    kind: 'int',
    min: 1,
    max: LIMITS.heads,
  },
  encoderFfnDim: { json: 'encoder_ffn_dim', default: 1536, kind: 'int', min: 1, max: LIMITS.intermediate },
  decoderFfnDim: { json: 'decoder_ffn_dim', default: 1536, kind: 'int', min: 1, max: LIMITS.intermediate },
  activationFunction: { json: 'activation_function', default: 'gelu', kind: 'string' },
  dModel: { json: 'd_model', default: 384, kind: 'int', min: 1, max: LIMITS.hidden },
  dropout: { json: 'dropout', default: 0, kind: 'number', min: 0, max: 1 },
  attentionDropout: { json: 'attention_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  activationDropout: { json: 'activation_dropout', default: 0, kind: 'number', min: 0, max: 1 },
  initStd: { json: 'init_std', default: 0.02, kind: 'number', min: 0 },
  scaleEmbedding: { json: 'scale_embedding', default: false, kind: 'bool' },
  maxSourcePositions: {
    json: 'max_source_positions',
    default: 1500,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  maxTargetPositions: {
    json: 'max_target_positions',
    default: 448,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  padTokenId: { json: 'pad_token_id', default: 50256, kind: 'int', nullable: true },
  bosTokenId: { json: 'bos_token_id', default: 50256, kind: 'int', nullable: true },
  eosTokenId: { json: 'eos_token_id', default: 50256, kind: 'any', nullable: true },
  decoderStartTokenId: { json: 'decoder_start_token_id', default: 50257, kind: 'int' },
};

/** config.json keys that change the computation and are not implemented here. */
const REFUSED: RefusedKeys = {
  ...COMMON_REFUSED,
  encoder_layerdrop: { why: 'LayerDrop in training', allowed: [0] },
  decoder_layerdrop: { why: 'LayerDrop in training', allowed: [0] },
  apply_spec_augment: { why: 'SpecAugment masking in training', allowed: [false] },
  use_weighted_layer_sum: { why: 'a weighted sum of layers (audio classification)', allowed: [false] },
};

/** Fills a Whisper config from camelCase options (whisper-tiny's defaults). */
export function whisperConfig(options: Partial<WhisperConfig> = {}): WhisperConfig {
  const c = resolveConfig<WhisperConfig>('WhisperConfig', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a Whisper config.json object. */
export function whisperConfigFromJson(json: Record<string, unknown>): WhisperConfig {
  const c = resolveConfig<WhisperConfig>('WhisperConfig', FIELDS, json, true, { refuse: REFUSED });
  validate(c);
  return c;
}

function validate(c: WhisperConfig): void {
  const who = 'WhisperConfig';
  checkProduct(who, { vocab_size: c.vocabSize, d_model: c.dModel }, LIMITS.tensor, 'the token embedding');
  checkProduct(
    who,
    { max_source_positions: c.maxSourcePositions, d_model: c.dModel },
    LIMITS.tensor,
    'the encoder positions',
  );
  checkProduct(
    who,
    { max_target_positions: c.maxTargetPositions, d_model: c.dModel },
    LIMITS.tensor,
    'the decoder positions',
  );
  checkProduct(
    who,
    { num_mel_bins: c.numMelBins, d_model: c.dModel },
    LIMITS.tensor,
    'the first convolution',
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
  check(c.dModel % 2 === 0, who, `d_model ${c.dModel} must be even (sinusoidal encoder positions)`);
  check(
    c.decoderStartTokenId < c.vocabSize,
    who,
    `decoder_start_token_id ${c.decoderStartTokenId} is outside the vocabulary of ${c.vocabSize}`,
  );
  activation(c.activationFunction, who);
}

function whisperApproxParameters(c: WhisperConfig): number {
  const e = c.dModel;
  return (
    c.vocabSize * e * (c.tieWordEmbeddings ? 1 : 2) +
    (c.maxSourcePositions + c.maxTargetPositions) * e +
    3 * c.numMelBins * e +
    3 * e * e +
    c.encoderLayers * (4 * e * e + 2 * e * c.encoderFfnDim) +
    c.decoderLayers * (8 * e * e + 2 * e * c.decoderFfnDim)
  );
}

/** Whisper's sinusoidal encoder positions [length, channels] (sin half, then cos half), in float64 then float32. */
export function whisperSinusoids(length: number, channels: number, maxTimescale = 10000): Float32Array {
  const half = channels / 2;
  const inc = Math.log(maxTimescale) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let p = 0; p < length; p++)
    for (let i = 0; i < half; i++) {
      const t = p * Math.fround(Math.exp(-inc * i));
      out[p * channels + i] = Math.sin(t);
      out[p * channels + half + i] = Math.cos(t);
    }
  return out;
}

/** Whisper's attention: q_proj, k_proj (no bias), v_proj, out_proj; queries scaled by 1/√d. */
export class WhisperAttention extends Module {
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
    this.k_proj = new Linear(dModel, dModel, { bias: false });
    this.v_proj = new Linear(dModel, dModel);
    this.out_proj = new Linear(dModel, dModel);
  }

  override forward(
    x: Tensor,
    options: { memory?: Tensor | null; cache: LayerKVCache | null; causal?: boolean; mask?: Tensor | null },
  ): Tensor {
    const h = this.heads;
    const d = this.headDim;
    const q = splitHeads(mul(this.q_proj.forward(x), d ** -0.5), h, d); // scaled before q·k, as transformers
    const memory = options.memory;
    const o = memory
      ? crossAttend(
          q,
          () => ({
            k: splitHeads(this.k_proj.forward(memory), h, d),
            v: splitHeads(this.v_proj.forward(memory), h, d),
          }),
          options.cache,
          { mask: null, scale: 1 },
        )
      : attend(q, splitHeads(this.k_proj.forward(x), h, d), splitHeads(this.v_proj.forward(x), h, d), {
          cache: options.cache,
          mask: options.mask ?? null,
          causal: options.causal,
          scale: 1,
          dropoutP: this.training ? this.p : 0,
        });
    return this.out_proj.forward(mergeHeads(o));
  }
}

/** The pre-LN feed-forward of a layer (final_layer_norm, fc1, fc2) with its residual. */
abstract class WhisperLayerBase extends Module {
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;
  protected readonly act: (x: Tensor) => Tensor;
  constructor(
    protected readonly config: WhisperConfig,
    ffn: number,
  ) {
    super();
    this.fc1 = new Linear(config.dModel, ffn);
    this.fc2 = new Linear(ffn, config.dModel);
    this.final_layer_norm = new LayerNorm(config.dModel);
    this.act = activation(config.activationFunction, 'WhisperConfig');
  }
  protected residual(h: Tensor, sub: Tensor): Tensor {
    return add(h, dropout(sub, this.config.dropout, this.training));
  }
  protected feedForward(h: Tensor): Tensor {
    const a = this.act(this.fc1.forward(this.final_layer_norm.forward(h)));
    return this.residual(h, this.fc2.forward(dropout(a, this.config.activationDropout, this.training)));
  }
}

/** An encoder layer: self_attn_layer_norm, self_attn, final_layer_norm, fc1, fc2. */
export class WhisperEncoderLayer extends WhisperLayerBase {
  self_attn: WhisperAttention;
  self_attn_layer_norm: LayerNorm;
  constructor(config: WhisperConfig) {
    super(config, config.encoderFfnDim);
    this.self_attn = new WhisperAttention(
      config.dModel,
      config.encoderAttentionHeads,
      config.attentionDropout,
    );
    this.self_attn_layer_norm = new LayerNorm(config.dModel);
  }
  override forward(h: Tensor): Tensor {
    const a = this.self_attn.forward(this.self_attn_layer_norm.forward(h), { cache: null });
    return this.feedForward(this.residual(h, a));
  }
}

/** A decoder layer: causal self-attention, cross-attention over the encoder output, feed-forward. */
export class WhisperDecoderLayer extends WhisperLayerBase {
  self_attn: WhisperAttention;
  self_attn_layer_norm: LayerNorm;
  encoder_attn: WhisperAttention;
  encoder_attn_layer_norm: LayerNorm;
  constructor(config: WhisperConfig) {
    super(config, config.decoderFfnDim);
    this.self_attn = new WhisperAttention(
      config.dModel,
      config.decoderAttentionHeads,
      config.attentionDropout,
    );
    this.self_attn_layer_norm = new LayerNorm(config.dModel);
    this.encoder_attn = new WhisperAttention(
      config.dModel,
      config.decoderAttentionHeads,
      config.attentionDropout,
    );
    this.encoder_attn_layer_norm = new LayerNorm(config.dModel);
  }
  override forward(
    h: Tensor,
    memory: Tensor,
    mask: Tensor | null,
    cache: EncoderDecoderCache | null,
    i: number,
  ): Tensor {
    const s = this.self_attn.forward(this.self_attn_layer_norm.forward(h), {
      cache: cache?.selfAttention.layer(i) ?? null,
      causal: true,
      mask,
    });
    let x = this.residual(h, s);
    const c = this.encoder_attn.forward(this.encoder_attn_layer_norm.forward(x), {
      memory,
      cache: cache?.crossAttention.layer(i) ?? null,
    });
    x = this.residual(x, c);
    return this.feedForward(x);
  }
}

/** The audio encoder (conv1, conv2, embed_positions, layers.N, layer_norm). */
export class WhisperEncoder extends Module {
  conv1: Conv1d;
  conv2: Conv1d;
  embed_positions: Embedding;
  layers: WhisperEncoderLayer[];
  layer_norm: LayerNorm;

  constructor(readonly config: WhisperConfig) {
    super();
    const e = config.dModel;
    this.conv1 = new Conv1d(config.numMelBins, e, 3, { padding: 1 });
    this.conv2 = new Conv1d(e, e, 3, { stride: 2, padding: 1 });
    this.embed_positions = new Embedding(config.maxSourcePositions, e);
    // fixed sinusoids (checkpoints store them too)
    const table = fromValues(
      whisperSinusoids(config.maxSourcePositions, e),
      [config.maxSourcePositions, e],
      'float32',
    );
    this.embed_positions.loadStateDict({ weight: table });
    table.dispose();
    this.layers = Array.from({ length: config.encoderLayers }, () => new WhisperEncoderLayer(config));
    this.layer_norm = new LayerNorm(e);
  }

  /** Log-mel features [B, numMelBins, 2·maxSourcePositions] → [B, maxSourcePositions, E]. */
  override forward(inputFeatures: unknown, who = 'WhisperEncoder.forward'): Tensor {
    assertTensorArg(inputFeatures, 'inputFeatures', who);
    const c = this.config;
    const frames = 2 * c.maxSourcePositions;
    const x = inputFeatures;
    if (x.rank !== 3 || x.shape[1] !== c.numMelBins || x.shape[2] !== frames || x.dtype !== 'float32') {
      throw new Error(
        `${who}: 'inputFeatures' must be float32 [batch, ${c.numMelBins} mel bins, ${frames} frames] (log-mel features padded to 30 s), got ${x.dtype} ${fmtShape(x.shape)}`,
      );
    }
    let h = gelu(this.conv1.forward(x)); // [B, E, 2S]
    h = gelu(this.conv2.forward(h)).transpose(1, 2); // [B, S, E]
    h = dropout(add(h, this.embed_positions.weight), c.dropout, this.training);
    for (const layer of this.layers) h = layer.forward(h);
    return this.layer_norm.forward(h);
  }
}

/** The text decoder (embed_tokens, embed_positions, layers.N, layer_norm). */
export class WhisperDecoder extends Module {
  embed_tokens: Embedding;
  embed_positions: Embedding;
  layers: WhisperDecoderLayer[];
  layer_norm: LayerNorm;

  constructor(readonly config: WhisperConfig) {
    super();
    this.embed_tokens = new Embedding(config.vocabSize, config.dModel);
    init.normal_(this.embed_tokens.weight, 0, config.initStd);
    this.embed_positions = new Embedding(config.maxTargetPositions, config.dModel);
    init.normal_(this.embed_positions.weight, 0, config.initStd);
    this.layers = Array.from({ length: config.decoderLayers }, () => new WhisperDecoderLayer(config));
    this.layer_norm = new LayerNorm(config.dModel);
  }

  /** Tokens [B, T] (the new ones with a cache) over the encoder output → hidden states [B, T, E]. */
  override forward(
    ids: Tensor,
    memory: Tensor,
    mask: Tensor | null,
    cache: EncoderDecoderCache | null,
    who = 'WhisperDecoder.forward',
  ): Tensor {
    const past = cache?.length ?? 0;
    const t = ids.shape[1];
    const max = this.config.maxTargetPositions;
    if (past + t > max) {
      throw new RangeError(
        `${who}: the decoder sequence reaches ${past + t} tokens, beyond max_target_positions ${max}`,
      );
    }
    let h = add(this.embed_tokens.forward(ids), this.embed_positions.weight.sliceDim(0, past, past + t));
    h = dropout(h, this.config.dropout, this.training);
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, memory, mask, cache, i);
    });
    return this.layer_norm.forward(h);
  }
}

/** The encoder-decoder (names `encoder.*`, `decoder.*`), transformers' WhisperModel. */
export class WhisperModel extends Module {
  encoder: WhisperEncoder;
  decoder: WhisperDecoder;
  constructor(readonly config: WhisperConfig) {
    super();
    this.encoder = new WhisperEncoder(config);
    this.decoder = new WhisperDecoder(config);
    for (const [name, m] of this.namedModules()) {
      if (m instanceof Linear || (m instanceof Conv1d && name.length > 0)) {
        init.normal_(m.weight, 0, config.initStd);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }
}

/** Inputs of {@link WhisperForConditionalGeneration.forward}. */
export interface WhisperInputs {
  /** Log-mel features float32 [B, numMelBins, 2·maxSourcePositions] (see WhisperFeatureExtractor). */
  inputFeatures?: Tensor;
  /** Decoder tokens [B, T] (the prompt and what follows; only the new ones with a cache). */
  decoderInputIds: Tensor;
  /** Decoder mask [B, past + T]: 1 real, 0 padding. */
  decoderAttentionMask?: Tensor | null;
  /** The encoder's output [B, S, E] from an earlier call (skips encoding). */
  encoderOutputs?: Tensor | null;
  pastKeyValues?: unknown;
  /** Return a cache (default: in eval mode). */
  useCache?: boolean;
}

/**
 * Whisper with its head, as transformers' WhisperForConditionalGeneration (names `model.*`,
 * `proj_out.weight` tied to `model.decoder.embed_tokens.weight`). `@attnkit/sampling`'s generate()
 * drives it from log-mel features with the decoder prompt (`decoderPromptIds`:
 * `<|startoftranscript|>`, language, task, `<|notimestamps|>`).
 *
 * @example
 * ```ts
 * import { generate } from '@attnkit/sampling';
 * import { AutoTokenizer } from '@attnkit/tokenizer';
 * const dir = 'packages/transformer/test/fixtures/pipe-whisper'; // a tiny random Whisper; whisper-tiny loads the same way
 * const whisper = await loadPretrained(dir, { architecture: 'WhisperForConditionalGeneration' });
 * const fe = await loadFeatureExtractor(dir);
 * const waveform = new Float32Array(16000); // 1 s at 16 kHz
 * const features = fe.call(waveform, { samplingRate: 16000 });
 * // whisper-tiny's prompt is [50258, 50259, 50359, 50363]; whisperPromptIds finds it in any Whisper tokenizer
 * const prompt = whisperPromptIds(await AutoTokenizer.fromPretrained(dir), { language: 'en', task: 'transcribe' });
 * const { sequences } = await generate(whisper, features, { decoderPromptIds: prompt, maxNewTokens: 8 });
 * sequences[0].slice(0, 4); // => [289, 290, 391, 395]
 * ```
 */
export class WhisperForConditionalGeneration extends PreTrainedModel implements Seq2SeqLM {
  readonly modelType = 'whisper';
  readonly architecture = 'WhisperForConditionalGeneration';
  readonly config: WhisperConfig;
  model: WhisperModel;
  proj_out: LMHead;

  constructor(config: Partial<WhisperConfig> | WhisperConfig = {}) {
    super();
    this.config = 'extra' in config ? (config as WhisperConfig) : whisperConfig(config);
    this.model = new WhisperModel(this.config);
    this.proj_out = new LMHead(this.config.dModel, this.config.vocabSize, {
      tiedTo: this.config.tieWordEmbeddings ? this.model.decoder.embed_tokens.weight : null,
      std: this.config.initStd,
    });
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): WhisperForConditionalGeneration {
    return new WhisperForConditionalGeneration(whisperConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return whisperApproxParameters(whisperConfigFromJson(json));
  }

  /** `<|startoftranscript|>` (decoder_start_token_id). */
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

  /** Without generation_config.json: the config's token ids, as transformers' from_model_config. */
  override defaultGenerationConfig(): GenerationDefaults {
    return tokenIdDefaults(this.configJson());
  }

  override tiedWeights(): [string, string][] {
    return this.config.tieWordEmbeddings ? [['proj_out.weight', 'model.decoder.embed_tokens.weight']] : [];
  }

  override basePrefix(): string {
    return 'model.';
  }

  /** Log-mel features → the encoder's output [B, maxSourcePositions, E]. */
  encode(inputFeatures: Tensor): Tensor {
    return this.run(() =>
      this.model.encoder.forward(inputFeatures, 'WhisperForConditionalGeneration.encode'),
    );
  }

  /** Features and decoder tokens → logits [B, T, V], or one decoding step with a cache. */
  override forward(inputs: WhisperInputs): {
    logits: Tensor;
    encoderLastHiddenState: Tensor;
    pastKeyValues: EncoderDecoderCache | null;
  } {
    const who = 'WhisperForConditionalGeneration.forward';
    if (!inputs || typeof inputs !== 'object')
      throw new TypeError(`${who}: expected { inputFeatures, decoderInputIds, ... }`);
    return this.run(() => {
      const memory = inputs.encoderOutputs ?? this.model.encoder.forward(inputs.inputFeatures, who);
      const tgt = idsArg(inputs.decoderInputIds, 'decoderInputIds', who);
      const [b, t] = tgt.shape;
      if (memory.rank !== 3 || memory.shape[0] !== b || memory.shape[2] !== this.config.dModel) {
        throw new Error(
          `${who}: the encoder output ${fmtShape(memory.shape)} does not match decoderInputIds batch ${b} and d_model ${this.config.dModel}`,
        );
      }
      const n = this.config.decoderLayers;
      const past = seq2seqCacheArg(inputs.pastKeyValues, n, who);
      const pastLen = past?.length ?? 0;
      const useCache = inputs.useCache ?? (past !== null || !this.training);
      const cache = past ?? (useCache ? new EncoderDecoderCache(n) : null);
      const am = maskArg(inputs.decoderAttentionMask, 'decoderAttentionMask', who, [b, pastLen + t]);
      const mask = keyPaddingMask(am);
      const h = this.model.decoder.forward(tgt, memory, mask, cache, who);
      return { logits: this.proj_out.forward(h), encoderLastHiddenState: memory, pastKeyValues: cache };
    });
  }

  /** Encodes log-mel features once and returns the decoder bound to them (what generate() drives). */
  seq2seqDecoder(inputFeatures: Tensor): ConditionedDecoder {
    const who = 'WhisperForConditionalGeneration.seq2seqDecoder';
    const memory = noGrad(() => tidy(() => this.model.encoder.forward(inputFeatures, who)));
    const mask = noGrad(() => ones(memory.shape.slice(0, 2)));
    return new ConditionedSeq2SeqDecoder(
      memory,
      mask,
      (x) =>
        this.forward({
          decoderInputIds: x.decoderInputIds,
          decoderAttentionMask: x.decoderAttentionMask,
          encoderOutputs: x.encoderOutputs,
          pastKeyValues: x.pastKeyValues,
        }),
      'WhisperForConditionalGeneration',
    );
  }

  /** A cache with its rows reordered (beam search). */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): EncoderDecoderCache {
    const who = 'WhisperForConditionalGeneration.reorderCache';
    const past = seq2seqCacheArg(pastKeyValues, this.config.decoderLayers, who);
    if (!past) throw new TypeError(`${who}: expected an EncoderDecoderCache`);
    return past.reorder(beamIndices, who);
  }
}
