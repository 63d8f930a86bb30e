import { zeros } from '../creation.js';
import { opScope } from '../memory.js';
import { embedding } from '../ops/indexing.js';
import { copyInto } from '../ops/transfer.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { normal_ } from './init.js';
import { checkSize } from './linear.js';
import { Module, Parameter } from './module.js';

/** Options of {@link Embedding}. */
export interface EmbeddingLayerOptions {
  /** This row starts at zero and gets no gradient (torch's padding_idx); negative counts from the end. */
  paddingIdx?: number | null;
  /** Generator for the initial weights (the global one by default). */
  generator?: Generator;
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim`, as torch.nn.Embedding:
 * weight [numEmbeddings, embeddingDim] initialised N(0, 1).
 *
 * @example
 * ```ts
 * const wte = new Embedding(50257, 768);
 * wte.forward(tensor([[15496, 11]], undefined, 'int32')); // [1, 2, 768]
 * ```
 */
export class Embedding extends Module {
  /** [numEmbeddings, embeddingDim] */
  weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingLayerOptions = {},
  ) {
    super();
    checkSize('Embedding', 'numEmbeddings', numEmbeddings, 1);
    checkSize('Embedding', 'embeddingDim', embeddingDim, 1);
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx ${pad} is out of range for ${numEmbeddings} embeddings`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = new Parameter(zeros([numEmbeddings, embeddingDim]));
    normal_(this.weight, 0, 1, { generator: options.generator });
    if (pad !== null) {
      const row = pad;
      opScope(() => copyInto(this.weight.narrow(0, row, 1), 0));
    }
  }

  /** int32 ids [...] → [..., embeddingDim] */
  override forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
