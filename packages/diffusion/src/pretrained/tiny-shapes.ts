/**
 * attnkit's embedded default diffusion model: a tiny class-conditional UNet2DModel trained on the
 * 16×16 shapes of {@link makeShapes} (scripts/train-tiny-diffusion.mjs), shipped with the package
 * in diffusers' pipeline layout (`model_index.json`, `unet/`, `scheduler/`) under
 * `assets/tiny-shapes/`, together with the shape classifier that checks its samples. Loading needs
 * no download: the files are read next to this module (node:fs in Node, fetch in browsers, where
 * bundlers such as Vite copy files referenced by `new URL(..., import.meta.url)`).
 */
import { SHAPE_CLASSES } from '../data/shapes.js';
import { UNet2DModel } from '../models/unet-2d.js';
import { DDIMScheduler } from '../schedulers/ddim.js';
import { DDPMScheduler } from '../schedulers/ddpm.js';
import { ClassConditionalPipeline } from './class-conditional-pipeline.js';
import { readBinaryFile, readTextFile, ShapeClassifier } from './classifier.js';

/** Where to read the files from: the shipped copy (default) or another copy of the folder. */
export interface TinyShapesLoadOptions {
  /**
   * A folder path or URL prefix holding the `tiny-shapes` layout (`unet/`, `scheduler/`,
   * `classifier/`), e.g. where an app serves its own copy. Default: the files shipped in the
   * package.
   */
  baseUrl?: string | URL;
}

/** The shipped files, each as a literal `new URL(...)` so bundlers find and copy it. */
const SHIPPED = {
  unetConfig: () => new URL('../../assets/tiny-shapes/unet/config.json', import.meta.url),
  unetWeights: () =>
    new URL('../../assets/tiny-shapes/unet/diffusion_pytorch_model.safetensors', import.meta.url),
  schedulerConfig: () => new URL('../../assets/tiny-shapes/scheduler/scheduler_config.json', import.meta.url),
  classifierConfig: () => new URL('../../assets/tiny-shapes/classifier/config.json', import.meta.url),
  classifierWeights: () => new URL('../../assets/tiny-shapes/classifier/model.safetensors', import.meta.url),
} as const;

const RELATIVE: Record<keyof typeof SHIPPED, string> = {
  unetConfig: 'unet/config.json',
  unetWeights: 'unet/diffusion_pytorch_model.safetensors',
  schedulerConfig: 'scheduler/scheduler_config.json',
  classifierConfig: 'classifier/config.json',
  classifierWeights: 'classifier/model.safetensors',
};

function locate(file: keyof typeof SHIPPED, options: TinyShapesLoadOptions): string | URL {
  if (options.baseUrl === undefined) return SHIPPED[file]();
  return `${String(options.baseUrl).replace(/\/+$/, '')}/${RELATIVE[file]}`;
}

/** The class names of the tiny shapes model, index = class label. */
export const TINY_SHAPES_CLASSES: readonly string[] = SHAPE_CLASSES;

/** The loaded default model: its U-Net and the DDPM scheduler it was trained with. */
export interface TinyShapesModel {
  /** Class-conditional UNet2DModel, 1 × 16 × 16, `numClassEmbeds` = 10. */
  unet: UNet2DModel;
  /** The training scheduler (from `scheduler/scheduler_config.json`). */
  scheduler: DDPMScheduler;
  /** Class names, index = label. */
  classNames: readonly string[];
}

/**
 * Loads the embedded tiny shapes model (no download; about 1 MB of float16 weights).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { unet, scheduler } = await loadTinyShapesModel();
 * const pipe = new ClassConditionalPipeline(unet, DDIMScheduler.fromConfig(scheduler.toJSON()));
 * ```
 */
export async function loadTinyShapesModel(options: TinyShapesLoadOptions = {}): Promise<TinyShapesModel> {
  const op = 'loadTinyShapesModel';
  const [config, weights, schedulerText] = await inOrder([
    readTextFile(locate('unetConfig', options), op),
    readBinaryFile(locate('unetWeights', options), op),
    readTextFile(locate('schedulerConfig', options), op),
  ]);
  const unet = await UNet2DModel.fromPretrained({ config, weights });
  unet.eval();
  return {
    unet,
    scheduler: DDPMScheduler.fromConfig(JSON.parse(schedulerText)),
    classNames: TINY_SHAPES_CLASSES,
  };
}

/**
 * The embedded model as a ready pipeline with a DDIM scheduler made from its scheduler config
 * (so 20–25 steps suffice): `generate({ classLabels, numInferenceSteps, generator, onStep })`.
 *
 * @example
 * ```ts
 * const pipe = await loadTinyShapesPipeline();
 * const { images } = await pipe.generate({ classLabels: [0, 5, 9], numInferenceSteps: 25, generator: new Generator(1) });
 * ```
 */
export async function loadTinyShapesPipeline(
  options: TinyShapesLoadOptions = {},
): Promise<ClassConditionalPipeline> {
  const { unet, scheduler } = await loadTinyShapesModel(options);
  return new ClassConditionalPipeline(unet, DDIMScheduler.fromConfig(scheduler.toJSON()));
}

/**
 * Loads the shape classifier trained alongside the tiny model (the judge of its samples).
 *
 * @example
 * ```ts
 * const pipe = await loadTinyShapesPipeline();
 * const { sample } = await pipe.generate({ classLabels: [3], numInferenceSteps: 25, generator: new Generator(1) });
 * const clf = await loadShapeClassifier();
 * const classes = await clf.predict(sample); // sample [B, 1, 16, 16] in [−1, 1]
 * classes; // => [3]
 * ```
 */
export async function loadShapeClassifier(options: TinyShapesLoadOptions = {}): Promise<ShapeClassifier> {
  const op = 'loadShapeClassifier';
  const [config, weights] = await inOrder([
    readTextFile(locate('classifierConfig', options), op),
    readBinaryFile(locate('classifierWeights', options), op),
  ]);
  return ShapeClassifier.fromPretrained({ config, weights });
}

/**
 * Awaits the reads together but reports a failure in the order the files are listed (the config
 * before the weights), whichever read failed first in time: the same error on every run.
 */
async function inOrder<T extends readonly unknown[]>(reads: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(reads);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
