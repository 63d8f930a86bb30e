// GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"), with Hugging
// Face's parameter names: a pre-LN decoder-only transformer with learned positions, gelu_new and a
// head tied to the token embedding.
//
//   ids [B, L] ─ wte + wpe ─▶ h [B, L, E] ─▶ n_layer × Block ─▶ ln_f ─▶ lm_head ─▶ logits [B, L, V]
//   Block: h = h + attn(ln_1(h));  h = h + mlp(ln_2(h))
//
// GPT-2's linear layers are "Conv1D": weight [in, out] (transposed from nn.Linear), y = x W + b.

import type { KVCache, LayerKVCache } from '@attnkit/attention';
import { COMMON_REFUSED, checkProduct, LIMITS, type RefusedKeys } from '@attnkit/hub';
import type { CausalLM } from '@attnkit/sampling';
import { add, dropout, type LinearActivation, linear, type Tensor } from '@attnkit/tensor-core';
import {
  type Embedding,
  LayerNorm,
  Module,
  type Parameter,
  type QuantizeContext,
} from '@attnkit/tensor-core/nn';
import {
  attend,
  cacheArg,
  cropModelCache,
  keyPaddingMask,
  mergeHeads,
  newModelCache,
  reorderModelCache,
  splitHeads,
} from '../blocks/attention.js';
import { LMHead, normalParameter, tokenEmbedding, zeroParameter } from '../blocks/embeddings.js';
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

/** GPT-2's configuration (config.json names in camelCase; defaults are gpt2-small's). */
export interface GPT2Config {
  vocabSize: number;
  /** Maximum sequence length (learned positions). */
  nPositions: number;
  /** Hidden size E. */
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** MLP width (4·E when null). */
  nInner: number | null;
  activationFunction: string;
  residPdrop: number;
  embdPdrop: number;
  attnPdrop: number;
  layerNormEpsilon: number;
  /** Divide attention scores by √D (true). */
  scaleAttnWeights: boolean;
  /** Also divide layer i's scores by i + 1 (false). */
  scaleAttnByInverseLayerIdx: boolean;
  /** lm_head shares wte's weight (true). */
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
  /** config.json fields this class does not use, kept for saving. */
  extra: Record<string, unknown>;
}

const FIELDS: FieldTable = {
  vocabSize: { json: 'vocab_size', default: 50257, kind: 'int', min: 1, max: LIMITS.vocab },
  nPositions: {
    json: 'n_positions',
    default: 1024,
    kind: 'int',
    min: 1,
    max: LIMITS.positions,
    aliases: ['max_position_embeddings'],
  },
  nEmbd: { json: 'n_embd', default: 768, kind: 'int', min: 1, max: LIMITS.hidden, aliases: ['hidden_size'] },
  nLayer: {
    json: 'n_layer',
    default: 12,
    kind: 'int',
    min: 1,
    max: LIMITS.layers,
    aliases: ['num_hidden_layers'],
  },
  nHead: {
    json: 'n_head',
    default: 12,
    kind: 'int',
    min: 1,
    max: LIMITS.heads,
    aliases: ['num_attention_heads'],
  },
  nInner: { json: 'n_inner', default: null, kind: 'int', min: 1, max: LIMITS.intermediate, nullable: true },
  activationFunction: { json: 'activation_function', default: 'gelu_new', kind: 'string' },
  residPdrop: { json: 'resid_pdrop', default: 0.1, kind: 'number', min: 0, max: 1 },
  embdPdrop: { json: 'embd_pdrop', default: 0.1, kind: 'number', min: 0, max: 1 },
  attnPdrop: { json: 'attn_pdrop', default: 0.1, kind: 'number', min: 0, max: 1 },
  layerNormEpsilon: { json: 'layer_norm_epsilon', default: 1e-5, kind: 'number', min: 0, exclusiveMin: true },
  scaleAttnWeights: { json: 'scale_attn_weights', default: true, kind: 'bool' },
  scaleAttnByInverseLayerIdx: { json: 'scale_attn_by_inverse_layer_idx', default: false, kind: 'bool' },
  tieWordEmbeddings: { json: 'tie_word_embeddings', default: true, kind: 'bool' },
  bosTokenId: { json: 'bos_token_id', default: 50256, kind: 'int', nullable: true },
  eosTokenId: { json: 'eos_token_id', default: 50256, kind: 'int', nullable: true },
};

/** Fills a GPT-2 config from camelCase options with gpt2-small's defaults. */
export function gpt2Config(options: Partial<GPT2Config> = {}): GPT2Config {
  const c = resolveConfig<GPT2Config>('GPT2Config', FIELDS, options as Record<string, unknown>, false);
  validate(c);
  return c;
}

/** Parses a GPT-2 config.json object (snake_case names), with defaults for absent fields. */
export function gpt2ConfigFromJson(json: Record<string, unknown>): GPT2Config {
  const c = resolveConfig<GPT2Config>('GPT2Config', FIELDS, json, true, { refuse: REFUSED });
  validate(c);
  return c;
}

/** config.json keys GPT-2 checkpoints may set that change the computation and are not implemented. */
const REFUSED: RefusedKeys = {
  ...COMMON_REFUSED,
  add_cross_attention: { why: 'cross-attention layers (GPT-2 as a decoder of an encoder)', allowed: [false] },
};

/** Parameters of a GPT-2 config, within a few percent (norms and biases left out): no allocation. */
export function gpt2ApproxParameters(c: GPT2Config): number {
  const e = c.nEmbd;
  const inner = c.nInner ?? 4 * e;
  return (
    (c.tieWordEmbeddings ? 1 : 2) * c.vocabSize * e +
    c.nPositions * e +
    c.nLayer * (4 * e * e + 2 * e * inner)
  );
}

function validate(c: GPT2Config): void {
  checkProduct(
    'GPT2Config',
    { vocab_size: c.vocabSize, n_embd: c.nEmbd },
    LIMITS.tensor,
    'the token embedding',
  );
  checkProduct(
    'GPT2Config',
    { n_positions: c.nPositions, n_embd: c.nEmbd },
    LIMITS.tensor,
    'the position embedding',
  );
  checkProduct(
    'GPT2Config',
    { n_inner: c.nInner ?? 4 * c.nEmbd, n_embd: c.nEmbd },
    LIMITS.tensor,
    'an MLP weight',
  );
  check(
    c.nHead > 0 && c.nEmbd % c.nHead === 0,
    'GPT2Config',
    `n_embd ${c.nEmbd} must be divisible by n_head ${c.nHead}`,
  );
  for (const k of ['vocabSize', 'nPositions', 'nEmbd', 'nLayer'] as const) {
    check(c[k] > 0, 'GPT2Config', `${k} must be positive, got ${c[k]}`);
  }
  activation(c.activationFunction, 'GPT2Config');
}

/** Hugging Face activation names that a linear epilogue computes (the same function). */
const FUSED_ACTIVATIONS: Record<string, LinearActivation> = {
  relu: 'relu',
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
  tanh: 'tanh',
};

/** GPT-2's "Conv1D": a linear layer with weight [nx, nf] (in, out), y = x W + b. */
export class Conv1D extends Module {
  /** [nx, nf] */
  weight: Parameter;
  /** [nf] */
  bias: Parameter;

  constructor(nf: number, nx: number, std = 0.02) {
    super();
    this.weight = normalParameter([nx, nf], std);
    this.bias = zeroParameter([nf]);
  }

  /**
   * x [..., nx] → [..., nf]; `activation` applied after the bias (one fused kernel on backends
   * with a linear epilogue, when no gradient is recorded).
   */
  override forward(x: Tensor, activation: LinearActivation | null = null): Tensor {
    return linear(x, this.weight.T, this.bias, { activation });
  }

  /** The int8 (or 16-bit) layer for nn's `quantize`: the weight read as [nf, nx], as nn.Linear stores it. */
  toQuantized(ctx: QuantizeContext, name: string): Module {
    return ctx.linear(this.weight, this.bias, name, true);
  }
}

/** Causal self-attention with packed q/k/v (`c_attn`) and an output projection (`c_proj`). */
export class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;

  constructor(
    readonly config: GPT2Config,
    readonly layerIdx: number,
  ) {
    super();
    const e = config.nEmbd;
    this.c_attn = new Conv1D(3 * e, e);
    this.c_proj = new Conv1D(e, e, 0.02 / Math.sqrt(2 * config.nLayer));
  }

  /** x [B, L, E] → [B, L, E] */
  override forward(x: Tensor, cache: LayerKVCache | null, mask: Tensor | null): Tensor {
    const { nEmbd: e, nHead: h } = this.config;
    const d = e / h;
    const qkv = this.c_attn.forward(x); // [B, L, 3E]
    const q = splitHeads(qkv.sliceDim(-1, 0, e), h, d); // [B, H, L, D]
    const k = splitHeads(qkv.sliceDim(-1, e, 2 * e), h, d);
    const v = splitHeads(qkv.sliceDim(-1, 2 * e, 3 * e), h, d);
    let scale = this.config.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
    if (this.config.scaleAttnByInverseLayerIdx) scale /= this.layerIdx + 1;
    const o = attend(q, k, v, {
      cache,
      mask,
      causal: true,
      scale,
      dropoutP: this.training ? this.config.attnPdrop : 0,
    }); // [B, H, L, D]
    const y = this.c_proj.forward(mergeHeads(o));
    return this.config.residPdrop > 0 ? dropout(y, this.config.residPdrop, this.training) : y;
  }
}

/** The MLP: c_fc (E → 4E), activation, c_proj (4E → E). */
export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  private readonly act: (x: Tensor) => Tensor;

  constructor(readonly config: GPT2Config) {
    super();
    const inner = config.nInner ?? 4 * config.nEmbd;
    this.c_fc = new Conv1D(inner, config.nEmbd);
    this.c_proj = new Conv1D(config.nEmbd, inner, 0.02 / Math.sqrt(2 * config.nLayer));
    this.act = activation(config.activationFunction);
    this.fused = FUSED_ACTIVATIONS[config.activationFunction] ?? null;
  }
  /** The activation as a linear epilogue, when the backend kernels have it. */
  private readonly fused: LinearActivation | null;

  /** x [B, L, E] → [B, L, E] */
  override forward(x: Tensor): Tensor {
    const h = this.fused ? this.c_fc.forward(x, this.fused) : this.act(this.c_fc.forward(x));
    const y = this.c_proj.forward(h);
    return this.config.residPdrop > 0 ? dropout(y, this.config.residPdrop, this.training) : y;
  }
}

/** A pre-LN block: h + attn(ln_1(h)), then h + mlp(ln_2(h)). */
export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;

  constructor(config: GPT2Config, layerIdx: number) {
    super();
    const eps = config.layerNormEpsilon;
    this.ln_1 = new LayerNorm(config.nEmbd, { eps });
    this.attn = new GPT2Attention(config, layerIdx);
    this.ln_2 = new LayerNorm(config.nEmbd, { eps });
    this.mlp = new GPT2MLP(config);
  }

  /** h [B, L, E] → [B, L, E] */
  override forward(h: Tensor, cache: LayerKVCache | null, mask: Tensor | null): Tensor {
    const a = add(h, this.attn.forward(this.ln_1.forward(h), cache, mask));
    return add(a, this.mlp.forward(this.ln_2.forward(a)));
  }
}

/** Inputs of a causal language model's forward (Hugging Face names in camelCase). */
export interface CausalLMForwardInputs {
  /** int32 [B, L]: the whole sequence, or only the new tokens when `pastKeyValues` is given. */
  inputIds: Tensor;
  /** [B, past + L], 1 for real tokens and 0 for padding. */
  attentionMask?: Tensor | null;
  /** int32 [B, L] positions (default past .. past + L - 1). */
  positionIds?: Tensor | null;
  /** The cache a previous call returned (it grows in place and is returned again). */
  pastKeyValues?: unknown;
  /** Return a KV cache (default true in eval mode, false while training). */
  useCache?: boolean;
}

/** Outputs of a causal language model's forward. */
export interface CausalLMForwardOutputs {
  /** float32 [B, L, vocab] */
  logits: Tensor;
  /** The KV cache for the next call (null with `useCache: false`). Dispose it when done. */
  pastKeyValues: KVCache | null;
}

function maxPosition(pos: Tensor): number {
  if (!pos.backend.readSync) return -1;
  let m = -1;
  for (const v of pos.dataSync()) if (v > m) m = v;
  return m;
}

/** The bare GPT-2 transformer (names `wte`, `wpe`, `h.N.*`, `ln_f`). */
export class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  h: GPT2Block[];
  ln_f: LayerNorm;

  constructor(readonly config: GPT2Config) {
    super();
    this.wte = tokenEmbedding(config.vocabSize, config.nEmbd, 0.02);
    this.wpe = tokenEmbedding(config.nPositions, config.nEmbd, 0.01);
    this.h = Array.from({ length: config.nLayer }, (_, i) => new GPT2Block(config, i));
    this.ln_f = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
  }

  /** → hidden states [B, L, E] after ln_f, and the cache. */
  override forward(
    inputs: CausalLMForwardInputs,
    who = 'GPT2Model.forward',
  ): { lastHiddenState: Tensor; pastKeyValues: KVCache | null } {
    if (!inputs || typeof inputs !== 'object') throw new TypeError(`${who}: expected { inputIds, ... }`);
    const ids = idsArg(inputs.inputIds, 'inputIds', who); // [B, L]
    const [b, l] = ids.shape;
    const past = cacheArg(inputs.pastKeyValues, this.config.nLayer, who);
    const pastLen = past?.length ?? 0;
    const am = maskArg(inputs.attentionMask, 'attentionMask', who, [b, pastLen + l]);
    const pos = maskArg(inputs.positionIds, 'positionIds', who, [b, l]) ?? rangeIds(b, pastLen, l);
    const last = inputs.positionIds ? maxPosition(pos) : pastLen + l - 1;
    if (last >= this.config.nPositions) {
      throw new RangeError(
        `${who}: position ${last} is beyond n_positions ${this.config.nPositions} of this model (it has learned positions 0..${this.config.nPositions - 1})`,
      );
    }
    const useCache = inputs.useCache ?? (past !== null || !this.training);
    const cache = past ?? (useCache ? newModelCache(this.config.nLayer) : null);
    const mask = keyPaddingMask(am); // [B, 1, 1, past + L] or null
    let h = add(this.wte.forward(ids), this.wpe.forward(pos)); // [B, L, E]
    if (this.config.embdPdrop > 0) h = dropout(h, this.config.embdPdrop, this.training);
    this.h.forEach((block, i) => {
      h = block.forward(h, cache ? cache.layer(i) : null, mask);
    });
    return { lastHiddenState: this.ln_f.forward(h), pastKeyValues: cache };
  }
}

/**
 * GPT-2 with its language-model head, as transformers' GPT2LMHeadModel: parameter names
 * `transformer.*` and `lm_head.weight` (tied to `transformer.wte.weight` unless
 * `tieWordEmbeddings` is false). `forward` follows the `CausalLM` interface of
 * `@attnkit/sampling`, so `generate(model, ...)` drives it with the KV cache.
 *
 * @example
 * ```ts
 * const model = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100 }).eval();
 * const { logits, pastKeyValues } = model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32') });
 * const next = model.forward({ inputIds: tensor([[4]], undefined, 'int32'), pastKeyValues });
 * ```
 */
export class GPT2LMHeadModel extends PreTrainedModel implements CausalLM {
  readonly modelType = 'gpt2';
  readonly architecture = 'GPT2LMHeadModel';
  readonly config: GPT2Config;
  transformer: GPT2Model;
  lm_head: LMHead;

  constructor(config: Partial<GPT2Config> | GPT2Config = {}) {
    super();
    this.config = 'extra' in config ? (config as GPT2Config) : gpt2Config(config);
    this.transformer = new GPT2Model(this.config);
    this.lm_head = new LMHead(this.config.nEmbd, this.config.vocabSize, {
      tiedTo: this.config.tieWordEmbeddings ? this.transformer.wte.weight : null,
    });
  }

  /** A model from a parsed config.json object. */
  static fromConfigJson(json: Record<string, unknown>): GPT2LMHeadModel {
    return new GPT2LMHeadModel(gpt2ConfigFromJson(json));
  }

  /** The parameter count a config.json describes, within a few percent, without allocating. */
  static approxParameters(json: Record<string, unknown>): number {
    return gpt2ApproxParameters(gpt2ConfigFromJson(json));
  }

  override configJson(): Record<string, unknown> {
    return {
      ...configToJson(FIELDS, this.config as unknown as Record<string, unknown>),
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
    };
  }

  override tiedWeights(): [string, string][] {
    return this.config.tieWordEmbeddings ? [['lm_head.weight', 'transformer.wte.weight']] : [];
  }

  override ignoredKeys(): RegExp[] {
    return [/(^|\.)attn\.(masked_)?bias$/];
  }

  override basePrefix(): string {
    return 'transformer.';
  }

  /**
   * ids [B, L] → logits [B, L, V] and the KV cache. Pass `pastKeyValues` back with only the new
   * tokens to continue; the cache grows in place.
   */
  override forward(inputs: CausalLMForwardInputs): CausalLMForwardOutputs {
    return this.run(() => {
      const out = this.transformer.forward(inputs, 'GPT2LMHeadModel.forward');
      return { logits: this.lm_head.forward(out.lastHiddenState), pastKeyValues: out.pastKeyValues };
    });
  }

  /** A cache with its batch rows reordered (beam search); see `@attnkit/sampling`. */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): KVCache {
    return reorderModelCache(pastKeyValues, beamIndices, 'GPT2LMHeadModel.reorderCache');
  }

  /** Keeps the first `length` positions of a cache, in place (speculative decoding's rollback). */
  cropCache(pastKeyValues: unknown, length: number): KVCache {
    return cropModelCache(pastKeyValues, length, 'GPT2LMHeadModel.cropCache');
  }
}
