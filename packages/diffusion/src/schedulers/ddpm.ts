/**
 * DDPMScheduler: ancestral sampling of "Denoising Diffusion Probabilistic Models" (Ho et al. 2020),
 * diffusers' `scheduling_ddpm.py` with the same config fields (camelCase), defaults and step results.
 */
import { clamp, type Tensor, tidy } from '@attnkit/tensor-core';
import { roundHalfEven } from './betas.js';
import { type BaseSchedulerConfig, configFromJson, configToJson, resolveConfig } from './config.js';
import {
  batchCombine,
  checkSameShape,
  checkStepInputs,
  checkTensor,
  checkTrainTimestep,
  combine,
  predictionCoefficients,
  readTimesteps,
  Scheduler,
  type SchedulerOutput,
  type SchedulerStepOptions,
  spacedTimesteps,
  stepNoise,
  type TimestepsLike,
} from './scheduler.js';

/** How DDPM picks the variance of the noise added at each step (diffusers' `variance_type`). */
export type DDPMVarianceType = 'fixed_small' | 'fixed_small_log' | 'fixed_large';

/** DDPMScheduler config (diffusers' fields in camelCase). */
export interface DDPMSchedulerConfig extends BaseSchedulerConfig {
  /** Variance of the added noise: β̃_t (`fixed_small`, default), the same via logs, or β_t (`fixed_large`). */
  varianceType: DDPMVarianceType;
  /** Clip the predicted x0 to ±clipSampleRange. Default true. */
  clipSample: boolean;
  /** Clip range for x0. Default 1. */
  clipSampleRange: number;
  /** Dynamic thresholding (Imagen). Default false; true is not supported by this port. */
  thresholding: boolean;
  /** Dynamic thresholding percentile. Default 0.995. */
  dynamicThresholdingRatio: number;
  /** Dynamic thresholding maximum. Default 1. */
  sampleMaxValue: number;
}

/** diffusers' defaults for {@link DDPMScheduler}. */
export const DDPM_DEFAULTS: DDPMSchedulerConfig = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  varianceType: 'fixed_small',
  clipSample: true,
  predictionType: 'epsilon',
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: 'leading',
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
});

/**
 * DDPM ancestral sampler. Coefficients are computed in float64 on the host and applied to float32
 * tensors, so steps agree with diffusers' formulas within float32 rounding.
 *
 * @example
 * ```ts
 * const unet = await UNet2DModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_tiny');
 * const generator = new Generator(0);
 * const scheduler = new DDPMScheduler({ numTrainTimesteps: 1000 });
 * scheduler.setTimesteps(10);
 * let x = randn([1, 2, 8, 8], { generator });
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.forward(x, t);
 *   x = scheduler.step(eps, t, x, { generator }).prevSample;
 * }
 * ```
 */
export class DDPMScheduler extends Scheduler<DDPMSchedulerConfig> {
  readonly className = 'DDPMScheduler';

  /** Makes a scheduler from camelCase config fields (missing ones take diffusers' defaults). */
  constructor(config: Partial<DDPMSchedulerConfig> = {}) {
    super(
      resolveConfig(
        'DDPMScheduler',
        DDPM_DEFAULTS,
        config,
        { varianceType: ['fixed_small', 'fixed_small_log', 'fixed_large'] },
        {
          thresholding: { supported: [false], why: 'dynamic thresholding is not implemented' },
        },
      ),
    );
  }

  /** Reads a diffusers `scheduler_config.json` (object or text; snake_case; unknown keys ignored). */
  static fromConfig(config: unknown): DDPMScheduler {
    return new DDPMScheduler(configFromJson('DDPMScheduler', DDPM_DEFAULTS, config));
  }

  /** The config in diffusers' snake_case layout. */
  toJSON(): Record<string, unknown> {
    return configToJson(this.className, this.config);
  }

  /** Sets `timesteps` for `numInferenceSteps` steps using `config.timestepSpacing`. */
  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps);
    const c = this.config;
    const raw = spacedTimesteps(c.numTrainTimesteps, numInferenceSteps, c.timestepSpacing, c.stepsOffset);
    this.timesteps = c.timestepSpacing === 'linspace' ? raw.map(roundHalfEven) : raw;
    this.numInferenceSteps = numInferenceSteps;
  }

  /** The timestep after `t` in the schedule (-1 after the last; `t - 1` before setTimesteps). */
  previousTimestep(timestep: number): number {
    if (this.numInferenceSteps === null) return timestep - 1;
    const i = this.timesteps.indexOf(timestep);
    if (i < 0) {
      throw new Error(
        `DDPMScheduler.step: timestep ${timestep} is not in scheduler.timesteps [${this.timesteps.join(', ')}]`,
      );
    }
    return i === this.timesteps.length - 1 ? -1 : this.timesteps[i + 1];
  }

  /**
   * One DDPM step (diffusers' `DDPMScheduler.step`): predicts x0, clips it when `clipSample`, takes
   * the posterior mean and adds `std · noise` when `timestep > 0`.
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: SchedulerStepOptions = {},
  ): SchedulerOutput {
    const op = 'DDPMScheduler.step';
    checkStepInputs(op, modelOutput, timestep, sample, options);
    const c = this.config;
    const t = checkTrainTimestep(op, timestep, c.numTrainTimesteps);
    const prevT = this.previousTimestep(t);
    const aT = this.alphasCumprod[t];
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT] : 1;
    const bT = 1 - aT;
    const bPrev = 1 - aPrev;
    const curAlpha = aT / aPrev;
    const curBeta = 1 - curAlpha;
    const { x0: k } = predictionCoefficients(c.predictionType, aT, op);
    // posterior mean μ = cx0 · x0 + cs · x_t  (formula (7) of the DDPM paper)
    const cx0 = (Math.sqrt(aPrev) * curBeta) / bT;
    const cs = (Math.sqrt(curAlpha) * bPrev) / bT;
    let std = 0;
    if (t > 0) {
      if (c.varianceType === 'fixed_large') std = Math.sqrt(curBeta);
      else std = Math.sqrt(Math.max((bPrev / bT) * curBeta, 1e-20));
    }
    return tidy(() => {
      let x0 = combine([
        [sample, k[0]],
        [modelOutput, k[1]],
      ]);
      let mean: Tensor;
      if (c.clipSample) {
        x0 = clamp(x0, -c.clipSampleRange, c.clipSampleRange);
        mean = combine([
          [x0, cx0],
          [sample, cs],
        ]);
      } else {
        mean = combine([
          [sample, cx0 * k[0] + cs],
          [modelOutput, cx0 * k[1]],
        ]);
      }
      const prevSample =
        t > 0
          ? combine([
              [mean, 1],
              [stepNoise(sample, options), std],
            ])
          : mean;
      return { prevSample, predOriginalSample: x0 };
    });
  }

  /** Forward process q(x_t | x_0): `√ᾱ_t · x0 + √(1 − ᾱ_t) · noise`, one timestep per batch element. */
  addNoise(originalSamples: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    return addNoiseAlphas('DDPMScheduler.addNoise', this.alphasCumprod, originalSamples, noise, timesteps);
  }

  /** The v-prediction target `√ᾱ_t · noise − √(1 − ᾱ_t) · x0`. */
  getVelocity(sample: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    return velocityAlphas('DDPMScheduler.getVelocity', this.alphasCumprod, sample, noise, timesteps);
  }
}

/** Shared by DDPM and DDIM: `√ᾱ_t · x0 + √(1 − ᾱ_t) · noise`. @internal */
export function addNoiseAlphas(
  op: string,
  alphasCumprod: Float64Array,
  original: Tensor,
  noise: Tensor,
  timesteps: TimestepsLike,
): Tensor {
  checkTensor(original, 'originalSamples', op);
  checkTensor(noise, 'noise', op);
  checkSameShape(original, noise, 'originalSamples', 'noise', op);
  if (original.rank < 1) throw new Error(`${op}: originalSamples must have a batch dimension, got a scalar`);
  const ts = readTimesteps(op, timesteps, original.shape[0]).map((t) =>
    checkTrainTimestep(op, t, alphasCumprod.length),
  );
  return batchCombine(
    original,
    ts.map((t) => Math.sqrt(alphasCumprod[t])),
    noise,
    ts.map((t) => Math.sqrt(1 - alphasCumprod[t])),
  );
}

/** Shared by DDPM and DDIM: `√ᾱ_t · noise − √(1 − ᾱ_t) · x0`. @internal */
export function velocityAlphas(
  op: string,
  alphasCumprod: Float64Array,
  sample: Tensor,
  noise: Tensor,
  timesteps: TimestepsLike,
): Tensor {
  checkTensor(sample, 'sample', op);
  checkTensor(noise, 'noise', op);
  checkSameShape(sample, noise, 'sample', 'noise', op);
  if (sample.rank < 1) throw new Error(`${op}: sample must have a batch dimension, got a scalar`);
  const ts = readTimesteps(op, timesteps, sample.shape[0]).map((t) =>
    checkTrainTimestep(op, t, alphasCumprod.length),
  );
  return batchCombine(
    noise,
    ts.map((t) => Math.sqrt(alphasCumprod[t])),
    sample,
    ts.map((t) => -Math.sqrt(1 - alphasCumprod[t])),
  );
}
