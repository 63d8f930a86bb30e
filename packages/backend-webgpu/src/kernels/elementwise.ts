import type { DType, View } from '@attnkit/tensor-core';
import { type GpuStorage, grid1d, type KernelContext } from '../context.js';
import {
  collapse,
  computeType,
  contiguousStrides,
  convert,
  declare,
  decompose,
  dot,
  halfBitsFn,
  isContiguous,
  isPacked,
  LINEAR_ID,
  loader,
  MAIN_1D,
  META_DECL,
  Meta,
  metaAs,
  mi,
  type ScalarType,
  sizeOf,
  storageElem,
} from '../layout.js';

/** An elementwise input: a strided view, or a number broadcast everywhere. */
export type EwInput = View | number;

/** Description of an elementwise kernel. */
export interface ElementwiseSpec {
  /** Op name for labels. */
  label: string;
  /** Identifies `expr` and `fns` in the pipeline cache. */
  op: string;
  /** Iteration shape (every view input is already broadcast to it). */
  shape: readonly number[];
  /** Inputs and the scalar type each is converted to before `expr`. */
  inputs: { x: EwInput; as: ScalarType }[];
  /** WGSL expression of the result from the converted inputs `v[0]`, `v[1]`, ... */
  expr: (v: string[]) => string;
  /** Scalar type of `expr`. */
  result: ScalarType;
  /** Extra WGSL functions `expr` calls. */
  fns?: string;
}

/**
 * Runs an elementwise kernel into a new contiguous storage of `outDtype`, or into the strided view
 * `into` (in place; for `write`). float16 outputs are packed two per word: contiguous outputs
 * write whole words, strided ones update their half with atomics.
 */
export function elementwise(
  ctx: KernelContext,
  spec: ElementwiseSpec,
  outDtype: DType,
  into?: View,
): GpuStorage | null {
  const n = sizeOf(spec.shape);
  const views: View[] = [];
  for (const { x } of spec.inputs) if (typeof x !== 'number') views.push(x);
  const outStrides = into ? into.strides : contiguousStrides(spec.shape);
  const c = collapse(spec.shape, [outStrides, ...views.map((v) => v.strides)]);
  const rank = c.shape.length;
  const out = into ? (into.storage as GpuStorage) : ctx.alloc(outDtype, n);
  if (n === 0) return into ? null : out;

  const meta = new Meta();
  meta.u(n);
  const shapeAt = meta.words.length;
  for (const s of c.shape) meta.u(s);
  const outContig = !into || isContiguous(c.shape, c.strides[0]);
  let outOffsetAt = -1;
  let outStridesAt = -1;
  if (into) {
    outOffsetAt = meta.i(into.offset);
    if (!outContig) {
      outStridesAt = meta.words.length;
      for (const s of c.strides[0]) meta.i(s);
    }
  }
  const keyParts: string[] = [];
  const reads: string[] = [];
  const decls: string[] = [];
  const buffers: GPUBuffer[] = [out.buffer];
  let vi = 0;
  let needCoords = !outContig;
  spec.inputs.forEach(({ x, as }, k) => {
    if (typeof x === 'number') {
      const at = meta.s(x, as);
      keyParts.push(`s${as}`);
      reads.push(metaAs(at, as));
      return;
    }
    const strides = c.strides[1 + vi];
    vi++;
    const contig = isContiguous(c.shape, strides);
    const offAt = meta.i(x.offset);
    let off: string;
    if (contig) off = `${mi(offAt)} + i32(i)`;
    else {
      needCoords = true;
      const stAt = meta.words.length;
      for (const s of strides) meta.i(s);
      off = dot(rank, 'c', offAt, stAt);
    }
    keyParts.push(`${x.dtype}${contig ? 'c' : 's'}>${as}`);
    const binding = buffers.length + 1;
    buffers.push((x.storage as GpuStorage).buffer);
    decls.push(declare(binding, `in${k}`, x.dtype, 'read'));
    decls.push(loader(`ld${k}`, `in${k}`, x.dtype));
    reads.push(convert(`ld${k}(${off})`, computeType(x.dtype), as));
  });
  const ot = computeType(outDtype);
  const packed = isPacked(outDtype);
  const enc = packed ? halfBitsFn(outDtype) : '';
  const key = `ew:${spec.op}:${rank}:${keyParts.join(',')}:${spec.result}>${outDtype}:${into ? (outContig ? 'ic' : 'is') : 'n'}`;
  const code = () => {
    const value = `fn value(i: u32) -> ${spec.result} {
  ${needCoords ? decompose('i', rank, shapeAt, 'c') : ''}
  ${reads.map((r, k) => `let v${k} = ${r};`).join('\n  ')}
  return ${spec.expr(reads.map((_, k) => `v${k}`))};
}`;
    const outOffset = !into
      ? 'i32(i)'
      : outContig
        ? `${mi(outOffsetAt)} + i32(i)`
        : dot(rank, 'c', outOffsetAt, outStridesAt);
    let main: string;
    let outDecl: string;
    if (packed && !into) {
      outDecl = '@group(0) @binding(1) var<storage, read_write> out: array<u32>;';
      main = `${MAIN_1D} {
  let w = ${LINEAR_ID};
  let n = prm[0u];
  if (2u * w >= n) { return; }
  let a = ${convert('value(2u * w)', spec.result, 'f32')};
  var b = 0.0;
  if (2u * w + 1u < n) { b = ${convert('value(2u * w + 1u)', spec.result, 'f32')}; }
  out[w] = ${enc}(a) | (${enc}(b) << 16u);
}`;
    } else if (packed) {
      outDecl = '@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>>;';
      main = `${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= prm[0u]) { return; }
  let v = ${convert('value(i)', spec.result, 'f32')};
  ${needCoords && !outContig ? decompose('i', rank, shapeAt, 'c') : ''}
  let o = u32(${outOffset});
  let sh = (o & 1u) * 16u;
  let bits = ${enc}(v) << sh;
  atomicAnd(&out[o >> 1u], ~(0xffffu << sh));
  atomicOr(&out[o >> 1u], bits);
}`;
    } else {
      outDecl = `@group(0) @binding(1) var<storage, read_write> out: array<${storageElem(outDtype)}>;`;
      main = `${MAIN_1D} {
  let i = ${LINEAR_ID};
  if (i >= prm[0u]) { return; }
  let v = ${convert('value(i)', spec.result, ot)};
  ${needCoords && !outContig ? decompose('i', rank, shapeAt, 'c') : ''}
  out[${outOffset}] = v;
}`;
    }
    return [META_DECL, outDecl, ...decls, spec.fns ?? '', value, main].join('\n');
  };
  ctx.dispatch({
    label: spec.label,
    key,
    code,
    buffers,
    meta,
    groups: grid1d(packed && !into ? Math.ceil(n / 2) : n),
  });
  return into ? null : out;
}
