// Index-driven ops: gather, scatterAdd, indexSelect, embedding, oneHot, maskedFill. All run on the
// gather/scatterAdd primitives; gradients of a gather are a scatterAdd and vice versa.
import { record } from '../autograd.js';
import type { Backend } from '../backend.js';
import { type DType, isHalf } from '../dtype.js';
import { opScope } from '../memory.js';
import { broadcastShapes, fmt, normalizeAxis } from '../shape.js';
import { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { eq, where } from './elementwise.js';
import { assertTensor, backendOf, wrap } from './util.js';

function zerosOn(b: Backend, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return wrap(b, b.fill(shape, 0, dtype), shape, dtype);
}

function assertIndex(op: string, arg: string, index: Tensor): void {
  assertTensor(index, arg, op);
  if (index.dtype !== 'int32') {
    throw new TypeError(`${op}: argument '${arg}' must be an int32 tensor of indices, got ${index.dtype}`);
  }
}

/**
 * Checks every index lies in [0, limit) on backends that read synchronously (the CPU); GPU backends
 * skip the check rather than block on the device.
 */
function checkRange(op: string, arg: string, index: Tensor, limit: number, what: string): void {
  if (!index.backend.readSync || index.size === 0) return;
  const v = index.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= limit) {
      throw new RangeError(
        `${op}: ${arg} holds ${v[i]}, out of range for ${what} (expected 0..${limit - 1})`,
      );
    }
  }
}

function computeDtype(x: Tensor): Tensor {
  return isHalf(x.dtype) ? x.cast('float32') : x;
}

/**
 * torch.gather: picks values of `x` along `dim` at the positions in `index` (int32, same rank as
 * `x`, no larger than `x` in the other dims). `out[i][j] = x[index[i][j]][j]` for dim 0.
 *
 * @example
 * ```ts
 * gather(tensor([[1, 2], [3, 4]]), 1, tensor([[0, 0], [1, 0]], undefined, 'int32')); // => [[1, 1], [4, 3]]
 * ```
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor(x, 'input', 'gather');
  assertIndex('gather', 'index', index);
  const d = normalizeAxis('gather', dim, x.rank);
  if (index.rank !== Math.max(x.rank, 1) && !(x.rank === 0 && index.rank === 0)) {
    throw new Error(`gather: index ${fmt(index.shape)} must have the same rank as input ${fmt(x.shape)}`);
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > (x.shape[i] ?? 1)) {
      throw new Error(
        `gather: index ${fmt(index.shape)} is larger than input ${fmt(x.shape)} in dim ${i} (${s} > ${x.shape[i]})`,
      );
    }
  });
  checkRange('gather', 'index', index, x.shape[d] ?? 1, `dim ${d} of input ${fmt(x.shape)}`);
  const b = backendOf('gather', x, index);
  const mark = traceMark();
  const y = opScope(() => {
    const src = computeDtype(x);
    return wrap(b, b.gather(src, d, index), index.shape, src.dtype);
  });
  if (mark >= 0) traceOp(mark, 'gather', [x, index], y, { dim: d });
  return record(y, 'gather', [x], (g) => [
    wrap(b, b.scatterAdd(zerosOn(b, x.shape), d, index, g), x.shape, 'float32'),
  ]);
}

/**
 * torch.scatter_add (out of place): a copy of `x` with `src` values added at the positions in
 * `index` along `dim`. `out[index[i][j]][j] += src[i][j]` for dim 0.
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertTensor(x, 'input', 'scatterAdd');
  assertIndex('scatterAdd', 'index', index);
  assertTensor(src, 'src', 'scatterAdd');
  const d = normalizeAxis('scatterAdd', dim, x.rank);
  if (index.rank !== x.rank || src.rank !== x.rank) {
    throw new Error(
      `scatterAdd: input ${fmt(x.shape)}, index ${fmt(index.shape)} and src ${fmt(src.shape)} must have the same rank`,
    );
  }
  index.shape.forEach((s, i) => {
    if (s > src.shape[i] || (i !== d && s > x.shape[i])) {
      throw new Error(
        `scatterAdd: index ${fmt(index.shape)} must be no larger than src ${fmt(src.shape)} in every dim and than input ${fmt(x.shape)} outside dim ${d}`,
      );
    }
  });
  checkRange('scatterAdd', 'index', index, x.shape[d], `dim ${d} of input ${fmt(x.shape)}`);
  const b = backendOf('scatterAdd', x, index, src);
  const y = opScope(() => {
    const target = computeDtype(x);
    const s = src.dtype === target.dtype ? src : src.cast(target.dtype);
    return wrap(b, b.scatterAdd(target, d, index, s), x.shape, target.dtype);
  });
  return record(y, 'scatterAdd', [x, src], (g) => {
    let gs: Tensor | null = null;
    if (src.requiresGrad) {
      const picked = wrap(b, b.gather(g, d, index), index.shape, 'float32');
      if (index.shape.every((n, i) => n === src.shape[i])) gs = picked;
      else {
        gs = zerosOn(b, src.shape);
        b.write(
          { storage: gs.storage, dtype: 'float32', shape: index.shape, strides: gs.strides, offset: 0 },
          picked,
        );
      }
    }
    return [g, gs];
  });
}

/** A view of a 1-D index laid along `dim` of `shape` (stride 0 elsewhere), for gather/scatterAdd. */
function alongDim(index: Tensor, shape: readonly number[], dim: number): Tensor {
  const strides = shape.map((_, i) => (i === dim ? index.strides[0] : 0));
  return index.withLayout(shape, strides, index.offset);
}

/**
 * torch.index_select: the slices of `x` along `dim` at the positions of the 1-D int32 `index`.
 *
 * @example
 * ```ts
 * indexSelect(tensor([[1, 2], [3, 4], [5, 6]]), 0, tensor([2, 0], undefined, 'int32')); // => [[5, 6], [1, 2]]
 * ```
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor(x, 'input', 'indexSelect');
  assertIndex('indexSelect', 'index', index);
  if (x.rank === 0) throw new Error('indexSelect: input must have at least one dim, got a scalar');
  if (index.rank > 1) throw new Error(`indexSelect: index must be 1-D, got ${fmt(index.shape)}`);
  const d = normalizeAxis('indexSelect', dim, x.rank);
  const idx1 = index.rank === 0 ? index.reshape([1]) : index;
  checkRange('indexSelect', 'index', idx1, x.shape[d], `dim ${d} of input ${fmt(x.shape)}`);
  const b = backendOf('indexSelect', x, index);
  const shape = [...x.shape];
  shape[d] = idx1.shape[0];
  const mark = traceMark();
  // the index view stays alive only when the gradient rule needs it
  const out = opScope(() => {
    const idx = alongDim(idx1, shape, d);
    const y = opScope(() => {
      const src = computeDtype(x);
      return wrap(b, b.gather(src, d, idx), shape, src.dtype);
    });
    return record(y, 'indexSelect', [x], (g) => [
      wrap(b, b.scatterAdd(zerosOn(b, x.shape), d, idx, g), x.shape, 'float32'),
    ]);
  });
  if (mark >= 0) traceOp(mark, 'indexSelect', [x, idx1], out, { dim: d });
  return out;
}

/** Options of {@link embedding}. */
export interface EmbeddingOptions {
  /** Rows at this index get no gradient (torch's padding_idx); negative counts from the end. */
  paddingIdx?: number | null;
}

/**
 * torch.nn.functional.embedding: rows of `weight` [numEmbeddings, dim] at the int32 `input` indices;
 * the output is `[...input.shape, dim]`.
 *
 * @example
 * ```ts
 * embedding(tensor([[0, 2]], undefined, 'int32'), randn([10, 4])).shape; // => [1, 2, 4]
 * ```
 */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  assertIndex('embedding', 'input', input);
  assertTensor(weight, 'weight', 'embedding');
  if (weight.rank !== 2) {
    throw new Error(`embedding: weight must be 2-D [numEmbeddings, embeddingDim], got ${fmt(weight.shape)}`);
  }
  const [v, dimE] = weight.shape;
  let pad = options.paddingIdx ?? null;
  if (pad !== null) {
    if (!Number.isInteger(pad) || pad < -v || pad >= v) {
      throw new RangeError(`embedding: paddingIdx ${pad} is out of range for ${v} embeddings`);
    }
    if (pad < 0) pad += v;
  }
  const b = backendOf('embedding', input, weight);
  const padRow = pad;
  const mark = traceMark();
  // the index views stay alive only when the gradient rule needs them
  const out = opScope(() => {
    const flat = input.reshape([-1]);
    checkRange('embedding', 'input', flat, v, `a weight of ${v} embeddings`);
    const n = flat.shape[0];
    const idx = alongDim(flat, [n, dimE], 0);
    const y = opScope(() => {
      // a 16-bit table: the rows are gathered in 16 bits, and only they are widened
      const src = isHalf(weight.dtype) ? weight : computeDtype(weight);
      const rows = wrap(b, b.gather(src, 0, idx), [n, dimE], src.dtype);
      return (src === weight && isHalf(src.dtype) ? rows.cast('float32') : rows).reshape([
        ...input.shape,
        dimE,
      ]);
    });
    return record(y, 'embedding', [weight], (g) => {
      const gw = wrap(
        b,
        b.scatterAdd(zerosOn(b, weight.shape), 0, idx, g.reshape([n, dimE])),
        weight.shape,
        'float32',
      );
      return [padRow === null ? gw : zeroRow(gw, padRow)];
    });
  });
  if (mark >= 0) traceOp(mark, 'embedding', [input, weight], out);
  return out;
}

function zeroRow(t: Tensor, row: number): Tensor {
  const b = t.backend;
  const out = wrap(b, b.copy(t, t.dtype), t.shape, t.dtype);
  const cols = t.shape[1];
  b.write({ storage: out.storage, dtype: out.dtype, shape: [cols], strides: [1], offset: row * cols }, 0);
  return out;
}

/**
 * torch.nn.functional.one_hot: int32 `indices` to an int32 tensor `[...indices.shape, numClasses]`.
 * With `numClasses = -1` the count is max(indices) + 1 (needs a synchronous backend).
 */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  assertIndex('oneHot', 'indices', indices);
  if (!Number.isInteger(numClasses) || numClasses < -1) {
    throw new RangeError(`oneHot: numClasses must be a non-negative integer or -1, got ${numClasses}`);
  }
  let k = numClasses;
  if (k === -1) {
    if (!indices.backend.readSync) {
      throw new Error(
        `oneHot: pass numClasses on the '${indices.backend.name}' backend (it cannot read synchronously)`,
      );
    }
    const v = indices.dataSync();
    let m = -1;
    for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
    k = m + 1;
  }
  checkRange('oneHot', 'indices', indices, k, `${k} classes`);
  const b = indices.backend;
  const classes = new Int32Array(k);
  for (let i = 0; i < k; i++) classes[i] = i;
  return opScope(() =>
    eq(indices.unsqueeze(-1), wrap(b, b.upload(classes, 'int32'), [k], 'int32')).cast('int32'),
  );
}

/**
 * torch.masked_fill (out of place): `value` where the bool `mask` (broadcast to x's shape) is true,
 * `x` elsewhere.
 *
 * @example
 * ```ts
 * const scores = ones([3, 3]);
 * const causalMask = tensor([[0, 1, 1], [0, 0, 1], [0, 0, 0]], undefined, 'bool');
 * maskedFill(scores, causalMask, -Infinity); // => [[1, -Infinity, -Infinity], [1, 1, -Infinity], [1, 1, 1]]
 * ```
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertTensor(x, 'input', 'maskedFill');
  assertTensor(mask, 'mask', 'maskedFill');
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype}`);
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new TypeError(`maskedFill: value must be a number, got ${typeof value}`);
  }
  const shape = broadcastShapes('maskedFill', x.shape, mask.shape);
  if (shape.length !== x.rank || shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(
      `maskedFill: mask ${fmt(mask.shape)} must broadcast to the input's shape ${fmt(x.shape)}`,
    );
  }
  const y = where(mask, Number(value), x);
  if (x.dtype === 'bool' && y.dtype !== 'bool') return y.cast('bool');
  return y;
}

// ---------------------------------------------------------------- Tensor methods

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link gather}. */ gather(dim: number, index: Tensor): Tensor;
    /** See {@link scatterAdd}. */ scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    /** See {@link indexSelect}. */ indexSelect(dim: number, index: Tensor): Tensor;
    /** See {@link maskedFill}. */ maskedFill(mask: Tensor, value: number): Tensor;
  }
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
proto.gather = function (this: Tensor, dim: number, index: Tensor) {
  return gather(this, dim, index);
};
proto.scatterAdd = function (this: Tensor, dim: number, index: Tensor, src: Tensor) {
  return scatterAdd(this, dim, index, src);
};
proto.indexSelect = function (this: Tensor, dim: number, index: Tensor) {
  return indexSelect(this, dim, index);
};
proto.maskedFill = function (this: Tensor, mask: Tensor, value: number) {
  return maskedFill(this, mask, value);
};
