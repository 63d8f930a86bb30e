/**
 * A small image dataset that attnkit draws itself: ten classes of line-art shapes (a ring, a disk,
 * a square, ...) rendered with anti-aliased strokes onto a grayscale canvas, each with seeded random
 * jitter in position, size, rotation, stroke thickness and brightness. It plays the part MNIST plays
 * in the course: small enough to train a denoiser on a laptop CPU, varied enough that a classifier
 * has to learn the shapes rather than memorise pixels.
 *
 * Rendering: every shape is a set of strokes (line segments and circles) or filled regions in a
 * unit frame (half-extent 1). Each pixel centre is mapped into that frame (inverse rotation and
 * scale), its distance d to the nearest stroke is measured in pixels, and its coverage is
 * `clamp(t/2 − d + 1/2, 0, 1)` for a stroke of thickness t (`clamp(1/2 − sd, 0, 1)` for the filled
 * disk with signed distance sd): a one-pixel linear ramp at every edge, the usual analytic
 * anti-aliasing.
 */
import { Generator, type Tensor, tensor } from '@attnkit/tensor-core';

/** The class names of {@link makeShapes}, in label order (label `i` is `SHAPE_CLASSES[i]`). */
export const SHAPE_CLASSES = [
  'circle',
  'disk',
  'square',
  'triangle',
  'diamond',
  'plus',
  'cross',
  'hbars',
  'vbars',
  'corner',
] as const;

/** A class name of {@link makeShapes}. */
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

/** The jitter of one drawn shape (all lengths in pixels, angles in radians). */
export interface ShapeParams {
  /** Centre, x (column) and y (row), in pixels from the top-left corner. */
  cx: number;
  cy: number;
  /** Half-extent of the shape's unit frame in pixels. */
  radius: number;
  /** Rotation (clockwise on screen). */
  angle: number;
  /** Stroke thickness in pixels. */
  thickness: number;
  /** Foreground brightness in (0, 1]: the ink maps to `−1 + 2 · brightness` at full coverage. */
  brightness: number;
}

/** Options of {@link makeShapes}. */
export interface ShapesOptions {
  /** Source of the jitter (a fresh `Generator(0)` by default). */
  generator?: Generator;
  /** Image side in pixels. Default 16. */
  size?: number;
  /**
   * Class of each image (length n, integers in [0, 10)). Default: balanced, `i % 10`, so any 10
   * consecutive images hold every class once.
   */
  labels?: ArrayLike<number>;
}

/** Result of {@link makeShapes}. */
export interface ShapesData {
  /** float32 [n, 1, size, size] in [−1, 1]: background −1, ink up to +1. */
  images: Tensor;
  /** int32 [n], the class of each image (an index into {@link SHAPE_CLASSES}). */
  labels: Tensor;
}

type Point = readonly [number, number];
/** Strokes and filled regions in the unit frame. */
interface ShapeGeometry {
  segments: [Point, Point][];
  /** Radii of circles (centred at the origin) drawn as strokes. */
  rings: number[];
  /** Radius of a filled disk, if any. */
  disk?: number;
}

function polygon(points: Point[]): [Point, Point][] {
  return points.map((p, i) => [p, points[(i + 1) % points.length]]);
}

const S3 = Math.sqrt(3) / 2;
const GEOMETRY: readonly ShapeGeometry[] = [
  /* circle   */ { segments: [], rings: [0.9] },
  /* disk     */ { segments: [], rings: [], disk: 0.8 },
  /* square   */
  {
    segments: polygon([
      [-0.8, -0.8],
      [0.8, -0.8],
      [0.8, 0.8],
      [-0.8, 0.8],
    ]),
    rings: [],
  },
  /* triangle (apex up) */
  {
    segments: polygon([
      [0, -1],
      [S3, 0.5],
      [-S3, 0.5],
    ]).map(([a, b]) => [
      [a[0] * 1.05, a[1] * 1.05 + 0.12],
      [b[0] * 1.05, b[1] * 1.05 + 0.12],
    ]),
    rings: [],
  },
  /* diamond  */
  {
    segments: polygon([
      [0, -1],
      [1, 0],
      [0, 1],
      [-1, 0],
    ]),
    rings: [],
  },
  /* plus     */
  {
    segments: [
      [
        [-1, 0],
        [1, 0],
      ],
      [
        [0, -1],
        [0, 1],
      ],
    ],
    rings: [],
  },
  /* cross    */
  {
    segments: [
      [
        [-0.75, -0.75],
        [0.75, 0.75],
      ],
      [
        [-0.75, 0.75],
        [0.75, -0.75],
      ],
    ],
    rings: [],
  },
  /* hbars    */
  {
    segments: [
      [
        [-0.9, -0.45],
        [0.9, -0.45],
      ],
      [
        [-0.9, 0.45],
        [0.9, 0.45],
      ],
    ],
    rings: [],
  },
  /* vbars    */
  {
    segments: [
      [
        [-0.45, -0.9],
        [-0.45, 0.9],
      ],
      [
        [0.45, -0.9],
        [0.45, 0.9],
      ],
    ],
    rings: [],
  },
  /* corner (an L) */
  {
    segments: [
      [
        [-0.6, -0.95],
        [-0.6, 0.7],
      ],
      [
        [-0.6, 0.7],
        [0.8, 0.7],
      ],
    ],
    rings: [],
  },
];

function segmentDistance(px: number, py: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, ((px - a[0]) * dx + (py - a[1]) * dy) / len2));
  return Math.hypot(px - a[0] - t * dx, py - a[1] - t * dy);
}

/**
 * Draws one shape into `out` (size × size, row-major) as values in [−1, 1], from explicit jitter.
 * {@link makeShapes} draws the jitter at random; this is the renderer it calls.
 *
 * @param label class index in [0, 10) (see {@link SHAPE_CLASSES})
 * @example
 * ```ts
 * const px = drawShape(0, { cx: 8, cy: 8, radius: 5, angle: 0, thickness: 1.5, brightness: 1 }, 16);
 * px.length; // => 256
 * ```
 */
export function drawShape(
  label: number,
  params: ShapeParams,
  size: number,
  out: Float32Array = new Float32Array(size * size),
): Float32Array {
  const op = 'drawShape';
  if (!Number.isInteger(label) || label < 0 || label >= GEOMETRY.length) {
    throw new RangeError(`${op}: label must be an integer in [0, ${GEOMETRY.length}), got ${label}`);
  }
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`${op}: size must be a positive integer, got ${size}`);
  if (out.length < size * size) {
    throw new RangeError(`${op}: out must hold size² = ${size * size} values, got ${out.length}`);
  }
  const { cx, cy, radius, angle, thickness, brightness } = params;
  if (!(radius > 0) || !(thickness > 0) || !(brightness > 0 && brightness <= 1)) {
    throw new RangeError(
      `${op}: params need radius > 0, thickness > 0 and brightness in (0, 1], got radius ${radius}, thickness ${thickness}, brightness ${brightness}`,
    );
  }
  const g = GEOMETRY[label];
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const half = thickness / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Pixel centre → unit frame: translate, rotate by −angle, scale by 1/radius.
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const ux = (cos * dx + sin * dy) / radius;
      const uy = (-sin * dx + cos * dy) / radius;
      let cover = 0;
      let d = Number.POSITIVE_INFINITY;
      for (const [a, b] of g.segments) d = Math.min(d, segmentDistance(ux, uy, a, b));
      for (const r of g.rings) d = Math.min(d, Math.abs(Math.hypot(ux, uy) - r));
      if (d !== Number.POSITIVE_INFINITY) cover = Math.min(1, Math.max(0, half - d * radius + 0.5));
      if (g.disk !== undefined) {
        const sd = (Math.hypot(ux, uy) - g.disk) * radius;
        cover = Math.max(cover, Math.min(1, Math.max(0, 0.5 - sd)));
      }
      out[y * size + x] = -1 + 2 * brightness * cover;
    }
  }
  return out;
}

/**
 * Draws the jitter of one image: centre within ±8% of the side from the middle, half-extent 24–36%
 * of the side, rotation ±15°, stroke 6–11% of the side (1–1.75 px at 16×16), brightness 0.75–1.
 */
export function randomShapeParams(size: number, generator: Generator): ShapeParams {
  const u = () => generator.uniform();
  return {
    cx: size / 2 + (2 * u() - 1) * 0.08 * size,
    cy: size / 2 + (2 * u() - 1) * 0.08 * size,
    radius: size * (0.24 + 0.12 * u()),
    angle: ((2 * u() - 1) * 15 * Math.PI) / 180,
    thickness: size * (0.0625 + 0.047 * u()),
    brightness: 0.75 + 0.25 * u(),
  };
}

/**
 * `n` grayscale images of ten shape classes (see {@link SHAPE_CLASSES}) with seeded jitter, and
 * their labels: the course's small image dataset, drawn by attnkit (no download, no licence).
 * The same generator seed gives the same images on every machine.
 *
 * @param n number of images
 * @returns images float32 [n, 1, size, size] in [−1, 1] and labels int32 [n]
 * @example
 * ```ts
 * const { images, labels } = makeShapes(1000, { generator: new Generator(1) });
 * images.shape;                         // => [1000, 1, 16, 16]
 * Array.from(await labels.data()).slice(0, 12); // => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
 * ```
 */
export function makeShapes(n: number, options: ShapesOptions = {}): ShapesData {
  const op = 'makeShapes';
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: n must be a positive integer, got ${n}`);
  const size = options.size ?? 16;
  if (!Number.isInteger(size) || size < 4) {
    throw new RangeError(`${op}: options.size must be an integer ≥ 4, got ${size}`);
  }
  const g = options.generator ?? new Generator(0);
  const k = SHAPE_CLASSES.length;
  const labels = new Int32Array(n);
  if (options.labels !== undefined) {
    if (options.labels.length !== n) {
      throw new RangeError(`${op}: options.labels must have length n = ${n}, got ${options.labels.length}`);
    }
    for (let i = 0; i < n; i++) {
      const l = options.labels[i];
      if (!Number.isInteger(l) || l < 0 || l >= k) {
        throw new RangeError(`${op}: options.labels[${i}] must be an integer in [0, ${k}), got ${l}`);
      }
      labels[i] = l;
    }
  } else {
    for (let i = 0; i < n; i++) labels[i] = i % k;
  }
  const hw = size * size;
  const px = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    drawShape(labels[i], randomShapeParams(size, g), size, px.subarray(i * hw, (i + 1) * hw));
  }
  return { images: tensor(px, [n, 1, size, size]), labels: tensor(labels, [n], 'int32') };
}
