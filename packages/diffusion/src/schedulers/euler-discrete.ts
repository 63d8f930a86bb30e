/**
 * EulerDiscreteScheduler: the Euler sampler of "Elucidating the Design Space of Diffusion-Based
 * Generative Models" (Karras et al. 2022, Algorithm 2), diffusers' `scheduling_euler_discrete.py`.
 */
import { type Tensor, tidy } from '@attnkit/tensor-core';
import { interpIndex } from './betas.js';
import { type BaseSchedulerConfig, configFromJson, configToJson, resolveConfig } from './config.js';
import {
  batchCombine,
  checkSameShape,
  checkStepInputs,
  checkTensor,
  combine,
  readTimesteps,
  Scheduler,
  type SchedulerOutput,
  type SchedulerStepOptions,
  spacedTimesteps,
  stepNoise,
  type TimestepsLike,
} from './scheduler.js';

/** EulerDiscreteScheduler config (diffusers' fields in camelCase). */
export interface EulerDiscreteSchedulerConfig extends BaseSchedulerConfig {
  /** How sigmas are interpolated at fractional timesteps. Default `'linear'` (the only one supported). */
  interpolationType: 'linear';
  /** Karras sigmas. Default false (true is not supported by this port). */
  useKarrasSigmas: boolean;
  /** `'discrete'` (default) timesteps; `'continuous'` is not supported by this port. */
  timestepType: 'discrete';
  /** Last sigma: `'zero'` (default) or `'sigma_min'` (σ at t = 0). */
  finalSigmasType: 'zero' | 'sigma_min';
}

/** diffusers' defaults for {@link EulerDiscreteScheduler}. */
export const EULER_DEFAULTS: EulerDiscreteSchedulerConfig = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  interpolationType: 'linear',
  useKarrasSigmas: false,
  timestepSpacing: 'linspace',
  timestepType: 'discrete',
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
  finalSigmasType: 'zero',
});

/** Extra options of the Euler step: diffusers' stochastic "churn" (all default to no churn). */
export interface EulerStepOptions extends SchedulerStepOptions {
  /** Amount of stochasticity (Karras' S_churn). Default 0. */
  sChurn?: number;
  /** Churn applies only for sigma in [sTmin, sTmax]. Defaults 0 and +∞. */
  sTmin?: number;
  /** Upper sigma bound for churn. Default +∞. */
  sTmax?: number;
  /** Scale of the churn noise. Default 1. */
  sNoise?: number;
}

/**
 * Euler sampler over sigmas `σ_t = √((1 − ᾱ_t)/ᾱ_t)`. Inputs are scaled by {@link scaleModelInput}
 * and the initial noise by {@link initNoiseSigma}. Stateful: call `setTimesteps` then step in order.
 *
 * @example
 * ```ts
 * const unet = await UNet2DModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_tiny');
 * const generator = new Generator(0);
 * const s = new EulerDiscreteScheduler();
 * s.setTimesteps(10);
 * let x = mul(randn([1, 2, 8, 8], { generator }), s.initNoiseSigma);
 * for (const t of s.timesteps) x = s.step(unet.forward(s.scaleModelInput(x, t), t), t, x).prevSample;
 * ```
 */
export class EulerDiscreteScheduler extends Scheduler<EulerDiscreteSchedulerConfig> {
  readonly className = 'EulerDiscreteScheduler';
  /** Sigmas at the inference timesteps, plus the final one (0 or σ_min). */
  sigmas: Float64Array;
  private stepIdx: number | null = null;
  private beginIdx: number | null = null;

  /** Makes a scheduler from camelCase config fields (missing ones take diffusers' defaults). */
  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    super(
      resolveConfig(
        'EulerDiscreteScheduler',
        EULER_DEFAULTS,
        config,
        {
          interpolationType: ['linear', 'log_linear'],
          timestepType: ['discrete', 'continuous'],
          finalSigmasType: ['zero', 'sigma_min'],
        },
        {
          interpolationType: { supported: ['linear'], why: 'log_linear interpolation is not implemented' },
          useKarrasSigmas: { supported: [false], why: 'Karras sigmas are not implemented' },
          timestepType: { supported: ['discrete'], why: 'continuous timesteps are not implemented' },
        },
      ),
    );
    if (this.config.rescaleBetasZeroSnr) {
      // diffusers: a zero ᾱ_T would make σ infinite; it is set to 2^-24 instead
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    const n = this.config.numTrainTimesteps;
    this.timesteps = Array.from({ length: n }, (_, i) => n - 1 - i);
    this.sigmas = this.sigmasAt(this.timesteps);
  }

  /** Reads a diffusers `scheduler_config.json` (object or text; snake_case; unknown keys ignored). */
  static fromConfig(config: unknown): EulerDiscreteScheduler {
    return new EulerDiscreteScheduler(configFromJson('EulerDiscreteScheduler', EULER_DEFAULTS, config));
  }

  /** The config in diffusers' snake_case layout. */
  toJSON(): Record<string, unknown> {
    return configToJson(this.className, this.config);
  }

  /** Index of the current step in `timesteps` (null before the first step). */
  get stepIndex(): number | null {
    return this.stepIdx;
  }

  /** σ_max for linspace/trailing spacing, √(σ_max² + 1) for leading. */
  override get initNoiseSigma(): number {
    let m = 0;
    for (const s of this.sigmas) m = Math.max(m, s);
    return this.config.timestepSpacing === 'leading' ? Math.sqrt(m * m + 1) : m;
  }

  private sigmasAt(timesteps: readonly number[]): Float64Array {
    const ac = this.alphasCumprod;
    const full = Float64Array.from(ac, (a) => Math.sqrt((1 - a) / a));
    const out = new Float64Array(timesteps.length + 1);
    timesteps.forEach((t, i) => {
      out[i] = interpIndex(t, full);
    });
    out[timesteps.length] = this.config.finalSigmasType === 'zero' ? 0 : full[0];
    return out;
  }

  /**
   * Sets `timesteps` (float32 values; fractional for `'linspace'` spacing, as diffusers keeps them)
   * and `sigmas`, and resets the step index.
   */
  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps);
    const c = this.config;
    const raw = spacedTimesteps(c.numTrainTimesteps, numInferenceSteps, c.timestepSpacing, c.stepsOffset);
    this.timesteps = raw.map((t) => Math.fround(t));
    this.sigmas = this.sigmasAt(this.timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.stepIdx = null;
    this.beginIdx = null;
  }

  /** Starts stepping at `timesteps[beginIndex]` (img2img pipelines call this before the loop). */
  setBeginIndex(beginIndex = 0): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= this.timesteps.length) {
      throw new RangeError(
        `EulerDiscreteScheduler.setBeginIndex: beginIndex must be an integer in [0, ${this.timesteps.length - 1}], got ${beginIndex}`,
      );
    }
    this.beginIdx = beginIndex;
  }

  /** Position of `timestep` in `timesteps` (the second match when it repeats, as diffusers). */
  indexForTimestep(timestep: number, op = 'EulerDiscreteScheduler'): number {
    const hits: number[] = [];
    this.timesteps.forEach((t, i) => {
      if (t === Math.fround(timestep)) hits.push(i);
    });
    if (hits.length === 0) {
      throw new Error(
        `${op}: timestep ${timestep} is not in scheduler.timesteps [${this.timesteps.join(', ')}]`,
      );
    }
    return hits.length > 1 ? hits[1] : hits[0];
  }

  private initStepIndex(timestep: number, op: string): number {
    if (this.stepIdx === null) this.stepIdx = this.beginIdx ?? this.indexForTimestep(timestep, op);
    return this.stepIdx;
  }

  /** Divides the sample by `√(σ² + 1)` for the current step: the model sees unit-variance input. */
  override scaleModelInput(sample: Tensor, timestep: number): Tensor {
    const op = 'EulerDiscreteScheduler.scaleModelInput';
    checkTensor(sample, 'sample', op);
    const i = this.initStepIndex(timestep, op);
    const s = this.sigmas[i];
    return combine([[sample, 1 / Math.sqrt(s * s + 1)]]);
  }

  /**
   * One Euler step: x0 from the prediction, derivative `(x − x0)/σ̂`, `x_prev = x + d · (σ_next − σ̂)`.
   * With `sChurn > 0` noise is added first (from `noise` or `generator`).
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: EulerStepOptions = {},
  ): SchedulerOutput {
    const op = 'EulerDiscreteScheduler.step';
    checkStepInputs(op, modelOutput, timestep, sample, options);
    const i = this.initStepIndex(timestep, op);
    if (i + 1 >= this.sigmas.length) {
      throw new Error(`${op}: all ${this.timesteps.length} steps were taken; call setTimesteps again`);
    }
    const sChurn = options.sChurn ?? 0;
    const sTmin = options.sTmin ?? 0;
    const sTmax = options.sTmax ?? Number.POSITIVE_INFINITY;
    const sNoise = options.sNoise ?? 1;
    const sigma = this.sigmas[i];
    const sigmaNext = this.sigmas[i + 1];
    const gamma =
      sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const sigmaHat = sigma * (gamma + 1);
    const p = this.config.predictionType;
    const out = tidy(() => {
      let x = sample;
      if (gamma > 0) {
        x = combine([
          [sample, 1],
          [stepNoise(sample, options), sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma)],
        ]);
      }
      // x0 = kx · x + km · modelOutput
      let kx: number;
      let km: number;
      if (p === 'epsilon') [kx, km] = [1, -sigmaHat];
      else if (p === 'sample') [kx, km] = [0, 1];
      else [kx, km] = [1 / (sigma * sigma + 1), -sigma / Math.sqrt(sigma * sigma + 1)];
      const x0 = combine([
        [x, kx],
        [modelOutput, km],
      ]);
      // prev = x + (x − x0)/σ̂ · dt = (1 + dt/σ̂) x − (dt/σ̂) x0, written in (x, modelOutput)
      const r = (sigmaNext - sigmaHat) / sigmaHat;
      const prevSample = combine([
        [x, 1 + r - r * kx],
        [modelOutput, -r * km],
      ]);
      return { prevSample, predOriginalSample: x0 };
    });
    this.stepIdx = i + 1;
    return out;
  }

  /**
   * Forward process in sigma form: `x0 + σ_t · noise`, with σ looked up at each timestep's position
   * in `timesteps` (or the current step / begin index once sampling has started, as diffusers).
   */
  addNoise(originalSamples: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    const op = 'EulerDiscreteScheduler.addNoise';
    checkTensor(originalSamples, 'originalSamples', op);
    checkTensor(noise, 'noise', op);
    checkSameShape(originalSamples, noise, 'originalSamples', 'noise', op);
    const ts = readTimesteps(op, timesteps, originalSamples.shape[0]);
    const idx =
      this.beginIdx === null
        ? ts.map((t) => this.indexForTimestep(t, op))
        : ts.map(() => this.stepIdx ?? (this.beginIdx as number));
    return batchCombine(
      originalSamples,
      idx.map(() => 1),
      noise,
      idx.map((i) => this.sigmas[i]),
    );
  }
}
