import { record } from '../autograd.js';
import type { Backend } from '../backend.js';
import { isFloat } from '../dtype.js';
import { opScope, tidy } from '../memory.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { intTensor, pair, place, type Size2 } from './conv.js';
import { assertTensor, wrap } from './util.js';

// 2-D pooling with torch.nn.functional semantics. The input is padded once (with -inf for max,
// zeros for average) and the windows are read through a strided view [N, C, outH, outW, kH, kW]
// (overlapping windows share elements; nothing is copied), then reduced by the backend's reduce
// primitive. Gradients go back through scatterAdd with a table of where each window element came
// from: max pooling routes each output's gradient to its window's argmax (the first on ties, as
// torch), average pooling spreads it over the window.

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Step between windows; the kernel size by default (torch's `stride=None`). */
  stride?: Size2;
  /** Implicit -inf padding on both sides, at most half the kernel size. */
  padding?: Size2;
  /** Spacing between window elements. */
  dilation?: Size2;
  /** Use ceil instead of floor for the output size (a last partial window is kept when it starts inside the input). */
  ceilMode?: boolean;
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions {
  /** Step between windows; the kernel size by default. */
  stride?: Size2;
  /** Implicit zero padding on both sides, at most half the kernel size. */
  padding?: Size2;
  /** Use ceil instead of floor for the output size. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (true by default, as torch). */
  countIncludePad?: boolean;
  /** Divide every window sum by this instead of the window size. */
  divisorOverride?: number;
}

interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  oh: number;
  ow: number;
  /** Padded size covering every window. */
  hp: number;
  wp: number;
  unbatched: boolean;
  x: Tensor;
}

function poolOut(
  op: string,
  size: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= size + p) out--;
  if (span < 0 || out < 1) {
    throw new Error(
      `${op}: input size ${size} (padding ${p}) is too small for a window of ${k} (dilation ${d}); the output would be empty`,
    );
  }
  return out;
}

function geometry(
  op: string,
  input: Tensor,
  kernelSize: Size2,
  stride: Size2 | undefined,
  padding: Size2 | undefined,
  dilation: Size2 | undefined,
  ceil: boolean,
): Geometry {
  assertTensor(input, 'input', op);
  if (input.rank !== 3 && input.rank !== 4) {
    throw new Error(
      `${op}: expected input of shape [N, C, H, W] (or [C, H, W] unbatched), got ${fmt(input.shape)}`,
    );
  }
  if (!isFloat(input.dtype)) {
    throw new TypeError(`${op}: expected a float input, got ${input.dtype}`);
  }
  const k = pair(op, 'kernelSize', kernelSize, 1);
  const s = stride === undefined || stride === null ? k : pair(op, 'stride', stride, 1);
  const p = pair(op, 'padding', padding, 0, 0);
  const d = pair(op, 'dilation', dilation, 1);
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new Error(
      `${op}: padding ${JSON.stringify(p)} must be at most half the kernel size ${JSON.stringify(k)}`,
    );
  }
  const unbatched = input.rank === 3;
  let x = unbatched ? input.unsqueeze(0) : input;
  if (x.dtype !== 'float32') x = x.cast('float32');
  const [n, c, h, w] = x.shape;
  const oh = poolOut(op, h, k[0], s[0], p[0], d[0], ceil);
  const ow = poolOut(op, w, k[1], s[1], p[1], d[1], ceil);
  const hp = (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1;
  const wp = (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1;
  return { n, c, h, w, k, s, p, d, oh, ow, hp, wp, unbatched, x };
}

/** The padded input and the strided view of its windows [N, C, oh, ow, kH, kW]. */
function windows(g: Geometry, fill: number): { padded: Tensor; view: Tensor } {
  const padded = place(g.x, g.hp, g.wp, [1, 1], g.p, fill);
  const plane = g.hp * g.wp;
  const view = padded.withLayout(
    [g.n, g.c, g.oh, g.ow, g.k[0], g.k[1]],
    [g.c * plane, plane, g.s[0] * g.wp, g.s[1], g.d[0] * g.wp, g.d[1]],
    0,
  );
  return { padded, view };
}

/**
 * For every window element, the flat index h*W + w of the input element it reads, or H*W (a
 * spare slot) for padding: int32 [oh*ow*kH*kW].
 */
function sourceTable(b: Backend, g: Geometry): Tensor {
  const kk = g.k[0] * g.k[1];
  const t = new Int32Array(g.oh * g.ow * kk);
  let q = 0;
  for (let i = 0; i < g.oh; i++) {
    for (let j = 0; j < g.ow; j++) {
      for (let a = 0; a < g.k[0]; a++) {
        const r = i * g.s[0] - g.p[0] + a * g.d[0];
        for (let e = 0; e < g.k[1]; e++) {
          const col = j * g.s[1] - g.p[1] + e * g.d[1];
          t[q++] = r >= 0 && r < g.h && col >= 0 && col < g.w ? r * g.w + col : g.h * g.w;
        }
      }
    }
  }
  return intTensor(b, t, [t.length]);
}

/** Adds `src` [N, C, L] into a zero [N, C, H*W] image at flat positions `index` [N, C, L]. */
function foldInto(b: Backend, g: Geometry, index: Tensor, src: Tensor): Tensor {
  const hw = g.h * g.w;
  const zeros = wrap(b, b.fill([g.n, g.c, hw + 1], 0, 'float32'), [g.n, g.c, hw + 1], 'float32');
  const summed = wrap(b, b.scatterAdd(zeros, 2, index, src), zeros.shape, 'float32');
  const img = summed.withLayout([g.n, g.c, g.h, g.w], [g.c * (hw + 1), hw + 1, g.w, 1], 0);
  return img.contiguous();
}

function rawReduce(b: Backend, op: 'max' | 'sum', view: Tensor, g: Geometry): Tensor {
  const shape = [g.n, g.c, g.oh, g.ow];
  if (shape.some((v) => v === 0)) return wrap(b, b.fill(shape, 0, 'float32'), shape, 'float32');
  return wrap(b, b.reduce(op, view, [4, 5], 'float32'), shape, 'float32');
}

/** Argmax of every window, as flat input indices h*W + w: int32 [N, C, oh, ow]. */
function windowArgmax(b: Backend, g: Geometry): Tensor {
  return tidy(() => {
    const kk = g.k[0] * g.k[1];
    const { view } = windows(g, Number.NEGATIVE_INFINITY);
    const flat = view.contiguous().reshape([g.n, g.c, g.oh, g.ow, kk]);
    const arg = wrap(b, b.reduce('argmax', flat, [4], 'int32'), [g.n, g.c, g.oh, g.ow, 1], 'int32');
    const table = sourceTable(b, g);
    const tview = table.withLayout([g.n, g.c, g.oh, g.ow, kk], [0, 0, g.ow * kk, kk, 1], 0);
    const src = wrap(b, b.gather(tview, 4, arg), arg.shape, 'int32');
    return src.reshape([g.n, g.c, g.oh, g.ow]);
  });
}

/**
 * 2-D max pooling as torch.nn.functional.max_pool2d: input [N, C, H, W] (or [C, H, W]); each
 * output is the maximum of a kH x kW window. The gradient goes to the window's maximum (the
 * first one on ties, as torch).
 *
 * @example
 * ```ts
 * maxPool2d(randn([1, 3, 8, 8]), 2).shape;                            // => [1, 3, 4, 4]
 * maxPool2d(randn([1, 3, 9, 9]), 3, { stride: 2, padding: 1 }).shape; // => [1, 3, 5, 5]
 * ```
 */
export function maxPool2d(input: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): Tensor {
  const op = 'maxPool2d';
  const g = geometry(
    op,
    input,
    kernelSize,
    options.stride,
    options.padding,
    options.dilation,
    options.ceilMode ?? false,
  );
  const b = g.x.backend;
  const y = tidy(() => rawReduce(b, 'max', windows(g, Number.NEGATIVE_INFINITY).view, g));
  const xin = g.x;
  const out = record(y, op, [xin], (grad) =>
    tidy(() => {
      const idx = windowArgmax(b, g).reshape([g.n, g.c, g.oh * g.ow]);
      return [foldInto(b, g, idx, grad.contiguous().reshape([g.n, g.c, g.oh * g.ow]))];
    }),
  );
  return g.unbatched ? out.squeeze(0) : out;
}

/**
 * Max pooling that also returns where each maximum came from, as torch's `return_indices=True`:
 * `[values, indices]`, indices int32 flat positions `h * W + w` within each input plane.
 */
export function maxPool2dWithIndices(
  input: Tensor,
  kernelSize: Size2,
  options: MaxPool2dOptions = {},
): [Tensor, Tensor] {
  const values = maxPool2d(input, kernelSize, options);
  const g = geometry(
    'maxPool2dWithIndices',
    input,
    kernelSize,
    options.stride,
    options.padding,
    options.dilation,
    options.ceilMode ?? false,
  );
  const idx = windowArgmax(g.x.backend, g);
  return [values, g.unbatched ? idx.squeeze(0) : idx];
}

/**
 * 2-D average pooling as torch.nn.functional.avg_pool2d: input [N, C, H, W] (or [C, H, W]); each
 * output is the mean of a kH x kW window. With `countIncludePad: false` padded zeros are left out
 * of the divisor; `divisorOverride` replaces it.
 *
 * @example
 * ```ts
 * avgPool2d(randn([1, 3, 8, 8]), 2).shape; // => [1, 3, 4, 4]
 * ```
 */
export function avgPool2d(input: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  const op = 'avgPool2d';
  const g = geometry(op, input, kernelSize, options.stride, options.padding, 1, options.ceilMode ?? false);
  const override = options.divisorOverride;
  if (override !== undefined && (typeof override !== 'number' || !(override > 0))) {
    throw new TypeError(`${op}: divisorOverride must be a positive number, got ${JSON.stringify(override)}`);
  }
  const includePad = options.countIncludePad ?? true;
  // torch's divisor: the window clipped to the padded input (count_include_pad) or to the input.
  const div = new Float32Array(g.oh * g.ow);
  for (let i = 0; i < g.oh; i++) {
    for (let j = 0; j < g.ow; j++) {
      let h0 = i * g.s[0] - g.p[0];
      let w0 = j * g.s[1] - g.p[1];
      let h1 = Math.min(h0 + g.k[0], g.h + g.p[0]);
      let w1 = Math.min(w0 + g.k[1], g.w + g.p[1]);
      const poolSize = (h1 - h0) * (w1 - w0);
      h0 = Math.max(h0, 0);
      w0 = Math.max(w0, 0);
      h1 = Math.min(h1, g.h);
      w1 = Math.min(w1, g.w);
      div[i * g.ow + j] = override ?? (includePad ? poolSize : (h1 - h0) * (w1 - w0));
    }
  }
  const b = g.x.backend;
  // Uploaded per use (forward, backward) rather than held between them, so nothing outlives a tidy.
  const divided = (t: Tensor): Tensor =>
    opScope(() => {
      const shape = t.shape;
      const divisor = wrap(b, b.upload(div.slice(), 'float32'), [g.oh, g.ow], 'float32');
      const dv = divisor.withLayout(shape, [0, 0, g.ow, 1], 0);
      return wrap(b, b.binary('div', t, dv, shape, 'float32', 'float32'), shape, 'float32');
    });
  const y = tidy(() => divided(rawReduce(b, 'sum', windows(g, 0).view, g)));
  const xin = g.x;
  const kk = g.k[0] * g.k[1];
  const out = record(y, op, [xin], (grad) =>
    tidy(() => {
      const spread = divided(grad)
        .reshape([g.n, g.c, g.oh, g.ow, 1])
        .expand([g.n, g.c, g.oh, g.ow, kk])
        .contiguous()
        .reshape([g.n, g.c, g.oh * g.ow * kk]);
      const table = sourceTable(b, g);
      const index = table.withLayout([g.n, g.c, g.oh * g.ow * kk], [0, 0, 1], 0);
      return [foldInto(b, g, index, spread)];
    }),
  );
  return g.unbatched ? out.squeeze(0) : out;
}
