import type { DType, View } from '@attnkit/tensor-core';
import { type GpuStorage, gridItems, type KernelContext } from '../context.js';
import {
  collapse,
  computeType,
  contiguousStrides,
  convert,
  declare,
  decompose,
  dot,
  loader,
  META_DECL,
  Meta,
  mi,
  sizeOf,
  storageElem,
} from '../layout.js';

const WG = 64;

/**
 * Inclusive cumsum/cumprod along `dim`: one workgroup per line. Each invocation folds a contiguous
 * chunk of the line, a Hillis–Steele scan over the chunk totals runs in workgroup memory, then each
 * invocation rescans its chunk starting from its prefix.
 */
export function cumulativeKernel(
  ctx: KernelContext,
  op: 'cumsum' | 'cumprod',
  x: View,
  dim: number,
  outDtype: DType,
): GpuStorage {
  const n = sizeOf(x.shape);
  const out = ctx.alloc(outDtype, n);
  if (n === 0) return out;
  const others = x.shape.map((_, i) => i).filter((i) => i !== dim);
  const outStrides = contiguousStrides(x.shape);
  const c = collapse(
    others.map((i) => x.shape[i]),
    [others.map((i) => x.strides[i]), others.map((i) => outStrides[i])],
  );
  const R = c.shape.length;
  const lines = sizeOf(c.shape);
  const len = x.shape[dim];
  const meta = new Meta();
  meta.u(lines);
  meta.u(len);
  meta.i(x.strides[dim]);
  meta.i(outStrides[dim]);
  const shapeAt = meta.words.length;
  for (const s of c.shape) meta.u(s);
  const xAt = meta.i(x.offset);
  for (const s of c.strides[0]) meta.i(s);
  const oAt = meta.i(0);
  for (const s of c.strides[1]) meta.i(s);
  const t = computeType(outDtype);
  const id = op === 'cumsum' ? (t === 'f32' ? '0.0' : '0i') : t === 'f32' ? '1.0' : '1i';
  const f = op === 'cumsum' ? '+' : '*';
  const key = `${op}:${x.dtype}>${outDtype}:${R}`;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<${storageElem(outDtype)}>;
${declare(2, 'X', x.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
var<workgroup> part: array<${t}, ${WG}>;
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let line = wid.x + wid.y * nwg.x;
  if (line >= prm[0u]) { return; }
  let len = prm[1u];
  ${decompose('line', R, shapeAt, 'c')}
  let xb = ${dot(R, 'c', xAt, xAt + 1)};
  let ob = ${dot(R, 'c', oAt, oAt + 1)};
  let chunk = (len + ${WG - 1}u) / ${WG}u;
  let lo = min(len, t * chunk);
  let hi = min(len, lo + chunk);
  var acc: ${t} = ${id};
  for (var j = lo; j < hi; j++) { acc = acc ${f} ${convert(`ldx(xb + i32(j) * ${mi(2)})`, computeType(x.dtype), t)}; }
  part[t] = acc;
  workgroupBarrier();
  for (var s = 1u; s < ${WG}u; s <<= 1u) {
    var v: ${t} = ${id};
    if (t >= s) { v = part[t - s]; }
    workgroupBarrier();
    if (t >= s) { part[t] = v ${f} part[t]; }
    workgroupBarrier();
  }
  var run: ${t} = ${id};
  if (t > 0u) { run = part[t - 1u]; }
  for (var j = lo; j < hi; j++) {
    run = run ${f} ${convert(`ldx(xb + i32(j) * ${mi(2)})`, computeType(x.dtype), t)};
    out[ob + i32(j) * ${mi(3)}] = run;
  }
}`;
  ctx.dispatch({
    label: op,
    key,
    code,
    buffers: [out.buffer, (x.storage as GpuStorage).buffer],
    meta,
    groups: gridItems(lines),
  });
  return out;
}
