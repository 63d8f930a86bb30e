import { zeros } from '../creation.js';
import { conv1d, conv2d, convTranspose2d, type Size2 } from '../ops/conv.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { checkSize } from './linear.js';
import { Module, Parameter } from './module.js';

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions {
  stride?: Size2;
  /** Zeros on both sides, or 'same' / 'valid', as torch. */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
  /** Learn a per-channel bias (true by default). */
  bias?: boolean;
  /** Generator for the initial weights (the global one by default). */
  generator?: Generator;
}

function kernel2(op: string, k: Size2): [number, number] {
  const p = typeof k === 'number' ? [k, k] : k;
  if (!Array.isArray(p) || p.length !== 2) {
    throw new TypeError(`${op}: kernelSize must be an integer or [kh, kw], got ${JSON.stringify(k)}`);
  }
  return [checkSize(op, 'kernelSize', p[0]), checkSize(op, 'kernelSize', p[1])];
}

function checkGroups(op: string, inC: number, outC: number, groups: number): void {
  checkSize(op, 'groups', groups);
  if (inC % groups !== 0 || outC % groups !== 0) {
    throw new Error(
      `${op}: inChannels ${inC} and outChannels ${outC} must both be divisible by groups ${groups}`,
    );
  }
}

/** torch's _ConvNd.reset_parameters: kaiming-uniform (a = √5) weight, U(±1/√fan_in) bias. */
function initConv(weight: Parameter, bias: Parameter | null, generator?: Generator): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, { generator });
  }
}

/**
 * 2-D convolution layer, as torch.nn.Conv2d: weight [outChannels, inChannels/groups, kH, kW],
 * bias [outChannels], torch's default initialisation.
 *
 * @example
 * ```ts
 * const conv = new Conv2d(3, 16, 3, { padding: 1 });
 * conv.forward(randn([1, 3, 32, 32])); // [1, 16, 32, 32]
 * ```
 */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null = null;
  readonly kernelSize: [number, number];
  readonly options: Omit<Conv2dLayerOptions, 'generator' | 'bias'>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    checkSize('Conv2d', 'inChannels', inChannels);
    checkSize('Conv2d', 'outChannels', outChannels);
    this.kernelSize = kernel2('Conv2d', kernelSize);
    const groups = options.groups ?? 1;
    checkGroups('Conv2d', inChannels, outChannels, groups);
    this.options = { stride: options.stride, padding: options.padding, dilation: options.dilation, groups };
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, ...this.kernelSize]));
    if (options.bias ?? true) this.bias = new Parameter(zeros([outChannels]));
    initConv(this.weight, this.bias, options.generator);
  }

  /** x [N, inChannels, H, W] → [N, outChannels, outH, outW] */
  override forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=${JSON.stringify(o.stride ?? 1)}, padding=${JSON.stringify(o.padding ?? 0)}`;
  }
}

/** Options of {@link Conv1d}. */
export interface Conv1dLayerOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
  generator?: Generator;
}

/** 1-D convolution layer, as torch.nn.Conv1d: weight [outChannels, inChannels/groups, k]. */
export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null = null;
  readonly options: Omit<Conv1dLayerOptions, 'generator' | 'bias'>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv1dLayerOptions = {},
  ) {
    super();
    checkSize('Conv1d', 'inChannels', inChannels);
    checkSize('Conv1d', 'outChannels', outChannels);
    checkSize('Conv1d', 'kernelSize', kernelSize);
    const groups = options.groups ?? 1;
    checkGroups('Conv1d', inChannels, outChannels, groups);
    this.options = { stride: options.stride, padding: options.padding, dilation: options.dilation, groups };
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, kernelSize]));
    if (options.bias ?? true) this.bias = new Parameter(zeros([outChannels]));
    initConv(this.weight, this.bias, options.generator);
  }

  /** x [N, inChannels, L] → [N, outChannels, outL] */
  override forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=${this.kernelSize}`;
  }
}

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dLayerOptions {
  stride?: Size2;
  padding?: Size2;
  outputPadding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  generator?: Generator;
}

/**
 * Transposed 2-D convolution layer, as torch.nn.ConvTranspose2d: weight
 * [inChannels, outChannels/groups, kH, kW], bias [outChannels].
 */
export class ConvTranspose2d extends Module {
  weight: Parameter;
  bias: Parameter | null = null;
  readonly kernelSize: [number, number];
  readonly options: Omit<ConvTranspose2dLayerOptions, 'generator' | 'bias'>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    checkSize('ConvTranspose2d', 'inChannels', inChannels);
    checkSize('ConvTranspose2d', 'outChannels', outChannels);
    this.kernelSize = kernel2('ConvTranspose2d', kernelSize);
    const groups = options.groups ?? 1;
    checkGroups('ConvTranspose2d', inChannels, outChannels, groups);
    const { generator: _g, bias: _b, ...rest } = options;
    this.options = { ...rest, groups };
    this.weight = new Parameter(zeros([inChannels, outChannels / groups, ...this.kernelSize]));
    if (options.bias ?? true) this.bias = new Parameter(zeros([outChannels]));
    initConv(this.weight, this.bias, options.generator);
  }

  /** x [N, inChannels, H, W] → [N, outChannels, outH, outW] */
  override forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')})`;
  }
}
