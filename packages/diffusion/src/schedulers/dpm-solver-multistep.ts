/**
 * DPMSolverMultistepScheduler: DPM-Solver++ (Lu et al. 2022), the multistep second-order solver
 * ("DPM++ 2M"), diffusers' `scheduling_dpmsolver_multistep.py` with `algorithm_type = 'dpmsolver++'`.
 */
import { keep, type Tensor, tidy } from '@attnkit/tensor-core';
import { interpIndex, npArange, npLinspace, roundHalfEven } from './betas.js';
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
  type TimestepsLike,
} from './scheduler.js';

/** DPMSolverMultistepScheduler config (diffusers' fields in camelCase). */
export interface DPMSolverMultistepSchedulerConfig extends BaseSchedulerConfig {
  /** Solver order: 1 (DDIM-like) or 2 (default; order 3 is not supported by this port). */
  solverOrder: number;
  /** `'dpmsolver++'` (default; the only one supported). */
  algorithmType: 'dpmsolver++';
  /** Second-order update: `'midpoint'` (default) or `'heun'`. */
  solverType: 'midpoint' | 'heun';
  /** Use first order at the last step when there are fewer than 15 steps. Default true. */
  lowerOrderFinal: boolean;
  /** Always use first order at the last step. Default false. */
  eulerAtFinal: boolean;
  /** Karras sigmas. Default false (true is not supported). */
  useKarrasSigmas: boolean;
  /** Last sigma: `'zero'` (default) or `'sigma_min'`. */
  finalSigmasType: 'zero' | 'sigma_min';
  /** Clip λ(t) from below (stops before timesteps with λ below it). Default −∞. */
  lambdaMinClipped: number;
  /** Dynamic thresholding. Default false (true is not supported). */
  thresholding: boolean;
  /** Dynamic thresholding percentile. Default 0.995. */
  dynamicThresholdingRatio: number;
  /** Dynamic thresholding maximum. Default 1. */
  sampleMaxValue: number;
  /** Learned variance models: null (default; others not supported). */
  varianceType: null;
}

/** diffusers' defaults for {@link DPMSolverMultistepScheduler}. */
export const DPM_DEFAULTS: DPMSolverMultistepSchedulerConfig = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  solverOrder: 2,
  predictionType: 'epsilon',
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  algorithmType: 'dpmsolver++',
  solverType: 'midpoint',
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  finalSigmasType: 'zero',
  lambdaMinClipped: Number.NEGATIVE_INFINITY,
  varianceType: null,
  timestepSpacing: 'linspace',
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
});

/** α_t = 1/√(σ²+1), σ_t = σ·α_t of the VP form, from the sigma of the VE form. */
function alphaSigma(sigma: number): [number, number] {
  const a = 1 / Math.sqrt(sigma * sigma + 1);
  return [a, sigma * a];
}

/**
 * DPM-Solver++ 2M. Stateful (it keeps the last data predictions): call `setTimesteps`, then step
 * through `timesteps` in order. `predOriginalSample` is the data prediction of the step (diffusers
 * computes it in `convert_model_output`).
 *
 * @example
 * ```ts
 * const s = new DPMSolverMultistepScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 });
 * s.setTimesteps(10);
 * const unet = await UNet2DModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_tiny');
 * let x = randn([1, 2, 8, 8], { generator: new Generator(0) });
 * for (const t of s.timesteps) x = s.step(unet.forward(x, t), t, x).prevSample;
 * ```
 */
export class DPMSolverMultistepScheduler extends Scheduler<DPMSolverMultistepSchedulerConfig> {
  readonly className = 'DPMSolverMultistepScheduler';
  /** Sigmas at the inference timesteps plus the final one. */
  sigmas: Float64Array;
  private stepIdx: number | null = null;
  private beginIdx: number | null = null;
  private history: (Tensor | null)[] = [];
  private lowerOrderNums = 0;

  /** Makes a scheduler from camelCase config fields (missing ones take diffusers' defaults). */
  constructor(config: Partial<DPMSolverMultistepSchedulerConfig> = {}) {
    super(
      resolveConfig(
        'DPMSolverMultistepScheduler',
        DPM_DEFAULTS,
        config,
        {
          algorithmType: ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver', 'sde-dpmsolver++'],
          solverType: ['midpoint', 'heun'],
          finalSigmasType: ['zero', 'sigma_min'],
        },
        {
          algorithmType: { supported: ['dpmsolver++'], why: 'only DPM-Solver++ is implemented' },
          solverOrder: { supported: [1, 2], why: 'third-order multistep is not implemented' },
          useKarrasSigmas: { supported: [false], why: 'Karras sigmas are not implemented' },
          thresholding: { supported: [false], why: 'dynamic thresholding is not implemented' },
          varianceType: { supported: [null], why: 'learned-variance outputs are not implemented' },
        },
      ),
    );
    if (this.config.rescaleBetasZeroSnr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    const n = this.config.numTrainTimesteps;
    this.timesteps = Array.from({ length: n }, (_, i) => n - 1 - i);
    this.sigmas = this.sigmasAt(this.timesteps);
    this.history = new Array(this.config.solverOrder).fill(null);
  }

  /** Reads a diffusers `scheduler_config.json` (object or text; snake_case; unknown keys ignored). */
  static fromConfig(config: unknown): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler(
      configFromJson('DPMSolverMultistepScheduler', DPM_DEFAULTS, config),
    );
  }

  /** The config in diffusers' snake_case layout. */
  toJSON(): Record<string, unknown> {
    return configToJson(this.className, this.config);
  }

  /** Index of the current step in `timesteps` (null before the first step). */
  get stepIndex(): number | null {
    return this.stepIdx;
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
   * Sets `timesteps` (diffusers' DPM rule: linspace/leading over n + 1 points, dropping the last),
   * `sigmas`, and clears the solver history.
   */
  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps);
    const c = this.config;
    const N = c.numTrainTimesteps;
    const n = numInferenceSteps;
    // last timestep allowed by lambdaMinClipped: N − (number of λ values below the clip)
    let clipped = 0;
    if (Number.isFinite(c.lambdaMinClipped)) {
      for (const a of this.alphasCumprod) {
        const lambda = Math.log(Math.sqrt(a)) - Math.log(Math.sqrt(1 - a));
        if (lambda < c.lambdaMinClipped) clipped++;
      }
    }
    const last = N - clipped;
    let ts: number[];
    if (c.timestepSpacing === 'linspace') {
      ts = Array.from(npLinspace(0, last - 1, n + 1), roundHalfEven)
        .reverse()
        .slice(0, -1);
    } else if (c.timestepSpacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      ts = Array.from({ length: n + 1 }, (_, i) => i * ratio)
        .reverse()
        .slice(0, -1)
        .map((t) => t + c.stepsOffset);
    } else {
      ts = Array.from(npArange(last, 0, -N / n), (t) => roundHalfEven(t) - 1);
    }
    this.timesteps = ts;
    this.sigmas = this.sigmasAt(ts);
    this.numInferenceSteps = ts.length;
    this.resetHistory();
    this.stepIdx = null;
    this.beginIdx = null;
  }

  private resetHistory(): void {
    for (const t of this.history) t?.dispose();
    this.history = new Array(this.config.solverOrder).fill(null);
    this.lowerOrderNums = 0;
  }

  /** Frees the solver's saved model outputs (they are also freed by the next `setTimesteps`). */
  dispose(): void {
    this.resetHistory();
  }

  /** Starts stepping at `timesteps[beginIndex]` (img2img pipelines call this before the loop). */
  setBeginIndex(beginIndex = 0): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0 || beginIndex >= this.timesteps.length) {
      throw new RangeError(
        `DPMSolverMultistepScheduler.setBeginIndex: beginIndex must be an integer in [0, ${this.timesteps.length - 1}], got ${beginIndex}`,
      );
    }
    this.beginIdx = beginIndex;
  }

  /** Position of `timestep` in `timesteps` (the second match when repeated; the last index when absent, as diffusers). */
  indexForTimestep(timestep: number): number {
    const hits: number[] = [];
    this.timesteps.forEach((t, i) => {
      if (t === timestep) hits.push(i);
    });
    if (hits.length === 0) return this.timesteps.length - 1;
    return hits.length > 1 ? hits[1] : hits[0];
  }

  /**
   * One DPM-Solver++ step: converts the output to a data prediction x0, then a first-order update
   * (first step, final step with `finalSigmasType: 'zero'` or `lowerOrderFinal` under 15 steps) or
   * the second-order multistep update using the previous x0.
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    options: SchedulerStepOptions = {},
  ): SchedulerOutput {
    const op = 'DPMSolverMultistepScheduler.step';
    checkStepInputs(op, modelOutput, timestep, sample, options);
    if (this.numInferenceSteps === null) {
      throw new Error(`${op}: numInferenceSteps is not set; call setTimesteps(n) before step`);
    }
    const c = this.config;
    if (this.stepIdx === null) this.stepIdx = this.beginIdx ?? this.indexForTimestep(timestep);
    const i = this.stepIdx;
    const n = this.timesteps.length;
    if (i >= n) throw new Error(`${op}: all ${n} steps were taken; call setTimesteps again`);
    const lowerOrderFinal =
      i === n - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === 'zero');
    const [aS0, sS0] = alphaSigma(this.sigmas[i]);
    const [aT, sT] = alphaSigma(this.sigmas[i + 1]);
    const lamT = Math.log(aT) - Math.log(sT); // +∞ at σ = 0
    const lamS0 = Math.log(aS0) - Math.log(sS0);
    const h = lamT - lamS0;
    const em1 = Math.exp(-h) - 1;
    // data prediction x0 = kx · sample + km · modelOutput
    const p = c.predictionType;
    let kx: number;
    let km: number;
    if (p === 'epsilon') [kx, km] = [1 / aS0, -sS0 / aS0];
    else if (p === 'sample') [kx, km] = [0, 1];
    else [kx, km] = [aS0, -sS0];
    // A repeated timestep (diffusers' 'linspace' rounding repeats 500 at 1000 steps) makes a step of
    // zero length in λ: the second-order update would divide by r0 = h0 / h = 0 at the next step (NaN,
    // as in diffusers). With a zero-length step on either side, take the first-order update (which
    // leaves the sample unchanged when h = 0).
    const zeroStep = h === 0 || (i >= 1 && this.sigmas[i - 1] === this.sigmas[i]);
    const secondOrder = c.solverOrder !== 1 && this.lowerOrderNums >= 1 && !lowerOrderFinal && !zeroStep;
    const out = tidy(() => {
      const x0 = combine([
        [sample, kx],
        [modelOutput, km],
      ]);
      let prevSample: Tensor;
      if (!secondOrder) {
        // x_t = (σ_t/σ_s) x − α_t (e^{−h} − 1) x0
        prevSample = combine([
          [sample, sT / sS0 - aT * em1 * kx],
          [modelOutput, -aT * em1 * km],
        ]);
      } else {
        const [aS1, sS1] = alphaSigma(this.sigmas[i - 1]);
        const lamS1 = Math.log(aS1) - Math.log(sS1);
        const r0 = (lamS0 - lamS1) / h;
        const m1 = this.history[this.history.length - 1] as Tensor;
        // D0 = x0, D1 = (x0 − m1)/r0
        const c1 = c.solverType === 'midpoint' ? -0.5 * aT * em1 : aT * (em1 / h + 1);
        prevSample = combine([
          [sample, sT / sS0 - aT * em1 * kx + (c1 * kx) / r0],
          [modelOutput, -aT * em1 * km + (c1 * km) / r0],
          [m1, -c1 / r0],
        ]);
      }
      return { prevSample, predOriginalSample: x0 };
    });
    // remember x0 (a separate handle, so the caller may dispose predOriginalSample)
    const evicted = this.history.shift();
    evicted?.dispose();
    this.history.push(keep(out.predOriginalSample.detach()));
    if (this.lowerOrderNums < c.solverOrder) this.lowerOrderNums++;
    this.stepIdx = i + 1;
    return out;
  }

  /**
   * Forward process in the VP form at the sigma of each timestep: `α_t · x0 + σ_t · noise` with
   * `α_t = 1/√(σ²+1)`, `σ_t = σ·α_t`.
   */
  addNoise(originalSamples: Tensor, noise: Tensor, timesteps: TimestepsLike): Tensor {
    const op = 'DPMSolverMultistepScheduler.addNoise';
    checkTensor(originalSamples, 'originalSamples', op);
    checkTensor(noise, 'noise', op);
    checkSameShape(originalSamples, noise, 'originalSamples', 'noise', op);
    const ts = readTimesteps(op, timesteps, originalSamples.shape[0]);
    const idx =
      this.beginIdx === null
        ? ts.map((t) => this.indexForTimestep(t))
        : ts.map(() => this.stepIdx ?? (this.beginIdx as number));
    const as = idx.map((j) => alphaSigma(this.sigmas[j]));
    return batchCombine(
      originalSamples,
      as.map((v) => v[0]),
      noise,
      as.map((v) => v[1]),
    );
  }
}
