// The Transformer of "Attention Is All You Need" (Vaswani et al. 2017) for sequence-to-sequence
// tasks: token embeddings scaled by √d_model plus sinusoidal positions, a stack of post-LN encoder
// layers, a stack of post-LN decoder layers with cross-attention, and a head tied to the embeddings.
//
//   src ids [B, Ls] ─ embed ─▶ num_encoder_layers × EncoderBlock ─▶ memory [B, Ls, E]
//   tgt ids [B, Lt] ─ embed ─▶ num_decoder_layers × DecoderBlock(memory) ─▶ lm_head ─▶ logits [B, Lt, V]
//
// Config names follow torch's nn.Transformer (d_model, nhead, num_encoder_layers, ...).

import { KVCache } from '@attnkit/attention';
import { checkProduct, LIMITS } from '@attnkit/hub';
import type { ConditionedDecoder, Seq2SeqLM } from '@attnkit/sampling';
import { argmax, eq, noGrad, ones, type Tensor, tensor, tidy, where } from '@attnkit/tensor-core';
import { LayerNorm, Module } from '@attnkit/tensor-core/nn';
import { cacheArg, reorderModelCache } from '../blocks/attention.js';
import { DecoderBlock } from '../blocks/decoder-block.js';
import { LMHead, SinusoidalEmbeddings } from '../blocks/embeddings.js';
import { EncoderBlock } from '../blocks/encoder-block.js';
import { activation } from '../blocks/feed-forward.js';
import { ConditionedSeq2SeqDecoder } from '../blocks/seq2seq.js';
import { check, configToJson, type FieldTable, idsArg, maskArg, resolveConfig } from '../internal.js';
import { PreTrainedModel } from './base.js';

/** Configuration of {@link EncoderDecoderModel} (torch nn.Transformer's names, camelCase). */
export interface EncoderDecoderConfig {
  /** One vocabulary for source and target. */
  vocabSize: number;
  dModel: number;
  nhead: number;
  numEncoderLayers: number;
  numDecoderLayers: number;
  dimFeedforward: number;
  dropout: number;
  activation: string;
  layerNormEps: number;
  /** Pre-LN layers (and a final LayerNorm on each stack) instead of the paper's post-LN. */
  normFirst: boolean;
  /** Longest sequence the sinusoidal table covers. */
  maxPositionEmbeddings: number;
  /** The output projection shares the embedding matrix (as the paper, section 3.4). */
  tieWordEmbeddings: boolean;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  /** First decoder input (bosTokenId when null). */
  decoderStartTokenId: number | null;
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 32000, kind: 'int', min: 1, max: LIMITS.vocab },
  dModel: { json: 'd_model', default: 512, kind: 'int', min: 1, max: LIMITS.hidden },
  nhead: { json: 'nhead', default: 8, kind: 'int', min: 1, max: LIMITS.heads },
  numEncoderLayers: { json: 'num_encoder_layers', default: 6, kind: 'int', min: 1, max: LIMITS.layers },
  numDecoderLayers: { json: 'num_decoder_layers', default: 6, kind: 'int', min: 1, max: LIMITS.layers },
  dimFeedforward: { json: 'dim_feedforward', default: 2048, kind: 'int', min: 1, max: LIMITS.intermediate },
  dropout: { json: 'dropout', default: 0.1, kind: 'number', min: 0, max: 1 },
  activation: { json: 'activation', default: 'relu', kind: 'string' },
  layerNormEps: { json: 'layer_norm_eps', default: 1e-5, kind: 'number', min: 0, exclusiveMin: true },
  normFirst: { json: 'norm_first', default: false, kind: 'bool' },
  maxPositionEmbeddings: {
    json: 'max_position_embeddings',
    default: 512,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
  },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  padTokenId: { json: 'pad_token_id', default: 0, kind: 'int' },
  bosTokenId: { json: 'bos_token_id', default: 1, kind: 'int' },
  eosTokenId: { json: 'eos_token_id', default: 2, kind: 'int' },
  decoderStartTokenId: { json: 'decoder_start_token_id', default: null, kind: 'int', nullable: true },
};

/** Fills an encoder-decoder config from camelCase options (the paper's base model by default). */
export function encoderDecoderConfig(options: Partial<EncoderDecoderConfig> = {}): EncoderDecoderConfig {
  const c = resolveConfig<EncoderDecoderConfig>(
    'EncoderDecoderConfig',
    FIELDS,
    options as Record<string, unknown>,
    false,
  );
  validate(c);
  return c;
}

/** Parses an encoder-decoder config.json object. */
export function encoderDecoderConfigFromJson(json: Record<string, unknown>): EncoderDecoderConfig {
  const c = resolveConfig<EncoderDecoderConfig>('EncoderDecoderConfig', FIELDS, json, true);
  validate(c);
  return c;
}

/** Parameters of an encoder-decoder config.json, within a few percent (norms and biases left out): no allocation. */
function encoderDecoderApproxParameters(json: Record<string, unknown>): number {
  const c = encoderDecoderConfigFromJson(json);
  const e = c.dModel;
  const ffn = 2 * e * c.dimFeedforward;
  return (
    (c.tieWordEmbeddings ? 1 : 2) * c.vocabSize * e +
    c.maxPositionEmbeddings * e +
    c.numEncoderLayers * (4 * e * e + ffn) +
    c.numDecoderLayers * (8 * e * e + ffn)
  );
}

function validate(c: EncoderDecoderConfig): void {
  const who = 'EncoderDecoderConfig';
  checkProduct(who, { vocab_size: c.vocabSize, d_model: c.dModel }, LIMITS.tensor, 'the token embedding');
  checkProduct(who, { dim_feedforward: c.dimFeedforward, d_model: c.dModel }, LIMITS.tensor, 'an MLP weight');
  check(
    c.nhead > 0 && c.dModel % c.nhead === 0,
    who,
    `d_model ${c.dModel} must be divisible by nhead ${c.nhead}`,
  );
  check(c.vocabSize > 0 && c.dModel > 0, who, 'vocab_size and d_model must be positive');
  for (const k of ['padTokenId', 'bosTokenId', 'eosTokenId'] as const) {
    check(c[k] < c.vocabSize, who, `${k} ${c[k]} is outside the vocabulary of ${c.vocabSize}`);
  }
  activation(c.activation, who);
}

/** A stack of blocks with an optional final LayerNorm (pre-LN models). */
export class TransformerStack<B extends Module> extends Module {
  constructor(
    public layers: B[],
    public norm: LayerNorm | null,
  ) {
    super();
  }
}

/** Inputs of {@link EncoderDecoderModel.forward}. */
export interface Seq2SeqInputs {
  /** Source ids, int32 [B, Ls]. */
  inputIds?: Tensor;
  /** Source mask [B, Ls]: 1 real, 0 padding. */
  attentionMask?: Tensor | null;
  /** Target ids fed to the decoder, int32 [B, Lt] (the start token, then the target shifted right). */
  decoderInputIds: Tensor;
  /** Target mask [B, past + Lt]: 1 real, 0 padding. */
  decoderAttentionMask?: Tensor | null;
  /** The encoder's output from an earlier call (skips encoding). */
  encoderOutputs?: Tensor | null;
  /** The decoder's self-attention cache from an earlier call. */
  pastKeyValues?: unknown;
  /** Return the decoder cache (default: in eval mode). */
  useCache?: boolean;
}

/** Outputs of {@link EncoderDecoderModel.forward}. */
export interface Seq2SeqOutputs {
  /** [B, Lt, V] */
  logits: Tensor;
  /** The encoder's output [B, Ls, E]. */
  encoderLastHiddenState: Tensor;
  /** The decoder's KV cache, or null. */
  pastKeyValues: KVCache | null;
}

/**
 * The 2017 encoder-decoder Transformer: sinusoidal positions, post-LN encoder and decoder stacks
 * (torch layer names under `encoder.layers.N.*` and `decoder.layers.N.*`), shared embeddings
 * (`embed.embedding.weight`) and a tied head. Saved and loaded with {@link saveModel} /
 * {@link loadPretrained} (architecture `EncoderDecoderTransformer`).
 *
 * @example
 * ```ts
 * const model = new EncoderDecoderModel({ vocabSize: 14, dModel: 64, nhead: 4, numEncoderLayers: 2,
 *   numDecoderLayers: 2, dimFeedforward: 128, dropout: 0 });
 * const src = tensor([[3, 4, 5, 2]], undefined, 'int32');
 * const tgtIn = tensor([[1, 5, 4]], undefined, 'int32');
 * const { logits } = model.forward({ inputIds: src, decoderInputIds: tgtIn });
 * logits.shape; // => [1, 3, 14]
 * const out = model.greedyGenerate(src, { maxNewTokens: 10 }); // number[][]
 * ```
 */
export class EncoderDecoderModel extends PreTrainedModel implements Seq2SeqLM {
  readonly modelType = 'attnkit-encoder-decoder';
  readonly architecture = 'EncoderDecoderTransformer';
  readonly config: EncoderDecoderConfig;
  embed: SinusoidalEmbeddings;
  encoder: TransformerStack<EncoderBlock>;
  decoder: TransformerStack<DecoderBlock>;
  lm_head: LMHead;

  constructor(config: Partial<EncoderDecoderConfig> | EncoderDecoderConfig = {}) {
    super();
    const c = 'extra' in config ? (config as EncoderDecoderConfig) : encoderDecoderConfig(config);
    this.config = c;
    const opts = {
      dimFeedforward: c.dimFeedforward,
      dropout: c.dropout,
      activation: c.activation as 'relu',
      layerNormEps: c.layerNormEps,
      normFirst: c.normFirst,
    };
    this.embed = new SinusoidalEmbeddings(c.vocabSize, c.dModel, c.maxPositionEmbeddings);
    const finalNorm = () => (c.normFirst ? new LayerNorm(c.dModel, { eps: c.layerNormEps }) : null);
    this.encoder = new TransformerStack(
      Array.from({ length: c.numEncoderLayers }, () => new EncoderBlock(c.dModel, c.nhead, opts)),
      finalNorm(),
    );
    this.decoder = new TransformerStack(
      Array.from({ length: c.numDecoderLayers }, () => new DecoderBlock(c.dModel, c.nhead, opts)),
      finalNorm(),
    );
    this.lm_head = new LMHead(c.dModel, c.vocabSize, {
      tiedTo: c.tieWordEmbeddings ? this.embed.embedding.weight : null,
      std: c.dModel ** -0.5,
    });
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return encoderDecoderApproxParameters(json);
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): EncoderDecoderModel {
    return new EncoderDecoderModel(encoderDecoderConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: this.modelType,
      architectures: [this.architecture],
    };
  }

  override tiedWeights(): [string, string][] {
    return this.config.tieWordEmbeddings ? [['lm_head.weight', 'embed.embedding.weight']] : [];
  }

  /** Source ids [B, Ls] (+ mask) → memory [B, Ls, E] */
  encode(inputIds: Tensor, attentionMask?: Tensor | null): Tensor {
    return this.run(() => this.encodeRaw(inputIds, attentionMask ?? null, 'EncoderDecoderModel.encode'));
  }

  private encodeRaw(inputIds: unknown, attentionMask: Tensor | null, who: string): Tensor {
    const ids = idsArg(inputIds, 'inputIds', who);
    const am = maskArg(attentionMask, 'attentionMask', who, ids.shape);
    const kpm = am ? eq(am, 0) : null; // true = padding
    let h = this.embed.forward(ids); // [B, Ls, E]
    for (const layer of this.encoder.layers) h = layer.forward(h, { keyPaddingMask: kpm });
    return this.encoder.norm ? this.encoder.norm.forward(h) : h;
  }

  /** Source and shifted target → logits [B, Lt, V] (teacher forcing), or one decoding step with a cache. */
  override forward(inputs: Seq2SeqInputs): Seq2SeqOutputs {
    const who = 'EncoderDecoderModel.forward';
    if (!inputs || typeof inputs !== 'object')
      throw new TypeError(`${who}: expected { inputIds, decoderInputIds, ... }`);
    return this.run(() => {
      const memory =
        inputs.encoderOutputs ?? this.encodeRaw(inputs.inputIds, inputs.attentionMask ?? null, who); // [B, Ls, E]
      const tgt = idsArg(inputs.decoderInputIds, 'decoderInputIds', who); // [B, Lt]
      const [b, lt] = tgt.shape;
      if (memory.shape[0] !== b) {
        throw new Error(
          `${who}: the source batch (${memory.shape[0]}) and decoderInputIds batch (${b}) differ`,
        );
      }
      const past = cacheArg(inputs.pastKeyValues, this.config.numDecoderLayers, who);
      const pastLen = past?.length ?? 0;
      const useCache = inputs.useCache ?? (past !== null || !this.training);
      const cache = past ?? (useCache ? new KVCache({ numLayers: this.config.numDecoderLayers }) : null);
      const srcMask = inputs.encoderOutputs
        ? maskArg(inputs.attentionMask, 'attentionMask', who, memory.shape.slice(0, 2))
        : maskArg(inputs.attentionMask, 'attentionMask', who, [b, memory.shape[1]]);
      const tgtMask = maskArg(inputs.decoderAttentionMask, 'decoderAttentionMask', who, [b, pastLen + lt]);
      const memoryKeyPaddingMask = srcMask ? eq(srcMask, 0) : null;
      const tgtKeyPaddingMask = tgtMask ? eq(tgtMask, 0) : null;
      let h = this.embed.forward(tgt, pastLen); // [B, Lt, E]
      this.decoder.layers.forEach((layer, i) => {
        h = layer.forward(h, memory, {
          memoryKeyPaddingMask,
          tgtKeyPaddingMask,
          cache: cache ? cache.layer(i) : null,
        });
      });
      if (this.decoder.norm) h = this.decoder.norm.forward(h);
      return { logits: this.lm_head.forward(h), encoderLastHiddenState: memory, pastKeyValues: cache };
    });
  }

  /** A cache with its batch rows reordered. */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): KVCache {
    return reorderModelCache(pastKeyValues, beamIndices, 'EncoderDecoderModel.reorderCache');
  }

  /** The first decoder token: decoderStartTokenId, else bosTokenId. */
  get decoderStartTokenId(): number {
    return this.config.decoderStartTokenId ?? this.config.bosTokenId;
  }

  /**
   * Encodes a source batch once and returns the decoder bound to it, so that `@attnkit/sampling`'s
   * generate() and stream() drive this model (greedy, sampling, beam search).
   */
  seq2seqDecoder(inputIds: Tensor, attentionMask: Tensor | null = null): ConditionedDecoder {
    const who = 'EncoderDecoderModel.seq2seqDecoder';
    const { memory, mask } = noGrad(() =>
      tidy(() => {
        const ids = idsArg(inputIds, 'inputIds', who);
        const m = maskArg(attentionMask, 'attentionMask', who, ids.shape);
        return { memory: this.encodeRaw(ids, m, who), mask: m ? where(eq(m, 0), 0, 1) : ones(ids.shape) };
      }),
    );
    return new ConditionedSeq2SeqDecoder(
      memory,
      mask,
      (x) => this.forward(x),
      'EncoderDecoderModel',
      (past, beamIndices) => reorderModelCache(past, beamIndices, 'EncoderDecoderModel.reorderCache'),
    );
  }

  /**
   * Greedy decoding with the decoder's KV cache: encodes `inputIds` [B, Ls] once, then emits the
   * argmax token until every row has produced `eosTokenId` or `maxNewTokens` tokens. Returns the
   * generated ids of each row, without the start token and the end token.
   */
  greedyGenerate(
    inputIds: Tensor,
    options: { maxNewTokens?: number; attentionMask?: Tensor | null } = {},
  ): number[][] {
    const who = 'EncoderDecoderModel.greedyGenerate';
    const max = options.maxNewTokens ?? 32;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `${who}: maxNewTokens must be a positive integer, got ${String(options.maxNewTokens)}`,
      );
    }
    const start = this.config.decoderStartTokenId ?? this.config.bosTokenId;
    const eos = this.config.eosTokenId;
    return noGrad(() => {
      const memory = tidy(() => this.encodeRaw(inputIds, options.attentionMask ?? null, who));
      const b = memory.shape[0];
      const out: number[][] = Array.from({ length: b }, () => []);
      const done = new Array<boolean>(b).fill(false);
      const cache = new KVCache({ numLayers: this.config.numDecoderLayers });
      let next = new Array<number>(b).fill(start);
      try {
        for (let step = 0; step < max && !done.every(Boolean); step++) {
          const ids = tidy(() => {
            const tgt = tensor(Int32Array.from(next), [b, 1], 'int32');
            const { logits } = this.forward({
              encoderOutputs: memory,
              attentionMask: options.attentionMask ?? null,
              decoderInputIds: tgt,
              pastKeyValues: cache,
            });
            return argmax(logits.sliceDim(1, 0, 1).squeeze(1), -1);
          });
          next = Array.from(ids.dataSync());
          ids.dispose();
          next.forEach((t, i) => {
            if (done[i]) return;
            if (t === eos) done[i] = true;
            else out[i].push(t);
          });
        }
      } finally {
        cache.dispose();
        memory.dispose();
      }
      return out;
    });
  }
}
