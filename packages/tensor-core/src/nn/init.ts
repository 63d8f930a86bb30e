import { isFloat } from '../dtype.js';
import { opScope } from '../memory.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';

// Weight initialisation in place, as torch.nn.init (trailing underscore: the tensor is modified).
// Values are drawn on the host from a seeded Generator, so a seed gives the same weights on
// every backend.

/** Options shared by the random initialisers. */
export interface InitOptions {
  /** Generator to draw from; the global one (see manualSeed) by default. */
  generator?: Generator;
}

/** Fan mode of the Kaiming initialisers. */
export type FanMode = 'fan_in' | 'fan_out';
/** Nonlinearities {@link calculateGain} knows. */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** Options of {@link kaimingUniform_} and {@link kaimingNormal_}. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU after this layer (torch's `a`, 0 by default). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function fill(t: Tensor, draw: (i: number) => number, op: string): Tensor {
  if (!isFloat(t.dtype)) {
    throw new TypeError(`${op}: expected a float tensor, got ${t.dtype} ${fmt(t.shape)}`);
  }
  const n = t.size;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(i);
  const b = t.backend;
  opScope(() => b.write(t, Tensor.fromStorage(b, b.upload(values, 'float32'), t.shape, 'float32')));
  return t;
}

/** torch.nn.init.calculate_gain: the recommended gain for a nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new TypeError(`calculateGain: unknown nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/** torch's fan_in and fan_out: dim 1 and dim 0 sizes times the receptive field (dims 2...). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.rank < 2) {
    throw new Error(`calculateFanInAndFanOut: needs a tensor with at least 2 dims, got ${fmt(t.shape)}`);
  }
  let receptive = 1;
  for (let i = 2; i < t.rank; i++) receptive *= t.shape[i];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/** Fills with U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, options: InitOptions = {}): Tensor {
  const g = options.generator ?? getDefaultGenerator();
  return fill(t, () => low + (high - low) * g.uniform(), 'uniform_');
}

/** Fills with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  const g = options.generator ?? getDefaultGenerator();
  return fill(t, () => mean + std * g.normal(), 'normal_');
}

/**
 * Fills with N(mean, std²) redrawn until inside [a, b] (torch's trunc_normal_ bounds are absolute
 * values, -2 and 2 by default).
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, options: InitOptions = {}): Tensor {
  if (!(a < b)) throw new RangeError(`truncNormal_: expected a < b, got a=${a}, b=${b}`);
  const g = options.generator ?? getDefaultGenerator();
  return fill(
    t,
    () => {
      for (let k = 0; k < 1000; k++) {
        const v = mean + std * g.normal();
        if (v >= a && v <= b) return v;
      }
      return Math.min(Math.max(mean, a), b);
    },
    'truncNormal_',
  );
}

/** Fills with `value`. */
export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => value, 'constant_');
}
/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}
/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  if (fan === 0) return 0;
  return gain / Math.sqrt(fan);
}

/**
 * Kaiming (He) uniform initialisation: U(-b, b) with b = gain·sqrt(3 / fan). torch's Linear and
 * Conv layers use it with `a = sqrt(5)`, which gives b = 1 / sqrt(fan_in).
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound, options);
}

/** Kaiming (He) normal initialisation: N(0, (gain / sqrt(fan))²). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options), options);
}

/** Xavier (Glorot) uniform: U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -bound, bound, options);
}

/** Xavier (Glorot) normal: N(0, gain²·2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)), options);
}
