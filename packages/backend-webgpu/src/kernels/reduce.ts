import type { DType, ReduceOp, View } from '@attnkit/tensor-core';
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
  type ScalarType,
  sizeOf,
  storageElem,
} from '../layout.js';

const WG = 64;

function identity(op: ReduceOp, t: ScalarType): string {
  if (op === 'sum') return t === 'f32' ? '0.0' : t === 'i32' ? '0i' : '0u';
  if (op === 'prod') return t === 'f32' ? '1.0' : t === 'i32' ? '1i' : '1u';
  const lowest = op === 'max' || op === 'argmax';
  if (t === 'f32') return lowest ? 'ninf()' : 'pinf()';
  if (t === 'i32') return lowest ? 'i32(-2147483648)' : '2147483647i';
  return lowest ? '0u' : '1u';
}

/** WGSL `fn comb(a: T, ai: i32, b: T, bi: i32) -> bool`: whether (b, bi) replaces (a, ai). */
function better(op: ReduceOp, t: ScalarType): string {
  const nan = (x: string) => (t === 'f32' ? `is_nan(${x})` : 'false');
  const cmp = op === 'max' || op === 'argmax' ? '>' : '<';
  return `fn takes(a: ${t}, ai: i32, b: ${t}, bi: i32) -> bool {
  if (bi < 0) { return false; }
  if (ai < 0) { return true; }
  let an = ${nan('a')};
  let bn = ${nan('b')};
  if (an || bn) { return bn && (!an || bi < ai); }
  if (b ${cmp} a) { return true; }
  return b == a && bi < ai;
}`;
}

/**
 * Reduction over `axes`. One invocation per output for short reductions; otherwise one workgroup
 * per output: each invocation folds a strided slice, then a tree reduction in workgroup memory.
 */
export function reduceKernel(
  ctx: KernelContext,
  op: ReduceOp,
  x: View,
  axes: readonly number[],
  outDtype: DType,
): GpuStorage {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapse(
    kept.map((i) => x.shape[i]),
    [kept.map((i) => x.strides[i])],
  );
  const r = collapse(
    axes.map((i) => x.shape[i]),
    [axes.map((i) => x.strides[i])],
  );
  const nOut = sizeOf(k.shape);
  const count = sizeOf(r.shape);
  const out = ctx.alloc(outDtype, nOut);
  if (nOut === 0) return out;
  const arg = op === 'argmax' || op === 'argmin';
  const t: ScalarType = arg || op === 'max' || op === 'min' ? computeType(x.dtype) : computeType(outDtype);
  const meta = new Meta();
  meta.u(nOut);
  meta.u(count);
  const offAt = meta.i(x.offset);
  const kShapeAt = meta.words.length;
  for (const s of k.shape) meta.u(s);
  const kStrAt = meta.words.length;
  for (const s of k.strides[0]) meta.i(s);
  const rShapeAt = meta.words.length;
  for (const s of r.shape) meta.u(s);
  const rStrAt = meta.words.length;
  for (const s of r.strides[0]) meta.i(s);
  const RK = k.shape.length;
  const RR = r.shape.length;
  const perThread = count <= 32 || nOut >= 4096 * 4;
  const key = `reduce:${op}:${x.dtype}>${outDtype}:${RK}:${RR}:${perThread}`;
  const load = (j: string) => `${convert(`ld(base + rel(${j}))`, computeType(x.dtype), t)}`;
  const combine = (acc: string, v: string) => {
    if (op === 'sum') return `${acc} = ${acc} + ${v};`;
    if (op === 'prod') return `${acc} = ${acc} * ${v};`;
    return '';
  };
  const code = () => {
    const head = `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<${storageElem(outDtype)}>;
${declare(2, 'inp', x.dtype, 'read')}
${loader('ld', 'inp', x.dtype)}
${op === 'sum' || op === 'prod' ? '' : better(op, t)}
fn rel(j: u32) -> i32 {
  ${RR ? decompose('j', RR, rShapeAt, 'r') : ''}
  return ${RR ? Array.from({ length: RR }, (_, d) => `r${d} * ${mi(rStrAt + d)}`).join(' + ') : '0i'};
}
fn baseOf(o: u32) -> i32 {
  ${decompose('o', RK, kShapeAt, 'k')}
  return ${dot(RK, 'k', offAt, kStrAt)};
}`;
    const result = arg ? 'bi' : 'acc';
    const outT = computeType(outDtype);
    const store = (o: string) => `out[${o}] = ${convert(result, arg ? 'i32' : t, outT)};`;
    const fold = (j: string) =>
      op === 'sum' || op === 'prod'
        ? combine('acc', load(j))
        : `{ let v = ${load(j)}; let vi = i32(${j}); if (takes(acc, bi, v, vi)) { acc = v; bi = vi; } }`;
    if (perThread) {
      return `${head}
${MAIN_1D} {
  let o = ${LINEAR_ID};
  if (o >= prm[0u]) { return; }
  let base = baseOf(o);
  var acc: ${t} = ${identity(op, t)};
  var bi: i32 = -1;
  for (var j = 0u; j < prm[1u]; j++) { ${fold('j')} }
  ${store('o')}
}`;
    }
    const treeStep =
      op === 'sum'
        ? 'sa[t] = sa[t] + sa[t + s];'
        : op === 'prod'
          ? 'sa[t] = sa[t] * sa[t + s];'
          : 'if (takes(sa[t], si[t], sa[t + s], si[t + s])) { sa[t] = sa[t + s]; si[t] = si[t + s]; }';
    return `${head}
var<workgroup> sa: array<${t}, ${WG}>;
var<workgroup> si: array<i32, ${WG}>;
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let o = wid.x + wid.y * nwg.x;
  let live = o < prm[0u];
  var acc: ${t} = ${identity(op, t)};
  var bi: i32 = -1;
  if (live) {
    let base = baseOf(o);
    for (var j = t; j < prm[1u]; j += ${WG}u) { ${fold('j')} }
  }
  sa[t] = acc;
  si[t] = bi;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { ${treeStep} }
    workgroupBarrier();
  }
  if (live && t == 0u) {
    let acc = sa[0];
    let bi = si[0];
    ${store('o')}
  }
}`;
  };
  ctx.dispatch({
    label: op,
    key,
    code,
    buffers: [out.buffer, (x.storage as GpuStorage).buffer],
    meta,
    groups: perThread ? grid1d(nOut) : gridItems(nOut),
  });
  return out;
}
