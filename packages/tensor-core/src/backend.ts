import type { DType, TypedArray } from './dtype.js';

/**
 * The Backend interface, version 1: the small set of primitive kernels every compute backend
 * implements. tensor-core validates every op before dispatch, so a backend may assume valid input.
 *
 * Every operand arrives as a {@link View}: a storage handle plus its layout (shape, strides in
 * elements, offset in elements). Reshape, transpose, permute, slice and expand are views that cost
 * nothing; a stride of 0 is a broadcast dimension. Every primitive writes a new, contiguous
 * (row-major, offset 0) storage of the output shape and returns its handle.
 *
 * Kernels may be queued (GPU backends): nothing here returns values to the host except `read`
 * (async) and `readSync` (only where the backend can read synchronously, such as the CPU).
 */
export interface Backend {
  /** Version of this interface the backend implements. */
  readonly interfaceVersion: 1;
  /** Registry name, e.g. `cpu`, `webgpu`. */
  readonly name: string;

  // ---- storage ----
  /** Uploads host data into a new storage (the array is copied or adopted; the caller never reuses it). */
  upload(data: TypedArray, dtype: DType): Storage;
  /** Reads a whole storage back to the host. */
  read(storage: Storage, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, for backends that can (the CPU). */
  readSync?(storage: Storage, dtype: DType): TypedArray;
  /** Frees a storage. Called exactly once per storage, when its last tensor is disposed. */
  free(storage: Storage): void;
  /** Bytes the backend holds beyond live storages (pools, caches), for memory reports. */
  memoryOverhead?(): number;

  // ---- primitives ----
  /** `out = value` for every element of a new contiguous storage. */
  fill(shape: readonly number[], value: number, dtype: DType): Storage;
  /** Materialises a view (any strides, offset, broadcast) into a contiguous storage, casting to `to`. */
  copy(x: View, to: DType): Storage;
  /**
   * Writes `src` (a number, or a view already broadcast to `dst.shape`) into the elements of the
   * view `dst`, in place. `dst` is a view of a storage this backend owns; its elements never overlap.
   * Used for slice gradients, pad, concat, KV caches and in-place optimizer updates.
   */
  write(dst: View, src: Operand): void;
  /** Elementwise unary op on float32 (or int32 for `neg`/`abs`/`sign`, bool for `not`). Output dtype = x.dtype except where noted. */
  unary(op: UnaryOp, x: View, outDtype: DType): Storage;
  /** Elementwise binary op with broadcasting: `a` and `b` are already broadcast to `outShape` (stride 0 where expanded). */
  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    computeDtype: DType,
    outDtype: DType,
  ): Storage;
  /** `cond ? a : b` elementwise; all three already broadcast to `outShape`. */
  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage;
  /**
   * Reduces `x` over the given axes (sorted, unique). The output keeps reduced dims with size 1.
   * `argmax`/`argmin` take exactly one axis and produce int32 (the first index on ties).
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): Storage;
  /**
   * Batched matrix multiply: a is [...batch, M, K] and b is [...batch, K, N] as views whose batch
   * dims are already broadcast to `batch` (stride 0 where expanded); output [...batch, M, N] float32.
   * Transposed operands arrive as strides, never as copies.
   */
  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage;
  /** torch.gather: out[i][j][k] = x[index[i][j][k]][j][k] (for dim 0); index is int32 of the output shape. */
  gather(x: View, dim: number, index: View): Storage;
  /** torch.scatter_add on a copy of `target`: out[index[i][j]][j] += src[i][j] (for dim 0). */
  scatterAdd(target: View, dim: number, index: View, src: View): Storage;
  /** Inclusive cumulative sum (or product) along `dim`; float32 or int32. */
  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage;
  /**
   * Sorts along the last dim; returns [values, indices(int32)], stable, NaN last (ascending) as torch.
   */
  sort(x: View, descending: boolean): [Storage, Storage];
  /**
   * 2-D convolution, torch semantics. x [N, C, H, W], w [O, C/groups, kH, kW]; output
   * [N, O, outH, outW] float32 (no bias; tensor-core adds it).
   */
  conv2d(x: View, w: View, params: Conv2dParams): Storage;

  // ---- optional fused kernels; tensor-core decomposes into primitives when absent ----
  /** Softmax (or log-softmax) along the last dim of a contiguous view. */
  softmax?(x: View, log: boolean): Storage;
  /** LayerNorm over the last dim, with optional affine parameters (contiguous 1-D). */
  layerNorm?(x: View, weight: View | null, bias: View | null, eps: number): Storage;
  /** RMSNorm over the last dim with optional weight. */
  rmsNorm?(x: View, weight: View | null, eps: number): Storage;
  /**
   * Fused attention over [B, H, Lq, D] queries and [B, H, Lk, D] keys/values (views); mask as in
   * scaledDotProductAttention, already broadcast to [B, H, Lq, Lk] (stride 0 where expanded).
   */
  attention?(q: View, k: View, v: View, params: AttentionParams): Storage;
  /**
   * Fused block-sparse attention: {@link Backend.attention} restricted to the key blocks
   * `params.blocks` lists for each query block, walking only those (work and scratch grow with the
   * visible blocks, not Lq·Lk). The result equals `attention` under the equivalent boolean mask.
   * tensor-core falls back to that mask on `attention` (or the reference composition) when absent.
   */
  blockSparseAttention?(q: View, k: View, v: View, params: BlockSparseAttentionParams): Storage;
  /**
   * Fused `activation(a @ b + bias)` (a matmul epilogue): `a`, `b`, `batch`, `m`, `k`, `n` as in
   * {@link Backend.matmul}; `bias` a 1-D view of length `n` added to every row, or null;
   * `activation` applied last, or null. Output [...batch, M, N] float32. tensor-core's `linear`
   * calls it when no gradient is recorded, and decomposes into matmul, add and the activation
   * otherwise or when a backend lacks it.
   */
  linear?(
    a: View,
    b: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage;
  /**
   * {@link Backend.linear} with a 16-bit float weight widened inside the kernel: `w` float16 or
   * bfloat16 [N, K] (rows of a Linear weight, contiguous, its dtype saying which), read in place;
   * `a` [...batch, M, K] float32 (a view); float32 accumulation. tensor-core's `linear` calls it for
   * such weights when no gradient is recorded, and casts the weight to float32 when a backend
   * lacks it.
   */
  linear16?(
    a: View,
    w: View,
    batch: readonly number[],
    m: number,
    k: number,
    n: number,
    bias: View | null,
    activation: LinearActivation | null,
  ): Storage;
  /**
   * {@link Backend.linear} with int8 weights dequantised inside the kernel: `w` int8 [N, K] (rows
   * of a Linear weight, contiguous), `scales` float32 [N, K / groupSize] (contiguous), so that the
   * weight is `w[j, q] * scales[j, floor(q / groupSize)]`; `a` [...batch, M, K] float32 (a view).
   * Float32 accumulation. tensor-core's `linearInt8` decomposes into a cast, a multiply and
   * `linear` when a backend lacks it.
   */
  linearInt8?(
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
  ): Storage;
}

/** Activations a fused {@link Backend.linear} epilogue applies (elementwise ops of the same names). */
export type LinearActivation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'sigmoid' | 'tanh';

/** Opaque storage handle owned by a backend. */
export interface Storage {
  /** Bytes held. */
  readonly byteLength: number;
}

/** A storage seen through a strided layout. */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Strides in elements; 0 for broadcast dimensions. */
  readonly strides: readonly number[];
  /** Offset of element [0, ..., 0] in elements. */
  readonly offset: number;
}

/** A binary operand: a view or a plain number (broadcast everywhere). */
export type Operand = View | number;

/** Primitive elementwise unary ops. */
export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'gelu_tanh'
  | 'silu'
  | 'softplus'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'reciprocal'
  | 'not'
  | 'isnan';

/** Primitive elementwise binary ops. Comparisons produce bool. */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'mod'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'and'
  | 'or';

/** Primitive reductions. */
export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin';

/** Parameters of the conv2d primitive. */
export interface Conv2dParams {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Parameters of the optional fused attention kernel. */
export interface AttentionParams {
  scale: number;
  causal: boolean;
  mask: View | null;
}

/**
 * A block-sparse layout in compressed-row form: query block i (positions i·blockSize to
 * (i+1)·blockSize − 1) sees the key blocks `cols[rowStart[i]]` to `cols[rowStart[i+1] − 1]`,
 * ascending. tensor-core has checked it: blockSize divides Lq and Lk, every query block sees at
 * least one key block, every index is in range.
 */
export interface BlockSparseIndex {
  blockSize: number;
  /** Lq / blockSize + 1 offsets into `cols`. */
  rowStart: Int32Array;
  /** The visible key blocks, row after row. */
  cols: Int32Array;
}

/** Parameters of the optional fused block-sparse attention kernel. */
export interface BlockSparseAttentionParams extends AttentionParams {
  blocks: BlockSparseIndex;
}
