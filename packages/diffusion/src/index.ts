/**
 * @attnkit/diffusion: diffusion schedulers equal to diffusers' (DDPM, DDIM, Euler, DPM-Solver++),
 * denoising models and pipelines, on any attnkit backend.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { DDIMScheduler } from '@attnkit/diffusion';
 * const scheduler = new DDIMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 });
 * scheduler.setTimesteps(50);
 * ```
 * @packageDocumentation
 */

export * from './data/index.js';
export * from './image/index.js';
export * from './models/index.js';
export {
  DDPMPipeline,
  type DDPMPipelineOptions,
  type DDPMPipelineOutput,
} from './pipelines/ddpm-pipeline.js';
export { type DenoiseOptions, type DenoiseStepInfo, denoise } from './pipelines/denoise.js';
export { clipTokenizerJson, type StableDiffusionLoadOptions } from './pipelines/from-pretrained.js';
export {
  type StableDiffusionComponents,
  type StableDiffusionImg2ImgOptions,
  StableDiffusionImg2ImgPipeline,
  type StableDiffusionOptions,
  type StableDiffusionOutput,
  StableDiffusionPipeline,
  type TextEncoderLike,
} from './pipelines/stable-diffusion.js';
export {
  type TextToImageOptions,
  type TextToImagePipeline,
  textToImagePipeline,
} from './pipelines/text-to-image.js';
export * from './pretrained/index.js';
export * from './schedulers/index.js';
export * from './training/index.js';
