// Multi-head attention with torch.nn.MultiheadAttention's parameters and semantics (batch_first=True):
// project q, k, v; split into heads; scaled dot-product attention; merge heads; project out.
import {
  add,
  concat,
  type Generator,
  getDefaultGenerator,
  isFloat,
  linear,
  logicalAnd,
  logicalNot,
  mean,
  ones,
  type Tensor,
  where,
  zeros,
} from '@attnkit/tensor-core';
import {
  init,
  Linear,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  Parameter,
} from '@attnkit/tensor-core/nn';
import { assertFloatArg, assertPositiveInt, assertTensorArg, fmtShape } from './internal.js';
import type { LayerKVCache } from './kv-cache.js';
import { scaledDotProductAttention } from './scaled-dot-product.js';

/** Options of the {@link MultiHeadAttention} constructor (torch's arguments, camelCase). */
export interface MultiHeadAttentionOptions {
  /** Model dimension E (query features and output). */
  embedDim: number;
  /** Number of heads H; E must be divisible by H. */
  numHeads: number;
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Key features (default E). When kdim or vdim differ from E, q/k/v weights are stored separately, as torch. */
  kdim?: number;
  /** Learn one extra key and value (`bias_k`, `bias_v` [1, 1, E]) appended to every sequence, as torch's add_bias_kv. */
  addBiasKV?: boolean;
  /** Append a key and value of zeros per head (after bias_k/bias_v), as torch's add_zero_attn. */
  addZeroAttn?: boolean;
  /** Value features (default E). */
  vdim?: number;
  /** Generator for the initial weights and dropout (the global one by default). */
  generator?: Generator;
  /** Label of this layer in {@link captureAttention} records. */
  name?: string;
}

/** Options of {@link MultiHeadAttention.forward}. */
export interface MultiHeadAttentionForwardOptions {
  /** [B, Lk] (or [Lk] unbatched): true (or 1) = ignore that key, as torch; a float mask is added. */
  keyPaddingMask?: Tensor | null;
  /**
   * [Lq, Lk] or [B·H, Lq, Lk] (index b·H + h, as torch): bool true = NOT allowed (torch MHA's
   * convention, the opposite of SDPA's); a float mask is added to the scores.
   */
  attnMask?: Tensor | null;
  /** Return the attention weights (default true, as torch). false lets a fused kernel run. */
  needWeights?: boolean;
  /** Average the weights over heads to [B, Lq, Lk] (default true), else [B, H, Lq, Lk]. */
  averageWeights?: boolean;
  /** Causal masking (bottom-right aligned), in addition to any attnMask. */
  isCausal?: boolean;
  /** A layer's KV cache: the new keys/values are appended and attention runs over all of them. */
  cache?: LayerKVCache;
}

/** Output of {@link MultiHeadAttention.forward}. */
export interface MultiHeadAttentionResult {
  /** [B, Lq, E] (or [Lq, E] for unbatched input). */
  output: Tensor;
  /** [B, Lq, Lk] averaged or [B, H, Lq, Lk] per head; null when needWeights is false. */
  weights: Tensor | null;
}

const FN = 'MultiHeadAttention';

/**
 * Multi-head attention, parameter for parameter torch.nn.MultiheadAttention with `batch_first=True`:
 * `in_proj_weight` [3E, E] and `in_proj_bias` [3E] (or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim/vdim differ from E), `out_proj.weight` [E, E], `out_proj.bias` [E].
 * Self-, cross- and masked attention. A query whose keys are all masked gives zeros (torch: NaN).
 *
 * `loadStateDict` takes a torch state dict directly, or separate projections
 * (`q_proj.weight`, `k_proj.weight`, `v_proj.weight`, their biases, `out_proj.*` or `o_proj.*`).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { readSafetensors } from '@attnkit/tensor-core/io';
 * const mha = new MultiHeadAttention({ embedDim: 16, numHeads: 2 });
 * // a torch nn.MultiheadAttention(16, 2, batch_first=True) state_dict
 * const bytes = readFileSync('packages/attention/test/fixtures/torch/mha_self_key_padding/state_dict.safetensors');
 * mha.loadStateDict(await readSafetensors(bytes));
 * const x = randn([2, 5, 16]);
 * const keyPaddingMask = tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], undefined, 'bool'); // true = padding
 * const { output, weights } = mha.forward(x, x, x, { keyPaddingMask });
 * [output.shape, weights?.shape]; // => [[2, 5, 16], [2, 5, 5]]
 * ```
 */
export class MultiHeadAttention extends Module {
  /** Packed q/k/v projection [3E, E] (null when kdim or vdim differ from E). */
  in_proj_weight: Parameter | null = null;
  /** Separate q projection [E, E] (only when kdim or vdim differ from E, as torch). */
  q_proj_weight: Parameter | null = null;
  /** Separate k projection [E, kdim]. */
  k_proj_weight: Parameter | null = null;
  /** Separate v projection [E, vdim]. */
  v_proj_weight: Parameter | null = null;
  /** q/k/v biases [3E], or null without bias. */
  in_proj_bias: Parameter | null = null;
  /** Extra learned key [1, 1, E] (add_bias_kv), or null. */
  bias_k: Parameter | null = null;
  /** Extra learned value [1, 1, E] (add_bias_kv), or null. */
  bias_v: Parameter | null = null;
  /** Output projection E → E (`out_proj.weight`, `out_proj.bias`). */
  out_proj: Linear;
  /** Label of this layer in {@link captureAttention} records. */
  name: string | undefined;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly bias: boolean;
  /** See {@link MultiHeadAttentionOptions.addBiasKV}. */
  readonly addBiasKV: boolean;
  /** See {@link MultiHeadAttentionOptions.addZeroAttn}. */
  readonly addZeroAttn: boolean;
  /** True when q, k and v share one packed `in_proj_weight` (kdim = vdim = E). */
  readonly packed: boolean;
  private readonly generator: Generator;

  constructor(options: MultiHeadAttentionOptions) {
    super();
    if (!options || typeof options !== 'object') {
      throw new TypeError(
        `${FN}: expected an options object { embedDim, numHeads, ... }, got ${String(options)}`,
      );
    }
    const { embedDim, numHeads } = options;
    assertPositiveInt(embedDim, 'embedDim', FN);
    assertPositiveInt(numHeads, 'numHeads', FN);
    if (embedDim % numHeads !== 0) {
      throw new Error(`${FN}: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    const kdim = options.kdim ?? embedDim;
    const vdim = options.vdim ?? embedDim;
    assertPositiveInt(kdim, 'kdim', FN);
    assertPositiveInt(vdim, 'vdim', FN);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
      throw new RangeError(`${FN}: 'dropout' must be a number in [0, 1), got ${String(dropout)}`);
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = kdim;
    this.vdim = vdim;
    this.dropout = dropout;
    this.bias = options.bias ?? true;
    this.addBiasKV = options.addBiasKV === true;
    this.addZeroAttn = options.addZeroAttn === true;
    this.packed = kdim === embedDim && vdim === embedDim;
    this.generator = options.generator ?? getDefaultGenerator();
    this.name = options.name;
    // torch's _reset_parameters: xavier_uniform on the input projections, zeros for the biases;
    // out_proj keeps Linear's kaiming-uniform weight with a zero bias.
    const e = embedDim;
    const generator = this.generator;
    const xavier = (shape: number[]) => {
      const p = new Parameter(zeros(shape));
      init.xavierUniform_(p, 1, { generator });
      return p;
    };
    if (this.packed) this.in_proj_weight = xavier([3 * e, e]);
    else {
      this.q_proj_weight = xavier([e, e]);
      this.k_proj_weight = xavier([e, kdim]);
      this.v_proj_weight = xavier([e, vdim]);
    }
    if (this.bias) this.in_proj_bias = new Parameter(zeros([3 * e]));
    if (this.addBiasKV) {
      this.bias_k = new Parameter(zeros([1, 1, e]));
      this.bias_v = new Parameter(zeros([1, 1, e]));
      init.xavierNormal_(this.bias_k, 1, { generator });
      init.xavierNormal_(this.bias_v, 1, { generator });
    }
    this.out_proj = new Linear(e, e, { bias: this.bias, generator });
    if (this.out_proj.bias) init.zeros_(this.out_proj.bias);
  }

  /**
   * Attention of `query` [B, Lq, E] over `key` [B, Lk, kdim] and `value` [B, Lk, vdim] (key and
   * value default to the query: self-attention). Unbatched [L, E] inputs are accepted as torch.
   */
  override forward(
    query: Tensor,
    key: Tensor = query,
    value: Tensor = key,
    options: MultiHeadAttentionForwardOptions = {},
  ): MultiHeadAttentionResult {
    assertTensorArg(query, 'query', `${FN}.forward`);
    assertTensorArg(key, 'key', `${FN}.forward`);
    assertTensorArg(value, 'value', `${FN}.forward`);
    assertFloatArg(query, 'query', `${FN}.forward`);
    const unbatched = query.rank === 2;
    if (query.rank !== 2 && query.rank !== 3) {
      throw new Error(`${FN}.forward: 'query' must be [B, Lq, E] (or [Lq, E]), got ${fmtShape(query.shape)}`);
    }
    if (key.rank !== query.rank || value.rank !== query.rank) {
      throw new Error(
        `${FN}.forward: query, key and value must have the same rank, got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`,
      );
    }
    const q3 = unbatched ? query.unsqueeze(0) : query;
    const k3 = unbatched ? key.unsqueeze(0) : key;
    const v3 = unbatched ? value.unsqueeze(0) : value;
    const [b, lq, e] = q3.shape;
    const [kb, lk, kd] = k3.shape;
    const [vb, lv, vd] = v3.shape;
    const E = this.embedDim;
    if (e !== E) throw new Error(`${FN}.forward: 'query' has ${e} features, expected embedDim ${E}`);
    if (kd !== this.kdim)
      throw new Error(`${FN}.forward: 'key' has ${kd} features, expected kdim ${this.kdim}`);
    if (vd !== this.vdim)
      throw new Error(`${FN}.forward: 'value' has ${vd} features, expected vdim ${this.vdim}`);
    if (kb !== b || vb !== b || lv !== lk) {
      throw new Error(
        `${FN}.forward: key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} must share batch and length with query ${fmtShape(query.shape)}`,
      );
    }
    const H = this.numHeads;
    const d = this.headDim;
    // ---- projections [B, L, E]
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    const bias = this.in_proj_bias;
    const biasPart = (i: number) => (bias ? bias.sliceDim(0, i * E, (i + 1) * E) : null);
    if (this.packed) {
      const w = this.in_proj_weight as Parameter;
      if (query === key && key === value) {
        const qkv = linear(q3, w, bias);
        q = qkv.sliceDim(-1, 0, E);
        k = qkv.sliceDim(-1, E, 2 * E);
        v = qkv.sliceDim(-1, 2 * E, 3 * E);
      } else {
        q = linear(q3, w.sliceDim(0, 0, E), biasPart(0));
        k = linear(k3, w.sliceDim(0, E, 2 * E), biasPart(1));
        v = linear(v3, w.sliceDim(0, 2 * E, 3 * E), biasPart(2));
      }
    } else {
      q = linear(q3, this.q_proj_weight as Parameter, biasPart(0));
      k = linear(k3, this.k_proj_weight as Parameter, biasPart(1));
      v = linear(v3, this.v_proj_weight as Parameter, biasPart(2));
    }
    // torch's add_bias_kv: one learned key/value after the sequence
    const extra = (this.addBiasKV ? 1 : 0) + (this.addZeroAttn ? 1 : 0);
    if (extra && options.cache) {
      throw new Error(`${FN}.forward: a KV cache cannot be combined with addBiasKV or addZeroAttn`);
    }
    let lkh = lk;
    if (this.bias_k && this.bias_v) {
      k = concat([k, this.bias_k.expand(b, 1, E)], 1);
      v = concat([v, this.bias_v.expand(b, 1, E)], 1);
      lkh += 1;
    }
    // ---- heads [B, H, L, d]
    let qh = q.reshape([b, lq, H, d]).transpose(1, 2);
    let kh = k.reshape([b, lkh, H, d]).transpose(1, 2);
    let vh = v.reshape([b, lkh, H, d]).transpose(1, 2);
    if (this.addZeroAttn) {
      // torch's add_zero_attn: a key and value of zeros per head after everything else
      const z = zeros([b, H, 1, d]);
      kh = concat([kh, z], 2);
      vh = concat([vh, z], 2);
    }
    if (options.cache) ({ keys: kh, values: vh } = options.cache.append(kh, vh));
    qh = qh.contiguous();
    const lkAll = kh.shape[2] - extra;
    const mask = this.buildMask(options, b, lq, lkAll, unbatched, extra);
    const needWeights = options.needWeights ?? true;
    const res = scaledDotProductAttention(qh, kh, vh, {
      mask,
      causal: options.isCausal === true,
      dropoutP: this.training ? this.dropout : 0,
      generator: this.generator,
      returnWeights: needWeights ? true : undefined,
      name: this.name,
    }) as Tensor | { output: Tensor; weights: Tensor };
    const attn = needWeights ? (res as { output: Tensor }).output : (res as Tensor);
    // ---- merge heads, project out
    const merged = attn.transpose(1, 2).reshape([b, lq, E]);
    let output = this.out_proj.forward(merged);
    let weights: Tensor | null = null;
    if (needWeights) {
      weights = (res as { weights: Tensor }).weights;
      if (options.averageWeights ?? true) weights = mean(weights, 1);
      if (unbatched) weights = weights.squeeze(0);
    }
    if (unbatched) output = output.squeeze(0);
    return { output, weights };
  }

  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, kdim=${this.kdim}, vdim=${this.vdim}, bias=${this.bias}`;
  }

  /** Combines torch's key padding mask and attn mask into one SDPA mask [B, H|1, Lq, Lk]. */
  private buildMask(
    o: MultiHeadAttentionForwardOptions,
    b: number,
    lq: number,
    lk: number,
    unbatched: boolean,
    extra = 0,
  ): Tensor | null {
    const who = `${FN}.forward`;
    const parts: Tensor[] = [];
    if (o.keyPaddingMask) {
      assertTensorArg(o.keyPaddingMask, 'keyPaddingMask', who);
      let m = o.keyPaddingMask;
      if (unbatched && m.rank === 1) m = m.unsqueeze(0);
      if (m.rank !== 2 || m.shape[0] !== b || m.shape[1] !== lk) {
        throw new Error(
          `${who}: 'keyPaddingMask' must be [B, Lk] = [${b}, ${lk}], got ${fmtShape(o.keyPaddingMask.shape)}`,
        );
      }
      parts.push(padKeys(torchMaskToSdpa(m, who, 'keyPaddingMask').reshape([b, 1, 1, lk]), extra));
    }
    if (o.attnMask) {
      assertTensorArg(o.attnMask, 'attnMask', who);
      const m = o.attnMask;
      const H = this.numHeads;
      let m4: Tensor;
      if (m.rank === 2 && m.shape[0] === lq && m.shape[1] === lk) m4 = m.reshape([1, 1, lq, lk]);
      else if (m.rank === 3 && m.shape[0] === b * H && m.shape[1] === lq && m.shape[2] === lk) {
        m4 = m.reshape([b, H, lq, lk]);
      } else {
        throw new Error(
          `${who}: 'attnMask' must be [Lq, Lk] = [${lq}, ${lk}] or [B·H, Lq, Lk] = [${b * H}, ${lq}, ${lk}], got ${fmtShape(m.shape)}`,
        );
      }
      parts.push(padKeys(torchMaskToSdpa(m4, who, 'attnMask'), extra));
    }
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0];
    const [x, y] = parts;
    if (x.dtype === 'bool' && y.dtype === 'bool') return logicalAnd(x, y);
    return add(asFloatMask(x), asFloatMask(y));
  }

  /**
   * Loads a torch nn.MultiheadAttention state dict (`in_proj_weight`, `in_proj_bias`,
   * `out_proj.weight`, `out_proj.bias`, or torch's `q_proj_weight`/`k_proj_weight`/`v_proj_weight`
   * form), or separate projections (`q_proj.weight`, `k_proj.weight`, `v_proj.weight`, their
   * `.bias`, and `out_proj.*` or `o_proj.*`), rewritten into this module's layout.
   */
  override loadStateDict(
    stateDict: Record<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    if (!stateDict || typeof stateDict !== 'object') return super.loadStateDict(stateDict, options);
    return super.loadStateDict(this.normalizeStateDict(stateDict), options);
  }

  private normalizeStateDict(sd: Record<string, Tensor>): Record<string, Tensor> {
    const out = { ...sd };
    const take = (name: string): Tensor | undefined => {
      const t = out[name];
      delete out[name];
      return t;
    };
    if (out['o_proj.weight'] && !out['out_proj.weight'])
      out['out_proj.weight'] = take('o_proj.weight') as Tensor;
    if (out['o_proj.bias'] && !out['out_proj.bias']) out['out_proj.bias'] = take('o_proj.bias') as Tensor;
    const sepW = ['q_proj.weight', 'k_proj.weight', 'v_proj.weight'];
    if (sepW.every((n) => out[n])) {
      const [wq, wk, wv] = sepW.map((n) => take(n) as Tensor);
      if (this.packed) out.in_proj_weight = concat([wq, wk, wv], 0);
      else {
        out.q_proj_weight = wq;
        out.k_proj_weight = wk;
        out.v_proj_weight = wv;
      }
    }
    const torchSep = ['q_proj_weight', 'k_proj_weight', 'v_proj_weight'];
    if (this.packed && torchSep.every((n) => out[n])) {
      out.in_proj_weight = concat(
        torchSep.map((n) => take(n) as Tensor),
        0,
      );
    }
    const sepB = ['q_proj.bias', 'k_proj.bias', 'v_proj.bias'];
    if (sepB.every((n) => out[n]))
      out.in_proj_bias = concat(
        sepB.map((n) => take(n) as Tensor),
        0,
      );
    if (!this.packed && out.in_proj_weight) {
      const w = take('in_proj_weight') as Tensor;
      const E = this.embedDim;
      out.q_proj_weight = w.sliceDim(0, 0, E);
      out.k_proj_weight = w.sliceDim(0, E, 2 * E);
      out.v_proj_weight = w.sliceDim(0, 2 * E, 3 * E);
    }
    return out;
  }
}

/** torch's mask convention (bool true = masked, float added) to SDPA's (bool true = attend). */
function torchMaskToSdpa(m: Tensor, who: string, arg: string): Tensor {
  if (m.dtype === 'bool') return logicalNot(m);
  if (m.dtype === 'int32') return logicalNot(m.cast('bool'));
  if (isFloat(m.dtype)) return m.dtype === 'float32' ? m : m.cast('float32');
  throw new TypeError(`${who}: '${arg}' must be a bool or float tensor, got ${m.dtype}`);
}

/** Appends `extra` key columns that every query may see (true for bool masks, 0 for float ones). */
function padKeys(m: Tensor, extra: number): Tensor {
  if (extra === 0) return m;
  const shape = [...m.shape];
  shape[shape.length - 1] = extra;
  const fill = m.dtype === 'bool' ? ones(shape, 'bool') : zeros(shape);
  return concat([m, fill], -1);
}

function asFloatMask(m: Tensor): Tensor {
  return m.dtype === 'bool' ? where(m, 0, Number.NEGATIVE_INFINITY) : m;
}
