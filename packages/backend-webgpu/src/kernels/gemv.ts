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
import type { MatmulEpilogue } from './matmul.js';
import { MATH_FNS, unaryExpr } from './ops.js';

/** Rows up to this many use {@link gemvKernel} instead of the tiled matmul. */
export const GEMV_MAX_ROWS = 4;

/** Whether an m×k @ k×n product takes {@link gemvKernel} (a few rows, and enough work per row). */
export function useGemv(m: number, k: number, n: number): boolean {
  return m <= GEMV_MAX_ROWS && n >= 64 && k >= 64;
}

/**
 * Matrix-vector products (decoding: one token's row times a weight matrix), where a 64×64 output
 * tile would leave all but one row idle. Each 256-wide workgroup computes a slice of one output
 * row: when B's columns are contiguous along K (`x @ W.T`), 8 columns with 32 invocations splitting
 * each dot product (consecutive invocations read consecutive k); otherwise 64 columns with 4
 * invocations each (consecutive invocations read consecutive columns). The partial sums meet in
 * workgroup memory. Batch dims and transposed operands are read through their strides. The
 * epilogue (a bias along N, then an activation) is applied as each output is stored, as in the
 * tiled matmul.
 */
export function gemvKernel(
  ctx: KernelContext,
  a: View,
  b: View,
  batch: readonly number[],
  m: number,
  k: number,
  n: number,
  epilogue: MatmulEpilogue = {},
): GpuStorage {
  const bias = epilogue.bias ?? null;
  const act = epilogue.activation ?? null;
  const nb = sizeOf(batch);
  const out = ctx.alloc('float32', nb * m * n);
  if (nb * m * n === 0) return out;
  const rank = batch.length;
  const c = collapse(batch, [a.strides.slice(0, rank), b.strides.slice(0, rank)]);
  const RB = c.shape.length;
  const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
  const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
  const alongK = sbk === 1 && sbn !== 1;
  const COLS = alongK ? 8 : 64;
  const SPLIT = 256 / COLS;
  const key = `gemv:${a.dtype}:${b.dtype}:${RB}:${alongK}:${bias ? bias.dtype : '-'}:${act ?? '-'}`;
  const biasAt = 10 + 3 * RB;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'A', a.dtype, 'read')}
${declare(3, 'B', b.dtype, 'read')}
${loader('lda', 'A', a.dtype)}
${loader('ldb', 'B', b.dtype)}
fn ga(o: i32) -> f32 { return ${convert('lda(o)', computeType(a.dtype), 'f32')}; }
fn gb(o: i32) -> f32 { return ${convert('ldb(o)', computeType(b.dtype), 'f32')}; }
${bias ? `${declare(4, 'BIAS', bias.dtype, 'read')}\n${loader('ldbias', 'BIAS', bias.dtype)}` : ''}
${act ? MATH_FNS : ''}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = prm[0u]; let K = prm[1u]; let N = prm[2u];
  let bIdx = wid.z + ${mu(3)};
  ${decompose('bIdx', RB, 10, 'z')}
  var aOff = ${mi(4)};
  var bOff = ${mi(7)};
  ${Array.from({ length: RB }, (_, d) => `aOff += z${d} * ${mi(10 + RB + d)}; bOff += z${d} * ${mi(10 + 2 * RB + d)};`).join('\n  ')}
  let row = wid.y;
  ${alongK ? `let s = li % ${SPLIT}u; let cl = li / ${SPLIT}u;` : `let cl = li % ${COLS}u; let s = li / ${COLS}u;`}
  let col = wid.x * ${COLS}u + cl;
  var acc = 0.0;
  if (col < N) {
    let ar = aOff + i32(row) * ${mi(5)};
    let bc = bOff + i32(col) * ${mi(9)};
    let sak = ${mi(6)}; let sbk = ${mi(8)};
    for (var kk = s; kk < K; kk += ${SPLIT}u) { acc += ga(ar + i32(kk) * sak) * gb(bc + i32(kk) * sbk); }
  }
  part[li] = acc;
  workgroupBarrier();
  if (s == 0u && col < N) {
    var t = 0.0;
    for (var j = 0u; j < ${SPLIT}u; j++) { t += part[${alongK ? `cl * ${SPLIT}u + j` : `j * ${COLS}u + cl`}]; }
    ${bias ? `t += ${convert(`ldbias(${mi(biasAt)} + i32(col) * ${mi(biasAt + 1)})`, computeType(bias.dtype), 'f32')};` : ''}
    out[bIdx * M * N + row * N + col] = ${act ? unaryExpr(act, 'f32').expr('t') : 't'};
  }
}`;
  for (let z0 = 0; z0 < nb; z0 += 65535) {
    const meta = new Meta();
    for (const v of [m, k, n, z0]) meta.u(v);
    for (const v of [a.offset, sam, sak, b.offset, sbk, sbn]) meta.i(v);
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
      label: bias || act ? 'linear' : 'gemv',
      key,
      code,
      buffers,
      meta,
      groups: [Math.ceil(n / COLS), m, Math.min(65535, nb - z0)],
    });
  }
  return out;
}
