// A ViT image processor as transformers' ViTImageProcessor reads preprocessor_config.json:
//
//   RGB bytes [H, W, 3] ─▶ resize to size.height × size.width (PIL's bilinear, antialiased)
//     ─▶ × rescale_factor ─▶ (x - image_mean) / image_std ─▶ pixel values [3, H, W] (float32)
//
// Resizing follows Pillow's Image.resize(BILINEAR) on 8-bit images (what transformers' PIL backend
// runs): a separable triangle filter widened by the scale when shrinking, fixed-point weights of
// 22 bits, the horizontal pass first, each pass rounded back to bytes.
import { pilResize, type RawImage, rgbFromImage } from '../clip-image-processor.js';
import { describe } from '../internal.js';

export type { RawImage };

/** The settings of a preprocessor_config.json that attnkit implements (ViTImageProcessor's). */
export interface ImageProcessorConfig {
  doResize: boolean;
  /** Target size in pixels. */
  size: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

const KNOWN_PROCESSORS = new Set(['ViTImageProcessor', 'ViTImageProcessorFast', 'ViTFeatureExtractor']);
/** Keys that only name things (no effect on the pixels). */
const METADATA_KEYS = new Set(['image_processor_type', 'feature_extractor_type', 'processor_class']);
const BILINEAR = 2;

/**
 * Reads a preprocessor_config.json (ViTImageProcessor). Keys attnkit does not implement, other
 * processors and resampling filters other than bilinear (2) are refused by name.
 */
export function imageProcessorFromJson(
  json: Record<string, unknown>,
  where = 'preprocessor_config.json',
): ImageProcessorConfig {
  const type = json.image_processor_type ?? json.feature_extractor_type;
  if (type !== undefined && !KNOWN_PROCESSORS.has(String(type))) {
    throw new Error(
      `${where}: image_processor_type ${describe(type)} is not implemented (implemented: ${[...KNOWN_PROCESSORS].join(', ')})`,
    );
  }
  const handled = new Set([
    'do_resize',
    'size',
    'resample',
    'do_rescale',
    'rescale_factor',
    'do_normalize',
    'image_mean',
    'image_std',
    'do_convert_rgb',
  ]);
  for (const k of Object.keys(json)) {
    if (!handled.has(k) && !METADATA_KEYS.has(k)) {
      throw new Error(
        `${where}: key '${k}' is not implemented (implemented: ${[...handled].join(', ')}); refused rather than ignored`,
      );
    }
  }
  const bool = (k: string, dflt: boolean): boolean => {
    const v = json[k] ?? dflt;
    if (typeof v !== 'boolean') throw new TypeError(`${where}: '${k}' must be a boolean, got ${describe(v)}`);
    return v;
  };
  if (json.do_convert_rgb === false)
    throw new Error(`${where}: do_convert_rgb false is not implemented (images are read as RGB)`);
  const resample = json.resample ?? BILINEAR;
  if (resample !== BILINEAR) {
    throw new Error(
      `${where}: resample ${describe(resample)} is not implemented; only 2 (bilinear, ViT's default) is`,
    );
  }
  const size = (json.size ?? { height: 224, width: 224 }) as Record<string, unknown>;
  const { height, width } = size;
  if (
    typeof size !== 'object' ||
    Object.keys(size).some((k) => k !== 'height' && k !== 'width') ||
    !Number.isInteger(height) ||
    !Number.isInteger(width) ||
    (height as number) < 1 ||
    (width as number) < 1
  ) {
    throw new Error(
      `${where}: size must be { "height": int, "width": int } (shortest_edge / longest_edge are not implemented), got ${JSON.stringify(size)}`,
    );
  }
  const rescaleFactor = json.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor))
    throw new TypeError(`${where}: rescale_factor must be a number, got ${describe(rescaleFactor)}`);
  const triple = (k: string): [number, number, number] => {
    const v = json[k] ?? [0.5, 0.5, 0.5];
    const list = typeof v === 'number' ? [v, v, v] : v;
    if (
      !Array.isArray(list) ||
      list.length !== 3 ||
      list.some((x) => typeof x !== 'number' || !Number.isFinite(x))
    )
      throw new TypeError(`${where}: '${k}' must be a number or 3 numbers, got ${JSON.stringify(v)}`);
    return [list[0], list[1], list[2]];
  };
  const imageStd = triple('image_std');
  if (imageStd.some((s) => s === 0)) throw new RangeError(`${where}: image_std must not hold 0`);
  return {
    doResize: bool('do_resize', true),
    size: { height: height as number, width: width as number },
    doRescale: bool('do_rescale', true),
    rescaleFactor,
    doNormalize: bool('do_normalize', true),
    imageMean: triple('image_mean'),
    imageStd,
  };
}

/**
 * Resizes RGB bytes [H, W, 3] to [outH, outW, 3] as Pillow's `Image.resize((outW, outH), BILINEAR)`
 * (the shared {@link pilResize} with filter 2).
 */
export function resizeBilinear(
  rgb: Uint8Array,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Uint8Array {
  return pilResize(rgb, w, h, outW, outH, 2);
}

/**
 * Pixel values [3, H, W] (float32, channels first) for one image, as ViTImageProcessor makes them:
 * resize, rescale, normalise, each when the config turns it on.
 */
export function preprocessImage(
  image: RawImage,
  config: ImageProcessorConfig,
  where: string,
): {
  data: Float32Array;
  height: number;
  width: number;
} {
  let rgb = rgbFromImage(image, where);
  let { height, width } = image;
  if (config.doResize && (height !== config.size.height || width !== config.size.width)) {
    rgb = resizeBilinear(rgb, height, width, config.size.height, config.size.width);
    ({ height, width } = config.size);
  }
  const n = height * width;
  const data = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const mean = config.doNormalize ? config.imageMean[c] : 0;
    const std = config.doNormalize ? config.imageStd[c] : 1;
    const scale = config.doRescale ? config.rescaleFactor : 1;
    for (let i = 0; i < n; i++) data[c * n + i] = (rgb[i * 3 + c] * scale - mean) / std;
  }
  return { data, height, width };
}
