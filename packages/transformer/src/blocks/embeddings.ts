// Token and position embeddings, and the language-model head that maps hidden states back to the
// vocabulary (often tied to the token embedding: the same matrix read the other way).
import { sinusoidalPositionalEncoding } from '@attnkit/attention';
import { add, embedding, matmul, mul, type Tensor, zeros } from '@attnkit/tensor-core';
import { Embedding, init, Module, Parameter, type QuantizeContext } from '@attnkit/tensor-core/nn';
import { fmtShape } from '../internal.js';

/** A new parameter of `shape` drawn from N(0, std²), as GPT-2/BERT/Llama initialise their weights. */
export function normalParameter(shape: number[], std = 0.02): Parameter {
  const p = new Parameter(zeros(shape));
  init.normal_(p, 0, std);
  return p;
}

/** A new zero parameter. */
export function zeroParameter(shape: number[]): Parameter {
  return new Parameter(zeros(shape));
}

/**
 * The output projection of a language model, hidden [.., E] → logits [.., V]: `x Wᵀ (+ bias)`.
 * Give it the token embedding's weight to tie them (GPT-2, BERT), or let it own one (Llama).
 *
 * @example
 * ```ts
 * import { Embedding } from '@attnkit/tensor-core/nn';
 * const wte = new Embedding(1000, 64);
 * const head = new LMHead(64, 1000, { tiedTo: wte.weight }); // shares wte's matrix
 * head.weight === wte.weight; // => true
 * ```
 */
export class LMHead extends Module {
  /** [vocab, hidden] */
  weight: Parameter;
  bias: Parameter | null = null;

  constructor(
    hidden: number,
    vocab: number,
    options: { tiedTo?: Parameter | null; bias?: boolean; std?: number } = {},
  ) {
    super();
    const tied = options.tiedTo ?? null;
    if (tied && (tied.rank !== 2 || tied.shape[0] !== vocab || tied.shape[1] !== hidden)) {
      throw new Error(
        `LMHead: cannot tie to a weight of ${fmtShape(tied.shape)}; expected [${vocab}, ${hidden}]`,
      );
    }
    this.weight = tied ?? normalParameter([vocab, hidden], options.std ?? 0.02);
    if (options.bias) this.bias = zeroParameter([vocab]);
  }

  /** x [..., hidden] → logits [..., vocab] */
  override forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight.T);
    return this.bias ? add(y, this.bias) : y;
  }

  /** The int8 (or 16-bit) head for nn's `quantize` (a tied head shares the embedding's matrix). */
  toQuantized(ctx: QuantizeContext, name: string): Module {
    return ctx.linear(this.weight, this.bias, name);
  }
}

/** A token embedding initialised from N(0, std²) instead of torch's N(0, 1). */
export function tokenEmbedding(vocab: number, dim: number, std = 0.02): Embedding {
  const e = new Embedding(vocab, dim);
  init.normal_(e.weight, 0, std);
  return e;
}

/**
 * Token embeddings scaled by √d_model plus the fixed sinusoidal position encoding, as in
 * "Attention Is All You Need" (section 3.4 and 3.5). Parameter: `embedding.weight`.
 *
 * @example
 * ```ts
 * const vocab = 100;
 * const emb = new SinusoidalEmbeddings(vocab, 128, 512);
 * const ids = tensor([[1, 2, 3]], undefined, 'int32');
 * const h = emb.forward(ids);
 * h.shape; // => [1, 3, 128]
 * ```
 */
export class SinusoidalEmbeddings extends Module {
  embedding: Embedding;
  /** [maxLen, dModel], not saved (it is recomputed). */
  pe: Tensor;
  readonly scale: number;

  constructor(
    readonly vocabSize: number,
    readonly dModel: number,
    readonly maxLen = 512,
    options: { scaleEmbeddings?: boolean } = {},
  ) {
    super();
    this.embedding = new Embedding(vocabSize, dModel);
    init.normal_(this.embedding.weight, 0, dModel ** -0.5);
    this.scale = options.scaleEmbeddings === false ? 1 : Math.sqrt(dModel);
    this.pe = sinusoidalPositionalEncoding(maxLen, dModel);
    this.registerBuffer('pe', this.pe, false);
  }

  /** ids int32 [B, L] → [B, L, dModel], positions offset .. offset + L - 1 */
  override forward(ids: Tensor, offset = 0): Tensor {
    const l = ids.shape[ids.rank - 1];
    if (offset + l > this.maxLen) {
      throw new RangeError(
        `SinusoidalEmbeddings.forward: positions ${offset}..${offset + l - 1} exceed maxLen ${this.maxLen}`,
      );
    }
    const x = embedding(ids, this.embedding.weight);
    return add(mul(x, this.scale), this.pe.sliceDim(0, offset, offset + l));
  }
}
