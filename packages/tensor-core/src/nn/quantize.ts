// Weight quantisation of a trained model: Linear and Embedding layers (and any module that knows
// how to quantise itself) are replaced by layers that keep int8 weights with float32 scales, or
// float16 / bfloat16 weights.

import { tidy } from '../memory.js';
import { mul } from '../ops/elementwise.js';
import { embedding } from '../ops/indexing.js';
import { type LinearActivation, linear } from '../ops/matmul.js';
import { type Int8Weight, linearInt8, quantizeInt8 } from '../ops/quantized.js';
import type { Tensor } from '../tensor.js';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import { Module, type Parameter } from './module.js';

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /**
   * Storage type of the weights: 'int8' (symmetric, with float32 scales), or 'float16' /
   * 'bfloat16' (each weight rounded to nearest even; no scales).
   */
  dtype: 'int8' | 'float16' | 'bfloat16';
  /**
   * int8 only: input features sharing one scale (symmetric per-group quantisation); by default
   * one scale per output channel (per row of the weight). Must divide every quantised layer's
   * width.
   */
  groupSize?: number;
  /**
   * @internal The tensor to read in place of a layer's 16-bit weight (any float dtype, same shape):
   * loadPretrained's 16-bit path maps placeholder parameters to the checkpoint's tensors, so no
   * float32 copy of the matrices is made.
   */
  weightSources?: ReadonlyMap<Tensor, Tensor>;
  /**
   * @internal The weights (keys of `weightSources`) whose source is disposed once the 16-bit
   * weight is made from it (no other layer reads it): each checkpoint tensor is freed as its layer
   * is made.
   */
  consumeSources?: ReadonlySet<Tensor>;
}

/**
 * State of one {@link quantize} call, handed to modules that quantise themselves: it quantises
 * each source weight once, so weights tied between layers (a language model's embedding and
 * head) stay one int8 matrix.
 */
export class QuantizeContext {
  private readonly cache = new Map<Tensor, Map<string, Int8Weight>>();
  private readonly halves = new Map<Tensor, Map<boolean, Tensor>>();
  /** Source weights that were quantised (freed by quantize once no layer uses them). */
  readonly sources = new Set<Tensor>();

  constructor(readonly options: QuantizeOptions) {}

  /**
   * The int8 form of `weight` seen as [rows, cols] (`transpose` for weights stored [in, out]),
   * grouped along cols; `layer` names the layer in errors.
   */
  int8(weight: Tensor, layer: string, transpose = false): Int8Weight {
    const cols = transpose ? weight.shape[0] : weight.shape[1];
    const g = this.options.groupSize ?? cols;
    if (cols % g !== 0) {
      throw new Error(
        `quantize: layer '${layer}' has ${cols} input features, which groupSize ${g} does not divide (pick a divisor of every layer's width)`,
      );
    }
    const key = `${transpose}/${g}`;
    let byKey = this.cache.get(weight);
    if (!byKey) {
      byKey = new Map();
      this.cache.set(weight, byKey);
    }
    let w = byKey.get(key);
    if (!w) {
      const src = transpose ? weight.T.contiguous() : weight;
      w = tidy(() => quantizeInt8(src, g));
      if (src !== weight) src.dispose();
      byKey.set(key, w);
      this.sources.add(weight);
    }
    return w;
  }

  /**
   * The float16 / bfloat16 form (the options' dtype) of `weight` seen as [rows, cols]
   * (`transpose` for weights stored [in, out]), contiguous; made once per source weight.
   */
  half(weight: Tensor, transpose = false): Tensor {
    const dtype = this.options.dtype as 'float16' | 'bfloat16';
    let byKey = this.halves.get(weight);
    if (!byKey) {
      byKey = new Map();
      this.halves.set(weight, byKey);
    }
    let w = byKey.get(transpose);
    if (!w) {
      const src = this.options.weightSources?.get(weight) ?? weight;
      const made = tidy(() => (transpose ? src.T : src).detach().cast(dtype).contiguous());
      // a consumed source is freed now (its storage stays with `made` when they share it)
      if (src !== weight && this.options.consumeSources?.has(weight)) src.dispose();
      w = made;
      byKey.set(transpose, w);
      if (w !== weight) this.sources.add(weight);
    }
    return w;
  }

  /**
   * The layer that replaces a linear map with weight `weight` ([out, in], or [in, out] with
   * `transpose`) and `bias`: a {@link QuantizedLinear} for int8, a {@link Linear16} for 16-bit.
   */
  linear(weight: Tensor, bias: Parameter | null, layer: string, transpose = false): Module {
    if (this.options.dtype === 'int8') return new QuantizedLinear(this.int8(weight, layer, transpose), bias);
    return new Linear16(this.half(weight, transpose), bias, { transposed: transpose });
  }

  /** The layer that replaces an embedding table: {@link QuantizedEmbedding} or {@link Embedding16}. */
  embedding(weight: Tensor, layer: string): Module {
    if (this.options.dtype === 'int8') return new QuantizedEmbedding(this.int8(weight, layer));
    return new Embedding16(this.half(weight));
  }
}

/** Refuses running a 16-bit layer in training mode (its weights are buffers and get no gradient). */
function inferenceOnly(m: Module, dtype: string): void {
  if (m.training) {
    throw new Error(
      `${m.constructor.name}: ${dtype} weights are for inference (they get no gradients); call model.eval(), or load / keep float32 weights to train (as transformers needs float32 master weights)`,
    );
  }
}

/**
 * nn.Linear with a float16 or bfloat16 weight: `activation(x Wᵀ + b)`, W widened to float32
 * inside the kernel on backends that have one (the CPU's `gemv_h`), float32 accumulation. Made
 * by {@link quantize} and by loading a 16-bit checkpoint with its dtype; inference only (the
 * weight is a buffer, and forward in training mode throws).
 *
 * @example
 * ```ts
 * const layer = new Linear16(randn([32, 64]).cast('bfloat16'), null);
 * layer.weight.dtype; // => 'bfloat16'
 * layer.forward(randn([4, 64])).shape; // => [4, 32]
 * ```
 */
export class Linear16 extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** float16 or bfloat16 [outFeatures, inFeatures] */
  weight!: Tensor;
  /** [outFeatures], or null. */
  bias: Parameter | null;
  /**
   * The layer it replaces stored its weight [in, out] (GPT-2's Conv1D): a checkpoint written from
   * this layer transposes the weight back (see @attnkit/transformer's saveModel).
   */
  readonly transposed: boolean;

  constructor(weight: Tensor, bias: Parameter | null, options: { transposed?: boolean } = {}) {
    super();
    if (!weight || (weight.dtype !== 'float16' && weight.dtype !== 'bfloat16') || weight.rank !== 2) {
      throw new TypeError(
        `Linear16: weight must be a float16 or bfloat16 matrix [out, in], got ${weight ? `${weight.dtype} [${weight.shape.join(', ')}]` : String(weight)}`,
      );
    }
    [this.outFeatures, this.inFeatures] = weight.shape;
    this.registerBuffer('weight', weight);
    this.bias = bias;
    this.transposed = options.transposed ?? false;
    this.training = false;
  }

  /** x [..., in] → [..., out]; `activation` is applied in the same kernel. */
  override forward(x: Tensor, activation: LinearActivation | null = null): Tensor {
    inferenceOnly(this, this.weight.dtype);
    return linear(x, this.weight, this.bias, { activation });
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, dtype=${this.weight.dtype}`;
  }
}

/** nn.Embedding with a float16 or bfloat16 table: the looked-up rows are widened to float32. Made by {@link quantize}. */
export class Embedding16 extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** float16 or bfloat16 [numEmbeddings, embeddingDim] */
  weight!: Tensor;

  constructor(weight: Tensor) {
    super();
    if (!weight || (weight.dtype !== 'float16' && weight.dtype !== 'bfloat16') || weight.rank !== 2) {
      throw new TypeError(
        `Embedding16: weight must be a float16 or bfloat16 matrix [num, dim], got ${weight ? `${weight.dtype} [${weight.shape.join(', ')}]` : String(weight)}`,
      );
    }
    [this.numEmbeddings, this.embeddingDim] = weight.shape;
    this.registerBuffer('weight', weight);
    this.training = false;
  }

  /** ids (int32, any shape) → [...ids.shape, embeddingDim] float32 */
  override forward(ids: Tensor): Tensor {
    inferenceOnly(this, this.weight.dtype);
    return embedding(ids, this.weight);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, dtype=${this.weight.dtype}`;
  }
}

/** A module that can replace itself with a quantised equivalent (see {@link quantize}). */
export interface Quantizable {
  toQuantized(ctx: QuantizeContext, name: string): Module;
}

/**
 * nn.Linear with int8 weights: `activation(x Wᵀ + b)` with W = q · scale dequantised inside the
 * kernel ({@link linearInt8}). Made by {@link quantize}; inference only.
 */
export class QuantizedLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly groupSize: number;
  /** int8 [outFeatures, inFeatures] */
  qweight!: Tensor;
  /** float32 [outFeatures, inFeatures / groupSize] */
  scales!: Tensor;
  /** [outFeatures], or null. */
  bias: Parameter | null;

  constructor(weight: Int8Weight, bias: Parameter | null) {
    super();
    [this.outFeatures, this.inFeatures] = weight.q.shape;
    this.groupSize = weight.groupSize;
    this.registerBuffer('qweight', weight.q);
    this.registerBuffer('scales', weight.scales);
    this.bias = bias;
  }

  /** x [..., in] → [..., out]; `activation` is applied in the same kernel. */
  override forward(x: Tensor, activation: LinearActivation | null = null): Tensor {
    return linearInt8(x, { q: this.qweight, scales: this.scales, groupSize: this.groupSize }, this.bias, {
      activation,
    });
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, dtype=int8, group_size=${this.groupSize}`;
  }
}

/** nn.Embedding with int8 rows: the looked-up rows are dequantised with their scales. Made by {@link quantize}. */
export class QuantizedEmbedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly groupSize: number;
  /** int8 [numEmbeddings, embeddingDim] */
  qweight!: Tensor;
  /** float32 [numEmbeddings, embeddingDim / groupSize] */
  scales!: Tensor;

  constructor(weight: Int8Weight) {
    super();
    [this.numEmbeddings, this.embeddingDim] = weight.q.shape;
    this.groupSize = weight.groupSize;
    this.registerBuffer('qweight', weight.q);
    this.registerBuffer('scales', weight.scales);
  }

  /** ids (int32, any shape) → [...ids.shape, embeddingDim] float32 */
  override forward(ids: Tensor): Tensor {
    const g = this.groupSize;
    const G = this.embeddingDim / g;
    const rows = embedding(ids, this.qweight)
      .reshape([...ids.shape, G, g])
      .cast('float32');
    const s = embedding(ids, this.scales).reshape([...ids.shape, G, 1]);
    return mul(rows, s).reshape([...ids.shape, this.embeddingDim]);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, dtype=int8, group_size=${this.groupSize}`;
  }
}

function isQuantizable(m: unknown): m is Module & Quantizable {
  return m instanceof Module && typeof (m as Partial<Quantizable>).toQuantized === 'function';
}

/**
 * Replaces, in place, every Linear and Embedding of an evaluation-mode model (and every module
 * with a `toQuantized` method, such as GPT-2's Conv1D and language-model heads) by a layer with
 * smaller weights: for 'int8', symmetric int8 weights with a float32 scale per output channel, or
 * per group of `groupSize` input features ({@link QuantizedLinear}, {@link QuantizedEmbedding});
 * for 'float16' / 'bfloat16', the weights rounded to that dtype ({@link Linear16},
 * {@link Embedding16}; no groups). Weights tied between layers stay shared; the float32 weights
 * are freed once no layer uses them. Biases and norms stay float32. Returns the model.
 *
 * @example
 * ```ts
 * import { GPT2LMHeadModel } from '@attnkit/transformer';
 * const model = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100 }).eval();
 * quantize(model, { dtype: 'int8', groupSize: 64 }); // 4x smaller weights; decode reads a quarter of the bytes
 * const half = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100 }).eval();
 * quantize(half, { dtype: 'bfloat16' }); // 2x smaller weights, widened inside the kernels
 * half.lm_head.constructor.name; // => 'Linear16'
 * ```
 */
export function quantize<M extends Module>(model: M, options: QuantizeOptions): M {
  if (!(model instanceof Module)) throw new TypeError('quantize: expected a Module');
  if (!options || typeof options !== 'object')
    throw new TypeError(
      "quantize: options { dtype: 'int8' | 'float16' | 'bfloat16', groupSize? } are required",
    );
  if (options.dtype !== 'int8' && options.dtype !== 'float16' && options.dtype !== 'bfloat16') {
    throw new TypeError(
      `quantize: dtype must be 'int8', 'float16' or 'bfloat16', got ${JSON.stringify(options.dtype)}`,
    );
  }
  if (options.dtype !== 'int8' && options.groupSize !== undefined) {
    throw new TypeError(
      `quantize: groupSize applies to int8 only (it groups weights under one scale); ${options.dtype} weights have no scales, so leave groupSize out (got ${JSON.stringify(options.groupSize)})`,
    );
  }
  const g = options.groupSize;
  if (g !== undefined && (!Number.isInteger(g) || g < 1)) {
    throw new TypeError(`quantize: groupSize must be a positive integer, got ${JSON.stringify(g)}`);
  }
  if (model.training) {
    throw new Error(
      'quantize: the model is in training mode; call model.eval() first (quantised weights are for inference and get no gradients)',
    );
  }
  const ctx = new QuantizeContext(options);
  const done = new Map<Module, Module>();
  const convert = (m: Module, name: string): Module | null => {
    const prev = done.get(m);
    if (prev) return prev;
    let out: Module | null = null;
    if (m instanceof Linear) out = ctx.linear(m.weight, m.bias, name);
    else if (m instanceof Embedding) out = ctx.embedding(m.weight, name);
    else if (isQuantizable(m)) out = m.toQuantized(ctx, name);
    if (out) {
      out.training = false;
      done.set(m, out);
    }
    return out;
  };
  const visit = (parent: Module, prefix: string) => {
    const fields = parent as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(parent)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (v instanceof Module) {
        const r = convert(v, name);
        if (r) fields[key] = r;
        else visit(v, name);
      } else if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (!(item instanceof Module)) return;
          const r = convert(item, `${name}.${i}`);
          if (r) v[i] = r;
          else visit(item, `${name}.${i}`);
        });
      }
    }
  };
  if (convert(model, '')) {
    throw new Error(
      `quantize: expected a model containing layers, got a single ${model.constructor.name}; wrap it in a module`,
    );
  }
  visit(model, '');
  // Free the float32 weights that no remaining layer holds.
  const still = new Set<Tensor>(model.parameters());
  for (const w of ctx.sources) if (!still.has(w) && !w.isDisposed) w.dispose();
  return model;
}
