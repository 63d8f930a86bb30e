import type { DType, View } from '@attnkit/tensor-core';
import { type GpuStorage, grid1d, gridItems, type KernelContext } from '../context.js';
import {
  collapse,
  computeType,
  convert,
  declare,
  decompose,
  dot,
  LINEAR_ID,
  loader,
  MAIN_1D,
  META_DECL,
  Meta,
  mi,
  mu,
  type ScalarType,
  sizeOf,
  storageElem,
} from '../layout.js';

/**
 * WGSL `fn before(av, ai, bv, bi) -> bool`: the strict total order of a stable sort with NaN last
 * (ascending) or first (descending), as torch; indices ≥ len are padding and go last.
 */
function orderFn(t: ScalarType, descending: boolean): string {
  const nanClass = descending ? -1 : 1;
  return `fn cls(v: ${t}, i: i32) -> i32 {
  if (i >= ${mi(1)}) { return 2; }
  ${t === 'f32' ? `if (is_nan(v)) { return ${nanClass}; }` : ''}
  return 0;
}
fn before(av: ${t}, ai: i32, bv: ${t}, bi: i32) -> bool {
  let ca = cls(av, ai);
  let cb = cls(bv, bi);
  if (ca != cb) { return ca < cb; }
  if (ca == 0 && av != bv) { return av ${descending ? '>' : '<'} bv; }
  return ai < bi;
}`;
}

/**
 * Sorts every row (last dim) with a bitonic network over the row padded to a power of two: in
 * workgroup memory when the padded row fits, else in a global scratch buffer with one dispatch per
 * network stage. Returns [values (work dtype), indices (int32)].
 */
export function sortKernel(
  ctx: KernelContext,
  x: View,
  descending: boolean,
  work: DType,
): [GpuStorage, GpuStorage] {
  const n = sizeOf(x.shape);
  const vals = ctx.alloc(work, n);
  const idx = ctx.alloc('int32', n);
  if (n === 0) return [vals, idx];
  const R0 = x.shape.length;
  const len = R0 ? x.shape[R0 - 1] : 1;
  const lastStride = R0 ? x.strides[R0 - 1] : 0;
  const rows = n / len;
  const c = collapse(x.shape.slice(0, -1), [x.strides.slice(0, -1)]);
  const R = c.shape.length;
  let P = 1;
  while (P < len) P *= 2;
  const t = computeType(work);
  const meta = () => {
    const m = new Meta();
    m.u(rows);
    m.i(len);
    m.i(lastStride);
    m.u(P);
    m.u(0); // k (global stages)
    m.u(0); // j
    const xAt = m.i(x.offset);
    for (const s of c.strides[0]) m.i(s);
    for (const s of c.shape) m.u(s);
    return { m, xAt, shapeAt: xAt + 1 + R };
  };
  const { m: m0, xAt, shapeAt } = meta();
  const rowBase = `${decompose('row', R, shapeAt, 'c')}
  let xb = ${dot(R, 'c', xAt, xAt + 1)};`;
  const loadX = (i: string) => convert(`ldx(xb + ${i} * ${mi(2)})`, computeType(x.dtype), t);
  const xBuf = (x.storage as GpuStorage).buffer;
  const shared = P * 8 <= ctx.limits.maxComputeWorkgroupStorageSize && P <= 4096;
  if (shared) {
    const WG = Math.max(1, Math.min(256, P / 2));
    const key = `sort:s:${x.dtype}>${work}:${R}:${P}:${descending}`;
    const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> ov: array<${storageElem(work)}>;
@group(0) @binding(2) var<storage, read_write> oi: array<i32>;
${declare(3, 'X', x.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${orderFn(t, descending)}
var<workgroup> sv: array<${t}, ${P}>;
var<workgroup> si: array<i32, ${P}>;
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= prm[0u]) { return; }
  let len = ${mi(1)};
  ${rowBase}
  for (var i = i32(t); i < ${P}; i += ${WG}) {
    if (i < len) { sv[i] = ${loadX('i')}; } else { sv[i] = ${t === 'f32' ? '0.0' : '0'}; }
    si[i] = i;
  }
  workgroupBarrier();
  for (var k = 2u; k <= ${P}u; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var i = t; i < ${P}u; i += ${WG}u) {
        let l = i ^ j;
        if (l > i) {
          let up = (i & k) == 0u;
          let a = sv[i]; let ai = si[i]; let b = sv[l]; let bi = si[l];
          if (before(b, bi, a, ai) == up) { sv[i] = b; si[i] = bi; sv[l] = a; si[l] = ai; }
        }
      }
      workgroupBarrier();
    }
  }
  let ob = i32(row) * len;
  for (var i = i32(t); i < len; i += ${WG}) { ov[ob + i] = sv[i]; oi[ob + i] = si[i]; }
}`;
    ctx.dispatch({
      label: 'sort',
      key,
      code,
      buffers: [vals.buffer, idx.buffer, xBuf],
      meta: m0,
      groups: gridItems(rows),
    });
    return [vals, idx];
  }
  // Global-memory network: scratch rows of P (value, index) pairs.
  const sv = ctx.alloc(work, rows * P);
  const si = ctx.alloc('int32', rows * P);
  const decl = `${META_DECL}
@group(0) @binding(1) var<storage, read_write> sv: array<${storageElem(work)}>;
@group(0) @binding(2) var<storage, read_write> si: array<i32>;`;
  const keyBase = `${x.dtype}>${work}:${R}:${descending}`;
  ctx.dispatch({
    label: 'sort',
    key: `sort:init:${keyBase}`,
    code: () => `${decl}
${declare(3, 'X', x.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${MAIN_1D} {
  let g = ${LINEAR_ID};
  let P = ${mu(3)};
  if (g >= prm[0u] * P) { return; }
  let row = g / P;
  let i = i32(g % P);
  ${rowBase}
  if (i < ${mi(1)}) { sv[g] = ${loadX('i')}; } else { sv[g] = ${t === 'f32' ? '0.0' : '0'}; }
  si[g] = i;
}`,
    buffers: [sv.buffer, si.buffer, xBuf],
    meta: m0,
    groups: grid1d(rows * P),
  });
  for (let k = 2; k <= P; k *= 2) {
    for (let j = k / 2; j > 0; j = Math.floor(j / 2)) {
      const { m } = meta();
      m.words[4] = k;
      m.words[5] = j;
      ctx.dispatch({
        label: 'sort',
        key: `sort:stage:${keyBase}`,
        code: () => `${decl}
${orderFn(t, descending)}
${MAIN_1D} {
  let g = ${LINEAR_ID};
  let P = ${mu(3)};
  let half = P / 2u;
  if (g >= prm[0u] * half) { return; }
  let k = ${mu(4)}; let j = ${mu(5)};
  let row = g / half;
  let q = g % half;
  let i = (q / j) * 2u * j + (q % j);
  let l = i + j;
  let up = (i & k) == 0u;
  let gi = row * P + i; let gl = row * P + l;
  let a = sv[gi]; let ai = si[gi]; let b = sv[gl]; let bi = si[gl];
  if (before(b, bi, a, ai) == up) { sv[gi] = b; si[gi] = bi; sv[gl] = a; si[gl] = ai; }
}`,
        buffers: [sv.buffer, si.buffer],
        meta: m,
        groups: grid1d((rows * P) / 2),
      });
    }
  }
  ctx.dispatch({
    label: 'sort',
    key: `sort:final:${keyBase}`,
    code: () => `${META_DECL}
@group(0) @binding(1) var<storage, read> sv: array<${storageElem(work)}>;
@group(0) @binding(2) var<storage, read> si: array<i32>;
@group(0) @binding(3) var<storage, read_write> ov: array<${storageElem(work)}>;
@group(0) @binding(4) var<storage, read_write> oi: array<i32>;
${MAIN_1D} {
  let g = ${LINEAR_ID};
  let len = u32(${mi(1)});
  if (g >= prm[0u] * len) { return; }
  let row = g / len;
  let s = row * ${mu(3)} + g % len;
  ov[g] = sv[s];
  oi[g] = si[s];
}`,
    buffers: [sv.buffer, si.buffer, vals.buffer, idx.buffer],
    meta: m0,
    groups: grid1d(n),
  });
  ctx.release(sv);
  ctx.release(si);
  return [vals, idx];
}
