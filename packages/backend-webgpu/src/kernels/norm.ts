import type { View } from '@attnkit/tensor-core';
import { type GpuStorage, gridItems, type KernelContext } from '../context.js';
import {
  collapse,
  computeType,
  convert,
  declare,
  decompose,
  dot,
  loader,
  META_DECL,
  Meta,
  mi,
  sizeOf,
} from '../layout.js';

/**
 * Workgroup size for rows of `n` elements: small on fallback (CPU) adapters, which run a
 * workgroup's invocations a few at a time, wider on GPUs.
 */
function wgFor(n: number, software: boolean): number {
  if (software) return n <= 256 ? 32 : 64;
  return n <= 64 ? 32 : n <= 512 ? 64 : n <= 2048 ? 128 : 256;
}

/**
 * WGSL tree reduction of `v` (f32) into `name` in log2(wg) steps (GPUs): halves of the workgroup
 * combine their partials until slot 0 holds the total.
 */
function logTree(wg: number, v: string, name: string, op: 'sum' | 'max'): string {
  const step = op === 'sum' ? 'red[t] = red[t] + red[t + s];' : 'red[t] = fmax_(red[t], red[t + s]);';
  return `red[t] = ${v};
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { ${step} }
    workgroupBarrier();
  }
  let ${name} = red[0];
  workgroupBarrier();`;
}

/** A workgroup reduction generator: `(value, result name, op) => WGSL`. */
type Reduce = (v: string, name: string, op: 'sum' | 'max') => string;

/**
 * WGSL workgroup reduction of `v` (f32) into `name`, with two barriers (fallback adapters, where
 * barriers are expensive): every invocation stores its partial, invocation 0 folds them in order
 * and publishes the total in the extra slot `red[wg]`.
 */
function tree(wg: number, v: string, name: string, op: 'sum' | 'max'): string {
  const fold = op === 'sum' ? 'acc = acc + red[k];' : 'acc = fmax_(acc, red[k]);';
  return `red[t] = ${v};
  workgroupBarrier();
  if (t == 0u) {
    var acc = red[0];
    for (var k = 1u; k < ${wg}u; k++) { ${fold} }
    red[${wg}] = acc;
  }
  workgroupBarrier();
  let ${name} = red[${wg}];`;
}

interface RowKernel {
  label: string;
  key: string;
  x: View;
  /** Extra 1-D operands (weight, bias), bound after x. */
  vecs: (View | null)[];
  /** Extra scalar parameters appended to meta; returns their indices. */
  params: number[];
  /**
   * WGSL body run per row, with `xb`, `n`, `t`, `ob`, `X(j)`, `V0(j)`... available; `red` emits a
   * workgroup reduction.
   */
  body: (wg: number, paramAt: number[], red: Reduce) => string;
}

/** One workgroup per row of the last dim; the kernel body reduces with `tree`. */
function rowKernel(ctx: KernelContext, spec: RowKernel): GpuStorage {
  const { x } = spec;
  const total = sizeOf(x.shape);
  const out = ctx.alloc('float32', total);
  const R0 = x.shape.length;
  const n = R0 ? x.shape[R0 - 1] : 1;
  if (total === 0) return out;
  const rows = total / n;
  const c = collapse(x.shape.slice(0, -1), [x.strides.slice(0, -1)]);
  const R = c.shape.length;
  const meta = new Meta();
  meta.u(rows);
  meta.u(n);
  meta.i(R0 ? x.strides[R0 - 1] : 0);
  const xAt = meta.i(x.offset);
  for (const s of c.strides[0]) meta.i(s);
  const shapeAt = meta.words.length;
  for (const s of c.shape) meta.u(s);
  const vecAt: number[] = [];
  for (const v of spec.vecs) {
    if (!v) continue;
    vecAt.push(meta.i(v.offset));
    meta.i(v.strides.length ? v.strides[0] : 1);
  }
  const paramAt = spec.params.map((p) => meta.f(p));
  const software = ctx.software === true;
  const wg = wgFor(n, software);
  const red: Reduce = (v, name, op) => (software ? tree : logTree)(wg, v, name, op);
  const buffers = [out.buffer, (x.storage as GpuStorage).buffer];
  const decls = [declare(2, 'Xb', x.dtype, 'read'), loader('ldx', 'Xb', x.dtype)];
  const vecFns: string[] = [];
  let vi = 0;
  spec.vecs.forEach((v, k) => {
    if (!v) return;
    const b = buffers.length + 1;
    buffers.push((v.storage as GpuStorage).buffer);
    decls.push(declare(b, `Vb${k}`, v.dtype, 'read'), loader(`ldv${k}`, `Vb${k}`, v.dtype));
    const at = vecAt[vi++];
    vecFns.push(
      `fn V${k}(j: u32) -> f32 { return ${convert(`ldv${k}(${mi(at)} + i32(j) * ${mi(at + 1)})`, computeType(v.dtype), 'f32')}; }`,
    );
  });
  const key = `${spec.key}:${x.dtype}:${spec.vecs.map((v) => (v ? v.dtype : '-')).join(',')}:${R}:${wg}:${software ? 'fold' : 'tree'}`;
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${decls.join('\n')}
${vecFns.join('\n')}
fn fmax_(a: f32, b: f32) -> f32 { return select(b, a, a > b || is_nan(a)); }
var<workgroup> red: array<f32, ${wg + 1}>;
var<private> xb: i32;
fn X(j: u32) -> f32 { return ${convert(`ldx(xb + i32(j) * ${mi(2)})`, computeType(x.dtype), 'f32')}; }
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= prm[0u]) { return; }
  let n = prm[1u];
  ${decompose('row', R, shapeAt, 'c')}
  xb = ${dot(R, 'c', xAt, xAt + 1)};
  let ob = row * n;
  ${spec.body(wg, paramAt, red)}
}`;
  ctx.dispatch({ label: spec.label, key, code, buffers, meta, groups: gridItems(rows) });
  return out;
}

/** Fused softmax / log-softmax over the last dim: row max, then sum of exp, then normalise. */
export function softmaxKernel(ctx: KernelContext, x: View, log: boolean): GpuStorage {
  return rowKernel(ctx, {
    label: log ? 'logSoftmax' : 'softmax',
    key: `softmax:${log}`,
    x,
    vecs: [],
    params: [],
    body: (wg, _p, red) => `var m = ninf();
  for (var j = t; j < n; j += ${wg}u) { m = fmax_(m, X(j)); }
  ${red('m', 'mx', 'max')}
  var s = 0.0;
  for (var j = t; j < n; j += ${wg}u) { s += exp(X(j) - mx); }
  ${red('s', 'sum', 'sum')}
  ${
    log
      ? `let ls = mx + log(sum);
  for (var j = t; j < n; j += ${wg}u) { out[ob + j] = X(j) - ls; }`
      : `let inv = 1.0 / sum;
  for (var j = t; j < n; j += ${wg}u) { out[ob + j] = exp(X(j) - mx) * inv; }`
  }`,
  });
}

/** Fused LayerNorm over the last dim (two-pass mean and variance), optional weight and bias. */
export function layerNormKernel(
  ctx: KernelContext,
  x: View,
  weight: View | null,
  bias: View | null,
  eps: number,
): GpuStorage {
  return rowKernel(ctx, {
    label: 'layerNorm',
    key: 'layerNorm',
    x,
    vecs: [weight, bias],
    params: [eps],
    body: (wg, p, red) => `var s = 0.0;
  for (var j = t; j < n; j += ${wg}u) { s += X(j); }
  ${red('s', 'sum', 'sum')}
  let mean = sum / f32(n);
  var q = 0.0;
  for (var j = t; j < n; j += ${wg}u) { let d = X(j) - mean; q += d * d; }
  ${red('q', 'sq', 'sum')}
  let rstd = inverseSqrt(sq / f32(n) + bitcast<f32>(prm[${p[0]}u]));
  for (var j = t; j < n; j += ${wg}u) {
    var y = (X(j) - mean) * rstd;
    ${weight ? 'y = y * V0(j);' : ''}
    ${bias ? 'y = y + V1(j);' : ''}
    out[ob + j] = y;
  }`,
  });
}

/** Fused RMSNorm over the last dim: x / sqrt(mean(x²) + eps) * weight. */
export function rmsNormKernel(ctx: KernelContext, x: View, weight: View | null, eps: number): GpuStorage {
  return rowKernel(ctx, {
    label: 'rmsNorm',
    key: 'rmsNorm',
    x,
    vecs: [weight],
    params: [eps],
    body: (wg, p, red) => `var q = 0.0;
  for (var j = t; j < n; j += ${wg}u) { let v = X(j); q += v * v; }
  ${red('q', 'sq', 'sum')}
  let inv = inverseSqrt(sq / f32(n) + bitcast<f32>(prm[${p[0]}u]));
  for (var j = t; j < n; j += ${wg}u) {
    ${weight ? 'out[ob + j] = X(j) * inv * V0(j);' : 'out[ob + j] = X(j) * inv;'}
  }`,
  });
}
