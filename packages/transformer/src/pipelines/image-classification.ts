// pipeline('image-classification'): RGB(A) bytes ─▶ the folder's image processor (resize, rescale,
// normalise) ─▶ pixel values [B, 3, H, W] ─▶ the classifier ─▶ softmax ─▶ top labels (id2label).
import { noGrad, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import { describe } from '../internal.js';
import type { PretrainedTasks } from '../loading.js';
import { type ImageProcessorConfig, preprocessImage, type RawImage } from './image-processor.js';

/** The image classifiers this task runs (ViT). */
export type ImageClassificationModel = PretrainedTasks['image-classification'];

/** Options of an image-classification call. */
export interface ImageClassificationOptions {
  /** How many labels to return, best first. Default 1 (as transformers.js). */
  topK?: number;
  /**
   * What turns logits into scores (transformers' `function_to_apply`). Default: 'sigmoid' when
   * config.json's problem_type is 'multi_label_classification' or there is one label, else 'softmax'.
   */
  functionToApply?: 'softmax' | 'sigmoid' | 'none';
}

/** One label and its probability. */
export interface ImageClassificationOutput {
  label: string;
  score: number;
}

/**
 * An image-classification pipeline. Images are raw RGB(A) bytes ({@link RawImage}), preprocessed
 * as the folder's preprocessor_config.json says, or pixel values already preprocessed: a float32
 * Tensor [3, H, W] (one image) or [B, 3, H, W] (a batch).
 *
 * @example
 * ```ts
 * // a ViTForImageClassification folder with preprocessor_config.json (here a tiny random one)
 * const classify = await pipeline('image-classification', 'packages/transformer/test/fixtures/pipe-vit');
 * const rgbBytes = new Uint8Array(640 * 480 * 3).fill(128);
 * const [best] = await classify({ data: rgbBytes, width: 640, height: 480, channels: 3 });
 * console.log(best.label, best.score);
 * ```
 */
export interface ImageClassificationPipeline {
  (image: RawImage, options?: ImageClassificationOptions): Promise<ImageClassificationOutput[]>;
  (images: RawImage[], options?: ImageClassificationOptions): Promise<ImageClassificationOutput[][]>;
  (
    pixelValues: Tensor,
    options?: ImageClassificationOptions,
  ): Promise<ImageClassificationOutput[] | ImageClassificationOutput[][]>;
  readonly task: 'image-classification';
  readonly model: ImageClassificationModel;
  /** The folder's image processor settings (null when it has no preprocessor_config.json). */
  readonly imageProcessor: ImageProcessorConfig | null;
  /** Frees the model's weights. */
  dispose(): void;
}

const OP = "pipeline('image-classification')";
const FUNCTIONS: readonly string[] = ['softmax', 'sigmoid', 'none'];

/** Scores from one row of logits (float64). */
function scoresOf(row: Float32Array, fn: string): Float64Array {
  if (fn === 'none') return Float64Array.from(row);
  if (fn === 'sigmoid') return Float64Array.from(row, (v) => 1 / (1 + Math.exp(-v)));
  let max = Number.NEGATIVE_INFINITY;
  for (const v of row) max = Math.max(max, v);
  const e = Float64Array.from(row, (v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && (x as { isTensor?: unknown }).isTensor === true;
}

/** Builds the pipeline around a loaded model and its image processor settings. */
export function imageClassificationPipeline(
  model: ImageClassificationModel,
  imageProcessor: ImageProcessorConfig | null,
): ImageClassificationPipeline {
  const id2label = model.config.id2label;
  const multiLabel =
    model.config.extra.problem_type === 'multi_label_classification' ||
    (id2label !== null && Object.keys(id2label).length === 1);
  const labelOf = (i: number): string => id2label?.[String(i)] ?? `LABEL_${i}`;

  /** Pixel values [B, 3, H, W] and whether a batch was given. */
  function pixels(input: unknown): { values: Tensor; owned: boolean; batched: boolean } {
    if (isTensor(input)) {
      if (
        input.dtype !== 'float32' ||
        (input.rank !== 3 && input.rank !== 4) ||
        input.shape[input.rank - 3] !== 3
      )
        throw new TypeError(
          `${OP}: pixel values must be float32 [3, H, W] or [B, 3, H, W], got ${input.dtype} [${input.shape.join(', ')}]`,
        );
      return input.rank === 3
        ? { values: input.unsqueeze(0), owned: true, batched: false }
        : { values: input, owned: false, batched: true };
    }
    const batched = Array.isArray(input);
    const list: unknown[] = batched ? input : [input];
    if (list.length === 0) throw new TypeError(`${OP}: the list of images is empty`);
    if (!imageProcessor)
      throw new Error(
        `${OP}: the folder has no preprocessor_config.json, so raw images cannot be preprocessed; pass pixel values (a float32 Tensor [B, 3, H, W]) instead`,
      );
    const done = list.map((img, i) => {
      if (typeof img !== 'object' || img === null || !('data' in img))
        throw new TypeError(
          `${OP}: image ${i} must be { data, width, height, channels } (RGB or RGBA bytes) or a pixel Tensor, got ${describe(img)}`,
        );
      return preprocessImage(img as RawImage, imageProcessor, `${OP}: image ${i}`);
    });
    const { height, width } = done[0];
    if (done.some((d) => d.height !== height || d.width !== width))
      throw new Error(
        `${OP}: the images have different sizes after preprocessing (do_resize is off); pass one at a time`,
      );
    const data = new Float32Array(done.length * 3 * height * width);
    for (const [i, d] of done.entries()) data.set(d.data, i * d.data.length);
    return { values: tensor(data, [done.length, 3, height, width], 'float32'), owned: true, batched };
  }

  async function call(
    image: RawImage,
    options?: ImageClassificationOptions,
  ): Promise<ImageClassificationOutput[]>;
  async function call(
    images: RawImage[],
    options?: ImageClassificationOptions,
  ): Promise<ImageClassificationOutput[][]>;
  async function call(
    pixelValues: Tensor,
    options?: ImageClassificationOptions,
  ): Promise<ImageClassificationOutput[] | ImageClassificationOutput[][]>;
  async function call(
    input: RawImage | RawImage[] | Tensor,
    options: ImageClassificationOptions = {},
  ): Promise<ImageClassificationOutput[] | ImageClassificationOutput[][]> {
    const topK = options.topK ?? 1;
    if (!Number.isInteger(topK) || topK < 1)
      throw new RangeError(`${OP}: topK must be an integer >= 1, got ${describe(topK)}`);
    const fn = options.functionToApply ?? (multiLabel ? 'sigmoid' : 'softmax');
    if (!FUNCTIONS.includes(fn))
      throw new TypeError(
        `${OP}: functionToApply must be 'softmax', 'sigmoid' or 'none', got ${describe(fn)}`,
      );
    const { values, owned, batched } = pixels(input);
    let logits: Float32Array;
    let B: number;
    let C: number;
    try {
      const out = tidy(() => noGrad(() => model.forward({ pixelValues: values }).logits)); // [B, C]
      [B, C] = out.shape;
      logits = Float32Array.from(await out.data());
      out.dispose();
    } finally {
      if (owned) values.dispose();
    }
    const results = Array.from({ length: B }, (_, b) => {
      const row = logits.subarray(b * C, (b + 1) * C);
      const scores = scoresOf(row, fn);
      const order = Array.from(scores.keys()).sort((x, y) => scores[y] - scores[x] || x - y);
      return order.slice(0, Math.min(topK, C)).map((i) => ({ label: labelOf(i), score: scores[i] }));
    });
    return batched ? results : results[0];
  }

  return Object.assign(call, {
    task: 'image-classification' as const,
    model,
    imageProcessor,
    dispose: () => model.dispose(),
  });
}
