import type { DType } from '@attnkit/tensor-core';

// Shape helpers come from tensor-core (one definition for every backend).
export { contiguousStrides, sizeOf } from '@attnkit/tensor-core';

/**
 * Simplifies a shape shared by several strided operands: drops size-1 dims and merges adjacent dims
 * that every operand walks contiguously, so most kernels see rank 1 or 2. Returns the new shape and
 * each operand's new strides.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const keep: number[] = [];
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) keep.push(d);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const d of keep) {
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => {
        outStrides[k][last] = s[d];
      });
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => {
        outStrides[k].push(s[d]);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** True when `strides` walk `shape` row-major without gaps. */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i];
  }
  return true;
}

/** The WGSL scalar type a dtype is computed in: float32/float16 as f32, int32 as i32, bool as u32. */
export type ScalarType = 'f32' | 'i32' | 'u32';

/** Compute type of a dtype. */
export function computeType(dtype: DType): ScalarType {
  return dtype === 'int32' ? 'i32' : dtype === 'bool' ? 'u32' : 'f32';
}

/**
 * The WGSL array element type a storage of `dtype` is declared with. float16 and bfloat16 are
 * packed two per u32 word (decoded with unpack2x16float, or as the top half of an f32), bool takes
 * one u32 per element.
 */
export function storageElem(dtype: DType): string {
  return dtype === 'float32' ? 'f32' : dtype === 'int32' ? 'i32' : 'u32';
}

/** True for the dtypes stored two per u32 word (float16, bfloat16). */
export function isPacked(dtype: DType): dtype is 'float16' | 'bfloat16' {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/** The PRELUDE function encoding an f32 as the 16 bits of a packed dtype. */
export function halfBitsFn(dtype: 'float16' | 'bfloat16'): string {
  return dtype === 'float16' ? 'f16bits' : 'bf16bits';
}

/** Bytes per element in GPU memory. */
export function gpuBytesPerElement(dtype: DType): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
}

/** Declares binding `binding` as a storage array of `dtype`. */
export function declare(binding: number, name: string, dtype: DType, access: 'read' | 'read_write'): string {
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${storageElem(dtype)}>;`;
}

/** A WGSL function `fn <fname>(o: i32) -> T` loading element `o` of buffer `buf` as its compute type. */
export function loader(fname: string, buf: string, dtype: DType): string {
  const t = computeType(dtype);
  const body =
    dtype === 'float16'
      ? `return unpack2x16float(${buf}[u32(o) >> 1u])[u32(o) & 1u];`
      : dtype === 'bfloat16'
        ? `let w = ${buf}[u32(o) >> 1u]; return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (u32(o) & 1u) == 1u));`
        : `return ${buf}[o];`;
  return `fn ${fname}(o: i32) -> ${t} { ${body} }`;
}

/** WGSL expression converting `expr` from scalar type `from` to `to`, with torch's cast rules. */
export function convert(expr: string, from: ScalarType, to: ScalarType): string {
  if (from === to) return expr;
  if (to === 'u32')
    return `select(0u, 1u, ${expr} != ${from === 'f32' ? '0.0' : from === 'i32' ? '0i' : '0u'})`;
  if (to === 'f32') return `f32(${expr})`;
  // to i32
  if (from === 'f32') return `f2i(${expr})`;
  return `i32(${expr})`;
}

/** Shared WGSL helpers every kernel may call. */
export const PRELUDE = /* wgsl */ `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn f2i(x: f32) -> i32 { if (is_nan(x) || is_inf(x)) { return 0i; } return i32(trunc(x)); }
var<private> PINF_BITS: u32 = 0x7f800000u;
var<private> NINF_BITS: u32 = 0xff800000u;
var<private> QNAN_BITS: u32 = 0x7fc00000u;
// float32 -> IEEE binary16 bits, round to nearest even, overflow to inf (pack2x16float leaves
// out-of-range values undefined, so the encoding is done here).
fn f16bits(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    var h = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u) != 0u)) { h += 1u; }
    return sign | h;
  }
  var h = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) { h += 1u; }
  return sign | h;
}
// float32 -> bfloat16 bits (the top half), round to nearest even; NaN stays a quiet NaN.
fn bf16bits(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7fffffffu) > 0x7f800000u) { return (x >> 16u) | 0x40u; }
  return (x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u;
}
fn pinf() -> f32 { return bitcast<f32>(PINF_BITS); }
fn ninf() -> f32 { return bitcast<f32>(NINF_BITS); }
fn qnan() -> f32 { return bitcast<f32>(QNAN_BITS); }
`;

/** Bits of a number in the given scalar type, as a u32 word for a meta buffer. */
export function scalarBits(value: number, t: ScalarType): number {
  if (t === 'f32') {
    F32[0] = value;
    return U32[0];
  }
  if (t === 'i32') return (Number.isFinite(value) ? Math.trunc(value) : 0) >>> 0;
  return value ? 1 : 0;
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** WGSL expression reading meta word `i` as scalar type `t`. */
export function metaAs(i: number, t: ScalarType): string {
  return t === 'u32' ? `prm[${i}u]` : `bitcast<${t}>(prm[${i}u])`;
}

/** Builds the u32 words of a kernel's meta (parameters) buffer. */
export class Meta {
  readonly words: number[] = [];
  /** Appends an unsigned integer; returns its index. */
  u(v: number): number {
    this.words.push(v >>> 0);
    return this.words.length - 1;
  }
  /** Appends a signed integer (two's complement bits). */
  i(v: number): number {
    this.words.push((v | 0) >>> 0);
    return this.words.length - 1;
  }
  /** Appends a float32. */
  f(v: number): number {
    this.words.push(scalarBits(v, 'f32'));
    return this.words.length - 1;
  }
  /** Appends a number in the bits of scalar type `t`. */
  s(v: number, t: ScalarType): number {
    this.words.push(scalarBits(v, t));
    return this.words.length - 1;
  }
}

/** The WGSL expression of meta word `i` as i32. */
export const mi = (i: number): string => `bitcast<i32>(prm[${i}u])`;
/** The WGSL expression of meta word `i` as u32. */
export const mu = (i: number): string => `prm[${i}u]`;

/** Declaration of the meta binding (binding 0). */
export const META_DECL = '@group(0) @binding(0) var<storage, read> prm: array<u32>;';

/**
 * WGSL statements that decompose linear index `lin` (u32) over a rank-`rank` shape stored in meta at
 * `shapeAt..`, leaving coordinates in `${prefix}0..` (i32).
 */
export function decompose(lin: string, rank: number, shapeAt: number, prefix: string): string {
  if (rank === 0) return '';
  const lines = [`var ${prefix}r = ${lin};`];
  for (let d = rank - 1; d >= 1; d--) {
    lines.push(
      `let ${prefix}${d} = i32(${prefix}r % ${mu(shapeAt + d)}); ${prefix}r = ${prefix}r / ${mu(shapeAt + d)};`,
    );
  }
  lines.push(`let ${prefix}0 = i32(${prefix}r);`);
  return lines.join('\n  ');
}

/** WGSL expression `off + Σ c_d * stride_d` with strides in meta at `stridesAt..`. */
export function dot(rank: number, prefix: string, offsetAt: number, stridesAt: number): string {
  const terms = [mi(offsetAt)];
  for (let d = 0; d < rank; d++) terms.push(`${prefix}${d} * ${mi(stridesAt + d)}`);
  return terms.join(' + ');
}

/** Linear invocation index for 1-D dispatches spread over x and y (256 threads per group). */
export const LINEAR_ID = 'gid.x + gid.y * (nwg.x * 256u)';
export const MAIN_1D =
  '@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)';
