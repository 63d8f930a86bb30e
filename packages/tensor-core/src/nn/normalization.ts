import { ones, zeros } from '../creation.js';
import { groupNorm, layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor.js';
import { checkSize } from './linear.js';
import { Module, Parameter } from './module.js';

function shapeOf(op: string, s: number | readonly number[]): number[] {
  const list = typeof s === 'number' ? [s] : [...(s ?? [])];
  if (!list.length) throw new TypeError(`${op}: normalizedShape must be a size or a non-empty list of sizes`);
  for (const d of list) checkSize(op, 'normalizedShape', d, 1);
  return list;
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (1e-5). */
  eps?: number;
  /** Learn a per-element weight (and bias), true by default. */
  elementwiseAffine?: boolean;
  /** Learn the bias too (true by default; only with elementwiseAffine). */
  bias?: boolean;
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims, as torch.nn.LayerNorm: weight
 * ones and bias zeros of that shape.
 *
 * @example
 * ```ts
 * const ln = new LayerNorm(768);
 * ln.forward(randn([2, 5, 768])).shape; // => [2, 5, 768]
 * ```
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Parameter | null = null;
  bias: Parameter | null = null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = shapeOf('LayerNorm', normalizedShape);
    this.eps = options.eps ?? 1e-5;
    if (options.elementwiseAffine ?? true) {
      this.weight = new Parameter(ones(this.normalizedShape));
      if (options.bias ?? true) this.bias = new Parameter(zeros(this.normalizedShape));
    }
  }

  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions {
  /** Added to the mean square; float32 epsilon by default (as torch), Llama uses 1e-5 or 1e-6. */
  eps?: number;
  /** Learn a per-element weight (true by default). */
  elementwiseAffine?: boolean;
}

/**
 * Root-mean-square normalisation, as torch.nn.RMSNorm (and Llama's RMSNorm):
 * `x / sqrt(mean(x²) + eps) * weight`, weight ones.
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | undefined;
  weight: Parameter | null = null;

  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = shapeOf('RMSNorm', normalizedShape);
    this.eps = options.eps;
    if (options.elementwiseAffine ?? true) this.weight = new Parameter(ones(this.normalizedShape));
  }

  override forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps ?? 'float32 eps'}, elementwise_affine=${this.weight !== null}`;
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  eps?: number;
  /** Learn per-channel weight and bias (true by default). */
  affine?: boolean;
}

/**
 * Group normalisation over [N, C, ...] inputs, as torch.nn.GroupNorm: `numChannels` split into
 * `numGroups` groups; per-channel weight ones and bias zeros.
 */
export class GroupNorm extends Module {
  readonly eps: number;
  weight: Parameter | null = null;
  bias: Parameter | null = null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: GroupNormOptions = {},
  ) {
    super();
    checkSize('GroupNorm', 'numGroups', numGroups, 1);
    checkSize('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    }
    this.eps = options.eps ?? 1e-5;
    if (options.affine ?? true) {
      this.weight = new Parameter(ones([numChannels]));
      this.bias = new Parameter(zeros([numChannels]));
    }
  }

  override forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null}`;
  }
}
