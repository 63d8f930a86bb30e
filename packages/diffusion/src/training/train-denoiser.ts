/**
 * The denoising objective of DDPM: noise clean samples to a uniformly drawn timestep with the
 * scheduler's forward process, predict the noise (or v, or x0), minimise the mean squared error.
 */
import {
  Generator,
  indexSelect,
  keep,
  mseLoss,
  randn,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';
import { AdamW, clipGradNorm, getCosineScheduleWithWarmup } from '@attnkit/tensor-core/optim';
import type { DDIMScheduler } from '../schedulers/ddim.js';
import type { DDPMScheduler } from '../schedulers/ddpm.js';
import { EMAModel, type EMAOptions } from './ema.js';

/** A model trainDenoiser can train: `forward(noisy, timesteps, classLabels?)`. */
export interface Denoiser extends Module {
  forward(x: Tensor, timesteps: readonly number[], classLabels?: Tensor): Tensor;
}

/** What the network learns to predict (diffusers' `prediction_type`). */
export type DenoiserObjective = 'epsilon' | 'v_prediction' | 'sample';

/** Options of {@link trainDenoiser}. */
export interface TrainDenoiserOptions {
  /** The network. Its parameters are updated in place. */
  model: Denoiser;
  /** Provides ᾱ_t and the forward process (DDPM or DDIM; same tables). */
  scheduler: DDPMScheduler | DDIMScheduler;
  /** Training data [N, ...]: batches are drawn uniformly with replacement. */
  data: Tensor;
  /** Class labels [N] (int32) passed to the model with each batch, for class-conditional models. */
  labels?: Tensor;
  /**
   * Classifier-free guidance training (Ho and Salimans 2022): each label of a batch is replaced by
   * `nullLabel` with this probability, so the model also learns the unconditional prediction.
   * Needs `labels` and `nullLabel`. Default 0 (no dropout; the random draws are then unchanged).
   */
  labelDropout?: number;
  /** The label that stands for "no class" (the model's unconditional embedding row). */
  nullLabel?: number;
  /** Optimizer steps. */
  steps: number;
  /** Batch size. Default 64. */
  batchSize?: number;
  /** AdamW learning rate. Default 1e-3. */
  lr?: number;
  /** AdamW weight decay. Default 0. */
  weightDecay?: number;
  /**
   * Learning-rate schedule: `'constant'` (default) or `'cosine'` (transformers'
   * `get_cosine_schedule_with_warmup`, decaying to 0 at the last step).
   */
  lrSchedule?: 'constant' | 'cosine';
  /** Linear warmup steps of the schedule. Default 0. */
  lrWarmupSteps?: number;
  /** Clip the gradient norm to this value. Default none. */
  maxGradNorm?: number;
  /** Target: default the scheduler's `predictionType`. */
  objective?: DenoiserObjective;
  /** EMA of the weights (diffusers' EMAModel options), or false for none. Default `{ decay: 0.999 }`. */
  ema?: EMAOptions | false;
  /** Source of batches, timesteps and noise. Default `new Generator(0)`. */
  generator?: Generator;
  /** Called after each step with the loss. */
  onStep?: (info: { step: number; loss: number }) => void;
  /**
   * Draw a progress line on this stream (e.g. process.stderr), as `train()` of
   * `@attnkit/transformer` does: redrawn in place on a terminal, every `progressEvery` steps as
   * lines otherwise. Off by default.
   */
  progressBar?: { write(s: string): unknown; isTTY?: boolean } | null;
  /** Steps between progress lines when the stream is not a terminal. Default 100. */
  progressEvery?: number;
}

/** One progress line of {@link trainDenoiser}: `[#####.....] 120/500  loss 0.0412  35.2 it/s`. */
export function denoiserProgressLine(
  step: number,
  steps: number,
  loss: number,
  elapsedMs: number,
  width = 30,
): string {
  const done = Math.round((step / steps) * width);
  const rate = elapsedMs > 0 ? (step / elapsedMs) * 1000 : 0;
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${step}/${steps}  loss ${loss.toFixed(4)}  ${rate.toFixed(1)} it/s`;
}

/** Result of {@link trainDenoiser}. */
export interface TrainDenoiserResult {
  /** The loss of every step. */
  losses: number[];
  /** The EMA of the weights (copy into the model with `ema.copyTo(model.parameters())`), or null. */
  ema: EMAModel | null;
}

/**
 * Trains a denoiser with the simple DDPM loss: x0 from `data`, t ~ U{0..T−1}, ε ~ N(0, I),
 * `x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε`, loss = MSE(model(x_t, t), target) where the target is ε
 * (`epsilon`), `√ᾱ_t ε − √(1−ᾱ_t) x0` (`v_prediction`) or x0 (`sample`). AdamW, optional gradient
 * clipping, EMA weights. Memory stays flat: each step runs in a tidy scope.
 *
 * @example
 * ```ts
 * const data = makeMoons(1000, { generator: new Generator(1) });
 * const model = new MLPDenoiser({ dim: 2, hidden: 32 });
 * const scheduler = new DDPMScheduler({ numTrainTimesteps: 1000 });
 * // the demo trains 2000 steps of 256 points; a few steps here
 * const { losses, ema } = await trainDenoiser({ model, scheduler, data, steps: 20, batchSize: 64 });
 * losses.length; // => 20
 * ema?.copyTo(model.parameters());
 * ```
 */
export async function trainDenoiser(options: TrainDenoiserOptions): Promise<TrainDenoiserResult> {
  const op = 'trainDenoiser';
  const { model, scheduler, data, labels } = options;
  if (!model || typeof model.forward !== 'function' || typeof model.parameters !== 'function') {
    throw new TypeError(`${op}: options.model must be a Module with forward(x, timesteps)`);
  }
  if (
    !scheduler ||
    !(scheduler.alphasCumprod instanceof Float64Array) ||
    typeof scheduler.getVelocity !== 'function'
  ) {
    throw new TypeError(`${op}: options.scheduler must be a DDPMScheduler or DDIMScheduler`);
  }
  if (data?.isTensor !== true || data.rank < 2) {
    throw new TypeError(`${op}: options.data must be a Tensor [N, ...] with at least 2 dims`);
  }
  const n = data.shape[0];
  if (labels && (labels.rank !== 1 || labels.shape[0] !== n)) {
    throw new Error(
      `${op}: options.labels must have shape [${n}] (one per data row), got [${labels.shape.join(', ')}]`,
    );
  }
  const dropout = options.labelDropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`${op}: options.labelDropout must be a number in [0, 1), got ${String(dropout)}`);
  }
  let hostLabels: Int32Array | null = null;
  if (dropout > 0) {
    if (!labels) throw new Error(`${op}: options.labelDropout needs options.labels`);
    const nl = options.nullLabel;
    if (nl === undefined || !Number.isInteger(nl) || nl < 0) {
      throw new RangeError(
        `${op}: options.labelDropout needs options.nullLabel, a non-negative integer label, got ${String(nl)}`,
      );
    }
    hostLabels = Int32Array.from(await labels.data());
  }
  const steps = options.steps;
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`${op}: options.steps must be a positive integer, got ${steps}`);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`${op}: options.batchSize must be a positive integer, got ${batchSize}`);
  const objective = options.objective ?? scheduler.config.predictionType;
  if (!['epsilon', 'v_prediction', 'sample'].includes(objective)) {
    throw new Error(
      `${op}: options.objective must be 'epsilon', 'v_prediction' or 'sample', got ${JSON.stringify(objective)}`,
    );
  }
  const rng = options.generator ?? new Generator(0);
  const params = model.parameters();
  const opt = new AdamW(params, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0 });
  const schedule = options.lrSchedule ?? 'constant';
  if (schedule !== 'constant' && schedule !== 'cosine') {
    throw new Error(
      `${op}: options.lrSchedule must be 'constant' or 'cosine', got ${JSON.stringify(schedule)}`,
    );
  }
  const sched =
    schedule === 'cosine' ? getCosineScheduleWithWarmup(opt, options.lrWarmupSteps ?? 0, steps) : null;
  const ema = options.ema === false ? null : new EMAModel(params, options.ema ?? { decay: 0.999 });
  const nTrain = scheduler.config.numTrainTimesteps;
  model.train();
  const losses: number[] = [];
  const bar = options.progressBar ?? null;
  const every = options.progressEvery ?? 100;
  if (!Number.isInteger(every) || every < 1)
    throw new RangeError(`${op}: options.progressEvery must be a positive integer, got ${every}`);
  const t0 = Date.now();
  for (let step = 0; step < steps; step++) {
    const loss = tidy(() => {
      const idx = Int32Array.from({ length: batchSize }, () => rng.randint(0, n));
      const it = tensor(idx, [batchSize], 'int32');
      const x0 = indexSelect(data, 0, it);
      let y = labels ? indexSelect(labels, 0, it) : undefined;
      if (hostLabels) {
        const nullLabel = options.nullLabel as number;
        const dropped = Int32Array.from(idx, (i) => (rng.uniform() < dropout ? nullLabel : hostLabels[i]));
        y = tensor(dropped, [batchSize], 'int32');
      }
      const noise = randn(x0.shape, { generator: rng });
      const t = Array.from({ length: batchSize }, () => rng.randint(0, nTrain));
      const noisy = scheduler.addNoise(x0, noise, t);
      const target =
        objective === 'epsilon' ? noise : objective === 'sample' ? x0 : scheduler.getVelocity(x0, noise, t);
      const pred = model.forward(noisy, t, y);
      const l = mseLoss(pred, target);
      opt.zeroGrad();
      l.backward();
      if (options.maxGradNorm !== undefined) clipGradNorm(params, options.maxGradNorm);
      opt.step();
      ema?.step(params);
      return keep(l.detach());
    });
    sched?.step();
    const value = await loss.item();
    loss.dispose();
    losses.push(value);
    options.onStep?.({ step, loss: value });
    if (bar && (bar.isTTY || (step + 1) % every === 0 || step + 1 === steps)) {
      const line = denoiserProgressLine(step + 1, steps, value, Date.now() - t0);
      bar.write(bar.isTTY ? `\r${line}` : `${line}\n`);
    }
  }
  if (bar?.isTTY) bar.write('\n');
  opt.zeroGrad();
  model.eval();
  return { losses, ema };
}
