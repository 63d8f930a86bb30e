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
 * Direct 2-D convolution (torch semantics: stride, padding, dilation, groups), one invocation per
 * output element, operands read through their strides.
 */
export function conv2dKernel(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
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
