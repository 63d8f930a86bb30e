/// <reference lib="esnext.disposable" preserve="true" />
// Tensor implements Disposable (`using`): consumers type-check Symbol.dispose through this lib.
import { type GradNode, noGrad, record } from './autograd.js';
import type { Backend, Storage, View } from './backend.js';
import { assertDType, type DType, isFloat, isHalf, type TypedArray } from './dtype.js';
import { formatTensor } from './format.js';
import { keep, StorageRef, tidy, trackTensor } from './memory.js';
import { contiguousStrides, fmt, normalizeAxis, type Shape, sizeOf } from './shape.js';
import { traceMark, traceOp } from './trace.js';

let nextId = 0;

/**
 * An n-dimensional array on a backend: a shape, a dtype and a strided view of a storage the backend
 * owns. Views (reshape of a contiguous tensor, transpose, permute, slice, expand) share the storage.
 *
 * Read values with `await t.data()` (every backend) or `t.dataSync()` (backends that can read
 * synchronously, such as the CPU). Free memory with `dispose()`, {@link tidy} or `using`.
 *
 * @example
 * ```ts
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = x.transpose(0, 1).mul(2); // [[2, 6], [4, 8]]
 * console.log(await y.data());
 * ```
 */
export class Tensor implements View {
  /** Brand for duck-typed checks across package copies. */
  readonly isTensor = true;
  /** Unique id, for debugging and graph inspection. */
  readonly id = nextId++;
  /** Whether gradients flow to this tensor. Set it on leaves (parameters) you want `.grad` for. */
  requiresGrad = false;
  /** Accumulated gradient after {@link Tensor.backward}, for leaves that require it. */
  grad: Tensor | null = null;
  /** The op that made this tensor, when it was recorded for autograd. */
  gradFn: GradNode | null = null;
  private ref: StorageRef | null;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(
    ref: StorageRef,
    /** Size of each dimension. */
    readonly shape: readonly number[],
    /** Element type. */
    readonly dtype: DType,
    /** Strides in elements (0 for broadcast dimensions). */
    readonly strides: readonly number[] = contiguousStrides(shape),
    /** Offset of the first element in the storage, in elements. */
    readonly offset = 0,
  ) {
    this.ref = ref;
    ref.retain();
    trackTensor(this, 1);
  }

  /** @internal Wraps a fresh contiguous storage written by a backend. */
  static fromStorage(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(new StorageRef(backend, storage), shape, dtype);
  }

  /** The backend that owns the storage. */
  get backend(): Backend {
    return this.live('backend').backend;
  }
  /** The storage handle (for backends and kernels). */
  get storage(): Storage {
    return this.live('storage').storage;
  }
  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }
  /** Number of dimensions (torch's name). */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }
  /** True once disposed. */
  get isDisposed(): boolean {
    return this.ref === null;
  }
  /** True when the elements are laid out row-major with no gaps from offset 0... (any offset). */
  get isContiguous(): boolean {
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== s) return false;
      s *= this.shape[i];
    }
    return true;
  }

  private live(what: string): StorageRef {
    if (!this.ref) {
      throw new Error(
        `Tensor#${this.id} ${fmt(this.shape)} ${this.dtype}: cannot read ${what}: the tensor was disposed`,
      );
    }
    return this.ref;
  }

  /** @internal A view of the same storage with another layout. */
  withLayout(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.live('view'), shape, this.dtype, strides, offset);
  }

  /** Values in row-major order as a new typed array (float16 is returned as float32). */
  async data(): Promise<TypedArray> {
    const c = this.contiguousForRead();
    try {
      const raw = await c.backend.read(c.storage, c.dtype);
      return this.finishRead(c, raw);
    } finally {
      if (c !== this) c.dispose();
    }
  }

  /** Synchronous {@link Tensor.data}; throws on backends that cannot read synchronously. */
  dataSync(): TypedArray {
    const c = this.contiguousForRead();
    try {
      const b = c.backend;
      if (!b.readSync) {
        throw new Error(`dataSync: the '${b.name}' backend reads asynchronously; use await tensor.data()`);
      }
      return this.finishRead(c, b.readSync(c.storage, c.dtype));
    } finally {
      if (c !== this) c.dispose();
    }
  }

  private contiguousForRead(): Tensor {
    this.live('data');
    const plain = this.isContiguous && this.offset === 0 && !isHalf(this.dtype);
    return plain ? this : noGrad(() => this.contiguous(isHalf(this.dtype) ? 'float32' : this.dtype));
  }

  private finishRead(c: Tensor, raw: TypedArray): TypedArray {
    const n = this.size;
    if (c === this && raw.length !== n) return raw.slice(0, n);
    return raw;
  }

  /** Values as nested JS arrays (numbers; booleans for bool). */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }
  /** Synchronous {@link Tensor.array}. */
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }
  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new Error(`item: expected a tensor with one element, got shape ${fmt(this.shape)}`);
    return (await this.data())[0];
  }
  /** Synchronous {@link Tensor.item}. */
  itemSync(): number {
    if (this.size !== 1)
      throw new Error(`itemSync: expected a tensor with one element, got shape ${fmt(this.shape)}`);
    return this.dataSync()[0];
  }

  /** Frees this tensor's hold on its storage. Safe to call twice. */
  dispose(): void {
    if (!this.ref) return;
    trackTensor(this, -1);
    this.ref.release();
    this.ref = null;
    this.gradFn = null;
  }
  /** `using t = ...` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Readable summary, truncated like numpy/torch for large tensors. */
  toString(): string {
    return formatTensor(this);
  }

  // ---- layout (views) ----

  /** A contiguous copy (or this tensor itself when already contiguous with the wanted dtype). */
  contiguous(dtype: DType = this.dtype): Tensor {
    assertDType(dtype, 'contiguous');
    if (dtype === this.dtype && this.isContiguous && this.offset === 0) return this;
    const mark = traceMark();
    const out = Tensor.fromStorage(this.backend, this.backend.copy(this, dtype), this.shape, dtype);
    if (mark >= 0) traceOp(mark, dtype === this.dtype ? 'identity' : 'cast', [this], out, { dtype });
    return record(out, 'contiguous', [this], (g) => [g]);
  }

  /** Converts to another dtype (gradients flow through float casts). */
  cast(dtype: DType): Tensor {
    assertDType(dtype, 'cast');
    if (dtype === this.dtype) return this;
    const mark = traceMark();
    const out = Tensor.fromStorage(this.backend, this.backend.copy(this, dtype), this.shape, dtype);
    if (mark >= 0) traceOp(mark, 'cast', [this], out, { dtype });
    if (!isFloat(dtype)) return out;
    return record(out, 'cast', [this], (g) => [g.cast(isHalf(this.dtype) ? 'float32' : this.dtype)]);
  }

  /**
   * Same elements in another shape; one dimension may be -1. A view when the layout allows,
   * otherwise a copy (like torch's reshape).
   */
  reshape(...shape: number[] | [number[]]): Tensor {
    const want = resolveShape(
      'reshape',
      this.shape,
      (Array.isArray(shape[0]) ? shape[0] : shape) as number[],
    );
    const mark = traceMark();
    const src: Tensor = this.isContiguous ? this : this.contiguous();
    const out = src.withLayout(want, contiguousStrides(want), src.offset);
    if (mark >= 0) traceOp(mark, 'reshape', [this], out, { shape: want });
    return record(out, 'reshape', [this], (g) => [g.reshape(this.shape as number[])]);
  }
  /** Alias of {@link Tensor.reshape}. */
  view(...shape: number[] | [number[]]): Tensor {
    return this.reshape(...shape);
  }
  /** Flattens dims `start..end` into one. */
  flatten(start = 0, end = -1): Tensor {
    if (this.rank === 0) return this.reshape([1]);
    const s = normalizeAxis('flatten', start, this.rank);
    const e = normalizeAxis('flatten', end, this.rank);
    const shape = [...this.shape.slice(0, s), sizeOf(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }

  /** Reorders dimensions (a view). */
  permute(...dims: number[] | [number[]]): Tensor {
    const order = (Array.isArray(dims[0]) ? dims[0] : dims) as number[];
    if (order.length !== this.rank) {
      throw new Error(
        `permute: expected ${this.rank} dims for shape ${fmt(this.shape)}, got [${order.join(',')}]`,
      );
    }
    const axes = order.map((d) => normalizeAxis('permute', d, this.rank));
    if (new Set(axes).size !== axes.length)
      throw new Error(`permute: dims [${order.join(',')}] repeat an axis`);
    const out = this.withLayout(
      axes.map((a) => this.shape[a]),
      axes.map((a) => this.strides[a]),
      this.offset,
    );
    const mark = traceMark();
    if (mark >= 0) traceOp(mark, 'permute', [this], out, { perm: axes });
    const inverse = new Array<number>(axes.length);
    axes.forEach((a, i) => {
      inverse[a] = i;
    });
    return record(out, 'permute', [this], (g) => [g.permute(inverse)]);
  }
  /** Swaps two dimensions (a view). */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const a = normalizeAxis('transpose', dim0, this.rank);
    const b = normalizeAxis('transpose', dim1, this.rank);
    const order = this.shape.map((_, i) => i);
    order[a] = b;
    order[b] = a;
    return this.permute(order);
  }
  /** Transpose of the last two dims. */
  get T(): Tensor {
    return this.transpose(-2, -1);
  }

  /** Inserts a dimension of size 1 at `dim` (a view). */
  unsqueeze(dim: number): Tensor {
    const d = normalizeAxis('unsqueeze', dim, this.rank + 1);
    const shape = [...this.shape];
    shape.splice(d, 0, 1);
    return this.reshape(shape);
  }
  /** Removes dimensions of size 1 (all of them, or only `dim`). */
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return this.reshape(this.shape.filter((s) => s !== 1));
    const d = normalizeAxis('squeeze', dim, this.rank);
    if (this.shape[d] !== 1) return this;
    return this.reshape(this.shape.filter((_, i) => i !== d));
  }

  /** Broadcasts to a larger shape without copying (stride 0); -1 keeps a dimension. */
  expand(...shape: number[] | [number[]]): Tensor {
    const want = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    if (want.length < this.rank) {
      throw new Error(`expand: target ${fmt(want)} has fewer dims than the tensor ${fmt(this.shape)}`);
    }
    const lead = want.length - this.rank;
    const strides: number[] = [];
    const outShape: number[] = [];
    for (let i = 0; i < want.length; i++) {
      const src = i < lead ? 1 : this.shape[i - lead];
      const w = want[i] === -1 ? src : want[i];
      if (src !== w && src !== 1) {
        throw new Error(
          `expand: cannot expand ${fmt(this.shape)} to ${fmt(want)} (dimension ${i}: ${src} -> ${w}); only size-1 dims expand`,
        );
      }
      outShape.push(w);
      strides.push(i < lead || (src === 1 && w !== 1) ? 0 : this.strides[i - lead]);
    }
    const out = this.withLayout(outShape, strides, this.offset);
    const mark = traceMark();
    if (mark >= 0) traceOp(mark, 'expand', [this], out, { shape: outShape });
    return record(out, 'expand', [this], (g) => [reduceToShape(g, this.shape)]);
  }

  /**
   * `length` elements of `dim` from `start` (a view), as torch.narrow. A negative `start` counts
   * from the end; a range that does not fit the dim is an error naming it.
   */
  narrow(dim: number, start: number, length: number): Tensor {
    if (this.rank === 0) throw new Error('narrow: cannot narrow a 0-d tensor (it has no dims)');
    const d = normalizeAxis('narrow', dim, this.rank);
    const n = this.shape[d];
    if (!Number.isInteger(start) || start < -n || start > n) {
      throw new RangeError(
        `narrow: start ${start} is out of range for dim ${dim} of size ${n} (expected an integer in ${-n}..${n})`,
      );
    }
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`narrow: length must be a non-negative integer, got ${length}`);
    }
    const s = start < 0 ? start + n : start;
    if (s + length > n) {
      throw new RangeError(
        `narrow: start ${start} + length ${length} exceeds dim ${dim} of size ${n} (the range ${s}..${s + length} must end by ${n})`,
      );
    }
    return this.sliceDim(d, s, s + length, 1);
  }

  /** Python-style slicing along one dim (a view): `x.sliceDim(1, 0, 10, 2)` is `x[:, 0:10:2]`. */
  sliceDim(dim: number, start = 0, end?: number, step = 1): Tensor {
    const d = normalizeAxis('slice', dim, this.rank);
    const n = this.shape[d];
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`slice: step must be a positive integer, got ${step}`);
    for (const [k, v] of [
      ['start', start],
      ['end', end ?? n],
    ] as const) {
      if (!Number.isInteger(v)) throw new TypeError(`slice: ${k} must be an integer, got ${v}`);
    }
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = clampIdx(start);
    const e = Math.max(clampIdx(end ?? n), s);
    const len = Math.ceil((e - s) / step);
    const shape = [...this.shape];
    shape[d] = len;
    const strides = [...this.strides];
    strides[d] = this.strides[d] * step;
    const out = this.withLayout(shape, strides, this.offset + s * this.strides[d]);
    const mark = traceMark();
    if (mark >= 0) traceOp(mark, 'slice', [this], out, { dim: d, start: s, end: e, step });
    return record(out, 'slice', [this], (g) => [sliceBackward(g, this.shape, d, s, step)]);
  }

  /** Element `i` along dim 0 with that dim removed (a view), like `x[i]`. */
  at(i: number): Tensor {
    if (this.rank === 0) throw new Error('at: cannot index a scalar (rank-0) tensor');
    const n = this.shape[0];
    const j = i < 0 ? i + n : i;
    if (!Number.isInteger(j) || j < 0 || j >= n)
      throw new RangeError(`at: index ${i} is out of range for dim 0 of size ${n}`);
    return this.sliceDim(0, j, j + 1).squeeze(0);
  }

  // ---- autograd ----

  /**
   * Back-propagates from this tensor: accumulates d(this)/d(leaf) into `.grad` of every leaf that
   * requires a gradient. A non-scalar output needs the upstream gradient `grad`.
   */
  backward(grad?: Tensor): void {
    backward(this, grad);
  }
  /** A tensor sharing this storage with no graph (like torch's detach). */
  detach(): Tensor {
    const out = this.withLayout(this.shape, this.strides, this.offset);
    const mark = traceMark();
    if (mark >= 0) traceOp(mark, 'identity', [this], out);
    return out;
  }
  /** Marks this tensor as needing a gradient; returns it. */
  requiresGrad_(value = true): this {
    if (value && !isFloat(this.dtype))
      throw new Error(`requiresGrad_: only float tensors can require gradients, got ${this.dtype}`);
    this.requiresGrad = value;
    return this;
  }
}

/** Nested arrays of numbers (or booleans), as returned by {@link Tensor.array}. */
export type NestedArray = number | boolean | NestedArray[];

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]);
  const build = (dim: number, off: number): NestedArray[] => {
    const n = shape[dim];
    const step = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++)
      out.push(dim === shape.length - 1 ? conv(data[off + i]) : build(dim + 1, off + i * step));
    return out;
  };
  return build(0, 0);
}

function resolveShape(op: string, from: Shape, shape: readonly number[]): number[] {
  const n = sizeOf(from);
  let infer = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be -1, got ${fmt(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid size ${d} in ${fmt(shape)}`);
    } else known *= d;
  });
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || n % known !== 0)
      throw new Error(`${op}: cannot infer -1 in ${fmt(shape)} for ${n} elements ${fmt(from)}`);
    out[infer] = n / known;
  } else if (known !== n) {
    throw new Error(
      `${op}: cannot reshape ${fmt(from)} (${n} elements) to ${fmt(shape)} (${known} elements)`,
    );
  }
  return out;
}

/** Sums `g` down to `shape` (undoes broadcasting), for gradients. */
export function reduceToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const b = g.backend;
  const summed = Tensor.fromStorage(
    b,
    b.reduce('sum', g, axes, 'float32'),
    g.shape.map((s, i) => (axes.includes(i) ? 1 : s)),
    'float32',
  );
  return summed.reshape([...shape]);
}

function sliceBackward(
  g: Tensor,
  shape: readonly number[],
  dim: number,
  start: number,
  step: number,
): Tensor {
  const b = g.backend;
  const out = Tensor.fromStorage(b, b.fill(shape, 0, 'float32'), shape, 'float32');
  const strides = [...out.strides];
  strides[dim] *= step;
  b.write(
    { storage: out.storage, dtype: 'float32', shape: g.shape, strides, offset: start * out.strides[dim] },
    g,
  );
  return out;
}

// ---- reverse-mode engine ----

function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error(
      'backward: the tensor does not require a gradient (no input had requiresGrad set, or it was made under noGrad)',
    );
  }
  if (!grad && root.size !== 1) {
    throw new Error(
      `backward: grad can be implicitly created only for one-element outputs; got shape ${fmt(root.shape)}`,
    );
  }
  // Topological order (iterative DFS).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next && !seen.has(next)) stack.push([next, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  const grads = new Map<Tensor, Tensor>();
  noGrad(() => {
    const b = root.backend;
    grads.set(root, grad ?? Tensor.fromStorage(b, b.fill(root.shape, 1, 'float32'), root.shape, 'float32'));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      const node = t.gradFn;
      if (!node) {
        // A leaf: accumulate into .grad.
        if (t.grad) {
          const sum = addGrad(t.grad, g);
          t.grad.dispose();
          t.grad = keep(sum);
        } else {
          t.grad = keep(g.shape.length === t.shape.length ? g : g.reshape(t.shape as number[]));
        }
        continue;
      }
      // The rule's intermediates live in a scope: only the gradients it returns survive it.
      const inGrads = tidy(() => node.backward(g));
      if (g !== grad && !inGrads.includes(g)) g.dispose();
      node.inputs.forEach((input, k) => {
        // One tensor handed to two inputs (add's [g, g]) gets its own handle per input, so the
        // first consumer's dispose does not free the other's gradient.
        const ig = inGrads[k] && inGrads.indexOf(inGrads[k]) < k ? inGrads[k]!.detach() : inGrads[k];
        if (!input || !ig) return;
        if (ig.shape.length !== input.shape.length || ig.shape.some((s, j) => s !== input.shape[j])) {
          throw new Error(
            `backward: ${node.name} produced a gradient of shape ${fmt(ig.shape)} for an input of shape ${fmt(input.shape)}`,
          );
        }
        const prev = grads.get(input);
        grads.set(input, prev ? addGrad(prev, ig) : ig);
      });
    }
  });
  // Free the graph, as torch does after backward.
  for (const t of order) t.gradFn = null;
}

function addGrad(a: Tensor, b: Tensor): Tensor {
  const be = a.backend;
  return Tensor.fromStorage(be, be.binary('add', a, b, a.shape, 'float32', 'float32'), a.shape, 'float32');
}
