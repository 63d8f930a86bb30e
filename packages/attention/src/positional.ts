// Absolute position encodings: the fixed sinusoids of "Attention Is All You Need" and learned
// position embeddings (GPT-2's wpe, BERT's position_embeddings).
import { embedding, type Generator, type Tensor, tensor, zeros } from '@attnkit/tensor-core';
import { init, Module, Parameter } from '@attnkit/tensor-core/nn';
import { assertPositiveInt, fmtShape } from './internal.js';

/** Options of {@link sinusoidalPositionalEncoding}. */
export interface SinusoidalOptions {
  /** Base of the wavelengths (10000 in the paper). */
  base?: number;
}

/**
 * The fixed sinusoidal encoding of Vaswani et al. 2017, [maxLen, dModel]:
 * PE[pos, 2i] = sin(pos / base^(2i/dModel)), PE[pos, 2i+1] = cos(pos / base^(2i/dModel)),
 * computed in float64 (an odd dModel ends with a sine column).
 *
 * @example
 * ```ts
 * const pe = sinusoidalPositionalEncoding(512, 64); // add pe.sliceDim(0, 0, L) to the embeddings
 * pe.shape; // => [512, 64]
 * ```
 */
export function sinusoidalPositionalEncoding(
  maxLen: number,
  dModel: number,
  options: SinusoidalOptions = {},
): Tensor {
  assertPositiveInt(maxLen, 'maxLen', 'sinusoidalPositionalEncoding');
  assertPositiveInt(dModel, 'dModel', 'sinusoidalPositionalEncoding');
  const base = options.base ?? 10000;
  if (typeof base !== 'number' || !(base > 0)) {
    throw new RangeError(
      `sinusoidalPositionalEncoding: 'base' must be a positive number, got ${String(base)}`,
    );
  }
  const vals = new Float64Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < dModel; i += 2) {
      const a = pos / base ** (i / dModel);
      vals[pos * dModel + i] = Math.sin(a);
      if (i + 1 < dModel) vals[pos * dModel + i + 1] = Math.cos(a);
    }
  }
  return tensor(vals, [maxLen, dModel], 'float32');
}

/** Options of {@link LearnedPositionalEmbedding}. */
export interface LearnedPositionalEmbeddingOptions {
  /** Number of positions (rows of the table). */
  maxPositions: number;
  /** Embedding size. */
  dim: number;
  /** Standard deviation of the normal initialisation (0.02, as GPT-2). */
  initStd?: number;
  /** Generator for the initialisation (the global one by default). */
  generator?: Generator;
}

/**
 * A learned table of position embeddings, parameter `weight` [maxPositions, dim] (load GPT-2's
 * `wpe.weight` or BERT's `position_embeddings.weight` into it).
 *
 * @example
 * ```ts
 * const wpe = new LearnedPositionalEmbedding({ maxPositions: 1024, dim: 768 });
 * const cache = new LayerKVCache();
 * const seqLen = 4;
 * const tokenEmbeddings = randn([seqLen, 768]);
 * const h = add(tokenEmbeddings, wpe.forward(seqLen, { offset: cache.position }));
 * h.shape; // => [4, 768]
 * ```
 */
export class LearnedPositionalEmbedding extends Module {
  /** The embedding table [maxPositions, dim]. */
  weight: Parameter;
  readonly maxPositions: number;
  readonly dim: number;

  constructor(options: LearnedPositionalEmbeddingOptions) {
    super();
    const who = 'LearnedPositionalEmbedding';
    if (!options || typeof options !== 'object')
      throw new TypeError(`${who}: expected options { maxPositions, dim }`);
    assertPositiveInt(options.maxPositions, 'maxPositions', who);
    assertPositiveInt(options.dim, 'dim', who);
    this.maxPositions = options.maxPositions;
    this.dim = options.dim;
    this.weight = new Parameter(zeros([this.maxPositions, this.dim]));
    init.normal_(this.weight, 0, options.initStd ?? 0.02, { generator: options.generator });
  }

  /**
   * Embeddings of positions `offset .. offset + length − 1` ([length, dim]), or of an int32
   * position tensor (any shape; output [...shape, dim]).
   */
  override forward(positions: number | Tensor, options: { offset?: number } = {}): Tensor {
    const who = 'LearnedPositionalEmbedding.forward';
    if (typeof positions === 'number') {
      const offset = options.offset ?? 0;
      if (!Number.isInteger(positions) || positions < 0) {
        throw new RangeError(`${who}: length must be a non-negative integer, got ${positions}`);
      }
      if (!Number.isInteger(offset) || offset < 0 || offset + positions > this.maxPositions) {
        throw new RangeError(
          `${who}: positions ${offset}..${offset + positions - 1} exceed the table of ${this.maxPositions} positions`,
        );
      }
      return this.weight.sliceDim(0, offset, offset + positions);
    }
    if (positions?.isTensor !== true) throw new TypeError(`${who}: expected a length or an int32 tensor`);
    if (positions.dtype !== 'int32') {
      throw new TypeError(
        `${who}: position tensor ${fmtShape(positions.shape)} must be int32, got ${positions.dtype}`,
      );
    }
    return embedding(positions, this.weight);
  }
}
