import { zeros } from '../creation.js';
import { linear } from '../ops/matmul.js';
import type { Generator } from '../random.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (true by default). */
  bias?: boolean;
  /** Generator for the initial weights (the global one by default). */
  generator?: Generator;
}

/** @internal Checks a layer size argument. */
export function checkSize(op: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new TypeError(`${op}: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Fully connected layer `y = x Wᵀ + b`, as torch.nn.Linear: weight [outFeatures, inFeatures],
 * bias [outFeatures]. Initialised as torch: weight kaiming-uniform with a = √5 and bias
 * U(-1/√in, 1/√in), both U(-1/√in, 1/√in) in effect.
 *
 * @example
 * ```ts
 * const fc = new Linear(784, 10);
 * fc.forward(randn([32, 784])); // [32, 10]
 * ```
 */
export class Linear extends Module {
  /** [outFeatures, inFeatures] */
  weight: Parameter;
  /** [outFeatures], or null without bias. */
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures, 0);
    checkSize('Linear', 'outFeatures', outFeatures, 0);
    const generator = options.generator;
    this.weight = new Parameter(zeros([outFeatures, inFeatures]));
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    this.bias = null;
    if (options.bias ?? true) {
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      this.bias = new Parameter(zeros([outFeatures]));
      uniform_(this.bias, -bound, bound, { generator });
    }
  }

  /** x [..., inFeatures] → [..., outFeatures] */
  override forward(x: Tensor): Tensor {
    if (!x || x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(
        `Linear.forward: expected input [..., ${this.inFeatures}], got ${x?.shape ? fmt(x.shape) : String(x)}`,
      );
    }
    // functional linear: a backend's fused matmul + bias kernel when no gradient is recorded
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
