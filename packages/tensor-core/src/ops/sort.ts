// Order statistics and scans: sort, argsort, topk (on the sort primitive, which sorts the last dim of
// a strided view, so any dim is a transposed view), and cumsum (on the cumulative primitive).
import { record } from '../autograd.js';
import { type DType, isFloat, isHalf } from '../dtype.js';
import { opScope } from '../memory.js';
import { fmt, normalizeAxis } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { flip } from './shape-ops.js';
import { assertTensor, wrap } from './util.js';

/** Values and their int32 indices along the sorted dim, as torch's (values, indices). */
export interface SortResult {
  values: Tensor;
  indices: Tensor;
}

/** Options of {@link sort} and {@link argsort}. */
export interface SortOptions {
  /** Dim to sort along (the last by default). */
  dim?: number;
  /** Largest first. */
  descending?: boolean;
  /** Accepted for torch compatibility: the sort is always stable. */
  stable?: boolean;
}

function rawSort(x: Tensor, d: number, descending: boolean): SortResult {
  const b = x.backend;
  const dtype: DType = isHalf(x.dtype) ? 'float32' : x.dtype === 'bool' ? 'int32' : x.dtype;
  return opScope(() => {
    const src = x.dtype === dtype ? x : x.cast(dtype);
    const last = src.rank - 1;
    const moved = d === last ? src : src.transpose(d, last);
    const [vs, is] = b.sort(moved, descending);
    let values = wrap(b, vs, moved.shape, dtype);
    let indices = wrap(b, is, moved.shape, 'int32');
    if (d !== last) {
      values = values.transpose(d, last).contiguous();
      indices = indices.transpose(d, last).contiguous();
    }
    if (x.dtype === 'bool') values = values.cast('bool');
    return { values, indices };
  });
}

function sortOptions(dim: number | SortOptions, descending: boolean): SortOptions {
  if (typeof dim === 'object' && dim !== null) return dim;
  if (typeof descending !== 'boolean') {
    throw new TypeError(`sort: descending must be a boolean, got ${typeof descending}`);
  }
  return { dim, descending };
}

/** Gradient of values picked by `indices` along `d`: scattered back into x's shape. */
function scatterBack(x: Tensor, d: number, indices: Tensor, g: Tensor): Tensor {
  const b = g.backend;
  return opScope(() => {
    const z = wrap(b, b.fill(x.shape, 0, 'float32'), x.shape, 'float32');
    return wrap(b, b.scatterAdd(z, d, indices, g), x.shape, 'float32');
  });
}

/**
 * Sorts along a dim (the last by default), stably, as torch.sort(input, dim, descending):
 * `{ values, indices }`. Options may be passed as an object instead. NaN sorts as the largest value.
 *
 * @example
 * ```ts
 * const { values, indices } = sort(tensor([3, 1, 2]), { descending: true });
 * [values, indices]; // => [[3, 2, 1], [0, 2, 1]]
 * ```
 */
export function sort(x: Tensor, dim: number | SortOptions = -1, descending = false): SortResult {
  assertTensor(x, 'input', 'sort');
  const options = sortOptions(dim, descending);
  if (x.rank === 0) {
    const r = sort(x.reshape([1]), options);
    return { values: r.values.reshape([]), indices: r.indices.reshape([]) };
  }
  const d = normalizeAxis('sort', options.dim ?? -1, x.rank);
  const { values, indices } = rawSort(x, d, options.descending ?? false);
  const v = record(values, 'sort', [x], (g) => [scatterBack(x, d, indices, g)]);
  return { values: v, indices };
}

/** The int32 indices that sort `x` along a dim (torch.argsort(input, dim, descending)); stable. */
export function argsort(x: Tensor, dim: number | SortOptions = -1, descending = false): Tensor {
  assertTensor(x, 'input', 'argsort');
  const options = sortOptions(dim, descending);
  if (x.rank === 0) return argsort(x.reshape([1]), options).reshape([]);
  const d = normalizeAxis('argsort', options.dim ?? -1, x.rank);
  return opScope(() => rawSort(x, d, options.descending ?? false).indices);
}

/**
 * The `k` largest (or smallest, `largest = false`) elements along `dim` and their int32 indices,
 * as torch.topk. Results come sorted (ties keep the lower index first) whatever `sorted` says.
 *
 * @example
 * ```ts
 * const logits = randn([2, 1000]);
 * const { values, indices } = topk(logits, 50); // along the last dim
 * [values.shape, indices.shape]; // => [[2, 50], [2, 50]]
 * ```
 */
export function topk(x: Tensor, k: number, dim = -1, largest = true, sorted = true): SortResult {
  assertTensor(x, 'input', 'topk');
  void sorted;
  const xr = x.rank === 0 ? x.reshape([1]) : x;
  const d = normalizeAxis('topk', dim, xr.rank);
  const n = xr.shape[d];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(`topk: k must be an integer in 0..${n} for dim ${d} of ${fmt(x.shape)}, got ${k}`);
  }
  const mark = traceMark();
  const { values, indices } = opScope(() => {
    const all = rawSort(xr, d, largest);
    return {
      values: all.values.sliceDim(d, 0, k).contiguous(),
      indices: all.indices.sliceDim(d, 0, k).contiguous(),
    };
  });
  const v = record(values, 'topk', [xr], (g) => [scatterBack(xr, d, indices, g)]);
  if (mark >= 0) traceOp(mark, 'topk', [xr], [v, indices], { k, dim: d, largest });
  if (x.rank === 0) return { values: v.reshape([]), indices: indices.reshape([]) };
  return { values: v, indices };
}

/**
 * Inclusive cumulative sum along `dim` (torch.cumsum). int32 and bool inputs sum to int32.
 *
 * @example
 * ```ts
 * cumsum(tensor([1, 2, 3]), 0); // => [1, 3, 6]
 * ```
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  assertTensor(x, 'input', 'cumsum');
  const d = normalizeAxis('cumsum', dim, x.rank);
  if (x.rank === 0) return cumsum(x.reshape([1]), 0).reshape([]);
  const dtype: DType = isFloat(x.dtype) ? 'float32' : 'int32';
  const b = x.backend;
  const y = opScope(() =>
    wrap(b, b.cumulative('cumsum', x.dtype === dtype ? x : x.cast(dtype), d), x.shape, dtype),
  );
  if (dtype !== 'float32') return y;
  // d/dx_i sum_{j>=i} g_j: a cumulative sum of the reversed gradient, reversed back.
  return record(y, 'cumsum', [x], (g) => [
    flip(wrap(b, b.cumulative('cumsum', flip(g, d), d), g.shape, 'float32'), d),
  ]);
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link sort}. */ sort(dim?: number | SortOptions, descending?: boolean): SortResult;
    /** See {@link argsort}. */ argsort(dim?: number | SortOptions, descending?: boolean): Tensor;
    /** See {@link topk}. */ topk(k: number, dim?: number, largest?: boolean, sorted?: boolean): SortResult;
    /** See {@link cumsum}. */ cumsum(dim: number): Tensor;
  }
}
const proto = Tensor.prototype as unknown as Record<string, unknown>;
proto.sort = function (this: Tensor, dim?: number | SortOptions, desc?: boolean) {
  return sort(this, dim, desc);
};
proto.argsort = function (this: Tensor, dim?: number | SortOptions, desc?: boolean) {
  return argsort(this, dim, desc);
};
proto.topk = function (this: Tensor, k: number, dim?: number, largest?: boolean, sorted?: boolean) {
  return topk(this, k, dim, largest, sorted);
};
proto.cumsum = function (this: Tensor, dim: number) {
  return cumsum(this, dim);
};
