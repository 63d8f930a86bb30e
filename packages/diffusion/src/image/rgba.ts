/**
 * Tensors ⇄ RGBA bytes: the form browsers (ImageData, canvas) and PNG encoders take.
 */
import type { Tensor } from '@attnkit/tensor-core';

/** An 8-bit RGBA image, row-major, 4 bytes per pixel: the shape of the DOM's `ImageData`. */
export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes: R, G, B, A. */
  data: Uint8ClampedArray;
}

/** Options of {@link tensorToRgba}. */
export interface TensorToRgbaOptions {
  /** Value range of the tensor: `[-1, 1]` (default, diffusion models' range) or `[0, 1]`. */
  range?: '[-1, 1]' | '[0, 1]';
}

/**
 * Converts images [B, C, H, W] (C = 1 gray, 2 gray + alpha, 3 RGB or 4 RGBA) to RGBA bytes, as diffusers'
 * postprocessing: `x/2 + 0.5` (for [-1, 1]), clamp to [0, 1], `round(x · 255)`.
 * Reads the tensor (await, so it works on every backend).
 *
 * @example
 * ```ts
 * const sample = zeros([1, 3, 8, 8]); // [B, C, H, W] in [-1, 1]: mid grey
 * const [img] = await tensorToRgba(sample);
 * [img.width, img.height, Array.from(img.data.subarray(0, 4))]; // => [8, 8, [128, 128, 128, 255]]
 * // in a browser: ctx.putImageData(new ImageData(img.data, img.width, img.height), 0, 0)
 * ```
 */
export async function tensorToRgba(images: Tensor, options: TensorToRgbaOptions = {}): Promise<RgbaImage[]> {
  const op = 'tensorToRgba';
  if (images?.isTensor !== true || images.rank !== 4 || ![1, 2, 3, 4].includes(images.shape[1])) {
    throw new Error(
      `${op}: expected images [B, C, H, W] with C = 1, 2, 3 or 4, got ${images?.shape ? `[${images.shape.join(', ')}]` : String(images)}`,
    );
  }
  const range = options.range ?? '[-1, 1]';
  if (range !== '[-1, 1]' && range !== '[0, 1]')
    throw new Error(`${op}: options.range must be '[-1, 1]' or '[0, 1]', got ${JSON.stringify(range)}`);
  const [b, c, h, w] = images.shape;
  const v = await images.data();
  const out: RgbaImage[] = [];
  const hw = h * w;
  const toByte = (x: number) => {
    const u = range === '[-1, 1]' ? x / 2 + 0.5 : x;
    const clamped = Number.isNaN(u) ? 0 : Math.min(1, Math.max(0, u));
    return Math.round(clamped * 255);
  };
  for (let n = 0; n < b; n++) {
    const data = new Uint8ClampedArray(hw * 4);
    const base = n * c * hw;
    for (let p = 0; p < hw; p++) {
      const r = toByte(v[base + p]);
      data[4 * p] = r;
      const gray = c <= 2;
      data[4 * p + 1] = gray ? r : toByte(v[base + hw + p]);
      data[4 * p + 2] = gray ? r : toByte(v[base + 2 * hw + p]);
      data[4 * p + 3] = c === 4 ? toByte(v[base + 3 * hw + p]) : c === 2 ? toByte(v[base + hw + p]) : 255;
    }
    out.push({ width: w, height: h, data });
  }
  return out;
}

/** Places images side by side in a grid of `cols` columns (rows filled left to right). */
export function makeImageGrid(images: readonly RgbaImage[], cols = images.length): RgbaImage {
  if (images.length === 0) throw new Error('makeImageGrid: no images');
  const { width: w, height: h } = images[0];
  for (const im of images) {
    if (im.width !== w || im.height !== h)
      throw new Error(`makeImageGrid: every image must be ${w}×${h}, got ${im.width}×${im.height}`);
  }
  if (!Number.isInteger(cols) || cols < 1)
    throw new RangeError(`makeImageGrid: cols must be a positive integer, got ${cols}`);
  const rows = Math.ceil(images.length / cols);
  const W = cols * w;
  const data = new Uint8ClampedArray(W * rows * h * 4);
  images.forEach((im, k) => {
    const ox = (k % cols) * w;
    const oy = Math.floor(k / cols) * h;
    for (let y = 0; y < h; y++)
      data.set(im.data.subarray(y * w * 4, (y + 1) * w * 4), ((oy + y) * W + ox) * 4);
  });
  return { width: W, height: rows * h, data };
}
