// pipeline('text-to-image', folder): @attnkit/transformer's pipeline() for Stable Diffusion folders.
//
// @attnkit/diffusion depends on @attnkit/transformer (the CLIP text encoder), so transformer's
// pipeline() cannot import this package. Instead, importing @attnkit/diffusion registers the task
// (registerPipeline, below) and adds it to transformer's Pipelines type by declaration merging, so
// `await pipeline('text-to-image', dir)` is typed as a TextToImagePipeline. No dependency cycle.
import { useBackend } from '@attnkit/tensor-core';
import { type PipelineOptions, type PretrainedSource, registerPipeline } from '@attnkit/transformer';
import type { RgbaImage } from '../image/rgba.js';
import type { StableDiffusionLoadOptions } from './from-pretrained.js';
import { type StableDiffusionOptions, StableDiffusionPipeline } from './stable-diffusion.js';

declare module '@attnkit/transformer' {
  interface Pipelines {
    'text-to-image': TextToImagePipeline;
  }
  interface PipelineOptions {
    /** text-to-image only: the scheduler class to build (see StableDiffusionLoadOptions.scheduler). */
    scheduler?: StableDiffusionLoadOptions['scheduler'];
  }
}

/** Options of a text-to-image call: StableDiffusionPipeline.generate's, without the prompt. */
export type TextToImageOptions = Omit<StableDiffusionOptions, 'prompt'>;

/**
 * A text-to-image pipeline around a {@link StableDiffusionPipeline}: prompt(s) in, RGBA images out.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import '@attnkit/diffusion'; // registers 'text-to-image'
 * import { pipeline } from '@attnkit/transformer';
 * import { Generator } from '@attnkit/tensor-core';
 * import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { CLIPTextModel, saveModel } from '@attnkit/transformer';
 * // a diffusers folder such as stable-diffusion-v1-5, assembled here from tiny parts
 * const dir = mkdtempSync(join(tmpdir(), 'attnkit-sd-'));
 * cpSync('packages/diffusion/test/fixtures/models/unet2d_condition_tiny', join(dir, 'unet'), { recursive: true });
 * cpSync('packages/diffusion/test/fixtures/models/vae_tiny', join(dir, 'vae'), { recursive: true });
 * cpSync('packages/transformer/test/fixtures/clip-tokenizer/tokenizer.json', join(dir, 'tokenizer', 'tokenizer.json'));
 * await saveModel(new CLIPTextModel({ vocabSize: 634, hiddenSize: 12, intermediateSize: 24, numHiddenLayers: 1,
 *   numAttentionHeads: 3, maxPositionEmbeddings: 16, eosTokenId: 633 }), join(dir, 'text_encoder'));
 * mkdirSync(join(dir, 'scheduler'));
 * writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'PNDMScheduler',
 *   beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, skip_prk_steps: true, steps_offset: 1 }));
 * const draw = await pipeline('text-to-image', dir, { scheduler: 'DDIMScheduler' });
 * const [image] = await draw('a red circle', { numInferenceSteps: 5, generator: new Generator(0) });
 * [image.width, image.height]; // => [16, 16]
 * ```
 */
export interface TextToImagePipeline {
  (prompt: string | string[], options?: TextToImageOptions): Promise<RgbaImage[]>;
  readonly task: 'text-to-image';
  /** The Stable Diffusion pipeline that runs it. */
  readonly pipe: StableDiffusionPipeline;
  /** Frees the U-Net's, the VAE's and the text encoder's weights. */
  dispose(): void;
}

const OP = "pipeline('text-to-image')";

/** Loads a diffusers Stable Diffusion folder as a {@link TextToImagePipeline}. */
export async function textToImagePipeline(
  source: PretrainedSource,
  options: PipelineOptions = {},
): Promise<TextToImagePipeline> {
  if (typeof source !== 'string' && !(source instanceof URL))
    throw new TypeError(
      `${OP}: a Stable Diffusion pipeline loads from a folder path or a URL (unet/, vae/, text_encoder/, tokenizer/, scheduler/), not a map of files`,
    );
  if (options.dtype !== undefined && options.dtype !== 'fp32')
    throw new Error(`${OP}: dtype '${options.dtype}' is not implemented for diffusion models; use 'fp32'`);
  if (options.backend !== undefined) await useBackend(options.backend);
  const pipe = await StableDiffusionPipeline.fromPretrained(source, { scheduler: options.scheduler });
  async function call(prompt: string | string[], callOptions: TextToImageOptions = {}): Promise<RgbaImage[]> {
    const { images, latents } = await pipe.generate({ ...callOptions, prompt });
    latents.dispose();
    return images;
  }
  return Object.assign(call, {
    task: 'text-to-image' as const,
    pipe,
    dispose: () => {
      pipe.unet.dispose();
      pipe.vae.dispose();
      const encoder = pipe.textEncoder;
      if ('dispose' in encoder && typeof encoder.dispose === 'function') encoder.dispose();
    },
  });
}

registerPipeline('text-to-image', textToImagePipeline);
