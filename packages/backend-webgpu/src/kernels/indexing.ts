import type { DType, View } from '@attnkit/tensor-core';
import { type GpuStorage, grid1d, type KernelContext } from '../context.js';
import {
  computeType,
  contiguousStrides,
  convert,
  declare,
  decompose,
  LINEAR_ID,
  loader,
  MAIN_1D,
  META_DECL,
  Meta,
  mi,
  sizeOf,
  storageElem,
} from '../layout.js';

/** Meta layout shared by gather and scatterAdd: n, limit, shape[R], then per operand offset + strides[R]. */
function indexMeta(
  shape: readonly number[],
  limit: number,
  operands: { offset: number; strides: readonly number[] }[],
) {
  const meta = new Meta();
  meta.u(sizeOf(shape));
  meta.i(limit);
  for (const s of shape) meta.u(s);
  const at: number[] = [];
  for (const v of operands) {
    at.push(meta.i(v.offset));
    for (const s of v.strides) meta.i(s);
  }
  return { meta, at };
}

/** WGSL `off + Σ c_d·stride_d`, with dim `skip` replaced by `j·stride_skip`. */
function offsetExpr(rank: number, at: number, skip: number, j: string): string {
  const terms = [mi(at)];
  for (let d = 0; d < rank; d++)
    terms.push(d === skip ? `${j} * ${mi(at + 1 + d)}` : `c${d} * ${mi(at + 1 + d)}`);
  return terms.join(' + ');
}

/** torch.gather along `dim`: one invocation per index element. Negative indices count from the end. */
export function gatherKernel(
  ctx: KernelContext,
  x: View,
  dim: number,
  index: View,
  outDtype: DType,
): GpuStorage {
  const n = sizeOf(index.shape);
  const out = ctx.alloc(outDtype, n);
  if (n === 0) return out;
  const R = index.shape.length;
  const { meta, at } = indexMeta(index.shape, x.shape[dim], [index, x]);
  const t = computeType(outDtype);
  const key = `gather:${x.dtype}>${outDtype}:${index.dtype}:${R}:${dim}`;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<${storageElem(outDtype)}>;
${declare(2, 'X', x.dtype, 'read')}
${declare(3, 'I', index.dtype, 'read')}
${loader('ldx', 'X', x.dtype)}
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= prm[0u]) { return; }
  ${decompose('i', R, 2, 'c')}
  var j = I[${offsetExpr(R, at[0], -1, '')}];
  if (j < 0) { j += ${mi(1)}; }
  out[i] = ${convert(`ldx(${offsetExpr(R, at[1], dim, 'j')})`, computeType(x.dtype), t)};
}`;
  ctx.dispatch({
    label: 'gather',
    key,
    code,
    buffers: [out.buffer, (x.storage as GpuStorage).buffer, (index.storage as GpuStorage).buffer],
    meta,
    groups: grid1d(n),
  });
  return out;
}

/**
 * torch.scatter_add into `out` (a fresh contiguous float32 or int32 storage of `shape`), in place:
 * one invocation per index element, adding with atomics (a compare-and-swap loop for float32).
 */
export function scatterAddKernel(
  ctx: KernelContext,
  out: GpuStorage,
  shape: readonly number[],
  dim: number,
  index: View,
  src: View,
): void {
  const n = sizeOf(index.shape);
  if (n === 0) return;
  const R = index.shape.length;
  const outView = { offset: 0, strides: contiguousStrides(shape) };
  const { meta, at } = indexMeta(index.shape, shape[dim], [index, src, outView]);
  const isInt = out.dtype === 'int32';
  const key = `scatterAdd:${out.dtype}:${src.dtype}:${R}:${dim}`;
  const add = isInt
    ? 'atomicAdd(&out[o], v);'
    : `var old = atomicLoad(&out[o]);
  loop {
    let r = atomicCompareExchangeWeak(&out[o], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<atomic<${isInt ? 'i32' : 'u32'}>>;
${declare(2, 'S', src.dtype, 'read')}
${declare(3, 'I', index.dtype, 'read')}
${loader('lds', 'S', src.dtype)}
${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= prm[0u]) { return; }
  ${decompose('i', R, 2, 'c')}
  var j = I[${offsetExpr(R, at[0], -1, '')}];
  if (j < 0) { j += ${mi(1)}; }
  let v = ${convert(`lds(${offsetExpr(R, at[1], -1, '')})`, computeType(src.dtype), isInt ? 'i32' : 'f32')};
  let o = ${offsetExpr(R, at[2], dim, 'j')};
  ${add}
}`;
  ctx.dispatch({
    label: 'scatterAdd',
    key,
    code,
    buffers: [out.buffer, (src.storage as GpuStorage).buffer, (index.storage as GpuStorage).buffer],
    meta,
    groups: grid1d(n),
  });
}
