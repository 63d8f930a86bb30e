import type { Backend } from './backend.js';
import { allocArray, assertDType, type DType, halfEncoder, isHalf, type TypedArray } from './dtype.js';
import { type Generator, getDefaultGenerator } from './random.js';
import { findBackend, getBackend } from './registry.js';
import { checkShape, fmt, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/** Values accepted by {@link tensor}: a number, nested arrays, or a typed array. */
export type TensorLike = number | boolean | TensorLike[] | TypedArray | Float64Array;

/**
 * Where and how a creation function makes its tensor; accepted wherever a creation function takes a
 * dtype (`zeros([2, 3], { backend: q.backend })`, `tensor(values, shape, { dtype: 'int32', backend })`).
 */
export interface CreationOptions {
  /** Element type (each function's default otherwise). */
  dtype?: DType;
  /**
   * The backend that holds the tensor: a backend instance (e.g. `other.backend`) or a registered
   * name; the current backend ({@link getBackend}) by default.
   */
  backend?: Backend | string;
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreationOptions {
  /** The generator to draw from; the global one (see manualSeed) by default. */
  generator?: Generator;
}

/** A dtype, or {@link CreationOptions} in its place. */
export type DTypeOrOptions = DType | CreationOptions;

function resolveOptions(
  op: string,
  o: DTypeOrOptions | undefined,
  fallback: DType | undefined,
): { dtype: DType | undefined; backend: Backend } {
  if (o === undefined || typeof o === 'string') return { dtype: o ?? fallback, backend: getBackend() };
  if (o === null || typeof o !== 'object') {
    throw new TypeError(`${op}: expected a dtype or an options object { dtype, backend }, got ${String(o)}`);
  }
  return { dtype: o.dtype ?? fallback, backend: backendFrom(op, o.backend) };
}

function backendFrom(op: string, b: Backend | string | undefined): Backend {
  if (b === undefined) return getBackend();
  if (typeof b === 'string') {
    const found = findBackend(b);
    if (!found) throw new Error(`${op}: option backend names '${b}', which is not registered`);
    return found;
  }
  if (!b || typeof b !== 'object' || typeof (b as Backend).upload !== 'function') {
    throw new TypeError(
      `${op}: option backend must be a Backend or a registered backend name, got ${String(b)}`,
    );
  }
  return b;
}

/**
 * Makes a tensor from JS values on the current backend. The dtype is inferred (float32 for
 * numbers, bool for booleans, int32 for an Int32Array) unless given.
 *
 * @example
 * ```ts
 * tensor([[1, 2], [3, 4]]).dtype;            // => 'float32'
 * tensor([1, 2, 3], [3], 'int32').dtype;     // => 'int32'
 * tensor(new Float32Array(6), [2, 3]).shape; // => [2, 3]
 * const q = randn([1, 4, 8, 16]);
 * tensor([0, 1], [2], { dtype: 'int32', backend: q.backend }); // beside q, wherever q lives
 * ```
 */
export function tensor(
  values: TensorLike,
  shape?: readonly number[],
  dtypeOrOptions?: DTypeOrOptions,
): Tensor {
  const { dtype, backend } = resolveOptions('tensor', dtypeOrOptions, undefined);
  if (dtype !== undefined) assertDType(dtype, 'tensor');
  let flat: ArrayLike<number>;
  let inferred: number[];
  let kind: DType = 'float32';
  if (ArrayBuffer.isView(values)) {
    flat = values as ArrayLike<number>;
    inferred = [flat.length];
    if (values instanceof Int32Array) kind = 'int32';
    else if (values instanceof Uint8Array) kind = 'bool';
  } else if (typeof values === 'number' || typeof values === 'boolean') {
    flat = [Number(values)];
    inferred = [];
    if (typeof values === 'boolean') kind = 'bool';
  } else if (Array.isArray(values)) {
    const out: number[] = [];
    inferred = [];
    const state = { bool: false, num: false };
    flattenNested(values, 0, inferred, out, state);
    if (state.bool && state.num) throw new TypeError('tensor: values mix numbers and booleans');
    if (state.bool) kind = 'bool';
    flat = out;
  } else {
    throw new TypeError(`tensor: expected a number, nested arrays or a typed array, got ${describe(values)}`);
  }
  const finalShape = shape ? checkShape('tensor', shape) : inferred;
  if (sizeOf(finalShape) !== flat.length) {
    throw new Error(
      `tensor: ${flat.length} values do not fill shape ${fmt(finalShape)} (${sizeOf(finalShape)} elements)`,
    );
  }
  return fromValues(flat, finalShape, dtype ?? kind, backend);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function flattenNested(
  v: unknown[],
  depth: number,
  shape: number[],
  out: number[],
  state: { bool: boolean; num: boolean },
): void {
  if (shape.length === depth) shape.push(v.length);
  else if (shape[depth] !== v.length) {
    throw new Error(
      `tensor: ragged nested array: dimension ${depth} has lengths ${shape[depth]} and ${v.length}`,
    );
  }
  for (const x of v) {
    if (Array.isArray(x)) {
      flattenNested(x, depth + 1, shape, out, state);
    } else if (typeof x === 'number') {
      if (shape.length !== depth + 1) throw new Error(`tensor: ragged nested array at depth ${depth}`);
      state.num = true;
      out.push(x);
    } else if (typeof x === 'boolean') {
      state.bool = true;
      out.push(x ? 1 : 0);
    } else if (ArrayBuffer.isView(x)) {
      flattenNested(Array.from(x as unknown as ArrayLike<number>), depth + 1, shape, out, state);
    } else {
      throw new TypeError(`tensor: expected numbers or booleans inside the nested array, got ${describe(x)}`);
    }
  }
}

/**
 * Uploads flat values in row-major order as a new tensor of `dtype` (on `backend`, the current
 * one by default). No checks: {@link tensor} is the validating door.
 */
export function fromValues(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  backend: Backend = getBackend(),
): Tensor {
  const n = sizeOf(shape);
  const arr = allocArray(dtype, n);
  if (isHalf(dtype)) {
    const enc = halfEncoder(dtype);
    for (let i = 0; i < n; i++) arr[i] = enc(values[i]);
  } else if (dtype === 'bool') for (let i = 0; i < n; i++) arr[i] = values[i] ? 1 : 0;
  else if (dtype === 'int32') {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      arr[i] = Number.isFinite(v) ? Math.trunc(v) : 0;
    }
  } else (arr as Float32Array).set(values as ArrayLike<number>);
  return Tensor.fromStorage(backend, backend.upload(arr, dtype), [...shape], dtype);
}

function full_(op: string, shape: readonly number[], value: number, o: DTypeOrOptions | undefined): Tensor {
  checkShape(op, shape);
  const { dtype, backend } = resolveOptions(op, o, 'float32');
  assertDType(dtype, op);
  return Tensor.fromStorage(backend, backend.fill(shape, value, dtype as DType), [...shape], dtype as DType);
}

/** A tensor of zeros (float32 unless a dtype is given; `{ dtype, backend }` also accepted). */
export function zeros(shape: readonly number[], dtype: DTypeOrOptions = 'float32'): Tensor {
  return full_('zeros', shape, 0, dtype);
}
/** A tensor of ones. */
export function ones(shape: readonly number[], dtype: DTypeOrOptions = 'float32'): Tensor {
  return full_('ones', shape, 1, dtype);
}
/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DTypeOrOptions = 'float32'): Tensor {
  if (typeof value !== 'number') throw new TypeError(`full: value must be a number, got ${typeof value}`);
  return full_('full', shape, value, dtype);
}
/** Zeros with the shape (and dtype) of `t`, on `t`'s backend. */
export function zerosLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return zeros(t.shape, { dtype, backend: t.backend });
}
/** Ones with the shape (and dtype) of `t`, on `t`'s backend. */
export function onesLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return ones(t.shape, { dtype, backend: t.backend });
}

/**
 * Values `start, start+step, ...` below `end` (like torch.arange). `arange(n)` is 0..n-1.
 * int32 when every argument is an integer, float32 otherwise.
 */
export function arange(start: number, end?: number, step = 1, dtypeOrOptions?: DTypeOrOptions): Tensor {
  const { dtype, backend } = resolveOptions('arange', dtypeOrOptions, undefined);
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [k, v] of [
    ['start', start],
    ['end', end],
    ['step', step],
  ] as const) {
    if (!Number.isFinite(v)) throw new TypeError(`arange: ${k} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new RangeError('arange: step must not be zero');
  if ((end - start) * step < 0) {
    throw new RangeError(
      `arange: step ${step} moves away from end (start=${start}, end=${end}); the bounds are inconsistent with the step's sign`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  const dt =
    dtype ??
    (Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step) ? 'int32' : 'float32');
  return fromValues(vals, [n], dt, backend);
}

/** `steps` evenly spaced values from `start` to `end` inclusive (like torch.linspace). */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  const { dtype, backend } = resolveOptions('linspace', options, 'float32');
  if (!Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const vals = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) vals[i] = i === steps - 1 && steps > 1 ? end : start + i * step;
  return fromValues(vals, [steps], dtype as DType, backend);
}

/** Identity matrix n×m (m = n by default). */
export function eye(n: number, m = n, dtypeOrOptions: DTypeOrOptions = 'float32'): Tensor {
  checkShape('eye', [n, m]);
  const { dtype, backend } = resolveOptions('eye', dtypeOrOptions, 'float32');
  const vals = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return fromValues(vals, [n, m], dtype as DType, backend);
}

/** Standard normal samples from a seeded generator. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape('randn', shape);
  const g = options.generator ?? getDefaultGenerator();
  const n = sizeOf(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = g.normal();
  const { dtype, backend } = resolveOptions('randn', options, 'float32');
  return fromValues(vals, shape, dtype as DType, backend);
}

/** Uniform samples in [0, 1) from a seeded generator. */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape('rand', shape);
  const g = options.generator ?? getDefaultGenerator();
  const n = sizeOf(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = g.uniform();
  const { dtype, backend } = resolveOptions('rand', options, 'float32');
  return fromValues(vals, shape, dtype as DType, backend);
}

/** Uniform integers in [low, high) (int32) from a seeded generator. */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  options: RandomOptions = {},
): Tensor {
  checkShape('randint', shape);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: expected integers low < high, got low=${low}, high=${high}`);
  }
  const g = options.generator ?? getDefaultGenerator();
  const n = sizeOf(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = g.randint(low, high);
  const { dtype, backend } = resolveOptions('randint', options, 'int32');
  return fromValues(vals, shape, dtype as DType, backend);
}
