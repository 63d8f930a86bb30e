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
 * 2-D convolution (torch semantics: stride, padding, dilation, groups, strided operands). Runs as
 * an implicit GEMM ({@link conv2dGemm}) unless a group has a single output channel, or two with a
 * reduction shorter than 16 (depthwise-like), where a channel tile would be mostly empty: then
 * directly, one invocation per output element.
 */
export function conv2dKernel(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
  const og = w.shape[0] / p.groups;
  const k = w.shape[1] * w.shape[2] * w.shape[3];
  let gemm = k > 0 && (og >= 3 || (og === 2 && k >= 16));
  if (gemm && ctx.software !== true && !(globalThis as { __attnkitConvTile?: unknown }).__attnkitConvTile) {
    // On a GPU a small problem gives the GEMM too few workgroups to fill the device, where the
    // direct kernel has one invocation per output (H100, a 32×32 U-Net: 32×64-tile GEMM 24.8 ms
    // per step against 15.7 ms direct); keep the GEMM for grids of GEMM_MIN_GROUPS and more.
    const pixels =
      x.shape[0] *
      Math.max(0, outSize(x.shape[2], w.shape[2], p.stride[0], p.padding[0], p.dilation[0])) *
      Math.max(0, outSize(x.shape[3], w.shape[3], p.stride[1], p.padding[1], p.dilation[1]));
    const t = pickTile(og, pixels, false);
    gemm = Math.ceil(og / t.BM) * Math.ceil(pixels / t.BN) * p.groups >= GEMM_MIN_GROUPS;
  }
  return gemm ? conv2dGemm(ctx, x, w, p) : conv2dDirect(ctx, x, w, p);
}

/** On GPUs, the implicit GEMM runs only when its grid has at least this many workgroups. */
const GEMM_MIN_GROUPS = 128;

/** Output size along one axis. */
function outSize(size: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/** A tile shape of {@link conv2dGemm}: BM output channels × BN pixels per workgroup, K in steps of BK. */
interface ConvTile {
  BM: number;
  BN: number;
  BK: number;
  /** Output channels × pixels per invocation (multiples of 4; 8 × 8 unless given). */
  TM?: number;
  TN?: number;
}

/** The tiles conv2dGemm may use on GPUs: (BM/8)·(BN/8) invocations, each with an 8×8 block. */
const TILES: readonly ConvTile[] = [
  { BM: 64, BN: 64, BK: 16 },
  { BM: 32, BN: 128, BK: 16 },
  { BM: 16, BN: 256, BK: 8 },
];

/**
 * On fallback (CPU) adapters, which run a workgroup's invocations a few at a time, the 64×64 tile
 * has 32 invocations of 16×8 each (10-20% faster than 8×8 on SwiftShader).
 */
const SOFTWARE_TILES: readonly ConvTile[] = [{ BM: 64, BN: 64, BK: 16, TM: 16, TN: 8 }, ...TILES.slice(1)];

/**
 * The tile with the least padded work (output channels rounded up to BM, pixels to BN); ties go to
 * the squarer tile, listed first. Few output channels per group take a narrow, wide tile. Tests may
 * force a tile through `globalThis.__attnkitConvTile`: its T = (BM/TM)·(BN/TN) invocations must be
 * at most 256 and a multiple of both BM/4 and BN/4, BK a multiple of T/(BN/4), BK·(BM + BN) ≤ 4096.
 */
function pickTile(og: number, pixels: number, software: boolean): ConvTile {
  const forced = (globalThis as { __attnkitConvTile?: ConvTile }).__attnkitConvTile;
  if (forced) return forced;
  const tiles = software ? SOFTWARE_TILES : TILES;
  let best = tiles[0];
  let bestWork = Number.POSITIVE_INFINITY;
  for (const t of tiles) {
    const work = Math.ceil(og / t.BM) * t.BM * Math.ceil(pixels / t.BN) * t.BN;
    if (work < bestWork) {
      best = t;
      bestWork = work;
    }
  }
  return best;
}

/**
 * Implicit GEMM: per group, out[o, pixel] = Σ_k W[o, k] · patch[k, pixel] with k = (c, kh, kw) and
 * the patch gathered from the input on the fly (zero outside the padding), never written out.
 *
 * A workgroup computes a BM (output channels) × BN (pixels) tile ({@link TILES}); each invocation
 * holds a TM×TN block of it in vec4 registers. K advances BK at a time through workgroup memory,
 * stored as vec4s (4 channels or 4 pixels per element) so the inner product reads one vec4 per 4
 * values. For the loads, an invocation owns 4 consecutive pixels and 4 consecutive output channels:
 * where those pixels sit in the input is worked out once, and each k row it loads is split into
 * (channel, kernel row, kernel column) once.
 */
function conv2dGemm(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
  const [N, , H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const G = p.groups;
  const Og = O / G;
  const OH = Math.max(0, outSize(H, KH, p.stride[0], p.padding[0], p.dilation[0]));
  const OW = Math.max(0, outSize(W, KW, p.stride[1], p.padding[1], p.dilation[1]));
  const P = N * OH * OW;
  const K = Cg * KH * KW;
  const out = ctx.alloc('float32', N * O * OH * OW);
  if (P === 0 || O === 0) return out;
  const { BM, BN, BK, TM = 8, TN = 8 } = pickTile(Og, P, ctx.software === true);
  const TX = BN / TN; // invocations along pixels
  const TY = BM / TM; // invocations along output channels
  const T = TX * TY;
  const NQ = BN / 4; // pixel quads per k row
  const NA = BM / 4; // channel quads per k row
  const SB = T / NQ; // invocations sharing a pixel quad (they split its k rows)
  const SA = T / NA; // invocations sharing a channel quad
  const meta0 = new Meta();
  const at = {
    P: meta0.u(P),
    Og: meta0.u(Og),
    K: meta0.u(K),
    OW: meta0.u(OW),
    OHW: meta0.u(OH * OW),
    KHW: meta0.u(KH * KW),
    KW: meta0.u(KW),
    H: meta0.u(H),
    W: meta0.u(W),
    O: meta0.u(O),
    Cg: meta0.u(Cg),
    stride: [meta0.i(p.stride[0]), meta0.i(p.stride[1])],
    pad: [meta0.i(p.padding[0]), meta0.i(p.padding[1])],
    dil: [meta0.i(p.dilation[0]), meta0.i(p.dilation[1])],
    xOff: meta0.i(x.offset),
    xs: x.strides.map((s) => meta0.i(s)),
    wOff: meta0.i(w.offset),
    ws: w.strides.map((s) => meta0.i(s)),
    p0: meta0.u(0),
    g0: meta0.u(0),
  };
  const f = (e: string, dt: typeof x.dtype) => convert(e, computeType(dt), 'f32');
  const code = () => {
    const xyzw = 'xyzw';
    // where the 4 pixels and 4 output channels an invocation loads sit (unrolled: no private arrays)
    const setup: string[] = [];
    for (let j = 0; j < 4; j++) {
      setup.push(`  let lp${j} = p0 + 4u * bq + ${j}u; let sp${j} = lp${j} % OHW;
  // pixels past the end start on a row no tap reaches, so they load zeros
  let ih${j} = select(-(1 << 30), i32(sp${j} / OW) * sh - ph, lp${j} < P);
  let iw${j} = i32(sp${j} % OW) * sw - pw;
  let xb${j} = xg + i32(lp${j} / OHW) * ${mi(at.xs[0])};
  let lo${j} = o0 + 4u * aq + ${j}u;
  let wb${j} = select(-1, ${mi(at.wOff)} + i32(g * Og + lo${j}) * wstep, lo${j} < Og);`);
    }
    const split = `let c = k / KHW; let rem = k % KHW; let th = i32(rem / KW); let tw = i32(rem % KW);`;
    const gatherB = Array.from(
      { length: 4 },
      (_, j) => `        { let ih = ih${j} + th * dh; let iw = iw${j} + tw * dw;
          if (u32(ih) < H && u32(iw) < W) { v.${xyzw[j]} = gx(xb${j} + i32(c) * xs1 + ih * xs2 + iw * xs3); } }`,
    ).join('\n');
    const gatherA = Array.from(
      { length: 4 },
      (_, j) => `        if (wb${j} >= 0) { v.${xyzw[j]} = gw(wb${j} + wc); }`,
    ).join('\n');
    // inner product: channels ly*8 + i, pixels lx*8 + 4v + q
    const inner = [
      ...Array.from({ length: TN / 4 }, (_, v) => `let b${v} = Bs[kb + ${v}u];`),
      ...Array.from({ length: TM / 4 }, (_, u) => `let a${u} = As[ka + ${u}u];`),
      ...Array.from({ length: TM }, (_, i) => {
        const a = `a${i >> 2}.${xyzw[i & 3]}`;
        return Array.from({ length: TN / 4 }, (_, v) => `c${i}_${v} += ${a} * b${v};`).join(' ');
      }),
    ].join('\n      ');
    const stores = Array.from(
      { length: TN },
      (_, j) => `  {
    let p = pcol + ${j}u;
    if (p < P) {
      let base = (p / OHW) * ${mu(at.O)} * OHW + p % OHW;
${Array.from({ length: TM }, (_, i) => `      if (orow + ${i}u < Og) { out[base + (ob + ${i}u) * OHW] = c${i}_${j >> 2}.${xyzw[j & 3]}; }`).join('\n')}
    }
  }`,
    ).join('\n');
    return `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'X', x.dtype, 'read')}
${declare(3, 'Wt', w.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${loader('ldw', 'Wt', w.dtype)}
fn gx(o: i32) -> f32 { return ${f('ldx(o)', x.dtype)}; }
fn gw(o: i32) -> f32 { return ${f('ldw(o)', w.dtype)}; }
var<workgroup> As: array<vec4<f32>, ${BK * NA}>; // [BK k][BM/4 channel quads]
var<workgroup> Bs: array<vec4<f32>, ${BK * NQ}>; // [BK k][BN/4 pixel quads]
@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let P = ${mu(at.P)}; let Og = ${mu(at.Og)}; let K = ${mu(at.K)}; let OW = ${mu(at.OW)}; let OHW = ${mu(at.OHW)};
  let KHW = ${mu(at.KHW)}; let KW = ${mu(at.KW)}; let H = ${mu(at.H)}; let W = ${mu(at.W)};
  let sh = ${mi(at.stride[0])}; let sw = ${mi(at.stride[1])}; let ph = ${mi(at.pad[0])}; let pw = ${mi(at.pad[1])};
  let dh = ${mi(at.dil[0])}; let dw = ${mi(at.dil[1])};
  let xs1 = ${mi(at.xs[1])}; let xs2 = ${mi(at.xs[2])}; let xs3 = ${mi(at.xs[3])};
  let ws1 = ${mi(at.ws[1])}; let ws2 = ${mi(at.ws[2])}; let ws3 = ${mi(at.ws[3])};
  let g = wid.z + ${mu(at.g0)};
  let p0 = (wid.x + ${mu(at.p0)}) * ${BN}u;
  let o0 = wid.y * ${BM}u;
  // loads: pixel quad bq, k rows bk + ${SB}r; channel quad aq, k rows ak + ${SA}r
  let bq = li % ${NQ}u; let bk = li / ${NQ}u;
  let aq = li % ${NA}u; let ak = li / ${NA}u;
  let xg = ${mi(at.xOff)} + i32(g * ${mu(at.Cg)}) * xs1;
  let wstep = ${mi(at.ws[0])};
${setup.join('\n')}
${Array.from({ length: TM }, (_, i) => Array.from({ length: TN / 4 }, (_, v) => `  var c${i}_${v} = vec4<f32>(0.0);`).join('')).join('\n')}
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    for (var r = 0u; r < ${BK / SB}u; r++) {
      let kk = bk + ${SB}u * r;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      if (k < K) {
        ${split}
${gatherB}
      }
      Bs[kk * ${NQ}u + bq] = v;
    }
    for (var r = 0u; r < ${Math.ceil(BK / SA)}u; r++) {
      let kk = ak + ${SA}u * r;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      if (k < K) {
        ${split}
        let wc = i32(c) * ws1 + th * ws2 + tw * ws3;
${gatherA}
      }
      if (kk < ${BK}u) { As[kk * ${NA}u + aq] = v; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let kb = kk * ${NQ}u + lid.x * ${TN / 4}u;
      let ka = kk * ${NA}u + lid.y * ${TM / 4}u;
      ${inner}
    }
    workgroupBarrier();
  }
  let pcol = p0 + lid.x * ${TN}u;
  let orow = o0 + lid.y * ${TM}u;
  let ob = g * Og + orow;
${stores}
}`;
  };
  const px = Math.ceil(P / BN);
  const oy = Math.ceil(Og / BM);
  const maxG = ctx.limits.maxComputeWorkgroupsPerDimension;
  for (let g0 = 0; g0 < G; g0 += maxG) {
    for (let x0 = 0; x0 < px; x0 += maxG) {
      const meta = new Meta();
      meta.words.push(...meta0.words);
      meta.words[at.p0] = x0;
      meta.words[at.g0] = g0;
      ctx.dispatch({
        label: 'conv2d',
        key: `conv2d-gemm:${x.dtype}:${w.dtype}:${BM}x${BN}x${BK}:${TM}x${TN}`,
        code,
        buffers: [out.buffer, (x.storage as GpuStorage).buffer, (w.storage as GpuStorage).buffer],
        meta,
        groups: [Math.min(maxG, px - x0), oy, Math.min(maxG, G - g0)],
      });
    }
  }
  return out;
}

/**
 * Direct 2-D convolution, one invocation per output element, operands read through their strides
 * (for convolutions with very few output channels per group). Exported for scripts/bench-conv.mjs,
 * which compares it with the implicit GEMM; not part of the package API.
 */
export function conv2dDirect(ctx: KernelContext, x: View, w: View, p: Conv2dParams): GpuStorage {
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
