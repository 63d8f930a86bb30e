/**
 * Class-conditional generation with a UNet2DModel that has a class embedding (`num_class_embeds`):
 * DDPMPipeline's loop with a class label per image passed to every U-Net call, and classifier-free
 * guidance when the U-Net has a null class (`null_class_index`).
 */
import { add, concat, mul, sub, type Tensor, tensor } from '@attnkit/tensor-core';
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
  /**
   * Classifier-free guidance scale s (Ho and Salimans 2022): each step predicts with the class and
   * with the null class in one batch `[uncond; cond]` and uses `uncond + s · (cond − uncond)`, as
   * diffusers' pipelines do. Guidance is off when s ≤ 1 (diffusers' `do_classifier_free_guidance`):
   * one conditional pass, no unconditional one. s > 1 needs a U-Net with `nullClassIndex`.
   * Default 1.
   *
   * @example
   * ```ts
   * const pipe = await loadTinyShapesPipeline(); // its U-Net has the null class (row 10)
   * const clf = await loadShapeClassifier();
   * const ask = { classLabels: [0, 3, 5], numInferenceSteps: 20 };
   * const plain = await pipe.generate({ ...ask, generator: new Generator(1) });
   * const guided = await pipe.generate({ ...ask, guidanceScale: 2, generator: new Generator(1) });
   * const seen = await clf.predict(plain.sample); // => [0, 8, 5]
   * const seenGuided = await clf.predict(guided.sample); // => [0, 3, 5]
   * ```
   */
  guidanceScale?: number;
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
    const numEmbeds = this.unet.config.numClassEmbeds;
    if (numEmbeds === null) {
      throw new Error(
        `${op}: the U-Net has no class embedding (config.num_class_embeds is null); use DDPMPipeline`,
      );
    }
    const nullClass = this.unet.config.nullClassIndex;
    // the null class is the last embedding row (checked by UNet2DModel), not a class to draw
    const numClasses = nullClass === null ? numEmbeds : nullClass;
    const g = options.guidanceScale ?? 1;
    if (typeof g !== 'number' || !Number.isFinite(g))
      throw new TypeError(`${op}: guidanceScale must be a finite number, got ${String(g)}`);
    const guided = g > 1;
    if (guided && nullClass === null) {
      throw new Error(
        `${op}: guidanceScale ${g} needs an unconditional mode, but the U-Net has no null class (config.null_class_index is not set); use guidanceScale ≤ 1 or a model trained with class dropout`,
      );
    }
    let labels: number[];
    if (options.classLabels !== undefined) {
      labels = Array.from(options.classLabels);
      if (labels.length === 0) throw new RangeError(`${op}: classLabels must not be empty`);
      labels.forEach((l, i) => {
        if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
          throw new RangeError(
            `${op}: classLabels[${i}] must be an integer in [0, ${numClasses}), got ${l}${l === nullClass ? ' (the null class; guidanceScale uses it)' : ''}`,
          );
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
    // [uncond; cond] along the batch when guided, as diffusers concatenates them
    const classTensor: Tensor = tensor(
      Int32Array.from(guided ? [...labels.map(() => nullClass as number), ...labels] : labels),
      [guided ? 2 * b : b],
      'int32',
    );
    const unet: UNet2DModel = this.unet;
    const predict = (x: Tensor, t: number): Tensor => {
      if (!guided) return unet.forward(x, t, classTensor);
      const pred = unet.forward(concat([x, x], 0), t, classTensor);
      const uncond = pred.sliceDim(0, 0, b);
      const cond = pred.sliceDim(0, b, 2 * b);
      return add(uncond, mul(sub(cond, uncond), g));
    };
    try {
      const sample = await denoise(predict, {
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
