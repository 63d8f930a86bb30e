import type { LinearActivation, View } from '@attnkit/tensor-core';
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
import { MATH_FNS, unaryExpr } from './ops.js';

/**
 * A matmul tiling: each workgroup computes a BM×BN output tile, stepping through K in slices of BK
 * staged in workgroup memory; each invocation accumulates TM×TN outputs in registers (TM and TN
 * multiples of 4), so a workgroup has (BM/TM)·(BN/TN) invocations.
 */
export interface MatmulTiles {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

/**
 * Tilings {@link matmulKernel} picks from (chosen from sweeps on an H100 through Dawn/Vulkan and on
 * SwiftShader; scripts/tune-matmul.ts). `large`: 128×64 tiles, 8×8 per invocation, for products
 * with at least 512 such tiles. `medium`: 64×64 tiles, 8×4 per invocation, from 64 such tiles
 * (n = 512 and up). `small`: 32×32 tiles with a 32-deep K slice, 4×4 per invocation, so that small
 * products still spread over many compute units. `software`: 64×64 tiles, 8×8 per invocation (64
 * invocations, long inner loops) for fallback (CPU) adapters, which run a workgroup's invocations as
 * a few SIMD lanes on CPU threads, where fewer, larger invocations and fewer barriers win.
 */
export const matmulTilings: Readonly<Record<'large' | 'medium' | 'small' | 'software', MatmulTiles>> = {
  large: { BM: 128, BN: 64, BK: 16, TM: 8, TN: 8 },
  medium: { BM: 64, BN: 64, BK: 16, TM: 8, TN: 4 },
  small: { BM: 32, BN: 32, BK: 32, TM: 4, TN: 4 },
  software: { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 },
};

/**
 * The tiling for an nb×(m×k @ k×n) product (see {@link matmulTilings}); `software` for fallback
 * adapters. A global `__attnkitMatmulTiles` overrides the choice (for tuning and tests).
 */
export function chooseMatmulTiles(nb: number, m: number, n: number, software: boolean): MatmulTiles {
  const override = (globalThis as { __attnkitMatmulTiles?: MatmulTiles }).__attnkitMatmulTiles;
  if (override) return override;
  if (software) return matmulTilings.software;
  const groups = (t: MatmulTiles) => nb * Math.ceil(m / t.BM) * Math.ceil(n / t.BN);
  if (groups(matmulTilings.large) >= 512) return matmulTilings.large;
  if (groups(matmulTilings.medium) >= 64) return matmulTilings.medium;
  return matmulTilings.small;
}

function checkTiles(t: MatmulTiles): void {
  const { BM, BN, BK, TM, TN } = t;
  const ok =
    TM % 4 === 0 && TN % 4 === 0 && BM % TM === 0 && BN % TN === 0 && BK > 0 && (BM / TM) * (BN / TN) <= 256;
  if (!ok) {
    throw new Error(
      `matmulKernel: tiles ${JSON.stringify(t)} are invalid (expected TM, TN multiples of 4 dividing BM, BN and at most 256 invocations)`,
    );
  }
}

/** What a fused matmul epilogue adds to each output: a bias along N, then an activation. */
export interface MatmulEpilogue {
  /** A 1-D view of length n added to every output row. */
  bias?: View | null;
  /** Elementwise activation applied last. */
  activation?: LinearActivation | null;
}

interface OperandPlan {
  /** Part of the pipeline key. */
  key: string;
  /** Row stride of the staged tile, in vec4s. */
  stride: number;
  /** vec4 registers per invocation holding the next slice. */
  slots: number;
  decl(binding: number): string;
  fetch(k0: string, reg: string, off: string, so: string, sk: string): string;
  stage(reg: string, tile: string): string;
}

/**
 * How one operand's BK-deep slice reaches workgroup memory. The operand has an outer dim (M for A,
 * N for B; tile T wide, starting at `start`, bounded by `bound`) and K. The slice is staged as
 * vec4s along the outer dim; consecutive invocations fetch along whichever dim is contiguous in
 * global memory. float32 operands whose contiguous dim, offset and other strides are multiples
 * of 4 are read as vec4s.
 */
function operandPlan(
  name: string,
  x: View,
  batchStrides: readonly number[],
  so: number,
  sk: number,
  outer: number,
  k: number,
  T: number,
  BK: number,
  start: string,
  bound: string,
  THREADS: number,
): OperandPlan {
  const T4 = T / 4;
  const outerContig = so === 1 && sk !== 1;
  const aligned = (v: number) => v % 4 === 0;
  const vec =
    x.dtype === 'float32' &&
    aligned(x.offset) &&
    batchStrides.every(aligned) &&
    (outerContig ? aligned(sk) && aligned(outer) : sk === 1 && aligned(so) && aligned(k) && aligned(BK));
  const stride = outerContig ? T4 : T4 + 1;
  const count = BK * T4;
  const slots = Math.ceil(count / THREADS);
  const guard = count % THREADS === 0 ? 'true' : `e < ${count}u`;
  const slot = outerContig
    ? `let ob = e % ${T4}u; let kk = e / ${T4}u;`
    : vec
      ? `let kq = e % ${BK / 4}u; let oi = e / ${BK / 4}u;`
      : `let kk = e % ${BK}u; let ob = e / ${BK}u;`;
  const g = `g${name}`;
  const loop = (body: string) => `
    for (var l = 0u; l < ${slots}u; l++) {
      let e = li + l * ${THREADS}u;
      ${body}
    }`;
  return {
    key: `${x.dtype}:${outerContig ? 'o' : 'k'}:${vec ? 'v' : 's'}`,
    stride,
    slots,
    decl: (binding) =>
      vec
        ? `@group(0) @binding(${binding}) var<storage, read> ${name}: array<vec4<f32>>;`
        : `${declare(binding, name, x.dtype, 'read')}
${loader(`ld${name}`, name, x.dtype)}
fn ${g}(o: i32) -> f32 { return ${convert(`ld${name}(o)`, computeType(x.dtype), 'f32')}; }`,
    fetch: (k0, reg, off, so_, sk_) =>
      loop(
        `var v = vec4<f32>(0.0);
      if (${guard}) {
        ${slot}
        ${
          vec && outerContig
            ? `let gk = ${k0} + kk; let go = ${start} + ob * 4u;
        if (gk < K && go < ${bound}) { v = ${name}[(${off} + i32(gk) * ${sk_} + i32(go)) / 4]; }`
            : vec
              ? `let gk = ${k0} + kq * 4u; let go = ${start} + oi;
        if (gk < K && go < ${bound}) { v = ${name}[(${off} + i32(go) * ${so_} + i32(gk)) / 4]; }`
              : `let gk = ${k0} + kk; let go = ${start} + ob * 4u;
        if (gk < K) {
          let o = ${off} + i32(gk) * ${sk_} + i32(go) * ${so_};
          if (go + 3u < ${bound}) {
            v = vec4<f32>(${g}(o), ${g}(o + ${so_}), ${g}(o + 2 * ${so_}), ${g}(o + 3 * ${so_}));
          } else {
            for (var q = 0u; q < 4u; q++) { if (go + q < ${bound}) { v[q] = ${g}(o + i32(q) * ${so_}); } }
          }
        }`
        }
      }
      ${reg}[l] = v;`,
      ),
    stage: (reg, tile) =>
      loop(
        vec && !outerContig
          ? `if (${guard}) { ${slot} for (var q = 0u; q < 4u; q++) { ${tile}[(kq * 4u + q) * ${stride}u + oi / 4u][oi % 4u] = ${reg}[l][q]; } }`
          : `if (${guard}) { ${slot} ${tile}[kk * ${stride}u + ob] = ${reg}[l]; }`,
      ),
  };
}

/**
 * Batched GEMM `out[z] = A[z] @ B[z]` (float32 result). Each workgroup computes a BM×BN output tile
 * (see {@link chooseMatmulTiles}); slices of A (BM×BK) and B (BK×BN) are staged in workgroup memory
 * as vec4 rows along M and N, and every invocation accumulates a TM×TN register block from vec4
 * reads whose addresses are consecutive across neighbouring invocations (no bank conflicts). The
 * next slice is fetched into registers while the current one is multiplied. Operands are read
 * through their strides (transposed operands need no copy; the tile loads follow whichever dim is
 * contiguous, so neighbouring invocations read neighbouring addresses), batch dims through their
 * (possibly zero) batch strides.
 */
export function matmulKernel(
  ctx: KernelContext,
  a: View,
  b: View,
  batch: readonly number[],
  m: number,
  k: number,
  n: number,
  epilogue: MatmulEpilogue = {},
): GpuStorage {
  const nb = sizeOf(batch);
  const out = ctx.alloc('float32', nb * m * n);
  if (nb * m * n === 0) return out;
  const bias = epilogue.bias ?? null;
  const act = epilogue.activation ?? null;
  const rank = batch.length;
  const c = collapse(batch, [a.strides.slice(0, rank), b.strides.slice(0, rank)]);
  const RB = c.shape.length;
  const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
  const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
  const tiles = chooseMatmulTiles(nb, m, n, ctx.software === true);
  checkTiles(tiles);
  const { BM, BN, BK, TM, TN } = tiles;
  const TX = BN / TN;
  const TY = BM / TM;
  const THREADS = TX * TY;
  const VM = TM / 4;
  const VN = TN / 4;
  // A is staged as vec4s along M, B as vec4s along N; each is walked along M (N) or along K in
  // global memory, whichever is contiguous, and read as vec4s there when alignment allows.
  const pa = operandPlan('A', a, c.strides[0], sam, sak, m, k, BM, BK, 'row0', 'M', THREADS);
  const pb = operandPlan('B', b, c.strides[1], sbn, sbk, n, k, BN, BK, 'col0', 'N', THREADS);
  const vecOut = n % 4 === 0;
  const epi = `${bias ? bias.dtype : '-'}:${act ?? '-'}`;
  const key = `matmul:${pa.key}:${pb.key}:${RB}:${vecOut}:${BM},${BN},${BK},${TM},${TN}:${epi}`;
  const biasAt = 10 + 3 * RB;
  const code = () => {
    const actExpr = act ? unaryExpr(act, 'f32').expr('x') : 'x';
    // bias for the 4 columns from cc (zero past N), added before the activation
    const biasVec = (v: number) =>
      bias ? `let bv${v} = biasAt(col0 + (lid.x + ${v * TX}u) * 4u);` : `let bv${v} = vec4<f32>(0.0);`;
    const fma: string[] = [];
    for (let p = 0; p < VM; p++)
      for (let q = 0; q < 4; q++)
        for (let v = 0; v < VN; v++) {
          const i = (4 * p + q) * VN + v;
          fma.push(`acc${i} += a${p}[${q}] * b${v};`);
        }
    const accs = Array.from({ length: TM * VN }, (_, i) => `var acc${i} = vec4<f32>(0.0);`).join(' ');
    const stores: string[] = [];
    for (let p = 0; p < VM; p++)
      for (let q = 0; q < 4; q++)
        for (let v = 0; v < VN; v++) {
          const i = (4 * p + q) * VN + v;
          const row = `row0 + (lid.y + ${p * TY}u) * 4u + ${q}u`;
          const col = `col0 + (lid.x + ${v * TX}u) * 4u`;
          const val = bias || act ? `epi(acc${i} + bv${v})` : `acc${i}`;
          stores.push(
            vecOut
              ? `{ let r = ${row}; let cc = ${col}; if (r < M && cc < N) { out[(obase + r * N + cc) / 4u] = ${val}; } }`
              : `{ let r = ${row}; let cc = ${col}; if (r < M) { let o = ${val}; for (var j = 0u; j < 4u; j++) { if (cc + j < N) { out[obase + r * N + cc + j] = o[j]; } } } }`,
          );
        }
    return `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<${vecOut ? 'vec4<f32>' : 'f32'}>;
${pa.decl(2)}
${pb.decl(3)}${
  bias
    ? `
${declare(4, 'BIAS', bias.dtype, 'read')}
${loader('ldbias', 'BIAS', bias.dtype)}
fn biasAt(c: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let N = prm[2u];
  for (var q = 0u; q < 4u; q++) { if (c + q < N) { v[q] = ${convert(`ldbias(${mi(biasAt)} + i32(c + q) * ${mi(biasAt + 1)})`, computeType(bias.dtype), 'f32')}; } }
  return v;
}`
    : ''
}${
  bias || act
    ? `
${act ? MATH_FNS : ''}
fn act1(x: f32) -> f32 { return ${actExpr}; }
fn epi(v: vec4<f32>) -> vec4<f32> { return vec4<f32>(act1(v.x), act1(v.y), act1(v.z), act1(v.w)); }`
    : ''
}
var<workgroup> As: array<vec4<f32>, ${BK * pa.stride}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * pb.stride}>;
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
  ${accs}
  var regA: array<vec4<f32>, ${pa.slots}>;
  var regB: array<vec4<f32>, ${pb.slots}>;
  ${pa.fetch('0u', 'regA', 'aOff', 'sam', 'sak')}
  ${pb.fetch('0u', 'regB', 'bOff', 'sbn', 'sbk')}
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    ${pa.stage('regA', 'As')}
    ${pb.stage('regB', 'Bs')}
    workgroupBarrier();
    if (k0 + ${BK}u < K) {
      ${pa.fetch(`(k0 + ${BK}u)`, 'regA', 'aOff', 'sam', 'sak')}
      ${pb.fetch(`(k0 + ${BK}u)`, 'regB', 'bOff', 'sbn', 'sbk')}
    }
    for (var kk = 0u; kk < ${BK}u; kk++) {
      ${Array.from({ length: VM }, (_, p) => `let a${p} = As[kk * ${pa.stride}u + lid.y + ${p * TY}u];`).join(' ')}
      ${Array.from({ length: VN }, (_, v) => `let b${v} = Bs[kk * ${pb.stride}u + lid.x + ${v * TX}u];`).join(' ')}
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  let obase = bIdx * M * N;
  ${bias || act ? Array.from({ length: VN }, (_, v) => biasVec(v)).join(' ') : ''}
  ${stores.join('\n  ')}
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
    const buffers = [out.buffer, (a.storage as GpuStorage).buffer, (b.storage as GpuStorage).buffer];
    if (bias) {
      meta.i(bias.offset);
      meta.i(bias.strides[0]);
      buffers.push((bias.storage as GpuStorage).buffer);
    }
    ctx.dispatch({
      label: bias || act ? 'linear' : 'matmul',
      key,
      code,
      buffers,
      meta,
      groups: [Math.ceil(n / BN), Math.ceil(m / BM), Math.min(65535, nb - z0)],
    });
  }
  return out;
}
