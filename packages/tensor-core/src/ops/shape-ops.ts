// Ops that rearrange or assemble elements: concat/stack/split/chunk, pad, flip, tril/triu,
// repeat/tile. Outputs that mix inputs (concat, pad) are a fill()ed storage written through strided
// views of it (backend.write); the rest are views or gathers.
import { record } from '../autograd.js';
import type { Backend, View } from '../backend.js';
import { type DType, isHalf, promoteTypes } from '../dtype.js';
import { opScope } from '../memory.js';
import { fmt, normalizeAxis, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { ge, le, logicalAnd, sub, where } from './elementwise.js';
import { indexSelect } from './indexing.js';
import { assertTensor, backendOf, wrap } from './util.js';

/** A view literal of `t`'s storage with another layout (for backend.write destinations). */
function rawView(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): View {
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset };
}

function filled(b: Backend, shape: readonly number[], value: number, dtype: DType): Tensor {
  return wrap(b, b.fill(shape, value, dtype), shape, dtype);
}

function intArange(b: Backend, values: ArrayLike<number>): Tensor {
  const a = new Int32Array(values.length);
  for (let i = 0; i < a.length; i++) a[i] = values[i];
  return wrap(b, b.upload(a, 'int32'), [a.length], 'int32');
}

/**
 * Concatenates tensors along an existing dim (torch.cat). Every tensor has the same rank and the
 * same sizes except along `dim`; dtypes are promoted.
 *
 * @example
 * ```ts
 * concat([ones([2, 3]), zeros([1, 3])]).shape; // => [3, 3]
 * concat([ones([2, 3]), zeros([2, 1])], 1).shape; // => [2, 4]
 * ```
 */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new TypeError('concat: expected a non-empty array of tensors');
  }
  for (const [i, t] of tensors.entries()) assertTensor(t, `tensors[${i}]`, 'concat');
  const first = tensors[0];
  const rank = first.rank;
  if (rank === 0) throw new Error('concat: zero-dimensional tensors cannot be concatenated; use stack');
  const d = normalizeAxis('concat', dim, rank);
  let dtype: DType = isHalf(first.dtype) ? 'float32' : first.dtype;
  let total = 0;
  tensors.forEach((t: Tensor, i: number) => {
    if (t.rank !== rank || t.shape.some((s, j) => j !== d && s !== first.shape[j])) {
      throw new Error(
        `concat: tensors[${i}] has shape ${fmt(t.shape)} but tensors[0] has ${fmt(first.shape)}; ranks and sizes must match except in dim ${d}`,
      );
    }
    dtype = promoteTypes(dtype, t.dtype);
    total += t.shape[d];
  });
  const b = backendOf('concat', ...tensors);
  const mark = traceMark();
  const shape = [...first.shape];
  shape[d] = total;
  const out = filled(b, shape, 0, dtype);
  const starts: number[] = [];
  let start = 0;
  for (const t of tensors) {
    starts.push(start);
    if (t.size > 0) {
      const at = start;
      opScope(() => {
        b.write(
          rawView(out, t.shape, out.strides, at * out.strides[d]),
          t.dtype === dtype ? t : t.cast(dtype),
        );
      });
    }
    start += t.shape[d];
  }
  if (mark >= 0) traceOp(mark, 'concat', tensors, out, { dim: d });
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? g.sliceDim(d, starts[i], starts[i] + t.shape[d]) : null)),
  );
}

/** Alias of {@link concat} (torch.cat). */
export const cat = concat;

/**
 * Stacks tensors of one shape along a new dim (torch.stack).
 *
 * @example
 * ```ts
 * stack([tensor([1, 2]), tensor([3, 4])]); // => [[1, 2], [3, 4]]
 * stack([tensor([1, 2]), tensor([3, 4])], 1); // => [[1, 3], [2, 4]]
 * ```
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new TypeError('stack: expected a non-empty array of tensors');
  }
  for (const [i, t] of tensors.entries()) assertTensor(t, `tensors[${i}]`, 'stack');
  const first = tensors[0];
  tensors.forEach((t: Tensor, i: number) => {
    if (t.rank !== first.rank || t.shape.some((s, j) => s !== first.shape[j])) {
      throw new Error(
        `stack: every tensor must have the same shape; tensors[0] is ${fmt(first.shape)} and tensors[${i}] is ${fmt(t.shape)}`,
      );
    }
  });
  const d = normalizeAxis('stack', dim, first.rank + 1);
  return concat(
    tensors.map((t) => t.unsqueeze(d)),
    d,
  );
}

/**
 * Splits a tensor into views along `dim` (torch.split): a number gives chunks of that size (the
 * last may be smaller); an array gives the size of each part (they must sum to the dim's size).
 *
 * @example
 * ```ts
 * split(arange(5), 2); // => [[0, 1], [2, 3], [4]]
 * split(arange(5), [1, 4]); // => [[0], [1, 2, 3, 4]]
 * ```
 */
export function split(x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  assertTensor(x, 'input', 'split');
  const d = normalizeAxis('split', dim, x.rank);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    const s = splitSizeOrSections;
    if (!Number.isInteger(s) || s < 0 || (s === 0 && n > 0)) {
      throw new RangeError(`split: split size must be a positive integer, got ${s} (dim ${d} has size ${n})`);
    }
    sizes = [];
    for (let i = 0; i < n; i += s) sizes.push(Math.min(s, n - i));
    if (n === 0) sizes.push(0);
  } else if (Array.isArray(splitSizeOrSections)) {
    sizes = [...splitSizeOrSections];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new RangeError(`split: sections must be non-negative integers, got [${sizes.join(',')}]`);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) {
      throw new Error(
        `split: sections [${sizes.join(',')}] sum to ${total}, but dim ${d} of ${fmt(x.shape)} has size ${n}`,
      );
    }
  } else {
    throw new TypeError('split: splitSizeOrSections must be a number or an array of numbers');
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(x.sliceDim(d, start, start + s));
    start += s;
  }
  return out;
}

/**
 * Splits into `chunks` views of equal size along `dim` (the last may be smaller, and fewer chunks
 * come back when the size does not allow that many), as torch.chunk.
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  assertTensor(x, 'input', 'chunk');
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new RangeError(`chunk: chunks must be a positive integer, got ${chunks}`);
  }
  const d = normalizeAxis('chunk', dim, x.rank);
  const n = x.shape[d];
  const size = Math.ceil(n / chunks);
  if (size === 0) return Array.from({ length: chunks }, () => x.sliceDim(d, 0, 0));
  return split(x, size, d);
}

/** Padding modes of {@link pad}. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads a tensor as torch.nn.functional.pad: `pad` lists (before, after) pairs starting from the LAST
 * dim: `[left, right]` pads the last dim, `[left, right, top, bottom]` the last two. 'constant'
 * pads with `value` (negative pads crop); 'reflect' mirrors without repeating the edge,
 * 'replicate' repeats the edge and 'circular' wraps around.
 *
 * @example
 * ```ts
 * pad(ones([1, 2]), [1, 1]); // => [[0, 1, 1, 0]]
 * const x = randn([1, 3, 8, 8]);
 * pad(x, [1, 1, 2, 2], 'reflect').shape; // => [1, 3, 12, 10]
 * ```
 */
export function pad(x: Tensor, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  assertTensor(x, 'input', 'pad');
  if (!Array.isArray(padding) || padding.length % 2 !== 0 || padding.some((p) => !Number.isInteger(p))) {
    throw new TypeError(
      `pad: padding must be an even-length array of integers, got ${JSON.stringify(padding)}`,
    );
  }
  const pairs = padding.length / 2;
  if (pairs > x.rank) {
    throw new Error(
      `pad: padding of length ${padding.length} pads ${pairs} dims, but the input ${fmt(x.shape)} has ${x.rank}`,
    );
  }
  const lo = new Array<number>(x.rank).fill(0);
  const hi = new Array<number>(x.rank).fill(0);
  for (let i = 0; i < pairs; i++) {
    lo[x.rank - 1 - i] = padding[2 * i];
    hi[x.rank - 1 - i] = padding[2 * i + 1];
  }
  const shape = x.shape.map((s, i) => s + lo[i] + hi[i]);
  if (shape.some((s) => s < 0)) {
    throw new Error(
      `pad: padding ${JSON.stringify(padding)} makes a negative size for input ${fmt(x.shape)}`,
    );
  }
  if (mode === 'constant') return padConstant(x, lo, hi, shape, value);
  if (mode !== 'reflect' && mode !== 'replicate' && mode !== 'circular') {
    throw new TypeError(
      `pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(mode)}`,
    );
  }
  // Index-based modes: one indexSelect per padded dim (gradients flow through indexSelect).
  return opScope(() => {
    let y = x;
    for (let dim = 0; dim < x.rank; dim++) {
      if (lo[dim] === 0 && hi[dim] === 0) continue;
      const n = x.shape[dim];
      const maxPad = mode === 'reflect' ? n - 1 : n;
      if (lo[dim] < 0 || hi[dim] < 0 || (mode !== 'replicate' && (lo[dim] > maxPad || hi[dim] > maxPad))) {
        throw new Error(
          `pad: ${mode} padding (${lo[dim]}, ${hi[dim]}) of dim ${dim} must be non-negative and ${mode === 'replicate' ? '' : `at most ${maxPad} `}for input ${fmt(x.shape)}`,
        );
      }
      if (n === 0) throw new Error(`pad: ${mode} padding needs a non-empty dim ${dim}, got ${fmt(x.shape)}`);
      const idx: number[] = [];
      for (let i = -lo[dim]; i < n + hi[dim]; i++) {
        if (mode === 'reflect') idx.push(i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
        else if (mode === 'replicate') idx.push(Math.min(Math.max(i, 0), n - 1));
        else idx.push(((i % n) + n) % n);
      }
      y = indexSelect(y, dim, intArange(x.backend, idx));
    }
    return y;
  });
}

function padConstant(x: Tensor, lo: number[], hi: number[], shape: number[], value: number): Tensor {
  const b = x.backend;
  const dtype: DType = isHalf(x.dtype) ? 'float32' : x.dtype;
  const out = filled(b, shape, value, dtype);
  // The part of x that survives (negative pads crop) and where it lands in the output.
  const cropLo = lo.map((p) => Math.max(-p, 0));
  const region = x.shape.map((s, i) => s - cropLo[i] - Math.max(-hi[i], 0));
  const dstOffset = lo.reduce((o, p, i) => o + Math.max(p, 0) * out.strides[i], 0);
  const srcOffset = cropLo.reduce((o, c, i) => o + c * x.strides[i], x.offset);
  if (sizeOf(region) > 0) {
    opScope(() => {
      const src = x.dtype === dtype ? x : x.cast(dtype);
      b.write(rawView(out, region, out.strides, dstOffset), {
        storage: src.storage,
        dtype,
        shape: region,
        strides: src.strides,
        offset: src === x ? srcOffset : cropLo.reduce((o, c, i) => o + c * src.strides[i], src.offset),
      });
    });
  }
  return record(out, 'pad', [x], (g) => {
    const gx = filled(b, x.shape, 0, 'float32');
    if (sizeOf(region) > 0) {
      const gOff = lo.reduce((o, p, i) => o + Math.max(p, 0) * g.strides[i], g.offset);
      const xOff = cropLo.reduce((o, c, i) => o + c * gx.strides[i], 0);
      b.write(rawView(gx, region, gx.strides, xOff), {
        storage: g.storage,
        dtype: g.dtype,
        shape: region,
        strides: g.strides,
        offset: gOff,
      });
    }
    return [gx];
  });
}

/**
 * Reverses the order of elements along the given dims (torch.flip).
 *
 * @example
 * ```ts
 * flip(tensor([[1, 2], [3, 4]]), [1]); // => [[2, 1], [4, 3]]
 * ```
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  assertTensor(x, 'input', 'flip');
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const axes = list.map((d) => normalizeAxis('flip', d, x.rank));
  if (new Set(axes).size !== axes.length) throw new Error(`flip: dims [${list.join(',')}] repeat an axis`);
  return opScope(() => {
    let y = x;
    for (const a of axes) {
      const n = x.shape[a];
      if (n <= 1) continue;
      y = indexSelect(
        y,
        a,
        intArange(
          x.backend,
          Array.from({ length: n }, (_, i) => n - 1 - i),
        ),
      );
    }
    return y === x ? x.contiguous() : y;
  });
}

function triangle(op: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  assertTensor(x, 'input', op);
  if (x.rank < 2) throw new Error(`${op}: expected a tensor with at least 2 dims, got ${fmt(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new TypeError(`${op}: diagonal must be an integer, got ${diagonal}`);
  const b = x.backend;
  const m = x.shape[x.rank - 2];
  const n = x.shape[x.rank - 1];
  // the mask stays alive only when the where gradient needs it
  return opScope(() => {
    const rows = intArange(
      b,
      Array.from({ length: m }, (_, i) => i),
    ).reshape([m, 1]);
    const cols = intArange(
      b,
      Array.from({ length: n }, (_, i) => i),
    );
    const keep = opScope(() => {
      const diff = sub(cols, rows); // col - row, [m, n]
      return op === 'tril' ? le(diff, diagonal) : ge(diff, diagonal);
    });
    return x.dtype === 'bool' ? logicalAnd(x, keep) : where(keep, x, 0);
  });
}

/** Lower triangle of the last two dims (elements with col - row <= diagonal), zeros elsewhere. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal);
}
/** Upper triangle of the last two dims (elements with col - row >= diagonal), zeros elsewhere. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal);
}

/**
 * Repeats the tensor along each dim (torch.Tensor.repeat): `sizes` has at least as many entries as
 * the tensor has dims; extra leading entries add dims.
 *
 * @example
 * ```ts
 * repeat(tensor([1, 2]), [2, 2]); // => [[1, 2, 1, 2], [1, 2, 1, 2]]
 * ```
 */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  assertTensor(x, 'input', 'repeat');
  if (!Array.isArray(sizes) || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TypeError(`repeat: sizes must be non-negative integers, got ${JSON.stringify(sizes)}`);
  }
  if (sizes.length < x.rank) {
    throw new Error(
      `repeat: got ${sizes.length} repeat sizes [${sizes.join(',')}] for a tensor of rank ${x.rank} ${fmt(x.shape)}; give at least ${x.rank}`,
    );
  }
  const src = [...new Array<number>(sizes.length - x.rank).fill(1), ...x.shape];
  const inter: number[] = [];
  const expanded: number[] = [];
  for (let i = 0; i < sizes.length; i++) {
    inter.push(1, src[i]);
    expanded.push(sizes[i], src[i]);
  }
  return x
    .reshape(inter)
    .expand(expanded)
    .contiguous()
    .reshape(src.map((s, i) => s * sizes[i]));
}

/**
 * Repeats like numpy/torch.tile: when `dims` is shorter than the tensor's rank, ones are prepended
 * to it.
 */
export function tile(x: Tensor, dims: readonly number[]): Tensor {
  assertTensor(x, 'input', 'tile');
  if (!Array.isArray(dims))
    throw new TypeError(`tile: dims must be an array of integers, got ${String(dims)}`);
  const full = [...new Array<number>(Math.max(x.rank - dims.length, 0)).fill(1), ...dims];
  return repeat(x, full);
}

// ---------------------------------------------------------------- Tensor methods

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link split}. */ split(splitSizeOrSections: number | readonly number[], dim?: number): Tensor[];
    /** See {@link chunk}. */ chunk(chunks: number, dim?: number): Tensor[];
    /** See {@link flip}. */ flip(dims: number | readonly number[]): Tensor;
    /** See {@link tril}. */ tril(diagonal?: number): Tensor;
    /** See {@link triu}. */ triu(diagonal?: number): Tensor;
    /** See {@link repeat}. */ repeat(...sizes: number[] | [readonly number[]]): Tensor;
    /** See {@link tile}. */ tile(dims: readonly number[]): Tensor;
    /** See {@link pad}. */ pad(padding: readonly number[], mode?: PadMode, value?: number): Tensor;
  }
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
proto.split = function (this: Tensor, s: number | readonly number[], dim?: number) {
  return split(this, s, dim);
};
proto.chunk = function (this: Tensor, c: number, dim?: number) {
  return chunk(this, c, dim);
};
proto.flip = function (this: Tensor, dims: number | readonly number[]) {
  return flip(this, dims);
};
proto.tril = function (this: Tensor, d?: number) {
  return tril(this, d);
};
proto.triu = function (this: Tensor, d?: number) {
  return triu(this, d);
};
proto.repeat = function (this: Tensor, ...sizes: number[] | [readonly number[]]) {
  return repeat(this, (Array.isArray(sizes[0]) ? sizes[0] : sizes) as number[]);
};
proto.tile = function (this: Tensor, dims: readonly number[]) {
  return tile(this, dims);
};
proto.pad = function (this: Tensor, p: readonly number[], mode?: PadMode, value?: number) {
  return pad(this, p, mode, value);
};
