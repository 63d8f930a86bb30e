/**
 * DDIMScheduler: "Denoising Diffusion Implicit Models" (Song et al. 2020), diffusers'
 * `scheduling_ddim.py` with the same config fields (camelCase), defaults and step results.
 */
import { clamp, type Tensor, tidy } from '@attnkit/tensor-core';
import { roundHalfEven } from './betas.js';
import { type BaseSchedulerConfig, configFromJson, configToJson, resolveConfig } from './config.js';
import { addNoiseAlphas, velocityAlphas } from './ddpm.js';
import {
  checkStepInputs,
  checkTrainTimestep,
  combine,
  predictionCoefficients,
  Scheduler,
  type SchedulerOutput,
  type SchedulerStepOptions,
  spacedTimesteps,
  stepNoise,
  type TimestepsLike,
} from './scheduler.js';

/** DDIMScheduler config (diffusers' fields in camelCase). */
export interface DDIMSchedulerConfig extends BaseSchedulerConfig {
  /** Clip the predicted x0 to ±clipSampleRange. Default true. */
  clipSample: boolean;
  /** Clip range for x0. Default 1. */
  clipSampleRange: number;
  /** ᾱ used past the last step: 1 when true (default), else ᾱ_0. */
  setAlphaToOne: boolean;
  /** Dynamic thresholding (Imagen). Default false; true is not supported by this port. */
  thresholding: boolean;
  /** Dynamic thresholding percentile. Default 0.995. */
  dynamicThresholdingRatio: number;
  /** Dynamic thresholding maximum. Default 1. */
  sampleMaxValue: number;
}

/** diffusers' defaults for {@link DDIMScheduler}. */
export const DDIM_DEFAULTS: DDIMSchedulerConfig = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  clipSample: true,
  setAlphaToOne: true,
  stepsOffset: 0,
  predictionType: 'epsilon',
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: 'leading',
  rescaleBetasZeroSnr: false,
});

/**
 * DDIM sampler: deterministic with `eta = 0`, stochastic with `eta > 0`. The previous timestep is
 * `t − numTrainTimesteps // numInferenceSteps` (as diffusers; it can be negative, which selects
 * `finalAlphaCumprod`).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * // a diffusers scheduler_config.json (in a browser: await (await fetch(url)).json())
 * const config = { _class_name: 'DDIMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 };
 * const scheduler = DDIMScheduler.fromConfig(config);
 * scheduler.setTimesteps(10);
 * scheduler.timesteps; // => [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
 * const unet = await UNet2DModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_tiny');
 * let x = randn([1, 2, 8, 8], { generator: new Generator(0) });
 * for (const t of scheduler.timesteps) x = scheduler.step(unet.forward(x, t), t, x, { eta: 0 }).prevSample;
 * ```
 */
export class DDIMScheduler extends Scheduler<DDIMSchedulerConfig> {
  readonly className = 'DDIMScheduler';
  /** ᾱ past the end of the schedule (1 with `setAlphaToOne`, else ᾱ_0). */
  readonly finalAlphaCumprod: number;

  /** Makes a scheduler from camelCase config fields (missing ones take diffusers' defaults). */
  constructor(config: Partial<DDIMSchedulerConfig> = {}) {
    super(
      resolveConfig(
        'DDIMScheduler',
        DDIM_DEFAULTS,
        config,
        {},
        {
          thresholding: { supported: [false], why: 'dynamic thresholding is not implemented' },
        },
      ),
    );
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  /** Reads a diffusers `scheduler_config.json` (object or text; snake_case; unknown keys ignored). */
  static fromConfig(config: unknown): DDIMScheduler {
    return new DDIMScheduler(configFromJson('DDIMScheduler', DDIM_DEFAULTS, config));
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

  /** σ_t² of DDIM's formula (16) between `timestep` and `prevTimestep`. */
  getVariance(timestep: number, prevTimestep: number): number {
    const aT = this.alphasCumprod[timestep];
    const aPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    return ((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev);
  }

  /**
   * One DDIM step (diffusers' `DDIMScheduler.step`, formula (12) of the paper). `options.eta`
   * (default 0) scales the added noise; noise is drawn only when `eta > 0`.
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: SchedulerStepOptions = {},
  ): SchedulerOutput {
    const op = 'DDIMScheduler.step';
    checkStepInputs(op, modelOutput, timestep, sample, options);
    if (this.numInferenceSteps === null) {
      throw new Error(`${op}: numInferenceSteps is not set; call setTimesteps(n) before step`);
    }
    const eta = options.eta ?? 0;
    if (typeof eta !== 'number' || !(eta >= 0))
      throw new RangeError(`${op}: options.eta must be a number ≥ 0, got ${String(eta)}`);
    const c = this.config;
    const t = checkTrainTimestep(op, timestep, c.numTrainTimesteps);
    const prevT = t - Math.floor(c.numTrainTimesteps / this.numInferenceSteps);
    const aT = this.alphasCumprod[t];
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.finalAlphaCumprod;
    const bT = 1 - aT;
    const { x0: k, eps: e } = predictionCoefficients(c.predictionType, aT, op);
    const std = eta * Math.sqrt(this.getVariance(t, prevT));
    const dirSq = 1 - aPrev - std * std;
    if (dirSq < 0) {
      throw new RangeError(
        `${op}: eta = ${eta} is too large at timestep ${t} (1 − ᾱ_prev − σ² = ${dirSq} < 0)`,
      );
    }
    const dir = Math.sqrt(dirSq);
    const sa = Math.sqrt(aPrev);
    return tidy(() => {
      let x0 = combine([
        [sample, k[0]],
        [modelOutput, k[1]],
      ]);
      let prev: Tensor;
      if (c.clipSample) {
        x0 = clamp(x0, -c.clipSampleRange, c.clipSampleRange);
        if (options.useClippedModelOutput) {
          // ε re-derived from the clipped x0: (x_t − √ᾱ_t · x0) / √(1 − ᾱ_t)
          const g = 1 / Math.sqrt(bT);
          prev = combine([
            [x0, sa - dir * g * Math.sqrt(aT)],
            [sample, dir * g],
          ]);
        } else {
          prev = combine([
            [x0, sa],
            [sample, dir * e[0]],
            [modelOutput, dir * e[1]],
          ]);
        }
      } else {
        // without clipping the step is linear in (sample, modelOutput): one fused combination
        prev = combine([
          [sample, sa * k[0] + dir * e[0]],
          [modelOutput, sa * k[1] + dir * e[1]],
        ]);
      }
      if (eta > 0) {
        prev = combine([
          [prev, 1],
          [stepNoise(sample, options), std],
        ]);
      }
      return { prevSample: prev, predOriginalSample: x0 };
    });
  }

  /** Forward process q(x_t | x_0): `√ᾱ_t · x0 + √(1 − ᾱ_t) · noise`, one timestep per batch element. */
  addNoise(originalSamples: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    return addNoiseAlphas('DDIMScheduler.addNoise', this.alphasCumprod, originalSamples, noise, timesteps);
  }

  /** The v-prediction target `√ᾱ_t · noise − √(1 − ᾱ_t) · x0`. */
  getVelocity(sample: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    return velocityAlphas('DDIMScheduler.getVelocity', this.alphasCumprod, sample, noise, timesteps);
  }
}
