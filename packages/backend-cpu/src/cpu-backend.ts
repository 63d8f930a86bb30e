import {
  type AttentionParams,
  allocArray,
  type Backend,
  type BinaryOp,
  type BlockSparseAttentionParams,
  type Conv2dParams,
  type DType,
  halfDecoder,
  halfEncoder,
  isHalf,
  type LinearActivation,
  type Operand,
  type ReduceOp,
  type Storage,
  sizeOf,
  type TypedArray,
  type UnaryOp,
  type View,
} from '@attnkit/tensor-core';
import { getHeap, type WasmHeap } from './heap.js';
import { attentionKernel } from './kernels/attention.js';
import {
  ATTN_BQ,
  ATTN_PARAMS,
  attentionScratchBytes,
  writeAttentionParams,
} from './kernels/attention-threads.js';
import { type ConvProduct, conv2dKernel, type StridedF32 } from './kernels/conv2d.js';
import { CONV_PARAMS, type ConvCall, writeConvParams } from './kernels/conv2d-threads.js';
import { gemmScratchBytes, matmulKernel } from './kernels/matmul.js';
import {
  GEMV_MAX_ROWS,
  gemvChunks,
  type HeapProduct,
  planPackB,
  planProduct,
} from './kernels/matmul-threads.js';
import { layerNormKernel, rmsNormKernel } from './kernels/norm.js';
import { softmaxKernel } from './kernels/softmax.js';
import { erf, gelu, geluTanh, roundHalfEven, sigmoid, softplus } from './math.js';
import { ACTIVATIONS, availableCores, gemmModule, type Task, WorkerPool } from './pool.js';
import { forEachRow, offsetsOf } from './strided.js';

/**
 * A CPU storage: a typed array, either in the heap (the shared WebAssembly memory that kernels and
 * worker threads read in place; `ptr` is its byte offset there) or on the JavaScript heap (`ptr` -1).
 */
export class CpuStorage implements Storage {
  /** Bumped by every in-place write ({@link CpuBackend.write}): a packed copy made at another version is stale. */
  version = 0;
  /** The packed copy of this storage as a GEMM's B (or, before one is made, the use that asks for it). */
  pack: PackedWeight | null = null;
  constructor(
    readonly data: TypedArray,
    /** Byte offset of `data` in the heap's memory, or -1. */
    public ptr = -1,
  ) {}
  get byteLength(): number {
    return this.data.byteLength;
  }
}

/**
 * A weight packed for gemm.wat's gemm_packed ({@link CpuBackendOptions.packWeights}): which view
 * of the storage (`key`: byte offset, strides, k, n) at which {@link CpuStorage.version}, and the
 * packed block (`ptr` 0 while only one product has used the view: the pack is made at the second).
 */
interface PackedWeight {
  key: string;
  version: number;
  ptr: number;
  bytes: number;
  n8: number;
}

/** Float arrays of at least this many bytes live in the heap (smaller ones are cheaper on the JS heap). */
const HEAP_MIN_BYTES = 1024;
const heap: WasmHeap | null = getHeap();

type HeapDType = 'float32' | 'float16' | 'bfloat16' | 'int8';
const HEAP_BYTES: Record<HeapDType, number> = { float32: 4, float16: 2, bfloat16: 2, int8: 1 };
const isHeapDType = (d: DType): d is HeapDType =>
  d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'int8';

/** A heap storage of `n` float32 (float16, bfloat16, int8) elements, zeroed unless `zero` is false. */
function heapStorage(dtype: HeapDType, n: number, zero = true): CpuStorage {
  const h = heap as WasmHeap;
  const bytes = Math.max(n, 1) * HEAP_BYTES[dtype];
  const ptr = h.alloc(bytes);
  const data = dtype === 'float32' ? h.f32(ptr, n) : isHalf(dtype) ? h.u16(ptr, n) : h.i8(ptr, n);
  if (zero) data.fill(0);
  const st = new CpuStorage(data, ptr);
  h.track(st, ptr, bytes);
  return st;
}

/** A zeroed storage of `n` elements: in the heap for large float arrays, else a plain typed array. */
function alloc(dtype: DType, n: number): CpuStorage {
  if (heap && isHeapDType(dtype) && n * HEAP_BYTES[dtype] >= HEAP_MIN_BYTES) {
    return heapStorage(dtype, n);
  }
  return new CpuStorage(allocArray(dtype, n));
}

let pool: WorkerPool | null | undefined;
/** The kernels' runner over the heap (the calling thread plus workers), or null without a heap. */
function getPool(): WorkerPool | null {
  if (pool !== undefined) return pool;
  pool = null;
  const mod = heap ? gemmModule(true) : null;
  if (heap && mod) pool = new WorkerPool(heap.memory, mod);
  return pool;
}
/** gemm workspaces per thread index, allocated on first use and kept. */
const workspaces: number[] = [];
/** Thread t's gemm workspace. */
function gemmWorkspace(p: WorkerPool, t: number): number {
  if (workspaces[t] === undefined) workspaces[t] = (heap as WasmHeap).alloc(p.kernels.gemm_ws_bytes());
  return workspaces[t];
}

/** Options of {@link CpuBackend}. */
export interface CpuBackendOptions {
  /**
   * Threads a kernel may use, the calling one included: an integer from 1 to the cores available
   * (os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers), which is the
   * default. Threads need SharedArrayBuffer (Node; browsers when the page is cross-origin isolated);
   * without it the backend runs on one thread whatever this says.
   */
  threads?: number;
  /**
   * Pack weights once for the GEMM (default false), as onnxruntime prepacks constant weights: the
   * B operand of a product with 8 rows or more (`x @ W.T` of a linear layer, a tied LM head) is
   * packed into the kernel's panel layout the second time the same view of an unchanged storage
   * is used, and later products read the packed copy instead of packing B again (prefill and
   * batched inference get faster; decoding, which reads weights in place, is unchanged). The
   * packed copy costs the weight's float32 size again (columns rounded up to 8) in the heap,
   * reported in `memory()`'s overhead bytes and {@link CpuBackend.packedWeightBytes}, and is freed
   * with the weight. Any in-place write to the weight (optimizer steps, `copy_`, loading a state
   * dict into it) makes the packed copy stale, and the next product packs again; results are the
   * same bit for bit with or without packing. Can be changed later through
   * {@link CpuBackend.packWeights}.
   */
  packWeights?: boolean;
}

const arr = (v: View): TypedArray => (v.storage as CpuStorage).data;

type UnaryFn = (x: number) => number;
const UNARY: Record<UnaryOp, UnaryFn> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: Math.sign,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => Math.max(x, 0),
  gelu,
  gelu_tanh: geluTanh,
  silu: (x) => x * sigmoid(x),
  softplus,
  erf,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  reciprocal: (x) => 1 / x,
  not: (x) => (x ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
};

type BinaryFn = (a: number, b: number) => number;
const BINARY: Record<BinaryOp, BinaryFn> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  mod: (a, b) => {
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  },
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  and: (a, b) => (a && b ? 1 : 0),
  or: (a, b) => (a || b ? 1 : 0),
};

/**
 * The CPU backend: every primitive of the Backend interface over typed arrays. Reads are
 * synchronous. Kernels walk strided views row by row, so views cost nothing.
 */
export class CpuBackend implements Backend {
  readonly interfaceVersion = 1 as const;
  readonly name = 'cpu';
  /** Threads kernels use, the calling one included (1 where shared memory is unavailable). */
  readonly threads: number;
  /**
   * Whether products pack their weights once ({@link CpuBackendOptions.packWeights}); setting it
   * false stops making and using packed copies (those made stay until their weights are freed).
   */
  packWeights: boolean;

  constructor(options: CpuBackendOptions = {}) {
    const cores = availableCores();
    const t = options.threads ?? cores;
    if (!Number.isInteger(t) || t < 1 || t > cores) {
      throw new RangeError(
        `CpuBackend: threads must be an integer from 1 to ${cores} (the cores available), got ${String(t)}`,
      );
    }
    this.threads = getPool() ? t : 1;
    this.packWeights = options.packWeights ?? false;
  }

  /** Bytes of the heap that packed weights hold ({@link CpuBackendOptions.packWeights}), in every CPU backend of this thread. */
  get packedWeightBytes(): number {
    return heap ? heap.attachedBytes : 0;
  }

  /** True when products run on the heap's kernels (shared memory available): weights are read in place. */
  get sharedMemory(): boolean {
    return getPool() !== null;
  }

  /** Starts the worker threads (if not yet) and resolves once they all wait for work. */
  async ready(): Promise<void> {
    const p = getPool();
    if (!p || this.threads < 2) return;
    p.ensureWorkers(this.threads - 1);
    await p.whenReady(this.threads - 1);
  }

  /** Stops the worker threads of every CPU backend in this thread (they restart on the next large product). */
  async terminateThreads(): Promise<void> {
    await pool?.terminate();
  }

  upload(data: TypedArray, dtype: DType): Storage {
    if (
      heap &&
      isHeapDType(dtype) &&
      data.byteLength >= HEAP_MIN_BYTES &&
      data.BYTES_PER_ELEMENT === HEAP_BYTES[dtype]
    ) {
      const st = heapStorage(dtype, data.length, false);
      st.data.set(data);
      return st;
    }
    return new CpuStorage(data);
  }
  async read(storage: Storage, dtype: DType): Promise<TypedArray> {
    return this.readSync(storage, dtype);
  }
  readSync(storage: Storage, _dtype: DType): TypedArray {
    return (storage as CpuStorage).data.slice();
  }
  free(storage: Storage): void {
    // Heap blocks go back to the heap now; plain typed arrays are left to the garbage collector.
    const st = storage as CpuStorage;
    dropPack(st);
    if (st.ptr >= 0 && heap) {
      heap.untrack(st, st.ptr, st.data.byteLength || st.data.BYTES_PER_ELEMENT);
      st.ptr = -1;
    }
  }

  fill(shape: readonly number[], value: number, dtype: DType): Storage {
    const st = alloc(dtype, sizeOf(shape));
    const v = isHalf(dtype) ? halfEncoder(dtype)(value) : dtype === 'bool' ? (value ? 1 : 0) : value;
    if (v !== 0) st.data.fill(v);
    return st;
  }

  copy(x: View, to: DType): Storage {
    const n = sizeOf(x.shape);
    const result = alloc(to, n);
    const out = result.data;
    const src = arr(x);
    const conv = converter(x.dtype, to);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    let k = 0;
    const hb =
      !conv && st === 1 && src.constructor === out.constructor // same element type: bytes move as they are
        ? heapBytesOf(x.storage as CpuStorage, result)
        : null;
    if (hb) {
      // both in the heap: rows moved by copyWithin over one view of the memory (no view per row)
      const bpe = src.BYTES_PER_ELEMENT;
      const [from, to] = [(x.storage as CpuStorage).ptr, result.ptr];
      forEachRow(x.shape, [x], (o) => {
        hb.copyWithin(to + k * bpe, from + o[0] * bpe, from + (o[0] + last) * bpe);
        k += last;
      });
    } else if (!conv && st === 1) {
      forEachRow(x.shape, [x], (o) => {
        out.set(src.subarray(o[0], o[0] + last), k);
        k += last;
      });
    } else {
      forEachRow(x.shape, [x], (o) => {
        let off = o[0];
        if (conv) for (let i = 0; i < last; i++, off += st) out[k++] = conv(src[off]);
        else for (let i = 0; i < last; i++, off += st) out[k++] = src[off];
      });
    }
    return result;
  }

  write(dst: View, src: Operand): void {
    (dst.storage as CpuStorage).version++; // a packed copy of it is stale now
    const out = arr(dst);
    const last = dst.shape.length ? dst.shape[dst.shape.length - 1] : 1;
    const sd = dst.shape.length ? dst.strides[dst.strides.length - 1] : 0;
    if (typeof src === 'number') {
      const v = isHalf(dst.dtype) ? halfEncoder(dst.dtype)(src) : src;
      forEachRow(dst.shape, [dst], (o) => {
        let off = o[0];
        for (let i = 0; i < last; i++, off += sd) out[off] = v;
      });
      return;
    }
    const s = arr(src);
    const ss = src.shape.length ? src.strides[src.strides.length - 1] : 0;
    const conv = converter(src.dtype, dst.dtype);
    const hb =
      !conv && sd === 1 && ss === 1 && s.constructor === out.constructor
        ? heapBytesOf(src.storage as CpuStorage, dst.storage as CpuStorage)
        : null;
    if (hb) {
      // rows contiguous on both sides, both in the heap (a KV cache append, concat): each row
      // moved by copyWithin over one view of the memory
      const bpe = out.BYTES_PER_ELEMENT;
      const [from, to] = [(src.storage as CpuStorage).ptr, (dst.storage as CpuStorage).ptr];
      forEachRow(dst.shape, [dst, src], (o) =>
        hb.copyWithin(to + o[0] * bpe, from + o[1] * bpe, from + (o[1] + last) * bpe),
      );
      return;
    }
    if (!conv && sd === 1 && ss === 1 && last >= 16 && out.constructor === s.constructor) {
      // contiguous rows of the same element type (a KV cache's new position): block copies
      forEachRow(dst.shape, [dst, src], (o) => out.set(s.subarray(o[1], o[1] + last), o[0]));
      return;
    }
    forEachRow(dst.shape, [dst, src], (o) => {
      let d = o[0];
      let q = o[1];
      if (conv) for (let i = 0; i < last; i++, d += sd, q += ss) out[d] = conv(s[q]);
      else for (let i = 0; i < last; i++, d += sd, q += ss) out[d] = s[q];
    });
  }

  unary(op: UnaryOp, x: View, outDtype: DType): Storage {
    const f = UNARY[op];
    const result = alloc(outDtype, sizeOf(x.shape));
    const out = result.data;
    const src = arr(x);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    let k = 0;
    forEachRow(x.shape, [x], (o) => {
      let off = o[0];
      for (let i = 0; i < last; i++, off += st) out[k++] = f(src[off]);
    });
    return result;
  }

  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    _compute: DType,
    outDtype: DType,
  ): Storage {
    const n = sizeOf(outShape);
    const code = BINARY_F32.indexOf(op);
    const p = code >= 0 && outDtype === 'float32' ? getPool() : null;
    if (p && typeof a !== 'number' && typeof b !== 'number' && n * 4 >= HEAP_MIN_BYTES) {
      const pa = denseF32(a, outShape);
      const pb = denseF32(b, outShape);
      if (pa !== null && pb !== null) {
        // two dense float32 operands in the heap (a residual connection): gemm.wat's binary_f32
        const out = heapStorage('float32', n, false);
        p.kernels.binary_f32(code, pa, pb, out.ptr, n);
        return out;
      }
    }
    const result = alloc(outDtype, n);
    const out = result.data;
    const last = outShape.length ? outShape[outShape.length - 1] : 1;
    const va = typeof a === 'number' ? null : a;
    const vb = typeof b === 'number' ? null : b;
    const sa = va?.shape.length ? va.strides[va.strides.length - 1] : 0;
    const sb = vb?.shape.length ? vb.strides[vb.strides.length - 1] : 0;
    const da = va ? arr(va) : null;
    const db = vb ? arr(vb) : null;
    const ca = a as number;
    const cb = b as number;
    const views = [
      va ?? { strides: outShape.map(() => 0), offset: 0 },
      vb ?? { strides: outShape.map(() => 0), offset: 0 },
    ];
    let k = 0;
    // Hot ops get inlined loops; the rest go through the function table.
    if (op === 'add' || op === 'mul' || op === 'sub' || op === 'div') {
      forEachRow(outShape, views, (o) => {
        let p = o[0];
        let q = o[1];
        if (da && db) {
          if (op === 'add') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] + db[q];
          else if (op === 'mul') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] * db[q];
          else if (op === 'sub') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] - db[q];
          else for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] / db[q];
        } else if (da) {
          if (op === 'add') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] + cb;
          else if (op === 'mul') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] * cb;
          else if (op === 'sub') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] - cb;
          else for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] / cb;
        } else if (db) {
          if (op === 'add') for (let i = 0; i < last; i++, q += sb) out[k++] = ca + db[q];
          else if (op === 'mul') for (let i = 0; i < last; i++, q += sb) out[k++] = ca * db[q];
          else if (op === 'sub') for (let i = 0; i < last; i++, q += sb) out[k++] = ca - db[q];
          else for (let i = 0; i < last; i++, q += sb) out[k++] = ca / db[q];
        } else {
          const v = BINARY[op](ca, cb);
          for (let i = 0; i < last; i++) out[k++] = v;
        }
      });
    } else {
      const f = BINARY[op];
      forEachRow(outShape, views, (o) => {
        let p = o[0];
        let q = o[1];
        for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = f(da ? da[p] : ca, db ? db[q] : cb);
      });
    }
    if (outDtype === 'int32' && (op === 'div' || op === 'pow')) {
      // never reached: core computes these in float32
    }
    return result;
  }

  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage {
    const result = alloc(dtype, sizeOf(outShape));
    const out = result.data;
    const c = arr(cond);
    const va = typeof a === 'number' ? null : a;
    const vb = typeof b === 'number' ? null : b;
    const da = va ? arr(va) : null;
    const db = vb ? arr(vb) : null;
    const zero = { strides: outShape.map(() => 0), offset: 0 };
    const last = outShape.length ? outShape[outShape.length - 1] : 1;
    const lastStride = (v: { strides: readonly number[] } | null) =>
      v?.strides.length ? v.strides[v.strides.length - 1] : 0;
    const sc = lastStride(cond);
    const sa = lastStride(va);
    const sb = lastStride(vb);
    let k = 0;
    forEachRow(outShape, [cond, va ?? zero, vb ?? zero], (o) => {
      let r = o[0];
      let p = o[1];
      let q = o[2];
      for (let i = 0; i < last; i++, r += sc, p += sa, q += sb) {
        out[k++] = c[r] ? (da ? da[p] : (a as number)) : db ? db[q] : (b as number);
      }
    });
    return result;
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): Storage {
    const src = arr(x);
    const keptDims = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outer = {
      shape: keptDims.map((i) => x.shape[i]),
      strides: keptDims.map((i) => x.strides[i]),
      offset: x.offset,
    };
    const inner = { shape: axes.map((i) => x.shape[i]), strides: axes.map((i) => x.strides[i]), offset: 0 };
    const base = offsetsOf(outer);
    const rel = offsetsOf(inner);
    const out = allocArray(outDtype, base.length);
    const r = rel.length;
    for (let i = 0; i < base.length; i++) {
      const o = base[i];
      switch (op) {
        case 'sum': {
          let s = 0;
          for (let j = 0; j < r; j++) s += src[o + rel[j]];
          out[i] = s;
          break;
        }
        case 'prod': {
          let s = 1;
          for (let j = 0; j < r; j++) s *= src[o + rel[j]];
          out[i] = s;
          break;
        }
        case 'max': {
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < r; j++) {
            const v = src[o + rel[j]];
            if (v > m || Number.isNaN(v)) {
              m = v;
              if (Number.isNaN(v)) break;
            }
          }
          out[i] = m;
          break;
        }
        case 'min': {
          let m = Number.POSITIVE_INFINITY;
          for (let j = 0; j < r; j++) {
            const v = src[o + rel[j]];
            if (v < m || Number.isNaN(v)) {
              m = v;
              if (Number.isNaN(v)) break;
            }
          }
          out[i] = m;
          break;
        }
        case 'argmax':
        case 'argmin': {
          let best = 0;
          let bv = src[o + rel[0]];
          for (let j = 1; j < r && !Number.isNaN(bv); j++) {
            const v = src[o + rel[j]];
            if (Number.isNaN(v) || (op === 'argmax' ? v > bv : v < bv)) {
              bv = v;
              best = j;
            }
          }
          out[i] = best;
          break;
        }
      }
    }
    return new CpuStorage(out);
  }

  /**
   * WebAssembly memory beyond live storages: the heap's free blocks, kernel workspaces and control
   * words, plus the packing scratch of the single-threaded kernel used without shared memory.
   */
  memoryOverhead(): number {
    return gemmScratchBytes() + (heap ? heap.byteLength - heap.storageBytes : 0);
  }

  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage {
    return this.product(a, b, batch, m, k, n, null, null);
  }

  /** Fused `activation(a @ b + bias)`: the bias and activation are applied to each thread's rectangle of the output. */
  linear(
    a: View,
    b: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage {
    return this.product(a, b, batch, m, k, n, bias, activation);
  }

  private product(
    a: View,
    b: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage {
    const p = getPool();
    if (p && m * n * k >= HEAP_PRODUCT_MIN_WORK)
      return this.heapProduct(p, a, b, batch, m, k, n, bias, activation);
    const st = this.plainMatmul(a, b, batch, m, k, n);
    if (bias || activation) epilogue(st.data as Float32Array, m * sizeOf(batch), n, bias, activation);
    return st;
  }

  /** Products on the heap's kernels, split across threads; operands outside the heap are copied in first. */
  private heapProduct(
    p: WorkerPool,
    a: View,
    b: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage {
    const h = heap as WasmHeap;
    const nb = sizeOf(batch);
    const out = heapStorage('float32', nb * m * n, false);
    const rank = batch.length;
    const ao = offsetsOf({ shape: batch, strides: a.strides.slice(0, rank), offset: a.offset });
    const bo = offsetsOf({ shape: batch, strides: b.strides.slice(0, rank), offset: b.offset });
    const temps: [number, number][] = [];
    const biasOp = bias ? inHeap(h, bias, bias.offset, 1, n, 0, bias.strides[0] ?? 1, temps, true) : null;
    let threads = 1;
    if (this.threads > 1 && m * n * k >= 2 * MIN_SPLIT_WORK) {
      p.ensureWorkers(this.threads - 1);
      threads = 1 + p.readyWorkers(this.threads - 1);
    }
    const ws = (t: number) => {
      if (workspaces[t] === undefined) workspaces[t] = h.alloc(p.kernels.gemm_ws_bytes());
      return workspaces[t];
    };
    // one B for every batch entry (a weight): packed once when packWeights asks for it
    const oneB = b.strides.slice(0, rank).every((s) => s === 0);
    try {
      for (let i = 0; i < nb; i++) {
        const A = inHeap(h, a, ao[i], m, k, a.strides[rank], a.strides[rank + 1], temps);
        const B = inHeap(h, b, bo[i], k, n, b.strides[rank], b.strides[rank + 1], temps);
        const packed =
          this.packWeights && oneB && !B.temp && m >= GEMV_MAX_ROWS
            ? packedWeight(p, b.storage as CpuStorage, B, k, n, threads)
            : undefined;
        const prod: HeapProduct = {
          a: A.ptr,
          sam: A.s0,
          sak: A.s1,
          b: B.ptr,
          sbk: B.s0,
          sbn: B.s1,
          c: out.ptr + i * m * n * 4,
          m,
          k,
          n,
          bias: biasOp ? biasOp.ptr : 0,
          act: activation ? ACTIVATIONS.indexOf(activation) : 0,
          packed,
        };
        const tasks: Task[] = planProduct(prod, threads, ws);
        p.run(tasks);
        for (const [ptr, bytes] of temps.splice(biasOp?.temp ? 1 : 0)) h.release(ptr, bytes);
      }
    } finally {
      for (const [ptr, bytes] of temps) h.release(ptr, bytes);
    }
    return out;
  }

  /**
   * `activation(a @ Wᵀ + bias)` for a float16 or bfloat16 W [n, k] (contiguous): few rows run
   * `gemv_h` (weights widened to float32 inside the kernel, read in place); more rows widen W into
   * a float32 block (`widen_h`, split across threads) and run the GEMM. Float32 accumulation.
   */
  linear16(
    a: View,
    w: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage {
    const p = getPool();
    const nb = sizeOf(batch);
    const kind = w.dtype === 'bfloat16' ? 1 : 0;
    const denseView = (storage: CpuStorage): View => ({
      storage,
      dtype: 'float32',
      shape: [...batch, k, n],
      strides: [...batch.map(() => 0), 1, k],
      offset: 0,
    });
    if (!p || m * n * k < HEAP_PRODUCT_MIN_WORK) {
      // Without the heap: widen on the host, then the plain product and epilogue.
      const src = arr(w);
      const dec = halfDecoder(w.dtype as 'float16' | 'bfloat16');
      const dense = new Float32Array(n * k);
      for (let i = 0; i < n * k; i++) dense[i] = dec(src[w.offset + i]);
      const st = this.plainMatmul(a, denseView(new CpuStorage(dense)), batch, m, k, n);
      if (bias || activation) epilogue(st.data as Float32Array, m * nb, n, bias, activation);
      return st;
    }
    const h = heap as WasmHeap;
    const temps: [number, number][] = [];
    try {
      const W = inHeapHalves(h, w, n * k, temps);
      return this.compressedLinear(p, a, batch, m, k, n, bias, activation, temps, {
        widen: (r0, rows, dst) => ({ kernel: 'widen_h', args: [W + r0 * k * 2, k, kind, dst, rows, k] }),
        gemv: (A, j0, nn, c, b) => ({
          kernel: 'gemv_h',
          args: [A.ptr, A.s0, W + j0 * k * 2, k, k, kind, c, n, m, nn, b],
        }),
        columns: 4,
      });
    } finally {
      for (const [ptr, bytes] of temps) h.release(ptr, bytes);
    }
  }

  /**
   * `activation(a @ Wᵀ + bias)` for int8 W [n, k] with float32 scales [n, k / groupSize]: few rows
   * run `gemv_q8` (weights widened inside the kernel, read in place); more rows dequantise W into a
   * float32 block (`dequant_q8`, split across threads) and run the GEMM.
   */
  linearInt8(
    a: View,
    w: View,
    scales: View,
    groupSize: number,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage {
    const p = getPool();
    const groups = k / groupSize;
    const nb = sizeOf(batch);
    const denseView = (storage: CpuStorage): View => ({
      storage,
      dtype: 'float32',
      shape: [...batch, k, n],
      strides: [...batch.map(() => 0), 1, k],
      offset: 0,
    });
    if (!p || m * n * k < HEAP_PRODUCT_MIN_WORK) {
      // Without the heap: dequantise on the host, then the plain product and epilogue.
      const q = arr(w);
      const s = arr(scales);
      const dense = new Float32Array(n * k);
      for (let j = 0; j < n; j++) {
        for (let c = 0; c < k; c++) {
          dense[j * k + c] =
            q[w.offset + j * k + c] * s[scales.offset + j * groups + Math.floor(c / groupSize)];
        }
      }
      const st = this.plainMatmul(a, denseView(new CpuStorage(dense)), batch, m, k, n);
      if (bias || activation) epilogue(st.data as Float32Array, m * nb, n, bias, activation);
      return st;
    }
    const h = heap as WasmHeap;
    const temps: [number, number][] = [];
    try {
      const W = inHeapBytes(h, w, n * k, temps);
      const S = inHeap(h, scales, scales.offset, n, groups, groups, 1, temps, true);
      return this.compressedLinear(p, a, batch, m, k, n, bias, activation, temps, {
        widen: (r0, rows, dst) => ({
          kernel: 'dequant_q8',
          args: [W + r0 * k, k, S.ptr + r0 * groups * 4, groups, groupSize, dst, rows],
        }),
        gemv: (A, j0, nn, c, b) => ({
          kernel: 'gemv_q8',
          args: [A.ptr, A.s0, W + j0 * k, k, S.ptr + j0 * groups * 4, groups, groupSize, c, n, m, nn, b],
        }),
        columns: 8, // whole blocks of gemv_q8's eight rows
      });
    } finally {
      for (const [ptr, bytes] of temps) h.release(ptr, bytes);
    }
  }

  /**
   * The heap path shared by {@link linear16} and {@link linearInt8}, for a weight W [n, k] stored
   * compressed in the heap: with GEMV_MAX_ROWS rows or more, `widen` tasks (split by rows of W
   * across threads) write W as float32 into a block and the GEMM runs on it; with fewer rows, `gemv`
   * tasks read W in place, split by output columns in multiples of `columns`, the epilogue's
   * activation applied per task. Temporaries go to `temps` (released by the caller).
   */
  private compressedLinear(
    p: WorkerPool,
    a: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
    temps: [number, number][],
    spec: {
      widen: (r0: number, rows: number, dst: number) => Pick<Task, 'kernel' | 'args'>;
      gemv: (
        A: { ptr: number; s0: number },
        j0: number,
        nn: number,
        c: number,
        bias: number,
      ) => Pick<Task, 'kernel' | 'args'>;
      columns: number;
    },
  ): Storage {
    const h = heap as WasmHeap;
    const nb = sizeOf(batch);
    let threads = 1;
    if (this.threads > 1 && m * n * k >= 2 * MIN_SPLIT_WORK) {
      p.ensureWorkers(this.threads - 1);
      threads = 1 + p.readyWorkers(this.threads - 1);
    }
    if (m >= GEMV_MAX_ROWS) {
      const dense = heapStorage('float32', n * k, false);
      try {
        const parts = Math.max(1, Math.min(threads, Math.floor((n * k) / MIN_SPLIT_WORK)));
        const rows = Math.ceil(n / parts);
        const tasks: Task[] = [];
        for (let r0 = 0; r0 < n; r0 += rows) {
          const task = spec.widen(r0, Math.min(rows, n - r0), dense.ptr + r0 * k * 4);
          tasks.push({ ...task, act: 0, c: 0, ldc: 0, m: 0, n: 0 });
        }
        p.run(tasks);
        const denseView: View = {
          storage: dense,
          dtype: 'float32',
          shape: [...batch, k, n],
          strides: [...batch.map(() => 0), 1, k],
          offset: 0,
        };
        return this.heapProduct(p, a, denseView, batch, m, k, n, bias, activation);
      } finally {
        this.free(dense);
      }
    }
    const out = heapStorage('float32', nb * m * n, false);
    const rank = batch.length;
    const ao = offsetsOf({ shape: batch, strides: a.strides.slice(0, rank), offset: a.offset });
    const biasOp = bias ? inHeap(h, bias, bias.offset, 1, n, 0, bias.strides[0] ?? 1, temps, true) : null;
    const act = activation ? ACTIVATIONS.indexOf(activation) : 0;
    const parts = Math.max(1, Math.min(threads, Math.floor((m * n * k) / MIN_SPLIT_WORK)));
    for (let i = 0; i < nb; i++) {
      const kept = temps.length;
      const A = inHeap(h, a, ao[i], m, k, a.strides[rank], a.strides[rank + 1], temps, true);
      const c = out.ptr + i * m * n * 4;
      const whole = spec.gemv(A, 0, n, c, biasOp ? biasOp.ptr : 0);
      p.run(
        parts > 1
          ? gemvChunks(whole, parts, n, spec.columns, act, c, m)
          : [{ ...whole, act, c, ldc: n, m, n }],
      );
      for (const [ptr, bytes] of temps.splice(kept)) h.release(ptr, bytes);
    }
    return out;
  }

  /** Products without the heap (no shared memory, or tiny ones): the single-threaded kernel over plain arrays. */
  private plainMatmul(
    a: View,
    b: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
  ): CpuStorage {
    const result = alloc('float32', sizeOf(batch) * m * n);
    const out = result.data as Float32Array;
    const rank = batch.length;
    const aBatch = { shape: batch, strides: a.strides.slice(0, rank), offset: a.offset };
    const bBatch = { shape: batch, strides: b.strides.slice(0, rank), offset: b.offset };
    const ao = offsetsOf(aBatch);
    const bo = offsetsOf(bBatch);
    const A = arr(a) as Float32Array;
    const B = arr(b) as Float32Array;
    const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
    const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
    for (let i = 0; i < ao.length; i++) {
      matmulKernel(A, ao[i], sam, sak, B, bo[i], sbk, sbn, out, i * m * n, m, k, n);
    }
    return result;
  }

  gather(x: View, dim: number, index: View): Storage {
    const src = arr(x);
    const idx = arr(index);
    const n = sizeOf(index.shape);
    const result = alloc(x.dtype, n);
    const out = result.data;
    const rank = index.shape.length;
    // offset into x for every index position, with dim's coordinate replaced by the index value
    const xStrides = x.strides;
    const coords = new Array<number>(rank).fill(0);
    const limit = x.shape[dim];
    if (
      rank === 2 &&
      dim === 0 &&
      index.strides[1] === 0 &&
      xStrides[1] === 1 &&
      x.shape[1] === index.shape[1]
    ) {
      // whole rows (an embedding lookup: one index per row, broadcast along it): copied row by row
      const cols = index.shape[1];
      for (let i = 0; i < index.shape[0]; i++) {
        let j = idx[index.offset + i * index.strides[0]];
        if (j < 0) j += limit;
        const from = x.offset + j * xStrides[0];
        out.set(src.subarray(from, from + cols), i * cols);
      }
      return result;
    }
    for (let i = 0; i < n; i++) {
      let io = index.offset;
      let xo = x.offset;
      for (let d = 0; d < rank; d++) {
        io += coords[d] * index.strides[d];
        if (d !== dim) xo += coords[d] * xStrides[d];
      }
      let j = idx[io];
      if (j < 0) j += limit;
      out[i] = src[xo + j * xStrides[dim]];
      for (let d = rank - 1; d >= 0; d--) {
        if (++coords[d] < index.shape[d]) break;
        coords[d] = 0;
      }
    }
    return result;
  }

  scatterAdd(target: View, dim: number, index: View, src: View): Storage {
    const outStorage = this.copy(target, target.dtype) as CpuStorage;
    const out = outStorage.data;
    const s = arr(src);
    const idx = arr(index);
    const rank = index.shape.length;
    const n = sizeOf(index.shape);
    const outStrides = contiguous(target.shape);
    const coords = new Array<number>(rank).fill(0);
    const limit = target.shape[dim];
    for (let i = 0; i < n; i++) {
      let io = index.offset;
      let so = src.offset;
      let oo = 0;
      for (let d = 0; d < rank; d++) {
        io += coords[d] * index.strides[d];
        so += coords[d] * src.strides[d];
        if (d !== dim) oo += coords[d] * outStrides[d];
      }
      let j = idx[io];
      if (j < 0) j += limit;
      out[oo + j * outStrides[dim]] += s[so];
      for (let d = rank - 1; d >= 0; d--) {
        if (++coords[d] < index.shape[d]) break;
        coords[d] = 0;
      }
    }
    return outStorage;
  }

  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage {
    const out = allocArray(x.dtype, sizeOf(x.shape));
    const src = arr(x);
    const others = x.shape.map((_, i) => i).filter((i) => i !== dim);
    const outStrides = contiguous(x.shape);
    const outer = {
      shape: others.map((i) => x.shape[i]),
      strides: others.map((i) => x.strides[i]),
      offset: x.offset,
    };
    const outerOut = { shape: outer.shape, strides: others.map((i) => outStrides[i]), offset: 0 };
    const so = offsetsOf(outer);
    const oo = offsetsOf(outerOut);
    const len = x.shape[dim];
    const sx = x.strides[dim];
    const sd = outStrides[dim];
    for (let i = 0; i < so.length; i++) {
      let acc = op === 'cumsum' ? 0 : 1;
      for (let j = 0; j < len; j++) {
        const v = src[so[i] + j * sx];
        acc = op === 'cumsum' ? acc + v : acc * v;
        out[oo[i] + j * sd] = acc;
      }
    }
    return new CpuStorage(out);
  }

  sort(x: View, descending: boolean): [Storage, Storage] {
    const n = sizeOf(x.shape);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    const vals = allocArray(x.dtype, n);
    const idx = new Int32Array(n);
    const src = arr(x);
    const order = new Array<number>(last);
    const row = new Float64Array(last);
    let k = 0;
    forEachRow(x.shape, [x], (o) => {
      for (let i = 0, off = o[0]; i < last; i++, off += st) {
        row[i] = src[off];
        order[i] = i;
      }
      order.sort((p, q) => {
        const a = row[p];
        const b = row[q];
        const an = Number.isNaN(a);
        const bn = Number.isNaN(b);
        if (an || bn) return an === bn ? p - q : an ? (descending ? -1 : 1) : descending ? 1 : -1;
        const c = descending ? b - a : a - b;
        return c !== 0 ? c : p - q;
      });
      for (let i = 0; i < last; i++) {
        vals[k + i] = row[order[i]];
        idx[k + i] = order[i];
      }
      k += last;
    });
    return [new CpuStorage(vals), new CpuStorage(idx)];
  }

  conv2d(x: View, w: View, p: Conv2dParams): Storage {
    const f32 = (v: View) => ({ ...v, data: arr(v) as Float32Array });
    const pool = getPool();
    return heapOutput((alloc) =>
      conv2dKernel(f32(x), f32(w), p, alloc, pool ? this.convProduct(pool) : undefined),
    );
  }

  // ---- fused kernels ----

  softmax(x: View, log: boolean): Storage {
    return heapOutput((alloc) => softmaxKernel(x, arr(x) as Float32Array, log, alloc));
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): Storage {
    const p = getPool();
    const at = (v: View | null): number | null => {
      if (!v) return 0;
      const st = v.storage as CpuStorage;
      const unit =
        v.shape.length === 0 || v.shape[v.shape.length - 1] <= 1 || v.strides[v.strides.length - 1] === 1;
      return st.ptr >= 0 && st.data instanceof Float32Array && unit ? st.ptr + v.offset * 4 : null;
    };
    const [xa, wa, ba] = [at(x), at(weight), at(bias)];
    if (p && xa && wa !== null && ba !== null) {
      // operands in the heap: gemm.wat's layer_norm (the same float64 computation, SIMD)
      const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
      const total = sizeOf(x.shape);
      const out = heapStorage('float32', total, false);
      if (total > 0) p.kernels.layer_norm(xa, out.ptr, total / n, n, wa, ba, eps);
      return out;
    }
    const w = weight ? (arr(weight) as Float32Array) : null;
    const b = bias ? (arr(bias) as Float32Array) : null;
    return heapOutput((alloc) => layerNormKernel(x, arr(x) as Float32Array, weight, w, bias, b, eps, alloc));
  }

  rmsNorm(x: View, weight: View | null, eps: number): Storage {
    const w = weight ? (arr(weight) as Float32Array) : null;
    return heapOutput((alloc) => rmsNormKernel(x, arr(x) as Float32Array, weight, w, eps, alloc));
  }

  /** Fused flash-style attention (kernels/attention.ts): tiles keys with an online softmax. */
  attention(q: View, k: View, v: View, params: AttentionParams): Storage {
    const p = getPool();
    const isF32 = (x: View) => x.dtype === 'float32' && arr(x) instanceof Float32Array;
    if (p && isF32(q) && isF32(k) && isF32(v)) return this.heapAttention(p, q, k, v, params);
    return flashAttention(q, k, v, params);
  }

  /**
   * Fused block-sparse attention (kernels/attention.ts): the flash loop over only the key blocks
   * each query block sees.
   */
  blockSparseAttention(q: View, k: View, v: View, params: BlockSparseAttentionParams): Storage {
    return flashAttention(q, k, v, params, params.blocks);
  }

  /**
   * Attention on the heap (kernels/attention-threads.ts): units of (batch, head, block of queries)
   * interleaved across threads; operands outside the heap are copied in (their whole storage, so
   * views keep their strides), a bool mask as float32 1/0. Runs the same code on one thread.
   */
  private heapAttention(p: WorkerPool, q: View, k: View, v: View, params: AttentionParams): Storage {
    const h = heap as WasmHeap;
    const [B, H, Lq, D] = q.shape;
    const Lk = k.shape[2];
    const Dv = v.shape[3];
    const out = heapStorage('float32', B * H * Lq * Dv);
    if (B * H * Lq * Dv === 0 || Lk === 0) return out;
    const temps: [number, number][] = [];
    /** Byte address of element 0 of the view's storage in the heap (copied in when elsewhere). */
    const base = (x: View): number => {
      const st = x.storage as CpuStorage;
      if (st.ptr >= 0 && st.data instanceof Float32Array) return st.ptr;
      const src = st.data;
      const bytes = Math.max(1, src.length) * 4;
      const ptr = h.alloc(bytes);
      temps.push([ptr, bytes]);
      const dst = h.f32(ptr, src.length);
      if (src instanceof Float32Array) dst.set(src);
      else for (let i = 0; i < src.length; i++) dst[i] = src[i] ? 1 : 0;
      return ptr;
    };
    try {
      const addr = (x: View): [number, number[]] => [base(x) + x.offset * 4, [...x.strides]];
      const mask = params.mask;
      const paramsPtr = h.alloc(ATTN_PARAMS * 8);
      temps.push([paramsPtr, ATTN_PARAMS * 8]);
      writeAttentionParams(new Float64Array(h.memory.buffer, paramsPtr, ATTN_PARAMS), {
        shape: [B, H, Lq, Lk, D, Dv],
        q: addr(q),
        k: addr(k),
        v: addr(v),
        mask: mask ? addr(mask) : null,
        boolMask: mask !== null && mask.dtype === 'bool',
        scale: params.scale,
        causal: params.causal,
        out: out.ptr,
      });
      const units = B * H * Math.ceil(Lq / ATTN_BQ);
      const work = B * H * Lq * Lk * (D + Dv);
      let threads = 1;
      if (this.threads > 1 && units > 1 && work >= 2 * MIN_SPLIT_WORK) {
        p.ensureWorkers(this.threads - 1);
        threads = Math.min(units, 1 + p.readyWorkers(this.threads - 1), Math.floor(work / MIN_SPLIT_WORK));
      }
      const scratchBytes = attentionScratchBytes(Dv);
      const tasks: Task[] = [];
      for (let t = 0; t < threads; t++) {
        const scratch = h.alloc(scratchBytes);
        temps.push([scratch, scratchBytes]);
        tasks.push({
          kernel: 'attention',
          args: [paramsPtr, t, threads, scratch, gemmWorkspace(p, t)],
          act: 0,
          c: 0,
          ldc: 0,
          m: 0,
          n: 0,
        });
      }
      p.run(tasks);
    } finally {
      for (const [ptr, bytes] of temps) h.release(ptr, bytes);
    }
    return out;
  }

  /** conv2d's GEMMs on the heap's kernels, split across threads like matmul (kernels/conv2d.ts). */
  private convProduct(p: WorkerPool): ConvProduct {
    const h = heap as WasmHeap;
    /** Heap blocks to release when the call is done: [address, bytes, the array copied in]. */
    const temps: [number, number, Float32Array?][] = [];
    return {
      scratch: (n) => {
        const bytes = Math.max(1, n) * 4;
        const ptr = h.alloc(bytes);
        temps.push([ptr, bytes]);
        return h.f32(ptr, n);
      },
      product: (A, ao, Bm, C, co, m, k, n) => {
        const inHeapArr = (x: Float32Array) => x.buffer instanceof SharedArrayBuffer;
        if (!inHeapArr(A) || !inHeapArr(Bm) || !inHeapArr(C)) {
          matmulKernel(A, ao, k, 1, Bm, 0, n, 1, C, co, m, k, n);
          return;
        }
        let threads = 1;
        if (this.threads > 1 && m * n * k >= 2 * MIN_SPLIT_WORK) {
          p.ensureWorkers(this.threads - 1);
          threads = 1 + p.readyWorkers(this.threads - 1);
        }
        const prod: HeapProduct = {
          a: A.byteOffset + ao * 4,
          sam: k,
          sak: 1,
          b: Bm.byteOffset,
          sbk: n,
          sbn: 1,
          c: C.byteOffset + co * 4,
          m,
          k,
          n,
          bias: 0,
          act: 0,
        };
        p.run(planProduct(prod, threads, (t) => gemmWorkspace(p, t)));
      },
      im2col: (x, cols, geometry, n, g, oh0, rows) =>
        this.convLoops(p, x, cols, 0, { mode: 'im2col', geometry, band: { n, g, oh0, rows } }, temps),
      direct: (x, Wm, out, geometry) =>
        Wm.buffer instanceof SharedArrayBuffer &&
        this.convLoops(p, x, out, Wm.byteOffset, { mode: 'direct', geometry, band: IDLE_BAND }, temps),
      done: () => {
        for (const [ptr, bytes] of temps.splice(0)) h.release(ptr, bytes);
      },
    };
  }

  /**
   * conv2d's im2col or direct loop split across threads (kernels/conv2d-threads.ts), writing `out`
   * in the heap; x is read in place when it is in the heap, else copied in once per call (kept in
   * `temps` until the conv2d call is done). Returns false, leaving the loop to the calling thread,
   * when it is too small to split, `out` (or the weights) are not in the heap, or no worker is ready.
   */
  private convLoops(
    p: WorkerPool,
    x: StridedF32,
    out: Float32Array,
    wm: number,
    call: Omit<ConvCall, 'x' | 'wm' | 'out'>,
    temps: [number, number, Float32Array?][],
  ): boolean {
    const g = call.geometry;
    const direct = call.mode === 'direct';
    const work = direct
      ? g.N * g.O * g.Cg * g.KH * g.KW * g.OH * g.OW
      : g.Cg * g.KH * g.KW * call.band.rows * g.OW;
    const units = direct ? g.N * g.O : g.Cg * g.KH * g.KW;
    const minWork = direct ? MIN_SPLIT_WORK : MIN_SPLIT_COPIES;
    if (this.threads < 2 || units < 2 || work < 2 * minWork) return false;
    if (!(out.buffer instanceof SharedArrayBuffer)) return false;
    p.ensureWorkers(this.threads - 1);
    const threads = Math.min(units, 1 + p.readyWorkers(this.threads - 1), Math.floor(work / minWork));
    if (threads < 2) return false;
    const h = heap as WasmHeap;
    let xa: number;
    if (x.data.buffer instanceof SharedArrayBuffer) xa = x.data.byteOffset;
    else {
      const cached = temps.find((t) => t[2] === x.data);
      if (cached) xa = cached[0];
      else {
        const bytes = Math.max(1, x.data.length) * 4;
        xa = h.alloc(bytes);
        h.f32(xa, x.data.length).set(x.data);
        temps.push([xa, bytes, x.data]);
      }
    }
    const paramsPtr = h.alloc(CONV_PARAMS * 8);
    try {
      writeConvParams(new Float64Array(h.memory.buffer, paramsPtr, CONV_PARAMS), {
        ...call,
        x: [xa + x.offset * 4, x.strides],
        wm,
        out: out.byteOffset,
      });
      const tasks: Task[] = [];
      for (let t = 0; t < threads; t++)
        tasks.push({ kernel: 'conv', args: [paramsPtr, t, threads], act: 0, c: 0, ldc: 0, m: 0, n: 0 });
      p.run(tasks);
    } finally {
      h.release(paramsPtr, CONV_PARAMS * 8);
    }
    return true;
  }
}

/** The band of a direct conv2d call (unused there). */
const IDLE_BAND = { n: 0, g: 0, oh0: 0, rows: 0 };
/** Floats per thread below which conv2d's im2col is not split. */
const MIN_SPLIT_COPIES = 1 << 16;

/** Multiply-adds from which products run on the heap's kernels (smaller ones on the JS loop). */
const HEAP_PRODUCT_MIN_WORK = 512;
/** Multiply-adds per thread below which a product is not split (matmul-threads.ts). */
const MIN_SPLIT_WORK = 1 << 17;

/**
 * The packed copy of B (the view at `B` of storage `st`, [k, n]) for gemm_packed, made now when
 * this is the second product to use the same view of the storage at the same version; undefined
 * (and the use noted) otherwise. A pack of another view or version is released first.
 */
function packedWeight(
  p: WorkerPool,
  st: CpuStorage,
  B: { ptr: number; s0: number; s1: number },
  k: number,
  n: number,
  threads: number,
): { ptr: number; n8: number } | undefined {
  const key = `${B.ptr - st.ptr}:${B.s0}:${B.s1}:${k}:${n}`;
  const e = st.pack;
  if (e && e.key === key && e.version === st.version) {
    if (!e.ptr) {
      const h = heap as WasmHeap;
      e.bytes = k * e.n8 * 4;
      e.ptr = h.alloc(e.bytes);
      h.attach(st, e, e.ptr, e.bytes);
      p.run(planPackB(B.ptr, B.s0, B.s1, k, n, e.ptr, threads));
    }
    return { ptr: e.ptr, n8: e.n8 };
  }
  dropPack(st);
  st.pack = { key, version: st.version, ptr: 0, bytes: 0, n8: Math.ceil(n / 8) * 8 };
  return undefined;
}

let heapView: Uint8Array | null = null;

/** A byte view of the whole heap when both storages are in it (refreshed after the memory grows), else null. */
function heapBytesOf(a: CpuStorage, b: CpuStorage): Uint8Array | null {
  if (!heap || a.ptr < 0 || b.ptr < 0) return null;
  const buf = heap.memory.buffer;
  if (heapView?.byteLength !== buf.byteLength) heapView = new Uint8Array(buf);
  return heapView;
}

/** The ops of gemm.wat's binary_f32, by its op code. */
const BINARY_F32: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div'];

/**
 * Byte address of a float32 view in the heap whose elements are its storage's, in row-major order
 * from its offset, with the shape `shape` (no broadcast); null otherwise.
 */
function denseF32(v: View, shape: readonly number[]): number | null {
  const st = v.storage as CpuStorage;
  if (v.dtype !== 'float32' || st.ptr < 0 || !(st.data instanceof Float32Array)) return null;
  if (v.shape.length !== shape.length) return null;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (v.shape[d] !== shape[d]) return null;
    if (shape[d] !== 1 && v.strides[d] !== stride) return null;
    stride *= shape[d];
  }
  return st.ptr + v.offset * 4;
}

/** Releases a storage's packed copy, if any. */
function dropPack(st: CpuStorage): void {
  const e = st.pack;
  if (!e) return;
  st.pack = null;
  if (e.ptr && heap) heap.detach(e, e.ptr, e.bytes);
}

/** Runs a kernel that allocates its output through `alloc`, giving it zeroed heap (or plain) storage. */
function heapOutput(kernel: (alloc: (n: number) => Float32Array) => Float32Array): CpuStorage {
  let st: CpuStorage | null = null;
  const data = kernel((n) => {
    st = alloc('float32', n);
    return st.data as Float32Array;
  });
  const made = st as CpuStorage | null;
  return made && made.data === data ? made : new CpuStorage(data);
}

/** Address of `count` contiguous int8 elements of view `v` in the heap (copied into a temporary block when elsewhere). */
function inHeapBytes(h: WasmHeap, v: View, count: number, temps: [number, number][]): number {
  const st = v.storage as CpuStorage;
  if (st.ptr >= 0 && st.data instanceof Int8Array) return st.ptr + v.offset;
  const ptr = h.alloc(Math.max(1, count));
  temps.push([ptr, Math.max(1, count)]);
  h.i8(ptr, count).set((st.data as Int8Array).subarray(v.offset, v.offset + count));
  return ptr;
}

/** Address of `count` contiguous 16-bit elements of view `v` in the heap (copied into a temporary block when elsewhere). */
function inHeapHalves(h: WasmHeap, v: View, count: number, temps: [number, number][]): number {
  const st = v.storage as CpuStorage;
  if (st.ptr >= 0 && st.data instanceof Uint16Array) return st.ptr + v.offset * 2;
  const bytes = Math.max(1, count) * 2;
  const ptr = h.alloc(bytes);
  temps.push([ptr, bytes]);
  h.u16(ptr, count).set((st.data as Uint16Array).subarray(v.offset, v.offset + count));
  return ptr;
}

/**
 * Address and strides of a [rows, cols] operand (element (i, j) at offset + i*s0 + j*s1) in the
 * heap: in place when its storage is there, else copied into a temporary block (pushed on `temps`).
 */
function inHeap(
  h: WasmHeap,
  v: View,
  offset: number,
  rows: number,
  cols: number,
  s0: number,
  s1: number,
  temps: [number, number][],
  needUnitStride = false,
): { ptr: number; s0: number; s1: number; temp: boolean } {
  const st = v.storage as CpuStorage;
  const unitRows = !needUnitStride || s1 === 1 || cols <= 1;
  if (st.ptr >= 0 && st.data instanceof Float32Array && unitRows)
    return { ptr: st.ptr + offset * 4, s0, s1, temp: false };
  const bytes = Math.max(1, rows * cols) * 4;
  const ptr = h.alloc(bytes);
  temps.push([ptr, bytes]);
  const dst = h.f32(ptr, rows * cols);
  const src = st.data;
  const conv = isHalf(v.dtype) ? halfDecoder(v.dtype) : null;
  for (let i = 0; i < rows; i++) {
    const o = offset + i * s0;
    if (s1 === 1 && !conv && src instanceof Float32Array) dst.set(src.subarray(o, o + cols), i * cols);
    else for (let j = 0; j < cols; j++) dst[i * cols + j] = conv ? conv(src[o + j * s1]) : src[o + j * s1];
  }
  return { ptr, s0: cols, s1: 1, temp: true };
}

const EPILOGUE: Record<LinearActivation, (x: number) => number> = {
  relu: UNARY.relu,
  gelu,
  gelu_tanh: geluTanh,
  silu: UNARY.silu,
  sigmoid,
  tanh: Math.tanh,
};

/** out[i, j] = activation(out[i, j] + bias[j]) over rows × n (the linear epilogue on one thread). */
function epilogue(
  out: Float32Array,
  rows: number,
  n: number,
  bias: View | null,
  activation: LinearActivation | null,
): void {
  const bv = bias ? arr(bias) : null;
  const bo = bias ? bias.offset : 0;
  const bs = bias ? (bias.strides[0] ?? 1) : 0;
  const bf = bias && isHalf(bias.dtype) ? halfDecoder(bias.dtype) : (x: number) => x;
  const f = activation ? EPILOGUE[activation] : null;
  for (let i = 0; i < rows; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      let v = out[row + j];
      if (bv) v += bf(bv[bo + j * bs]);
      out[row + j] = f ? f(v) : v;
    }
  }
}

function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function converter(from: DType, to: DType): ((v: number) => number) | null {
  if (from === to) return null;
  if (isHalf(from)) {
    const dec = halfDecoder(from);
    if (to === 'float32') return dec;
    if (isHalf(to)) {
      const enc = halfEncoder(to);
      return (v) => enc(dec(v));
    }
    if (to === 'int32' || to === 'int8') return (v) => Math.trunc(dec(v)) | 0;
    return (v) => (dec(v) !== 0 ? 1 : 0);
  }
  if (isHalf(to)) return halfEncoder(to);
  if (to === 'bool') return (v) => (v !== 0 ? 1 : 0);
  if (to === 'int32') return (v) => (Number.isFinite(v) ? Math.trunc(v) : 0);
  return null;
}

/** The single-threaded flash kernel (kernels/attention.ts), over only the listed key blocks when given. */
function flashAttention(
  q: View,
  k: View,
  v: View,
  params: AttentionParams,
  blocks?: BlockSparseAttentionParams['blocks'],
): Storage {
  const mask = params.mask;
  return heapOutput((alloc) =>
    attentionKernel(
      q,
      arr(q),
      k,
      arr(k),
      v,
      arr(v),
      mask,
      mask ? arr(mask) : null,
      params.scale,
      params.causal,
      alloc,
      blocks,
    ),
  );
}
