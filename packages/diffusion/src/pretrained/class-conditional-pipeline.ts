/**
 * Class-conditional generation with a UNet2DModel that has a class embedding (`num_class_embeds`):
 * DDPMPipeline's loop with a class label per image passed to every U-Net call.
 */
import { type Tensor, tensor } from '@attnkit/tensor-core';
import { tensorToRgba } from '../image/rgba.js';
import type { UNet2DModel } from '../models/unet-2d.js';
import {
  DDPMPipeline,
  type DDPMPipelineOptions,
  type DDPMPipelineOutput,
} from '../pipelines/ddpm-pipeline.js';
import { denoise } from '../pipelines/denoise.js';

/** Options of {@link ClassConditionalPipeline.generate}: DDPMPipeline's, plus the classes. */
export interface ClassConditionalOptions extends DDPMPipelineOptions {
  /**
   * One class per image (integers in [0, num_class_embeds)); the batch size is their number.
   * Without it, `batchSize` images of class 0, 1, 2, ... in turn.
   */
  classLabels?: readonly number[] | Int32Array;
}

/**
 * A {@link DDPMPipeline} for class-conditional U-Nets: `generate({ classLabels: [3, 3, 7] })` draws
 * three images, two of class 3 and one of class 7. Everything else (seeded noise, the scheduler,
 * `onStep` previews with `predOriginalSample`, RGBA output) is DDPMPipeline's.
 *
 * @example
 * ```ts
 * import type { RgbaImage } from '@attnkit/diffusion';
 * const pipe = await loadTinyShapesPipeline();
 * const previews: RgbaImage[][] = []; // what a page would draw after each step
 * const { images } = await pipe.generate({
 *   classLabels: [0, 1, 2], numInferenceSteps: 10, generator: new Generator(0),
 *   onStep: async ({ predOriginalSample }) => { previews.push(await tensorToRgba(predOriginalSample)); },
 * });
 * [previews.length, images.length]; // => [10, 3]
 * ```
 */
export class ClassConditionalPipeline extends DDPMPipeline {
  /** Generates one image per class label; see {@link ClassConditionalOptions}. */
  override async generate(options: ClassConditionalOptions = {}): Promise<DDPMPipelineOutput> {
    const op = 'ClassConditionalPipeline.generate';
    const numClasses = this.unet.config.numClassEmbeds;
    if (numClasses === null) {
      throw new Error(
        `${op}: the U-Net has no class embedding (config.num_class_embeds is null); use DDPMPipeline`,
      );
    }
    let labels: number[];
    if (options.classLabels !== undefined) {
      labels = Array.from(options.classLabels);
      if (labels.length === 0) throw new RangeError(`${op}: classLabels must not be empty`);
      labels.forEach((l, i) => {
        if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
          throw new RangeError(`${op}: classLabels[${i}] must be an integer in [0, ${numClasses}), got ${l}`);
        }
      });
      if (options.batchSize !== undefined && options.batchSize !== labels.length) {
        throw new RangeError(
          `${op}: batchSize (${options.batchSize}) must equal classLabels.length (${labels.length}) when both are given`,
        );
      }
    } else {
      const b = options.batchSize ?? 1;
      if (!Number.isInteger(b) || b < 1)
        throw new RangeError(`${op}: batchSize must be a positive integer, got ${b}`);
      labels = Array.from({ length: b }, (_, i) => i % numClasses);
    }
    const cfg = this.unet.config;
    const ss = options.sampleSize ?? (Array.isArray(cfg.sampleSize) ? cfg.sampleSize[0] : cfg.sampleSize);
    if (!options.latents && (typeof ss !== 'number' || ss < 1)) {
      throw new Error(`${op}: unet.config.sampleSize is not set; pass options.sampleSize`);
    }
    const b = labels.length;
    if (options.latents && options.latents.shape[0] !== b) {
      throw new RangeError(
        `${op}: latents hold ${options.latents.shape[0]} images but classLabels has ${b} labels`,
      );
    }
    const classTensor: Tensor = tensor(Int32Array.from(labels), [b], 'int32');
    const unet: UNet2DModel = this.unet;
    try {
      const sample = await denoise((x, t) => unet.forward(x, t, classTensor), {
        scheduler: this.scheduler,
        numInferenceSteps: options.numInferenceSteps ?? 1000,
        shape: [b, cfg.inChannels, ss as number, ss as number],
        generator: options.generator,
        eta: options.eta,
        latents: options.latents,
        onStep: options.onStep,
      });
      return { images: await tensorToRgba(sample), sample };
    } finally {
      classTensor.dispose();
    }
  }
}
