// CLIP's image preprocessing, as transformers' CLIPImageProcessor (its PIL backend): the shortest
// side resized to `size.shortest_edge` with PIL's resampling in uint8 (bit for bit: the same
// fixed-point separable filter as Pillow's Resample.c), a centre crop to `crop_size`, a rescale by
// 1/255 and a per-channel normalisation with `image_mean` / `image_std` (CLIP's by default).
//
//   RGB(A) uint8 [H, W, C] ─ resize (bicubic, antialiased when shrinking) ─▶ [h, w, 3] uint8
//     ─ centre crop ─▶ [ch, cw, 3] ─ (x / 255 - mean) / std ─▶ pixelValues [B, 3, ch, cw] float32
import { type FilesSource, openFiles, readJson } from '@attnkit/hub';
import { fromValues, type Tensor } from '@attnkit/tensor-core';
import { describe } from './internal.js';

/** OpenAI CLIP's per-channel mean (transformers' OPENAI_CLIP_MEAN). */
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
/** OpenAI CLIP's per-channel standard deviation (transformers' OPENAI_CLIP_STD). */
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * An 8-bit image, rows top to bottom, pixels interleaved: `data` holds width·height·channels
 * values in 0..255 with 3 channels (RGB), 4 (RGBA, as a canvas' ImageData: alpha is dropped, as
 * PIL's convert('RGB')) or 1 (grey, repeated over R, G and B). `channels` is inferred when absent.
 */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray | ArrayLike<number>;
  width: number;
  height: number;
  channels?: number;
}

/** CLIPImageProcessor's settings (preprocessor_config.json names in camelCase). */
export interface CLIPImageProcessorConfig {
  doResize: boolean;
  /** The shortest side after resizing (`size.shortest_edge`; a bare number in old configs). */
  shortestEdge: number;
  /** PIL's filter: 3 bicubic (CLIP's), 2 bilinear. */
  resample: 2 | 3;
  doCenterCrop: boolean;
  cropHeight: number;
  cropWidth: number;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  doConvertRgb: boolean;
}

const WHO = 'CLIPImageProcessor';

/** Keys of preprocessor_config.json that only name things. */
const NAMES = new Set(['image_processor_type', 'processor_class', 'feature_extractor_type']);

/** Keys that change the computation in a way this class does not implement, unless off. */
const REFUSED: Record<string, { why: string; off: unknown[] }> = {
  do_pad: { why: 'padding the images to one size', off: [false, null] },
  pad_size: { why: 'padding the images to one size', off: [null] },
  use_square_size: { why: "Kosmos-2's square resize", off: [false, null] },
  reducing_gap: { why: "PIL's reducing_gap (a box reduction before the filter)", off: [null] },
};

/** Default settings: openai/clip-vit-base-patch32's preprocessor_config.json. */
function defaults(): CLIPImageProcessorConfig {
  return {
    doResize: true,
    shortestEdge: 224,
    resample: 3,
    doCenterCrop: true,
    cropHeight: 224,
    cropWidth: 224,
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: [...OPENAI_CLIP_MEAN],
    imageStd: [...OPENAI_CLIP_STD],
    doConvertRgb: true,
  };
}

function positiveInt(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${WHO}: ${key} must be a positive integer, got ${describe(v)}`);
  }
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${WHO}: ${key} must be true or false, got ${describe(v)}`);
  return v;
}

function triple(v: unknown, key: string, positive: boolean): [number, number, number] {
  const xs = typeof v === 'number' ? [v, v, v] : v;
  if (
    !Array.isArray(xs) ||
    xs.length !== 3 ||
    xs.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (positive && !(x > 0)))
  ) {
    throw new Error(
      `${WHO}: ${key} must be 3 ${positive ? 'positive ' : ''}numbers (one per RGB channel), got ${JSON.stringify(v)}`,
    );
  }
  return xs as [number, number, number];
}

/**
 * Parses a preprocessor_config.json object (transformers' CLIPImageProcessor keys, old and new
 * forms of `size` / `crop_size`). Keys it does not implement are refused by name.
 */
export function clipImageProcessorConfigFromJson(json: Record<string, unknown>): CLIPImageProcessorConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`${WHO}: expected a preprocessor_config.json object, got ${describe(json)}`);
  }
  const c = defaults();
  for (const [key, v] of Object.entries(json)) {
    if (v === undefined) continue;
    switch (key) {
      case 'do_resize':
        c.doResize = bool(v, key);
        break;
      case 'size':
        if (typeof v === 'number') c.shortestEdge = positiveInt(v, key);
        else if (
          v &&
          typeof v === 'object' &&
          !Array.isArray(v) &&
          Object.keys(v).join() === 'shortest_edge'
        ) {
          c.shortestEdge = positiveInt((v as { shortest_edge: unknown }).shortest_edge, 'size.shortest_edge');
        } else {
          throw new Error(
            `${WHO}: size must be { "shortest_edge": n } (CLIP resizes the shortest side), got ${JSON.stringify(v)}; other resize modes are not implemented`,
          );
        }
        break;
      case 'resample':
        if (v !== 2 && v !== 3) {
          throw new Error(
            `${WHO}: resample ${JSON.stringify(v)} is not implemented (3: bicubic, CLIP's; 2: bilinear)`,
          );
        }
        c.resample = v;
        break;
      case 'do_center_crop':
        c.doCenterCrop = bool(v, key);
        break;
      case 'crop_size':
        if (typeof v === 'number') c.cropHeight = c.cropWidth = positiveInt(v, key);
        else if (
          v &&
          typeof v === 'object' &&
          !Array.isArray(v) &&
          Object.keys(v).sort().join() === 'height,width'
        ) {
          const s = v as { height: unknown; width: unknown };
          c.cropHeight = positiveInt(s.height, 'crop_size.height');
          c.cropWidth = positiveInt(s.width, 'crop_size.width');
        } else {
          throw new Error(
            `${WHO}: crop_size must be { "height": h, "width": w } or a number, got ${JSON.stringify(v)}`,
          );
        }
        break;
      case 'do_rescale':
        c.doRescale = bool(v, key);
        break;
      case 'rescale_factor':
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new Error(`${WHO}: rescale_factor must be a number, got ${describe(v)}`);
        }
        c.rescaleFactor = v;
        break;
      case 'do_normalize':
        c.doNormalize = bool(v, key);
        break;
      case 'image_mean':
        c.imageMean = triple(v, key, false);
        break;
      case 'image_std':
        c.imageStd = triple(v, key, true);
        break;
      case 'do_convert_rgb':
        c.doConvertRgb = bool(v, key);
        break;
      default: {
        if (NAMES.has(key)) break;
        const refused = REFUSED[key];
        if (refused) {
          if (refused.off.includes(v)) break;
          throw new Error(
            `${WHO}: preprocessor_config.json sets ${key} = ${JSON.stringify(v)}: ${refused.why} is not implemented`,
          );
        }
        throw new Error(
          `${WHO}: preprocessor_config.json key '${key}' is not implemented (refused rather than ignored)`,
        );
      }
    }
  }
  return c;
}

// ------------------------------------------------------------------ PIL's resampling (Resample.c)

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function bilinear(x: number): number {
  const t = Math.abs(x);
  return t < 1 ? 1 - t : 0;
}

/** Per output index: the first input index, and the fixed-point weights (Pillow's precompute_coeffs + normalize_coeffs_8bpc). */
function coefficients(
  inSize: number,
  outSize: number,
  resample: 2 | 3,
): { start: number; weights: number[] }[] {
  const filter = resample === 3 ? bicubic : bilinear;
  const support0 = resample === 3 ? 2 : 1;
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = support0 * filterscale;
  const ss = 1 / filterscale;
  const out: { start: number; weights: number[] }[] = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w: number[] = [];
    let total = 0;
    for (let x = xmin; x < xmax; x++) {
      const v = filter((x - center + 0.5) * ss);
      w.push(v);
      total += v;
    }
    const weights = w.map((v) => {
      const k = total !== 0 ? v / total : v;
      return k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    });
    out.push({ start: xmin, weights });
  }
  return out;
}

/** Pillow's clip8: the fixed-point sum back to 0..255. */
function clip8(v: number): number {
  if (v >= ONE * 256) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / ONE);
}

/**
 * Resizes an RGB uint8 image [h, w, 3] to [outH, outW, 3] exactly as PIL's Image.resize with
 * BICUBIC (3) or BILINEAR (2): a horizontal pass over the rows the vertical pass reads, then a
 * vertical pass, each rounding to uint8.
 */
export function pilResize(
  src: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  resample: 2 | 3 = 3,
): Uint8Array {
  const needH = outWidth !== width;
  const needV = outHeight !== height;
  if (!needH && !needV) return src.slice();
  const horiz = coefficients(width, outWidth, resample);
  const vert = coefficients(height, outHeight, resample);
  let rows = src;
  let rowOffset = 0;
  if (needH) {
    // only the rows the vertical pass reads
    const first = vert[0].start;
    const last = vert[outHeight - 1].start + vert[outHeight - 1].weights.length;
    const rowCount = last - first;
    rowOffset = first;
    rows = new Uint8Array(rowCount * outWidth * 3);
    for (let y = 0; y < rowCount; y++) {
      const inRow = (y + first) * width * 3;
      for (let x = 0; x < outWidth; x++) {
        const { start, weights } = horiz[x];
        for (let c = 0; c < 3; c++) {
          let s = ONE / 2;
          for (let i = 0; i < weights.length; i++) s += src[inRow + (start + i) * 3 + c] * weights[i];
          rows[(y * outWidth + x) * 3 + c] = clip8(s);
        }
      }
    }
    if (!needV) return rows;
  }
  const w = needH ? outWidth : width;
  const out = new Uint8Array(outHeight * w * 3);
  for (let y = 0; y < outHeight; y++) {
    const { start, weights } = vert[y];
    const from = start - rowOffset;
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = ONE / 2;
        for (let i = 0; i < weights.length; i++) s += rows[((from + i) * w + x) * 3 + c] * weights[i];
        out[(y * w + x) * 3 + c] = clip8(s);
      }
    }
  }
  return out;
}

/**
 * The image as RGB uint8 [h, w, 3], refusing what is not an 8-bit grey, RGB or RGBA image; `where`
 * names the image in messages. Shared by every image processor.
 */
export function rgbFromImage(image: RawImage, where: string): Uint8Array {
  if (!image || typeof image !== 'object' || !image.data || typeof image.data.length !== 'number') {
    throw new TypeError(
      `${where} must be { data, width, height, channels? } (e.g. an ImageData), got ${describe(image)}`,
    );
  }
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(
      `${where}: width and height must be positive integers, got ${describe(width)} × ${describe(height)}`,
    );
  }
  const channels = image.channels ?? data.length / (width * height);
  if (![1, 3, 4].includes(channels) || data.length !== width * height * channels) {
    throw new Error(
      `${where}: expected an 8-bit RGB image, [height ${height}, width ${width}, 3] values (or 4 with alpha, 1 grey), got ${data.length} values${image.channels ? ` with channels ${image.channels}` : ''}`,
    );
  }
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (channels === 1 ? 0 : c)];
      if (!(v >= 0 && v <= 255) || !Number.isInteger(v)) {
        throw new Error(`${where}: values must be integers in 0..255, got ${v} at index ${i * channels + c}`);
      }
      out[i * 3 + c] = v;
    }
  }
  return out;
}

/** transformers' get_resize_output_image_size with default_to_square false: (height, width). */
function resizedSize(height: number, width: number, shortest: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((shortest * long) / short);
  return width <= height ? [newLong, shortest] : [shortest, newLong];
}

/**
 * CLIP's image preprocessing, as transformers' CLIPImageProcessor: resize the shortest side to
 * `size.shortest_edge` (PIL's bicubic filter in uint8), centre crop to `crop_size`, rescale by
 * 1/255, normalise with `image_mean` / `image_std`. Equal to transformers' PIL backend bit for bit
 * before the float steps, and within float32 rounding after them.
 *
 * @example
 * ```ts
 * // a CLIP folder's preprocessor_config.json (clip-vit-base-patch32: 224×224; this one: 20×20)
 * const processor = await CLIPImageProcessor.fromPretrained('packages/transformer/test/fixtures/hfclip-image-processor-down');
 * const imageData = { data: new Uint8Array(40 * 30 * 3).fill(200), width: 40, height: 30, channels: 3 }; // RGB bytes
 * const { pixelValues } = processor.preprocess(imageData);
 * pixelValues.shape; // => [1, 3, 20, 20]
 * // then: clip.forward({ inputIds, pixelValues }) with the CLIPModel of the same folder
 * ```
 */
export class CLIPImageProcessor {
  readonly config: CLIPImageProcessorConfig;

  constructor(config: Partial<CLIPImageProcessorConfig> = {}) {
    for (const k of Object.keys(config)) {
      if (!(k in defaults())) {
        throw new Error(`${WHO}: unknown option '${k}' (known: ${Object.keys(defaults()).join(', ')})`);
      }
    }
    this.config = { ...defaults(), ...config };
  }

  /** A processor from a parsed preprocessor_config.json object. */
  static fromConfigJson(json: Record<string, unknown>): CLIPImageProcessor {
    return new CLIPImageProcessor(clipImageProcessorConfigFromJson(json));
  }

  /** Reads preprocessor_config.json from a folder (Node), a URL base or a map of files. */
  static async fromPretrained(source: FilesSource): Promise<CLIPImageProcessor> {
    const fn = 'CLIPImageProcessor.fromPretrained';
    const json = await readJson(openFiles(source, fn), 'preprocessor_config.json', fn);
    return CLIPImageProcessor.fromConfigJson(json);
  }

  /** One image → float32 values [3, h, w] (channels first), and its size. */
  private one(image: RawImage, index: number): { values: Float32Array; height: number; width: number } {
    const c = this.config;
    let rgb = rgbFromImage(image, `${WHO}: image ${index}`);
    let height = image.height;
    let width = image.width;
    if (c.doResize) {
      const [h, w] = resizedSize(height, width, c.shortestEdge);
      rgb = pilResize(rgb, width, height, w, h, c.resample);
      height = h;
      width = w;
    }
    let top = 0;
    let left = 0;
    let outH = height;
    let outW = width;
    let padTop = 0;
    let padLeft = 0;
    if (c.doCenterCrop) {
      // transformers' center_crop: floor division for the offsets; an image smaller than the crop is
      // first padded with zeros (ceil of half the difference before it)
      outH = c.cropHeight;
      outW = c.cropWidth;
      top = Math.floor((height - outH) / 2);
      left = Math.floor((width - outW) / 2);
      if (top < 0 || left < 0 || top + outH > height || left + outW > width) {
        padTop = Math.ceil((Math.max(outH, height) - height) / 2);
        padLeft = Math.ceil((Math.max(outW, width) - width) / 2);
        top += padTop;
        left += padLeft;
      }
    }
    const f = Math.fround;
    const mean = c.imageMean.map(f);
    const std = c.imageStd.map(f);
    const values = new Float32Array(3 * outH * outW);
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < outH; y++) {
        for (let x = 0; x < outW; x++) {
          const sy = top + y - padTop;
          const sx = left + x - padLeft;
          let v = sy >= 0 && sy < height && sx >= 0 && sx < width ? rgb[(sy * width + sx) * 3 + ch] : 0;
          // as numpy: the rescale in float64 then float32, the normalisation in float32
          if (c.doRescale) v = f(v * c.rescaleFactor);
          if (c.doNormalize) v = f(f(v - mean[ch]) / std[ch]);
          values[(ch * outH + y) * outW + x] = v;
        }
      }
    }
    return { values, height: outH, width: outW };
  }

  /**
   * Images → `{ pixelValues }` float32 [B, 3, h, w] for CLIP's vision tower. Every image must come
   * out the same size (with centre cropping on, as CLIP's config has it, they do).
   */
  preprocess(images: RawImage | readonly RawImage[]): { pixelValues: Tensor } {
    const list = Array.isArray(images) ? (images as readonly RawImage[]) : [images as RawImage];
    if (list.length === 0) throw new Error(`${WHO}: expected at least one image, got an empty list`);
    const done = list.map((im, i) => this.one(im, i));
    const { height, width } = done[0];
    const bad = done.findIndex((d) => d.height !== height || d.width !== width);
    if (bad >= 0) {
      throw new Error(
        `${WHO}: image ${bad} comes out ${done[bad].height} × ${done[bad].width}, image 0 ${height} × ${width}; turn do_center_crop on to batch images of different sizes`,
      );
    }
    const all = new Float32Array(done.length * 3 * height * width);
    done.forEach((d, i) => {
      all.set(d.values, i * d.values.length);
    });
    return { pixelValues: fromValues(all, [done.length, 3, height, width], 'float32') };
  }
}
