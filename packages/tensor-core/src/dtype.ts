/**
 * Element types. `float32`, `int32` and `bool` are compute types; `float16`, `bfloat16` and `int8`
 * are storage formats for weights (`int8` holds quantised weights, see nn's `quantize`): every op
 * reads them as float32.
 */
export type DType = 'float32' | 'int32' | 'bool' | 'float16' | 'bfloat16' | 'int8';

/** The typed array that holds each dtype on the host. */
export interface DTypeArray {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
}

/** Any host array that can back a tensor. */
export type TypedArray = Float32Array | Int32Array | Uint8Array | Uint16Array | Int8Array;

const DTYPES: readonly DType[] = ['float32', 'int32', 'bool', 'float16', 'bfloat16', 'int8'];

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  float16: 2,
  bfloat16: 2,
  int8: 1,
};

/** Throws a clear error unless `dtype` names a dtype attnkit knows. */
export function assertDType(dtype: unknown, where: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new TypeError(
      `${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`,
    );
  }
}

/** Allocates a zeroed host array for `n` elements of `dtype`. */
export function allocArray<D extends DType>(dtype: D, n: number): DTypeArray[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as DTypeArray[D];
    case 'int32':
      return new Int32Array(n) as DTypeArray[D];
    case 'bool':
      return new Uint8Array(n) as DTypeArray[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n) as DTypeArray[D];
    case 'int8':
      return new Int8Array(n) as DTypeArray[D];
  }
  throw new TypeError(`allocArray: unknown dtype ${dtype}`);
}

/**
 * The dtype an op computes in when it mixes `a` and `b` (torch's promotion, except that the storage
 * types int8, float16 and bfloat16 compute in float32).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === 'int8' || b === 'int8') return 'float32';
  if (a === b) return isHalf(a) ? 'float32' : a;
  if (isFloat(a) || isFloat(b)) return 'float32';
  if (a === 'int32' || b === 'int32') return 'int32';
  return 'bool';
}

/** True for dtypes that hold real numbers (float32, float16, bfloat16). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
}

/** True for the 16-bit float storage dtypes (float16, bfloat16), which ops read as float32. */
export function isHalf(dtype: DType): dtype is 'float16' | 'bfloat16' {
  return dtype === 'float16' || dtype === 'bfloat16';
}

// float16 <-> float32 conversion (IEEE 754 binary16, round to nearest even).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Converts a number to its IEEE binary16 bit pattern (round to nearest, ties to even). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half; // carries into the exponent correctly, up to inf
  return sign | e;
}

/** Converts an IEEE binary16 bit pattern to a number. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Converts a number to its bfloat16 bit pattern: the float32 value rounded to 8 significant bits,
 * to nearest with ties to even (as torch's `.to(torch.bfloat16)`); NaN stays a quiet NaN.
 *
 * @example
 * ```ts
 * toBfloat16Bits(1).toString(16); // => '3f80'
 * // a tie rounds to the even neighbour
 * fromBfloat16Bits(toBfloat16Bits(1 + 2 ** -8)); // => 1
 * ```
 */
export function toBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts a bfloat16 bit pattern to a number (exact: the top half of a float32). */
export function fromBfloat16Bits(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** The bit-pattern → number conversion of a 16-bit float dtype. */
export function halfDecoder(dtype: 'float16' | 'bfloat16'): (bits: number) => number {
  return dtype === 'float16' ? fromFloat16Bits : fromBfloat16Bits;
}

/** The number → bit-pattern conversion of a 16-bit float dtype (round to nearest even). */
export function halfEncoder(dtype: 'float16' | 'bfloat16'): (value: number) => number {
  return dtype === 'float16' ? toFloat16Bits : toBfloat16Bits;
}

/** Converts bfloat16 bit patterns to float32 values. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const view = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) view[i] = bits[i] << 16;
  return out;
}
