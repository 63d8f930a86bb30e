/**
 * DDPMPipeline (diffusers' `pipelines/ddpm/pipeline_ddpm.py`): unconditional image generation with
 * a UNet2DModel and any scheduler, seeded, with a per-step callback and RGBA output.
 */

import { openFiles, readText } from '@attnkit/hub';
import type { Generator, Tensor } from '@attnkit/tensor-core';
import { type RgbaImage, tensorToRgba } from '../image/rgba.js';
import { loadPretrained, type ModelSource } from '../models/loading.js';
import { UNet2DModel } from '../models/unet-2d.js';
import { schedulerFromConfig } from '../schedulers/from-config.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import { checkLatents, type DenoiseStepInfo, denoise } from './denoise.js';

/** Options of {@link DDPMPipeline.generate} (diffusers' `__call__` arguments, camelCase). */
export interface DDPMPipelineOptions {
  /** Number of images. Default 1. */
  batchSize?: number;
  /** Seeded generator: the same seed gives the same images. */
  generator?: Generator;
  /** Denoising steps. Default 1000 (diffusers' default for DDPM). */
  numInferenceSteps?: number;
  /** DDIM's eta when the scheduler is DDIM. */
  eta?: number;
  /** Image size (H = W); default `unet.config.sampleSize`. */
  sampleSize?: number;
  /** Start from these latents [B, C, H, W] instead of fresh noise. */
  latents?: Tensor;
  /**
   * Called after each step (and awaited). `info.sample` is x_{t−1}; `info.predOriginalSample` the
   * x0 preview: turn it into pixels with `tensorToRgba`. The tensors are valid during the call only.
   */
  onStep?: (info: DenoiseStepInfo) => void | Promise<void>;
}

/** Result of {@link DDPMPipeline.generate}. */
export interface DDPMPipelineOutput {
  /** One RGBA image per batch element. */
  images: RgbaImage[];
  /** The final sample [B, C, H, W] in [−1, 1] (caller owns it). */
  sample: Tensor;
}

/**
 * Unconditional generation: noise → `scheduler.step(unet(x, t), t, x)` for every timestep → pixels.
 *
 * @example
 * ```ts
 * import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * // a diffusers folder: unet/ and scheduler/scheduler_config.json (here a tiny U-Net on 2×8×8 images)
 * const dir = mkdtempSync(join(tmpdir(), 'attnkit-ddpm-'));
 * cpSync('packages/diffusion/test/fixtures/models/unet2d_tiny', join(dir, 'unet'), { recursive: true });
 * mkdirSync(join(dir, 'scheduler'));
 * writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(new DDPMScheduler().toJSON()));
 * const pipe = await DDPMPipeline.fromPretrained(dir);
 * const steps: string[] = [];
 * const { images } = await pipe.generate({ generator: new Generator(0), numInferenceSteps: 5,
 *   onStep: ({ step, numSteps }) => { steps.push(`${step + 1}/${numSteps}`); } });
 * steps.at(-1); // => '5/5'
 * await savePng(join(dir, 'sample.png'), images[0]);
 * ```
 */
export class DDPMPipeline {
  constructor(
    readonly unet: UNet2DModel,
    readonly scheduler: Scheduler,
  ) {
    if (!(unet instanceof UNet2DModel)) throw new TypeError('DDPMPipeline: unet must be a UNet2DModel');
    if (!scheduler || typeof scheduler.step !== 'function')
      throw new TypeError('DDPMPipeline: scheduler must be a Scheduler');
  }

  /**
   * Loads a diffusers pipeline folder (or URL): `unet/` (config.json + safetensors) and
   * `scheduler/scheduler_config.json`.
   */
  static async fromPretrained(source: string | URL): Promise<DDPMPipeline> {
    const base = String(source).replace(/\/+$/, '');
    const unet = await loadPretrained(
      `${base}/unet` as ModelSource,
      (c) => new UNet2DModel(c),
      'DDPMPipeline.fromPretrained',
    );
    // a folder (Node) or URL base, read through @attnkit/hub like every other checkpoint file
    const text = await readText(
      openFiles(base, 'DDPMPipeline.fromPretrained'),
      'scheduler/scheduler_config.json',
      'DDPMPipeline.fromPretrained',
    );
    return new DDPMPipeline(unet, schedulerFromConfig(text));
  }

  /** Generates images; see {@link DDPMPipelineOptions}. */
  async generate(options: DDPMPipelineOptions = {}): Promise<DDPMPipelineOutput> {
    const op = 'DDPMPipeline.generate';
    const batch = options.batchSize ?? 1;
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`${op}: batchSize must be a positive integer, got ${batch}`);
    const cfg = this.unet.config;
    const ss = options.sampleSize ?? (Array.isArray(cfg.sampleSize) ? cfg.sampleSize[0] : cfg.sampleSize);
    if (!options.latents && (typeof ss !== 'number' || ss < 1)) {
      throw new Error(`${op}: unet.config.sampleSize is not set; pass options.sampleSize`);
    }
    if (options.latents !== undefined) {
      // Size from the latents when they are given (any square or not); batch and channels must fit.
      checkLatents(op, options.latents, [options.batchSize ?? null, cfg.inChannels, null, null]);
    }
    const shape = options.latents
      ? [...options.latents.shape]
      : [batch, cfg.inChannels, ss as number, ss as number];
    const sample = await denoise((x, t) => this.unet.forward(x, t), {
      scheduler: this.scheduler,
      numInferenceSteps: options.numInferenceSteps ?? 1000,
      shape,
      generator: options.generator,
      eta: options.eta,
      latents: options.latents,
      onStep: options.onStep,
    });
    return { images: await tensorToRgba(sample), sample };
  }
}
