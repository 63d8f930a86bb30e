/**
 * What every scheduler shares: the float64 tables, the step options and output, and the host-side
 * helpers that turn float64 coefficients into float32 tensor arithmetic.
 */
import { add, type Generator, mul, randn, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import { alphasCumprodOf, makeBetas, npArange, npLinspace, roundHalfEven } from './betas.js';
import type { BaseSchedulerConfig, TimestepSpacing } from './config.js';

/** Options of `step`. */
export interface SchedulerStepOptions {
  /**
   * The noise to add (diffusers' `variance_noise`), of the sample's shape. When absent and the step
   * needs noise, it is drawn from `generator` (or the global generator).
   */
  noise?: Tensor;
  /** Generator for the step's noise when `noise` is not given. */
  generator?: Generator;
  /** DDIM's eta: 0 is deterministic DDIM, 1 is DDPM-like ancestral sampling. Default 0. */
  eta?: number;
  /** DDIM: re-derive the noise from the clipped x0 (diffusers' `use_clipped_model_output`). Default false. */
  useClippedModelOutput?: boolean;
}

/** The result of `step` (diffusers' `*SchedulerOutput`, camelCase). */
export interface SchedulerOutput {
  /** The sample at the previous timestep, x_{t-1}: feed it to the next step. */
  prevSample: Tensor;
  /** The model's estimate of the clean sample x0 at this step (a preview of the final image). */
  predOriginalSample: Tensor;
}

/** Timesteps for `addNoise`/`getVelocity`: a number per batch element (or one for all). */
export type TimestepsLike = number | readonly number[] | ArrayLike<number> | Tensor;

/**
 * The base of every scheduler: the config, the float64 `betas`/`alphas`/`alphasCumprod` tables and
 * the inference timesteps.
 */
export abstract class Scheduler<C extends BaseSchedulerConfig = BaseSchedulerConfig> {
  /** The diffusers class this scheduler mirrors, e.g. `'DDIMScheduler'`. */
  abstract readonly className: string;
  /** Validated, frozen config (camelCase diffusers fields). */
  readonly config: Readonly<C>;
  /** Betas in float64, one per training timestep. */
  readonly betas: Float64Array;
  /** `1 - betas`, float64. */
  readonly alphas: Float64Array;
  /** Cumulative product of `alphas` (ᾱ_t), float64. */
  readonly alphasCumprod: Float64Array;
  /** Inference timesteps, largest first (set by `setTimesteps`). */
  timesteps: number[];
  /** The `n` last passed to `setTimesteps`, or null before. */
  numInferenceSteps: number | null = null;
  /** Model evaluations per step (1 for every scheduler here). */
  readonly order: number = 1;

  protected constructor(config: C) {
    this.config = config;
    this.betas = makeBetas(config);
    this.alphas = this.betas.map((b) => 1 - b);
    this.alphasCumprod = alphasCumprodOf(this.betas);
    const n = config.numTrainTimesteps;
    this.timesteps = Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  /** Standard deviation of the initial noise: multiply `randn` by this before the first step. */
  get initNoiseSigma(): number {
    return 1;
  }

  /** Sets the inference timesteps for `numInferenceSteps` denoising steps. */
  abstract setTimesteps(numInferenceSteps: number): void;

  /**
   * Scales the denoising model's input for the current timestep. The identity except for
   * sigma-parameterised schedulers (Euler), where it divides by `√(σ² + 1)`.
   */
  scaleModelInput(sample: Tensor, _timestep?: number): Tensor {
    return sample;
  }

  /** One reverse-diffusion step: from `sample` at `timestep` and the model's output to the previous sample. */
  abstract step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options?: SchedulerStepOptions,
  ): SchedulerOutput;

  /** Forward process: noises clean samples to the given timesteps. */
  abstract addNoise(originalSamples: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor;

  /** The config as diffusers writes `scheduler_config.json` (snake_case, `_class_name`). */
  abstract toJSON(): Record<string, unknown>;

  /** @internal Validates the n of setTimesteps. */
  protected checkSteps(n: number): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `${this.className}.setTimesteps: numInferenceSteps must be a positive integer, got ${n}`,
      );
    }
    if (n > this.config.numTrainTimesteps) {
      throw new RangeError(
        `${this.className}.setTimesteps: numInferenceSteps (${n}) cannot be larger than config.numTrainTimesteps (${this.config.numTrainTimesteps}): the model was trained on only ${this.config.numTrainTimesteps} timesteps`,
      );
    }
  }
}

/**
 * diffusers' `set_timesteps` spacing rules for DDPM/DDIM/Euler (float values before any cast;
 * DDPM/DDIM round the `'linspace'` values half-to-even, Euler keeps them as float32).
 * @internal
 */
export function spacedTimesteps(
  nTrain: number,
  n: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): number[] {
  if (spacing === 'linspace') return Array.from(npLinspace(0, nTrain - 1, n)).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(nTrain / n);
    return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
  }
  // trailing: np.round(np.arange(N, 0, -N / n)) - 1 (numpy's arange can yield n + 1 values; kept as diffusers does)
  return Array.from(npArange(nTrain, 0, -nTrain / n), (t) => roundHalfEven(t) - 1);
}

/** Checks that `x` is a live float tensor. @internal */
export function checkTensor(x: unknown, arg: string, op: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    throw new TypeError(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${op}: ${arg} was disposed`);
}

/** Checks that two tensors have the same shape. @internal */
export function checkSameShape(a: Tensor, b: Tensor, an: string, bn: string, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new Error(
      `${op}: ${an} has shape [${a.shape.join(', ')}] but ${bn} has shape [${b.shape.join(', ')}]; they must match`,
    );
  }
}

/** Validates the inputs of `step`. @internal */
export function checkStepInputs(
  op: string,
  modelOutput: Tensor,
  timestep: number,
  sample: Tensor,
  options: SchedulerStepOptions,
): void {
  checkTensor(modelOutput, 'modelOutput', op);
  checkTensor(sample, 'sample', op);
  checkSameShape(modelOutput, sample, 'modelOutput', 'sample', op);
  if (typeof timestep !== 'number' || !Number.isFinite(timestep)) {
    throw new TypeError(
      `${op}: timestep must be a finite number (an entry of scheduler.timesteps), got ${String(timestep)}`,
    );
  }
  if (options.noise !== undefined) {
    checkTensor(options.noise, 'options.noise', op);
    checkSameShape(options.noise, sample, 'options.noise', 'sample', op);
  }
}

/** The step's noise: the given one, or a fresh draw of the sample's shape. @internal */
export function stepNoise(sample: Tensor, options: SchedulerStepOptions): Tensor {
  return options.noise ?? randn(sample.shape, { generator: options.generator });
}

/** `Σ c_i · x_i` with float64 coefficients applied to float32 tensors (zero coefficients skipped). @internal */
export function combine(terms: readonly (readonly [Tensor, number])[]): Tensor {
  return tidy(() => {
    let acc: Tensor | null = null;
    for (const [x, c] of terms) {
      if (c === 0 && acc !== null) continue;
      const term = c === 1 ? x : mul(x, c);
      acc = acc === null ? term : add(acc, term);
    }
    if (acc === null) throw new Error('combine: no terms');
    return acc === terms[0][0] ? mul(acc, 1) : acc;
  });
}

/** Reads timesteps for addNoise as host numbers. @internal */
export function readTimesteps(op: string, timesteps: TimestepsLike, batch: number): number[] {
  let values: number[];
  if (typeof timesteps === 'number') values = [timesteps];
  else if ((timesteps as Tensor).isTensor === true) {
    const t = timesteps as Tensor;
    if (!t.backend.readSync) {
      throw new Error(
        `${op}: timesteps is a tensor on the '${t.backend.name}' backend, which cannot be read synchronously; pass the timesteps as an array of numbers`,
      );
    }
    values = Array.from(t.dataSync());
  } else values = Array.from(timesteps as ArrayLike<number>);
  if (values.length !== batch && values.length !== 1) {
    throw new Error(
      `${op}: got ${values.length} timesteps for a batch of ${batch}; pass one per batch element (or one for all)`,
    );
  }
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new TypeError(`${op}: timesteps must be finite numbers, got ${String(v)}`);
  }
  return values;
}

/**
 * `a[b] · x + c[b] · y` where the coefficients vary along the batch dim: a [B, 1, ...] float32
 * tensor made from float64 host values. @internal
 */
export function batchCombine(x: Tensor, a: readonly number[], y: Tensor, c: readonly number[]): Tensor {
  const shape = [a.length, ...x.shape.slice(1).map(() => 1)];
  return tidy(() => {
    const ta = tensor(Float64Array.from(a), shape);
    const tc = tensor(Float64Array.from(c), shape);
    return add(mul(x, ta), mul(y, tc));
  });
}

/** An integer training timestep, checked against the table. @internal */
export function checkTrainTimestep(op: string, t: number, nTrain: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= nTrain) {
    throw new RangeError(
      `${op}: timestep ${t} is not an integer in [0, ${nTrain - 1}] (config.numTrainTimesteps = ${nTrain})`,
    );
  }
  return t;
}

/**
 * x0 and ε as linear combinations of (sample, modelOutput) for a given ᾱ_t:
 * `x0 = x0[0]·sample + x0[1]·modelOutput`, `eps = eps[0]·sample + eps[1]·modelOutput`. @internal
 */
export function predictionCoefficients(
  predictionType: string,
  alphaProdT: number,
  owner: string,
): { x0: [number, number]; eps: [number, number] } {
  const a = Math.sqrt(alphaProdT);
  const b = Math.sqrt(1 - alphaProdT);
  if (predictionType === 'epsilon') return { x0: [1 / a, -b / a], eps: [0, 1] };
  if (predictionType === 'sample') return { x0: [0, 1], eps: [1 / b, -a / b] };
  if (predictionType === 'v_prediction') return { x0: [a, -b], eps: [b, a] };
  throw new Error(
    `${owner}: unknown predictionType ${JSON.stringify(predictionType)}; expected 'epsilon', 'v_prediction' or 'sample'`,
  );
}
