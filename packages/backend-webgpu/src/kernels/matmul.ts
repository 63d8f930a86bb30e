import type { View } from '@attnkit/tensor-core';
import type { GpuStorage, KernelContext } from '../context.js';
import {
  collapse,
  computeType,
  convert,
  declare,
  decompose,
  loader,
  META_DECL,
  Meta,
  mi,
  mu,
  sizeOf,
} from '../layout.js';

/** Tile configuration: output tile BM×BN per workgroup, reduction slice BK, TM×TN outputs per invocation. */
export interface MatmulTiles {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

/** The tiling used for every matmul (see {@link matmulKernel}). */
export const matmulTiles: MatmulTiles = { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 };

/**
 * Batched GEMM: each workgroup computes a 64×64 output tile; slices of A (64×16) and B (16×64) are
 * staged in workgroup memory and every invocation accumulates a 4×4 register block. Operands are
 * read through their strides (transposed operands need no copy; the tile loads follow whichever
 * dim is contiguous), batch dims through their (possibly zero) batch strides.
 */
export function matmulKernel(
  ctx: KernelContext,
  a: View,
  b: View,
  batch: readonly number[],
  m: number,
  k: number,
  n: number,
): GpuStorage {
  const nb = sizeOf(batch);
  const out = ctx.alloc('float32', nb * m * n);
  if (nb * m * n === 0) return out;
  const rank = batch.length;
  const c = collapse(batch, [a.strides.slice(0, rank), b.strides.slice(0, rank)]);
  const RB = c.shape.length;
  const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
  const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
  const aColMajor = sam === 1 && sak !== 1;
  const bColMajor = sbk === 1 && sbn !== 1;
  const { BM, BN, BK, TM, TN } =
    (globalThis as { __attnkitMatmulTiles?: MatmulTiles }).__attnkitMatmulTiles ?? matmulTiles;
  const TX = BN / TN;
  const TY = BM / TM;
  const THREADS = TX * TY;
  const V = TN / 4;
  const key = `matmul:${a.dtype}:${b.dtype}:${RB}:${aColMajor}:${bColMajor}:${BM},${BN},${BK},${TM},${TN}`;
  const code = () => {
    const la = convert('lda(o)', computeType(a.dtype), 'f32');
    const lb = convert('ldb(o)', computeType(b.dtype), 'f32');
    const aIdx = aColMajor
      ? `let r = e % ${BM}u; let kk = e / ${BM}u;`
      : `let kk = e % ${BK}u; let r = e / ${BK}u;`;
    const bIdx = bColMajor
      ? `let kk = e % ${BK}u; let cc = e / ${BK}u;`
      : `let cc = e % ${BN}u; let kk = e / ${BN}u;`;
    return `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'A', a.dtype, 'read')}
${declare(3, 'B', b.dtype, 'read')}
${loader('lda', 'A', a.dtype)}
${loader('ldb', 'B', b.dtype)}
fn ga(o: i32) -> f32 { return ${la}; }
fn gb(o: i32) -> f32 { return ${lb}; }
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(${TX}, ${TY}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = prm[0u]; let K = prm[1u]; let N = prm[2u];
  let sam = ${mi(5)}; let sak = ${mi(6)}; let sbk = ${mi(8)}; let sbn = ${mi(9)};
  let bIdx = wid.z + ${mu(3)};
  ${decompose('bIdx', RB, 10, 'z')}
  var aOff = ${mi(4)};
  var bOff = ${mi(7)};
  ${Array.from({ length: RB }, (_, d) => `aOff += z${d} * ${mi(10 + RB + d)}; bOff += z${d} * ${mi(10 + 2 * RB + d)};`).join('\n  ')}
  let row0 = wid.y * ${BM}u;
  let col0 = wid.x * ${BN}u;
  var acc: array<vec4<f32>, ${TM * V}>;
  for (var i = 0u; i < ${TM * V}u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    for (var l = 0u; l < ${(BM * BK) / THREADS}u; l++) {
      let e = li + l * ${THREADS}u;
      ${aIdx}
      let gr = row0 + r; let gk = k0 + kk;
      var v = 0.0;
      if (gr < M && gk < K) { v = ga(aOff + i32(gr) * sam + i32(gk) * sak); }
      As[kk * ${BM}u + r] = v;
    }
    for (var l = 0u; l < ${(BN * BK) / THREADS}u; l++) {
      let e = li + l * ${THREADS}u;
      ${bIdx}
      let gc = col0 + cc; let gk = k0 + kk;
      var v = 0.0;
      if (gc < N && gk < K) { v = gb(bOff + i32(gk) * sbk + i32(gc) * sbn); }
      Bs[kk * ${BN}u + cc] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      ${Array.from({ length: V }, (_, v) => `let b${v} = vec4<f32>(${Array.from({ length: 4 }, (_, q) => `Bs[kk * ${BN}u + lid.x + ${(4 * v + q) * TX}u]`).join(', ')});`).join('\n      ')}
      ${Array.from({ length: TM }, (_, i) => `let a${i} = As[kk * ${BM}u + lid.y + ${i * TY}u];`).join('\n      ')}
      ${Array.from({ length: TM }, (_, i) => Array.from({ length: V }, (_, v) => `acc[${i * V + v}] += a${i} * b${v};`).join(' ')).join('\n      ')}
    }
    workgroupBarrier();
  }
  let obase = bIdx * M * N;
  for (var i = 0u; i < ${TM}u; i++) {
    let row = row0 + lid.y + i * ${TY}u;
    if (row < M) {
      for (var j = 0u; j < ${TN}u; j++) {
        let col = col0 + lid.x + j * ${TX}u;
        if (col < N) { out[obase + row * N + col] = acc[i * ${V}u + j / 4u][j % 4u]; }
      }
    }
  }
}`;
  };
  for (let z0 = 0; z0 < nb; z0 += 65535) {
    const meta = new Meta();
    meta.u(m);
    meta.u(k);
    meta.u(n);
    meta.u(z0);
    meta.i(a.offset);
    meta.i(sam);
    meta.i(sak);
    meta.i(b.offset);
    meta.i(sbk);
    meta.i(sbn);
    for (const s of c.shape) meta.u(s);
    for (const s of c.strides[0]) meta.i(s);
    for (const s of c.strides[1]) meta.i(s);
    ctx.dispatch({
      label: 'matmul',
      key,
      code,
      buffers: [out.buffer, (a.storage as GpuStorage).buffer, (b.storage as GpuStorage).buffer],
      meta,
      groups: [Math.ceil(n / BN), Math.ceil(m / BM), Math.min(65535, nb - z0)],
    });
  }
  return out;
}
