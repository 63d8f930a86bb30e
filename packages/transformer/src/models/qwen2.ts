// Qwen2 (Qwen team 2024), with Hugging Face's parameter names: Mistral's decoder (mistral.ts) with
// biases on the query, key and value projections (not on o_proj), and sliding windows that apply to
// some layers only: with `use_sliding_window`, the layers listed as 'sliding_attention' in
// `layer_types` (transformers 5), or the layers from `max_window_layers` on (transformers 4).
//
//   self_attn: q = x W_qᵀ + b_q, k = x W_kᵀ + b_k, v = x W_vᵀ + b_v;  out = o W_oᵀ (no bias)
import { check, describe, type FieldTable, resolveConfig } from '../internal.js';
import {
  type DecoderConfigBase,
  DecoderForCausalLM,
  type DecoderLayout,
  decoderFields,
  MistralModel,
  validateDecoderConfig,
} from './mistral.js';

/** Qwen2's configuration (config.json names in camelCase; defaults are Qwen2-7B's, as transformers' Qwen2Config). */
export interface Qwen2Config extends DecoderConfigBase {
  /** Turns the sliding window on (`sliding_window` is ignored without it, as in transformers). */
  useSlidingWindow: boolean;
  /** transformers 4: layers with index >= this use the window. */
  maxWindowLayers: number;
  /** transformers 5: 'full_attention' or 'sliding_attention' per layer (derived when null). */
  layerTypes: string[] | null;
}

const FIELDS: FieldTable = {
  ...decoderFields({
    vocabSize: 151936,
    hiddenSize: 4096,
    intermediateSize: 22016,
    numHiddenLayers: 32,
    numAttentionHeads: 32,
    numKeyValueHeads: 32,
    maxPositionEmbeddings: 32768,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    slidingWindow: 4096,
    bosTokenId: null,
    eosTokenId: null,
  }),
  useSlidingWindow: { json: 'use_sliding_window', default: false, kind: 'bool' },
  maxWindowLayers: { json: 'max_window_layers', default: 28, kind: 'int' },
  layerTypes: { json: 'layer_types', default: null, kind: 'any', nullable: true },
};

const LAYER_TYPES = ['full_attention', 'sliding_attention'];

function validate(c: Qwen2Config): void {
  const who = 'Qwen2Config';
  validateDecoderConfig(c, who);
  if (c.layerTypes !== null) {
    check(
      Array.isArray(c.layerTypes) && c.layerTypes.length === c.numHiddenLayers,
      who,
      `layer_types must list num_hidden_layers = ${c.numHiddenLayers} entries, got ${describe(c.layerTypes)}`,
    );
    c.layerTypes.forEach((t, i) => {
      check(
        LAYER_TYPES.includes(t),
        who,
        `layer_types[${i}] ${describe(t)} is not implemented (implemented: ${LAYER_TYPES.join(', ')})`,
      );
    });
  }
}

/** The window of each layer, as transformers' Qwen2Config derives it. */
export function qwen2Windows(c: Qwen2Config): (number | null)[] {
  const window = c.useSlidingWindow ? c.slidingWindow : null;
  return Array.from({ length: c.numHiddenLayers }, (_, i) => {
    const sliding = c.layerTypes ? c.layerTypes[i] === 'sliding_attention' : i >= c.maxWindowLayers;
    return sliding ? window : null;
  });
}

function qwen2Layout(c: Qwen2Config): DecoderLayout {
  return { qkvBias: true, oBias: false, windows: qwen2Windows(c) };
}

/** Fills a Qwen2 config from camelCase options with Qwen2-7B's defaults. */
export function qwen2Config(options: Partial<Qwen2Config> = {}): Qwen2Config {
  const c = resolveConfig<Qwen2Config>('Qwen2Config', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a Qwen2 config.json object (transformers 4 or 5 keys). */
export function qwen2ConfigFromJson(json: Record<string, unknown>): Qwen2Config {
  const c = resolveConfig<Qwen2Config>('Qwen2Config', FIELDS, json, true);
  validate(c);
  return c;
}

/**
 * Qwen2 with its language-model head, as transformers' Qwen2ForCausalLM: names `model.*` (with
 * `self_attn.{q,k,v}_proj.bias`) and `lm_head.weight`, tied to the embeddings when
 * `tieWordEmbeddings` (the small Qwen2 models tie). `forward` follows `@attnkit/sampling`'s CausalLM
 * interface.
 *
 * @example
 * ```ts
 * const model = new Qwen2ForCausalLM({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
 *   numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 100, tieWordEmbeddings: true }).eval();
 * const { logits } = model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32') });
 * ```
 */
export class Qwen2ForCausalLM extends DecoderForCausalLM<Qwen2Config> {
  readonly modelType: string = 'qwen2';
  readonly architecture: string = 'Qwen2ForCausalLM';

  constructor(config: Partial<Qwen2Config> | Qwen2Config = {}) {
    const c = 'extra' in config ? (config as Qwen2Config) : qwen2Config(config);
    super(c, new MistralModel(c, qwen2Layout(c)));
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): Qwen2ForCausalLM {
    return new Qwen2ForCausalLM(qwen2ConfigFromJson(json));
  }

  protected fields(): FieldTable {
    return FIELDS;
  }
}
