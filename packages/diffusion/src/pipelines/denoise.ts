/**
 * The reverse-diffusion sampling loop shared by the pipelines: start from Gaussian noise scaled by
 * the scheduler's `initNoiseSigma`, then for each timestep scale the input, ask the model, and step.
 */
import { type Generator, isFloat, keep, mul, noGrad, randn, Tensor, tidy } from '@attnkit/tensor-core';
import type { Scheduler } from '../schedulers/scheduler.js';

/** What the per-step callback receives. The tensors are valid only during the call. */
export interface DenoiseStepInfo {
  /** 0-based index of the step just taken. */
  step: number;
  /** Total number of steps. */
  numSteps: number;
  /** The timestep of this step. */
  timestep: number;
  /** The sample after this step (x_{t−1}). */
  sample: Tensor;
  /** The model's estimate of the clean result at this step (a preview). */
  predOriginalSample: Tensor;
}

/** Options of {@link denoise}. */
export interface DenoiseOptions {
  scheduler: Scheduler;
  /** Number of denoising steps. */
  numInferenceSteps: number;
  /** Shape of the sample, e.g. [B, C, H, W] (ignored when `latents` is given). */
  shape: readonly number[];
  /** Source of the initial noise and of the schedulers' step noise. */
  generator?: Generator;
  /** DDIM's eta. */
  eta?: number;
  /** Start from these (unscaled, unit-variance) latents instead of drawing noise. */
  latents?: Tensor;
  /** Called after every step; may be async (awaited before the next step). */
  onStep?: (info: DenoiseStepInfo) => void | Promise<void>;
}

/**
 * Checks a pipeline's `latents` option: a float Tensor of exactly `shape` (the pipeline's batch,
 * channels and size), so a wrong value fails here with its name, not deep inside a kernel.
 * @internal
 */
export function checkLatents(op: string, latents: unknown, shape: readonly (number | null)[]): void {
  const want = `[${shape.map((d) => d ?? 'any').join(', ')}]`;
  if (!(latents instanceof Tensor)) {
    const got = latents === null ? 'null' : Array.isArray(latents) ? 'an array' : typeof latents;
    throw new TypeError(`${op}: options.latents must be a float32 Tensor of shape ${want}, got ${got}`);
  }
  if (!isFloat(latents.dtype)) {
    throw new TypeError(`${op}: options.latents must be a float tensor, got dtype ${latents.dtype}`);
  }
  const s = latents.shape;
  if (s.length !== shape.length || shape.some((d, i) => d !== null && d !== s[i])) {
    throw new Error(`${op}: options.latents must have shape ${want}, got [${s.join(', ')}]`);
  }
}

/**
 * Runs the sampling loop: `predict(scaledSample, t)` is the model call (run without gradients).
 * Memory stays flat: each step runs in a tidy scope and only the current sample survives it.
 *
 * @returns the final sample (caller owns it)
 * @example
 * ```ts
 * const unet = await UNet2DModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_tiny');
 * const scheduler = new DDIMScheduler();
 * const generator = new Generator(0);
 * const x = await denoise((x, t) => unet.forward(x, t), { scheduler, numInferenceSteps: 10, shape: [1, 2, 8, 8], generator });
 * x.shape; // => [1, 2, 8, 8]
 * ```
 */
export async function denoise(
  predict: (sample: Tensor, timestep: number) => Tensor,
  options: DenoiseOptions,
): Promise<Tensor> {
  const { scheduler } = options;
  if (!scheduler || typeof scheduler.step !== 'function')
    throw new TypeError('denoise: options.scheduler must be a Scheduler');
  if (options.latents !== undefined) checkLatents('denoise', options.latents, options.shape);
  scheduler.setTimesteps(options.numInferenceSteps);
  const timesteps = [...scheduler.timesteps];
  let x = tidy(() => {
    const init = options.latents ?? randn(options.shape, { generator: options.generator });
    return keep(
      scheduler.initNoiseSigma === 1 && options.latents ? init.mul(1) : mul(init, scheduler.initNoiseSigma),
    );
  });
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    const prev = x;
    const out = tidy(() => {
      const input = scheduler.scaleModelInput(prev, t);
      const pred = noGrad(() => predict(input, t));
      const r = scheduler.step(pred, t, prev, { generator: options.generator, eta: options.eta });
      return { prevSample: keep(r.prevSample), predOriginalSample: keep(r.predOriginalSample) };
    });
    prev.dispose();
    x = out.prevSample;
    try {
      await options.onStep?.({
        step: i,
        numSteps: timesteps.length,
        timestep: t,
        sample: x,
        predOriginalSample: out.predOriginalSample,
      });
    } finally {
      out.predOriginalSample.dispose();
    }
  }
  (scheduler as { dispose?: () => void }).dispose?.();
  return x;
}
