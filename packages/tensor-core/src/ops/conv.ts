import { record } from '../autograd.js';
import type { Backend, Conv2dParams, View } from '../backend.js';
import { type DType, isHalf } from '../dtype.js';
import { opScope, tidy } from '../memory.js';
import { contiguousStrides, fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { add } from './elementwise.js';
import { assertTensor, backendOf, wrap } from './util.js';

// Convolutions with torch.nn.functional semantics. The backend supplies one primitive (conv2d,
// cross-correlation with stride/padding/dilation/groups); every other convolution here, and the
// gradients, are written with it:
//   - conv1d is conv2d over a height of 1;
//   - convTranspose2d is conv2d over the input spread out by the stride (zeros in between) with the
//     kernel flipped and its in/out channels swapped per group;
//   - d(conv2d)/d(input) is convTranspose2d of the output gradient with the same kernel;
//   - d(conv2d)/d(weight) is conv2d of the input (batch as channels) with the output gradient as
//     the kernel, stride and dilation swapped.

/** A size given once for both spatial dims or as `[h, w]`. */
export type Size2 = number | readonly [number, number];

/** Options of {@link conv2d} (torch's keyword arguments, camelCase). */
export interface Conv2dOptions {
  /** Step between windows, `1` by default. */
  stride?: Size2;
  /**
   * Zeros added on both sides of each spatial dim (`0` by default), or `'same'` (output as large
   * as the input; stride 1 only; odd totals put the extra zero at the end, as torch) or `'valid'` (none).
   */
  padding?: Size2 | 'same' | 'valid';
  /** Spacing between kernel taps, `1` by default. */
  dilation?: Size2;
  /** Channel groups: input and output channels split into this many independent convolutions. */
  groups?: number;
}

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
}

/** Options of {@link convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride of the convolution this one transposes (the upsampling factor). */
  stride?: Size2;
  /** `dilation * (kernel - 1) - padding` zeros are added on both sides of the input. */
  padding?: Size2;
  /** Extra rows/columns added at the end of the output (smaller than the stride or the dilation). */
  outputPadding?: Size2;
  groups?: number;
  dilation?: Size2;
}

// ---------------------------------------------------------------- shared internals

/** @internal Reads a `Size2` option as a positive (or non-negative) integer pair. */
export function pair(op: string, name: string, v: unknown, def: number, min = 1): [number, number] {
  const p = v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : v;
  if (
    !Array.isArray(p) ||
    p.length !== 2 ||
    !p.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min)
  ) {
    throw new TypeError(
      `${op}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`,
    );
  }
  return [p[0], p[1]];
}

/** @internal An int32 tensor of `values` on backend `b`. */
export function intTensor(b: Backend, values: ArrayLike<number>, shape: readonly number[]): Tensor {
  const a = Int32Array.from(values);
  return wrap(b, b.upload(a, 'int32'), shape, 'int32');
}

/** @internal A view of `t` with another layout, not recorded for autograd. */
function viewOf(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): View {
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset };
}

/** The index range [i0, i1) with 0 <= o + i*s < size. */
function inRange(n: number, size: number, s: number, o: number): [number, number] {
  const i0 = o >= 0 ? 0 : Math.ceil(-o / s);
  const i1 = Math.min(n, Math.max(0, Math.floor((size - 1 - o) / s) + 1));
  return [i0, Math.max(i0, i1)];
}

/**
 * @internal Places the last two dims of `x` ([..., H, W]) into a new [..., Ht, Wt] tensor filled
 * with `fill`: element (i, j) goes to (o[0] + i*s[0], o[1] + j*s[1]); elements that land outside
 * are dropped. Pads (s = 1, o = pad), crops (negative o) and spreads out (s > 1). Not recorded.
 */
export function place(
  x: Tensor,
  ht: number,
  wt: number,
  s: readonly [number, number],
  o: readonly [number, number],
  fill: number,
): Tensor {
  const b = x.backend;
  const r = x.rank;
  const lead = x.shape.slice(0, r - 2);
  const [h, w] = [x.shape[r - 2], x.shape[r - 1]];
  const shape = [...lead, ht, wt];
  const out = wrap(b, b.fill(shape, fill, 'float32'), shape, 'float32');
  const [i0, i1] = inRange(h, ht, s[0], o[0]);
  const [j0, j1] = inRange(w, wt, s[1], o[1]);
  if (i1 > i0 && j1 > j0 && lead.every((d) => d > 0)) {
    const os = out.strides;
    const dst = {
      storage: out.storage,
      dtype: 'float32' as DType,
      shape: [...lead, i1 - i0, j1 - j0],
      strides: [...os.slice(0, r - 2), os[r - 2] * s[0], s[1]],
      offset: (o[0] + i0 * s[0]) * os[r - 2] + (o[1] + j0 * s[1]),
    };
    const src = viewOf(x, dst.shape, x.strides, x.offset + i0 * x.strides[r - 2] + j0 * x.strides[r - 1]);
    b.write(dst, src);
  }
  return out;
}

/**
 * @internal The inverse of {@link place}: a new [..., h, w] tensor whose element (i, j) is
 * y[..., o[0] + i*s[0], o[1] + j*s[1]], or 0 where that falls outside `y`. Not recorded.
 */
export function take(
  y: Tensor,
  h: number,
  w: number,
  s: readonly [number, number],
  o: readonly [number, number],
): Tensor {
  const b = y.backend;
  const r = y.rank;
  const lead = y.shape.slice(0, r - 2);
  const [ht, wt] = [y.shape[r - 2], y.shape[r - 1]];
  const shape = [...lead, h, w];
  const out = wrap(b, b.fill(shape, 0, 'float32'), shape, 'float32');
  const [i0, i1] = inRange(h, ht, s[0], o[0]);
  const [j0, j1] = inRange(w, wt, s[1], o[1]);
  if (i1 > i0 && j1 > j0 && lead.every((d) => d > 0)) {
    const os = contiguousStrides(shape);
    const dst = {
      storage: out.storage,
      dtype: 'float32' as DType,
      shape: [...lead, i1 - i0, j1 - j0],
      strides: os,
      offset: i0 * os[r - 2] + j0,
    };
    const ys = y.strides;
    const src = viewOf(
      y,
      dst.shape,
      [...ys.slice(0, r - 2), ys[r - 2] * s[0], ys[r - 1] * s[1]],
      y.offset + (o[0] + i0 * s[0]) * ys[r - 2] + (o[1] + j0 * s[1]) * ys[r - 1],
    );
    b.write(dst, src);
  }
  return out;
}

/** {@link place} recorded for autograd (its gradient is {@link take}). */
function placeOp(
  x: Tensor,
  ht: number,
  wt: number,
  s: [number, number],
  o: [number, number],
  fill: number,
): Tensor {
  const y = place(x, ht, wt, s, o, fill);
  const [h, w] = x.shape.slice(-2);
  return record(y, 'pad2d', [x], (g) => [take(g, h, w, s, o)]);
}

/** Output length of a convolution along one dim. */
function convOut(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The conv2d primitive on float32 operands; output wrapped, not recorded. */
function rawConv2d(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const b = x.backend;
  const [n, , h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const oh = convOut(h, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const ow = convOut(wd, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const shape = [n, o, Math.max(oh, 0), Math.max(ow, 0)];
  if (shape.some((d) => d === 0)) return wrap(b, b.fill(shape, 0, 'float32'), shape, 'float32');
  return wrap(b, b.conv2d(x, w, p), shape, 'float32');
}

function asFloat(op: string, t: Tensor, arg: string): Tensor {
  if (t.dtype === 'float32') return t;
  if (isHalf(t.dtype)) return t.cast('float32');
  throw new TypeError(`${op}: argument '${arg}' must be a float tensor, got ${t.dtype}`);
}

/** Flips the last two dims of a contiguous [A, B, kh, kw] tensor (a gather; no negative strides). */
function flipKernel(w: Tensor): Tensor {
  const [a, c, kh, kw] = w.shape;
  const k = kh * kw;
  const b = w.backend;
  const rev = new Int32Array(k).map((_, i) => k - 1 - i);
  return opScope(() => {
    const idx = intTensor(b, rev, [k]);
    const idxView = idx.withLayout([a, c, k], [0, 0, 1], 0);
    const flat = w.reshape([a, c, k]);
    return wrap(b, b.gather(flat, 2, idxView), [a, c, k], 'float32').reshape([a, c, kh, kw]);
  });
}

/**
 * Transposed convolution on float32 operands, not recorded: x [N, G*Ci, H, W], w [G*Ci, Og, kh, kw]
 * → [N, G*Og, outH, outW].
 */
function rawConvTranspose2d(
  x: Tensor,
  w: Tensor,
  s: [number, number],
  p: [number, number],
  op: [number, number],
  d: [number, number],
  groups: number,
): Tensor {
  return tidy(() => {
    const [n, cin, h, wd] = x.shape;
    const [, og, kh, kw] = w.shape;
    const ci = cin / groups;
    const outH = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1;
    const outW = (wd - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
    const o: [number, number] = [d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1]];
    const spread = place(x, outH + d[0] * (kh - 1), outW + d[1] * (kw - 1), s, o, 0);
    // [G*Ci, Og, kh, kw] -> [G*Og, Ci, kh, kw], flipped.
    const wt = w
      .reshape([groups, ci, og, kh, kw])
      .permute(0, 2, 1, 3, 4)
      .contiguous()
      .reshape([groups * og, ci, kh, kw]);
    const y = rawConv2d(spread, flipKernel(wt), {
      stride: [1, 1],
      padding: [0, 0],
      dilation: d,
      groups,
    });
    void n;
    return y;
  });
}

/**
 * Gradient of conv2d w.r.t. its weight, not recorded: x [N, G*Cg, H, W], g [N, G*Og, OH, OW]
 * → [G*Og, Cg, kh, kw].
 */
function convWeightGrad(
  x: Tensor,
  g: Tensor,
  kh: number,
  kw: number,
  s: [number, number],
  p: [number, number],
  d: [number, number],
  groups: number,
): Tensor {
  return tidy(() => {
    const [n, c, h, w] = x.shape;
    const [, o, oh, ow] = g.shape;
    const cg = c / groups;
    const og = o / groups;
    const xr = x
      .reshape([n, groups, cg, h, w])
      .permute(2, 1, 0, 3, 4)
      .contiguous()
      .reshape([cg, groups * n, h, w]);
    const gr = g
      .reshape([n, groups, og, oh, ow])
      .permute(1, 2, 0, 3, 4)
      .contiguous()
      .reshape([groups * og, n, oh, ow]);
    const r = rawConv2d(xr, gr, { stride: d, padding: p, dilation: s, groups });
    // r: [Cg, G*Og, kh', kw'] with kh' >= kh; keep the first kh x kw taps.
    const cut = r.withLayout([cg, o, kh, kw], r.strides, 0);
    return cut.permute(1, 0, 2, 3).contiguous();
  });
}

function checkRank4(op: string, x: Tensor, w: Tensor): { x: Tensor; unbatched: boolean } {
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(
      `${op}: expected input of shape [N, C, H, W] (or [C, H, W] unbatched), got ${fmt(x.shape)}`,
    );
  }
  if (w.rank !== 4) {
    throw new Error(`${op}: expected a 4-D weight, got ${fmt(w.shape)}`);
  }
  return x.rank === 3 ? { x: x.unsqueeze(0), unbatched: true } : { x, unbatched: false };
}

function checkGroups(op: string, groups: unknown): number {
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new TypeError(`${op}: groups must be a positive integer, got ${JSON.stringify(groups)}`);
  }
  return groups;
}

function checkBias(op: string, bias: Tensor | null | undefined, channels: number): void {
  if (bias == null) return;
  assertTensor(bias, 'bias', op);
  if (bias.rank !== 1 || bias.shape[0] !== channels) {
    throw new Error(
      `${op}: expected bias of shape [${channels}] (one per output channel), got ${fmt(bias.shape)}`,
    );
  }
}

function addBias(y: Tensor, bias: Tensor | null | undefined): Tensor {
  if (bias == null) return y;
  const shape = [1, bias.shape[0], ...new Array<number>(y.rank - 2).fill(1)];
  return add(y, bias.reshape(shape));
}

// ---------------------------------------------------------------- conv2d

/**
 * 2-D convolution (cross-correlation) as torch.nn.functional.conv2d: input [N, C, H, W] (or
 * [C, H, W]), weight [O, C/groups, kH, kW], optional bias [O]; output [N, O, outH, outW] with
 * `outH = floor((H + 2*padding - dilation*(kH-1) - 1) / stride) + 1`. Differentiable w.r.t. input,
 * weight and bias.
 *
 * @example
 * ```ts
 * const x = randn([1, 3, 32, 32]);
 * const w = randn([8, 3, 3, 3]);
 * conv2d(x, w, null, { stride: 2, padding: 1 }); // [1, 8, 16, 16]
 * conv2d(x, w, null, { padding: 'same' });       // [1, 8, 32, 32]
 * ```
 */
export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  const op = 'conv2d';
  assertTensor(input, 'input', op);
  assertTensor(weight, 'weight', op);
  backendOf(op, input, weight, bias);
  const checked = checkRank4(op, input, weight);
  const groups = checkGroups(op, options.groups ?? 1);
  const [n, c, h, wd] = checked.x.shape;
  const [o, cg, kh, kw] = weight.shape;
  if (c !== cg * groups) {
    throw new Error(
      `${op}: input has ${c} channels but weight ${fmt(weight.shape)} with groups=${groups} expects ${cg * groups} (weight dim 1 times groups)`,
    );
  }
  if (o % groups !== 0) {
    throw new Error(`${op}: weight has ${o} output channels, not divisible by groups=${groups}`);
  }
  checkBias(op, bias, o);
  const stride = pair(op, 'stride', options.stride, 1);
  const dilation = pair(op, 'dilation', options.dilation, 1);
  let x = checked.x;
  let padding: [number, number];
  const pad = options.padding;
  if (pad === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(
        `${op}: padding='same' is only supported with stride 1, got stride ${JSON.stringify(options.stride)}`,
      );
    }
    const total = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
    const before: [number, number] = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    if (total[0] % 2 === 0 && total[1] % 2 === 0) padding = before;
    else {
      // Odd total: torch puts the extra zero at the end; pad explicitly.
      x = placeOp(asFloat(op, x, 'input'), h + total[0], wd + total[1], [1, 1], before, 0);
      padding = [0, 0];
    }
  } else if (pad === 'valid') padding = [0, 0];
  else padding = pair(op, 'padding', pad, 0, 0);
  const xh = x.shape[2];
  const xw = x.shape[3];
  const oh = convOut(xh, kh, stride[0], padding[0], dilation[0]);
  const ow = convOut(xw, kw, stride[1], padding[1], dilation[1]);
  if (oh <= 0 || ow <= 0) {
    throw new Error(
      `${op}: input ${fmt(input.shape)} (padded to ${xh + 2 * padding[0]}x${xw + 2 * padding[1]}) is smaller than the dilated kernel ${dilation[0] * (kh - 1) + 1}x${dilation[1] * (kw - 1) + 1}`,
    );
  }
  void n;
  const mark = traceMark();
  const fx = asFloat(op, x, 'input');
  const fw = asFloat(op, weight, 'weight');
  const params: Conv2dParams = { stride, padding, dilation, groups };
  let y = rawConv2d(fx, fw, params);
  if (mark >= 0) traceOp(mark, 'conv2d', [x, weight], y, { stride, padding, dilation, groups });
  const xin = x;
  y = record(y, op, [xin, weight], (g) =>
    tidy(() => {
      const gx = xin.requiresGrad
        ? gradInput(g, fw, xin.shape[2], xin.shape[3], stride, padding, dilation, groups)
        : null;
      const gw = weight.requiresGrad
        ? convWeightGrad(fx, g, kh, kw, stride, padding, dilation, groups)
        : null;
      return [gx, gw];
    }),
  );
  y = addBias(y, bias);
  return checked.unbatched ? y.squeeze(0) : y;
}

function gradInput(
  g: Tensor,
  w: Tensor,
  h: number,
  wd: number,
  s: [number, number],
  p: [number, number],
  d: [number, number],
  groups: number,
): Tensor {
  const [, , oh, ow] = g.shape;
  const [, , kh, kw] = w.shape;
  const base: [number, number] = [
    (oh - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + 1,
    (ow - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + 1,
  ];
  // Rows the forward pass never read (stride leftovers) get zero gradient: output padding.
  return rawConvTranspose2d(g, w, s, p, [h - base[0], wd - base[1]], d, groups);
}

// ---------------------------------------------------------------- conv1d

/**
 * 1-D convolution as torch.nn.functional.conv1d: input [N, C, L] (or [C, L]), weight
 * [O, C/groups, k], optional bias [O]; output [N, O, outL].
 *
 * @example
 * ```ts
 * conv1d(randn([2, 4, 16]), randn([8, 4, 3]), null, { padding: 1 }); // [2, 8, 16]
 * ```
 */
export function conv1d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv1dOptions = {},
): Tensor {
  const op = 'conv1d';
  assertTensor(input, 'input', op);
  assertTensor(weight, 'weight', op);
  if (input.rank !== 2 && input.rank !== 3) {
    throw new Error(
      `${op}: expected input of shape [N, C, L] (or [C, L] unbatched), got ${fmt(input.shape)}`,
    );
  }
  if (weight.rank !== 3)
    throw new Error(`${op}: expected a 3-D weight [O, C/groups, k], got ${fmt(weight.shape)}`);
  const num = (name: string, v: unknown, def: number, min: number): number => {
    const x = v ?? def;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
      throw new TypeError(`${op}: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return x;
  };
  const stride = num('stride', options.stride, 1, 1);
  const dilation = num('dilation', options.dilation, 1, 1);
  const pad = options.padding;
  const padding: Size2 | 'same' | 'valid' =
    pad === 'same' || pad === 'valid' ? pad : [0, num('padding', pad, 0, 0)];
  const x = input.unsqueeze(-2);
  const y = conv2d(x, weight.unsqueeze(2), bias, {
    stride: [1, stride],
    dilation: [1, dilation],
    padding,
    groups: options.groups ?? 1,
  });
  return y.squeeze(-2);
}

// ---------------------------------------------------------------- convTranspose2d

/**
 * Transposed 2-D convolution ("deconvolution") as torch.nn.functional.conv_transpose2d: input
 * [N, Cin, H, W] (or [Cin, H, W]), weight [Cin, Cout/groups, kH, kW], optional bias [Cout]; output
 * [N, Cout, outH, outW] with
 * `outH = (H - 1)*stride - 2*padding + dilation*(kH - 1) + outputPadding + 1`.
 * It is the gradient of conv2d w.r.t. its input, so it upsamples by `stride`.
 *
 * @example
 * ```ts
 * convTranspose2d(randn([1, 8, 16, 16]), randn([8, 4, 4, 4]), null, { stride: 2, padding: 1 }); // [1, 4, 32, 32]
 * ```
 */
export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  assertTensor(input, 'input', op);
  assertTensor(weight, 'weight', op);
  backendOf(op, input, weight, bias);
  const checked = checkRank4(op, input, weight);
  const groups = checkGroups(op, options.groups ?? 1);
  const [, cin, h, wd] = checked.x.shape;
  const [wi, og, kh, kw] = weight.shape;
  if (wi !== cin) {
    throw new Error(
      `${op}: input has ${cin} channels but weight ${fmt(weight.shape)} expects ${wi} (weight layout is [in, out/groups, kH, kW])`,
    );
  }
  if (cin % groups !== 0) {
    throw new Error(`${op}: input channels ${cin} are not divisible by groups=${groups}`);
  }
  checkBias(op, bias, og * groups);
  const stride = pair(op, 'stride', options.stride, 1);
  const padding = pair(op, 'padding', options.padding, 0, 0);
  const dilation = pair(op, 'dilation', options.dilation, 1);
  const outPad = pair(op, 'outputPadding', options.outputPadding, 0, 0);
  for (let i = 0; i < 2; i++) {
    if (outPad[i] >= stride[i] && outPad[i] >= dilation[i]) {
      throw new Error(
        `${op}: outputPadding ${JSON.stringify(options.outputPadding)} must be smaller than either stride ${JSON.stringify(stride)} or dilation ${JSON.stringify(dilation)}`,
      );
    }
  }
  const outH = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outPad[0] + 1;
  const outW = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outPad[1] + 1;
  if (outH <= 0 || outW <= 0) {
    throw new Error(
      `${op}: the output size ${outH}x${outW} is not positive (padding too large for input ${fmt(input.shape)})`,
    );
  }
  const x = checked.x;
  const fx = asFloat(op, x, 'input');
  const fw = asFloat(op, weight, 'weight');
  let y = rawConvTranspose2d(fx, fw, stride, padding, outPad, dilation, groups);
  y = record(y, op, [x, weight], (g) =>
    tidy(() => {
      let gx: Tensor | null = null;
      if (x.requiresGrad) {
        const full = rawConv2d(g, fw, { stride, padding, dilation, groups });
        gx = full.shape[2] === h && full.shape[3] === wd ? full : take(full, h, wd, [1, 1], [0, 0]);
      }
      const gw = weight.requiresGrad
        ? convWeightGrad(g, fx, kh, kw, stride, padding, dilation, groups)
        : null;
      return [gx, gw];
    }),
  );
  y = addBias(y, bias);
  return checked.unbatched ? y.squeeze(0) : y;
}
