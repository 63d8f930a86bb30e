import type { Conv2dParams, View } from '@attnkit/tensor-core';
import { type GpuStorage, grid1d, type KernelContext } from '../context.js';
import {
  computeType,
  convert,
  declare,
  LINEAR_ID,
  loader,
  MAIN_1D,
  META_DECL,
  Meta,
  mi,
  mu,
} from '../layout.js';

/**
 * 2-D convolution (torch semantics: stride, padding, dilation, groups). Convolutions with more than
 * a few output channels run as an implicit GEMM ({@link conv2dTiled}); the rest directly.
 */
export function conv2dKernel(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
  const og = w.shape[0] / p.groups;
  return og >= 4 ? conv2dTiled(ctx, x, w, p) : conv2dDirect(ctx, x, w, p);
}

/** Output size along one axis. */
function outSize(size: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/**
 * Implicit GEMM: per group, out[o, pixel] = Σ_k W[o, k] · patch[k, pixel] with k = (c, kh, kw) and
 * the patch gathered from the input on the fly (zero outside the padding), never written out.
 * A 16×16 workgroup computes a 32 (output channels) × 64 (pixels) tile, each invocation 2 × 4 of
 * it in registers; K advances 16 at a time through workgroup memory. Each invocation loads the same
 * pixel column and output row at every step, so their index arithmetic is done once.
 */
export function conv2dTiled(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
  const [N, , H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const G = p.groups;
  const Og = O / G;
  const OH = Math.max(0, outSize(H, KH, p.stride[0], p.padding[0], p.dilation[0]));
  const OW = Math.max(0, outSize(W, KW, p.stride[1], p.padding[1], p.dilation[1]));
  const P = N * OH * OW;
  const K = Cg * KH * KW;
  if (K === 0) return conv2dDirect(ctx, x, w, p);
  const out = ctx.alloc('float32', N * O * OH * OW);
  if (P === 0 || O === 0) return out;
  const meta = new Meta();
  // u: 0 P, 1 Og, 2 K, 3 OW, 4 OH*OW, 5 KH*KW, 6 KW, 7 H, 8 W, 9 O, 10 Cg
  for (const v of [P, Og, K, OW, OH * OW, KH * KW, KW, H, W, O, Cg]) meta.u(v);
  // i: 11 sh, 12 sw, 13 ph, 14 pw, 15 dh, 16 dw, 17 x offset, 18-21 x strides, 22 w offset, 23-26 w strides
  for (const v of [...p.stride, ...p.padding, ...p.dilation, x.offset, ...x.strides, w.offset, ...w.strides])
    meta.i(v);
  const f = (e: string, dt: typeof x.dtype) => convert(e, computeType(dt), 'f32');
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'X', x.dtype, 'read')}
${declare(3, 'Wt', w.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${loader('ldw', 'Wt', w.dtype)}
var<workgroup> As: array<f32, 512>; // [16 k][32 o]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 pixels]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let P = ${mu(0)}; let Og = ${mu(1)}; let K = ${mu(2)}; let OW = ${mu(3)}; let OHW = ${mu(4)};
  let KHW = ${mu(5)}; let KW = ${mu(6)}; let H = i32(${mu(7)}); let W = i32(${mu(8)});
  let g = wid.z;
  let p0 = wid.x * 64u;
  let o0 = wid.y * 32u;
  let tid = lid.y * 16u + lid.x;
  // the weight row this invocation loads: o = o0 + (tid & 31), k rows (tid >> 5) + 8r
  let lo = o0 + (tid & 31u);
  let wrow = ${mi(22)} + i32(g * Og + lo) * ${mi(23)};
  // the pixel column it loads: p = p0 + (tid & 63), k rows (tid >> 6) + 4r
  let lp = p0 + (tid & 63u);
  let ln = lp / OHW;
  let lsp = lp % OHW;
  let ih0 = i32(lsp / OW) * ${mi(11)} - ${mi(13)};
  let iw0 = i32(lsp % OW) * ${mi(12)} - ${mi(14)};
  let xbase = ${mi(17)} + i32(ln) * ${mi(18)} + i32(g * ${mu(10)}) * ${mi(19)};
  var acc: array<f32, 8>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var r = 0u; r < 2u; r++) {
      let kk = (tid >> 5u) + 8u * r;
      let k = k0 + kk;
      var v = 0.0;
      if (k < K && lo < Og) {
        let c = k / KHW; let rem = k % KHW;
        v = ${f(`ldw(wrow + i32(c) * ${mi(24)} + i32(rem / KW) * ${mi(25)} + i32(rem % KW) * ${mi(26)})`, w.dtype)};
      }
      As[kk * 32u + (tid & 31u)] = v;
    }
    for (var r = 0u; r < 4u; r++) {
      let kk = (tid >> 6u) + 4u * r;
      let k = k0 + kk;
      var v = 0.0;
      if (k < K && lp < P) {
        let c = k / KHW; let rem = k % KHW;
        let ih = ih0 + i32(rem / KW) * ${mi(15)};
        let iw = iw0 + i32(rem % KW) * ${mi(16)};
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
          v = ${f(`ldx(xbase + i32(c) * ${mi(19)} + ih * ${mi(20)} + iw * ${mi(21)})`, x.dtype)};
        }
      }
      Bs[kk * 64u + (tid & 63u)] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a0 = As[kk * 32u + lid.y * 2u];
      let a1 = As[kk * 32u + lid.y * 2u + 1u];
      let bb = kk * 64u + lid.x * 4u;
      let b0 = Bs[bb]; let b1 = Bs[bb + 1u]; let b2 = Bs[bb + 2u]; let b3 = Bs[bb + 3u];
      acc[0] += a0 * b0; acc[1] += a0 * b1; acc[2] += a0 * b2; acc[3] += a0 * b3;
      acc[4] += a1 * b0; acc[5] += a1 * b1; acc[6] += a1 * b2; acc[7] += a1 * b3;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 2u; i++) {
    let o = o0 + lid.y * 2u + i;
    if (o >= Og) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let p = p0 + lid.x * 4u + j;
      if (p >= P) { continue; }
      out[((p / OHW) * ${mu(9)} + g * Og + o) * OHW + p % OHW] = acc[i * 4u + j];
    }
  }
}`;
  ctx.dispatch({
    label: 'conv2d',
    key: `conv2d-tiled:${x.dtype}:${w.dtype}`,
    code,
    buffers: [out.buffer, (x.storage as GpuStorage).buffer, (w.storage as GpuStorage).buffer],
    meta,
    groups: [Math.ceil(P / 64), Math.ceil(Og / 32), G],
  });
  return out;
}

/**
 * Direct 2-D convolution, one invocation per output element, operands read through their strides
 * (for convolutions with very few output channels per group).
 */
function conv2dDirect(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
  const [N, , H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  const total = N * O * Math.max(0, OH) * Math.max(0, OW);
  const out = ctx.alloc('float32', total);
  if (total === 0) return out;
  const meta = new Meta();
  // 0 total, 1 O, 2 OH, 3 OW, 4 Cg, 5 KH, 6 KW, 7 H, 8 W, 9 Og, 10 sh, 11 sw, 12 ph, 13 pw, 14 dh, 15 dw,
  // 16 x offset, 17-20 x strides, 21 w offset, 22-25 w strides
  for (const v of [total, O, OH, OW, Cg, KH, KW, H, W, O / p.groups]) meta.u(v);
  for (const v of [sh, sw, ph, pw, dh, dw, x.offset, ...x.strides, w.offset, ...w.strides]) meta.i(v);
  const key = `conv2d:${x.dtype}:${w.dtype}`;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'X', x.dtype, 'read')}
${declare(3, 'Wt', w.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${loader('ldw', 'Wt', w.dtype)}
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= prm[0u]) { return; }
  let ow = i32(i % ${mu(3)});
  var r = i / ${mu(3)};
  let oh = i32(r % ${mu(2)}); r = r / ${mu(2)};
  let o = i32(r % ${mu(1)});
  let n = i32(r / ${mu(1)});
  let Cg = i32(${mu(4)}); let KH = i32(${mu(5)}); let KW = i32(${mu(6)});
  let H = i32(${mu(7)}); let W = i32(${mu(8)});
  let g = o / i32(${mu(9)});
  let ih0 = oh * ${mi(10)} - ${mi(12)};
  let iw0 = ow * ${mi(11)} - ${mi(13)};
  let dh = ${mi(14)}; let dw = ${mi(15)};
  var acc = 0.0;
  for (var c = 0; c < Cg; c++) {
    let xc = ${mi(16)} + n * ${mi(17)} + (g * Cg + c) * ${mi(18)};
    let wc = ${mi(21)} + o * ${mi(22)} + c * ${mi(23)};
    for (var kh = 0; kh < KH; kh++) {
      let ih = ih0 + kh * dh;
      if (ih < 0 || ih >= H) { continue; }
      for (var kw = 0; kw < KW; kw++) {
        let iw = iw0 + kw * dw;
        if (iw < 0 || iw >= W) { continue; }
        acc += ${convert(`ldx(xc + ih * ${mi(19)} + iw * ${mi(20)})`, computeType(x.dtype), 'f32')} * ${convert(`ldw(wc + kh * ${mi(24)} + kw * ${mi(25)})`, computeType(w.dtype), 'f32')};
      }
    }
  }
  out[i] = acc;
}`;
  ctx.dispatch({
    label: 'conv2d',
    key,
    code,
    buffers: [out.buffer, (x.storage as GpuStorage).buffer, (w.storage as GpuStorage).buffer],
    meta,
    groups: grid1d(total),
  });
  return out;
}
