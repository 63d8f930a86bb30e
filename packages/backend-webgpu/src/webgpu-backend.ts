/// <reference types="@webgpu/types" preserve="true" />
import type {
  AttentionParams,
  Backend,
  BinaryOp,
  BlockSparseAttentionParams,
  Conv2dParams,
  DType,
  LinearActivation,
  Operand,
  ReduceOp,
  Storage,
  TypedArray,
  UnaryOp,
  View,
} from '@attnkit/tensor-core';
import { type DispatchSpec, GpuStorage, grid1d, type KernelContext } from './context.js';
import { type AcquiredDevice, acquireDevice, isFallbackAdapter, type WebGPUDeviceOptions } from './device.js';
import { attentionKernel } from './kernels/attention.js';
import { conv2dKernel } from './kernels/conv.js';
import { elementwise } from './kernels/elementwise.js';
import { gemvKernel, useGemv } from './kernels/gemv.js';
import { gatherKernel, scatterAddKernel } from './kernels/indexing.js';
import { matmulKernel } from './kernels/matmul.js';
import { layerNormKernel, rmsNormKernel, softmaxKernel } from './kernels/norm.js';
import { binaryExpr, MATH_FNS, unaryExpr } from './kernels/ops.js';
import { reduceKernel } from './kernels/reduce.js';
import { cumulativeKernel } from './kernels/scan.js';
import { sortKernel } from './kernels/sort.js';
import {
  computeType,
  gpuBytesPerElement,
  halfBitsFn,
  isPacked,
  MAIN_1D,
  META_DECL,
  Meta,
  PRELUDE,
  scalarBits,
  sizeOf,
} from './layout.js';
import { BufferPool } from './pool.js';

/** Options of {@link WebGPUBackend}. */
export interface WebGPUBackendOptions {
  /** Dispatches recorded before a batch is submitted (default 64). Reads always submit. */
  maxOpsPerSubmit?: number;
  /** Bytes of freed buffers kept for reuse (default 256 MiB). */
  maxPoolBytes?: number;
  /**
   * Pick kernel shapes for a fallback (software, CPU-run) adapter: fewer, larger invocations and
   * fewer barriers. Defaults to the adapter's `info.isFallbackAdapter`.
   */
  softwareKernels?: boolean;
}

const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const STAGING_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST
const META_ARENA_BYTES = 1 << 18;

interface BatchError {
  error: GPUError;
  ops: string[];
}

/**
 * The WebGPU backend: every primitive of the Backend interface as WGSL compute shaders.
 *
 * Ops record compute passes into a shared command encoder and return their output storage at once;
 * batches are submitted every `maxOpsPerSubmit` dispatches and whenever a value is read. Storages
 * are GPU buffers from a pool keyed by size class: float32/int32 take 4 bytes per element, bool one
 * u32 (0/1) per element, float16 two elements per u32 word (decoded in the shaders, so float16
 * storage works without the `shader-f16` feature). Pipelines are cached by op, dtypes and rank; the
 * layout (shape, strides, offset) of each operand travels in a small parameter buffer, so one
 * pipeline serves every view of a given rank.
 *
 * Create it with {@link createWebGPUBackend} (async: the device is requested first).
 */
export class WebGPUBackend implements Backend {
  readonly interfaceVersion = 1 as const;
  readonly name: string = 'webgpu';
  /** The GPU device. */
  readonly device: GPUDevice;
  /** The adapter the device came from (null when a device was passed in). */
  readonly adapter: GPUAdapter | null;
  /** Printable adapter description (vendor / architecture / device). */
  readonly adapterName: string;
  /** The GPU object (navigator.gpu or Dawn's), referenced so it outlives the device. */
  readonly gpu: GPU | null;
  /** Whether the device has the `shader-f16` feature. */
  readonly hasShaderF16: boolean;
  /**
   * Which kernel shapes this backend picks: `software` (fallback adapters: fewer, larger
   * invocations, fewer barriers) or `gpu` (see `softwareKernels` in {@link WebGPUBackendOptions}).
   */
  readonly kernelProfile: 'software' | 'gpu';

  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pool: BufferPool;
  private readonly maxOps: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchOps: string[] = [];
  private metaArena: GPUBuffer;
  private metaCpu = new Uint32Array(META_ARENA_BYTES / 4);
  private metaUsed = 0;
  private readonly metaAlign: number;
  private checks: Promise<void>[] = [];
  private pendingError: Error | null = null;
  private lost: Error | null = null;
  private disposed = false;
  private readonly ctx: KernelContext;

  constructor(acquired: AcquiredDevice, options: WebGPUBackendOptions = {}) {
    this.device = acquired.device;
    this.adapter = acquired.adapter;
    this.gpu = acquired.gpu;
    this.adapterName = acquired.adapterName;
    this.hasShaderF16 = this.device.features.has('shader-f16');
    this.kernelProfile =
      (options.softwareKernels ?? isFallbackAdapter(acquired.adapter)) ? 'software' : 'gpu';
    this.maxOps = options.maxOpsPerSubmit ?? 64;
    this.pool = new BufferPool(options.maxPoolBytes ?? 256 * 1024 * 1024);
    this.metaAlign = Math.max(256, this.device.limits.minStorageBufferOffsetAlignment);
    this.metaArena = this.device.createBuffer({
      size: META_ARENA_BYTES,
      usage: 0x80 | 0x8,
      label: 'attnkit-meta',
    });
    this.device.lost.then((info) => {
      if (this.disposed) return;
      this.lost = new Error(
        `backend-webgpu: the GPU device was lost (${info.reason}): ${info.message || 'no message'}; tensors on it are gone: create a new backend with createWebGPUBackend()`,
      );
    });
    this.device.addEventListener?.('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new Error(`backend-webgpu: uncaptured GPU error: ${e.message}`);
    });
    const self = this;
    this.ctx = {
      alloc: (dtype, n) => self.alloc(dtype, n),
      dispatch: (spec) => self.dispatch(spec),
      release: (s) => self.free(s),
      get limits() {
        return self.device.limits;
      },
      software: this.kernelProfile === 'software',
    };
  }

  // ---- batching, errors ----

  private check(op: string): void {
    if (this.disposed) throw new Error(`backend-webgpu: ${op}: the backend was disposed`);
    if (this.lost) throw this.lost;
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
  }

  private begin(): void {
    if (this.encoder) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('internal');
    this.encoder = this.device.createCommandEncoder({ label: 'attnkit-batch' });
  }

  private computePass(): GPUComputePassEncoder {
    this.begin();
    this.pass ??= (this.encoder as GPUCommandEncoder).beginComputePass();
    return this.pass;
  }

  /** Submits every recorded dispatch. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    const cb = this.encoder.finish();
    this.encoder = null;
    if (this.metaUsed > 0) {
      this.device.queue.writeBuffer(this.metaArena, 0, this.metaCpu.buffer, 0, this.metaUsed);
      this.metaUsed = 0;
    }
    this.device.queue.submit([cb]);
    this.pool.submitted();
    const ops = this.batchOps;
    this.batchOps = [];
    const scopes = [this.device.popErrorScope(), this.device.popErrorScope(), this.device.popErrorScope()];
    this.checks.push(
      Promise.all(scopes).then((errs) => {
        for (const error of errs) if (error) this.recordError({ error, ops });
      }),
    );
  }

  private recordError({ error, ops }: BatchError): void {
    const kind = error.constructor?.name || 'GPUError';
    const list = [...new Set(ops)].slice(0, 12).join(', ');
    const oom = kind.includes('OutOfMemory') ? ' (out of GPU memory: dispose tensors or use tidy())' : '';
    this.pendingError ??= new Error(
      `backend-webgpu: ${kind}${oom} in a batch of ops [${list}]: ${error.message}`,
    );
  }

  /** Waits for submitted work and throws the first GPU error it produced, if any. */
  async sync(): Promise<void> {
    this.check('sync');
    this.flush();
    const checks = this.checks;
    this.checks = [];
    await Promise.all(checks);
    await this.device.queue.onSubmittedWorkDone();
    this.check('sync');
  }

  private dispatch(spec: DispatchSpec): void {
    let pipe = this.pipelines.get(spec.key);
    if (!pipe) {
      this.begin();
      const code = PRELUDE + spec.code();
      const module = this.device.createShaderModule({ code, label: spec.label });
      pipe = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: spec.label,
      });
      this.pipelines.set(spec.key, pipe);
    }
    const words = spec.meta.words.length ? spec.meta.words : [0];
    const bytes = words.length * 4;
    if (bytes > META_ARENA_BYTES)
      throw new Error(`backend-webgpu: ${spec.label}: kernel parameters too large`);
    if (this.metaUsed + bytes > META_ARENA_BYTES) this.flush();
    const pass = this.computePass();
    const offset = this.metaUsed;
    this.metaCpu.set(words, offset / 4);
    this.metaUsed = Math.ceil((offset + bytes) / this.metaAlign) * this.metaAlign;
    const bind = this.device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.metaArena, offset, size: bytes } },
        ...spec.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      ],
    });
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(spec.groups[0], spec.groups[1], spec.groups[2]);
    this.batchOps.push(spec.label);
    if (this.batchOps.length >= this.maxOps) this.flush();
  }

  // ---- storage ----

  private alloc(dtype: DType, n: number): GpuStorage {
    if (dtype === 'int8') {
      throw new TypeError(
        'backend-webgpu: int8 storage is not supported; int8-quantised weights run on backend-cpu (quantize the model there), or keep float32/float16 weights on webgpu',
      );
    }
    const bytes = Math.max(4, Math.ceil((n * gpuBytesPerElement(dtype)) / 4) * 4);
    const lim = this.device.limits;
    const max = Math.min(lim.maxBufferSize, lim.maxStorageBufferBindingSize);
    if (bytes > max) {
      throw new RangeError(
        `backend-webgpu: cannot allocate ${n} ${dtype} elements (${bytes} bytes): the device allows buffers of at most ${max} bytes`,
      );
    }
    this.begin();
    const buffer = this.pool.acquire(bytes, STORAGE_USAGE, (size) =>
      this.device.createBuffer({ size, usage: STORAGE_USAGE, label: `attnkit-${dtype}` }),
    );
    return new GpuStorage(buffer, bytes, n, dtype);
  }

  upload(data: TypedArray, dtype: DType): Storage {
    this.check('upload');
    const n = data.length;
    const s = this.alloc(dtype, n);
    let src: ArrayBufferView;
    if (dtype === 'bool') src = Uint32Array.from(data as Uint8Array, (v) => (v ? 1 : 0));
    else if (isPacked(dtype) && n % 2 === 1) {
      const p = new Uint16Array(n + 1);
      p.set(data as Uint16Array);
      src = p;
    } else src = data;
    if (src.byteLength > 0) {
      this.device.queue.writeBuffer(s.buffer, 0, src.buffer, src.byteOffset, src.byteLength);
    }
    return s;
  }

  async read(storage: Storage, dtype: DType): Promise<TypedArray> {
    this.check('read');
    const s = storage as GpuStorage;
    this.begin();
    this.pass?.end();
    this.pass = null;
    const staging = this.pool.acquire(s.byteLength, STAGING_USAGE, (size) =>
      this.device.createBuffer({ size, usage: STAGING_USAGE, label: 'attnkit-staging' }),
    );
    (this.encoder as GPUCommandEncoder).copyBufferToBuffer(s.buffer, 0, staging, 0, s.byteLength);
    this.batchOps.push('read');
    this.flush();
    const checks = this.checks;
    this.checks = [];
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */, 0, s.byteLength);
    } catch (e) {
      await Promise.all(checks);
      this.check('read');
      throw new Error(`backend-webgpu: read: mapping the staging buffer failed: ${(e as Error).message}`);
    }
    const bytes = staging.getMappedRange(0, s.byteLength).slice(0);
    staging.unmap();
    this.pool.releaseNow(staging);
    await Promise.all(checks);
    this.check('read');
    const n = s.length;
    switch (dtype) {
      case 'float32':
        return new Float32Array(bytes, 0, n);
      case 'int32':
        return new Int32Array(bytes, 0, n);
      case 'float16':
      case 'bfloat16':
        return new Uint16Array(bytes, 0, n);
      case 'bool':
        return Uint8Array.from(new Uint32Array(bytes, 0, n), (v) => (v ? 1 : 0));
      default:
        throw new TypeError(`backend-webgpu: read: dtype ${dtype} has no storage on this backend`);
    }
  }

  free(storage: Storage): void {
    if (this.disposed) return;
    this.pool.release((storage as GpuStorage).buffer);
    if (!this.encoder) this.pool.submitted();
  }

  memoryOverhead(): number {
    return this.pool.bytes + META_ARENA_BYTES;
  }

  /** Destroys every pooled buffer and the device. Tensors of this backend become unusable. */
  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.disposed = true;
    this.pool.submitted();
    this.pool.clear();
    this.metaArena.destroy();
    this.pipelines.clear();
    this.device.destroy();
  }

  // ---- primitives ----

  fill(shape: readonly number[], value: number, dtype: DType): Storage {
    this.check('fill');
    const n = sizeOf(shape);
    const s = this.alloc(dtype, n);
    const words = Math.ceil(s.byteLength / 4);
    const meta = new Meta();
    meta.u(words);
    const packed = isPacked(dtype);
    if (packed) {
      const h = scalarBits(value, 'f32');
      meta.u(h); // packed in the shader
    } else meta.u(scalarBits(value, computeType(dtype)));
    const enc = packed ? halfBitsFn(dtype) : '';
    this.dispatch({
      label: 'fill',
      key: `fill:${enc}`,
      code: () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${MAIN_1D} {
  let i = gid.x + gid.y * (nwg.x * 256u);
  if (i >= prm[0u]) { return; }
  ${packed ? `let h = ${enc}(bitcast<f32>(prm[1u])); out[i] = h | (h << 16u);` : 'out[i] = prm[1u];'}
}`,
      buffers: [s.buffer],
      meta,
      groups: grid1d(words),
    });
    return s;
  }

  copy(x: View, to: DType): Storage {
    this.check('copy');
    return elementwise(
      this.ctx,
      {
        label: 'copy',
        op: 'copy',
        shape: x.shape,
        inputs: [{ x, as: computeType(to) }],
        expr: (v) => v[0],
        result: computeType(to),
      },
      to,
    ) as GpuStorage;
  }

  write(dst: View, src: Operand): void {
    this.check('write');
    let source = src;
    let temp: GpuStorage | null = null;
    if (typeof src !== 'number' && src.storage === dst.storage) {
      temp = this.copy(src, src.dtype) as GpuStorage;
      source = {
        storage: temp,
        dtype: src.dtype,
        shape: src.shape,
        strides: contiguous(src.shape),
        offset: 0,
      };
    }
    const t = computeType(dst.dtype);
    elementwise(
      this.ctx,
      {
        label: 'write',
        op: 'write',
        shape: dst.shape,
        inputs: [{ x: source, as: t }],
        expr: (v) => v[0],
        result: t,
      },
      dst.dtype,
      dst,
    );
    if (temp) this.free(temp);
  }

  unary(op: UnaryOp, x: View, outDtype: DType): Storage {
    this.check(op);
    const u = unaryExpr(op, computeType(x.dtype));
    return elementwise(
      this.ctx,
      {
        label: op,
        op: `u-${op}`,
        shape: x.shape,
        inputs: [{ x, as: u.as }],
        expr: (v) => u.expr(v[0]),
        result: u.result,
        fns: MATH_FNS,
      },
      outDtype,
    ) as GpuStorage;
  }

  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    computeDtype: DType,
    outDtype: DType,
  ): Storage {
    this.check(op);
    const t = computeType(computeDtype);
    const e = binaryExpr(op, t);
    return elementwise(
      this.ctx,
      {
        label: op,
        op: `b-${op}`,
        shape: outShape,
        inputs: [
          { x: a, as: t },
          { x: b, as: t },
        ],
        expr: (v) => e.expr(v[0], v[1]),
        result: e.result,
        fns: MATH_FNS,
      },
      outDtype,
    ) as GpuStorage;
  }

  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage {
    this.check('where');
    const t = computeType(dtype);
    return elementwise(
      this.ctx,
      {
        label: 'where',
        op: 'where',
        shape: outShape,
        inputs: [
          { x: cond, as: 'u32' },
          { x: a, as: t },
          { x: b, as: t },
        ],
        expr: (v) => `select(${v[2]}, ${v[1]}, ${v[0]} != 0u)`,
        result: t,
      },
      dtype,
    ) as GpuStorage;
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): Storage {
    this.check(op);
    return this.viaF32(outDtype, (dt) => reduceKernel(this.ctx, op, x, axes, dt));
  }

  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage {
    this.check('matmul');
    // a few rows (decoding) waste a 64-row tile: matrix-vector kernel
    if (useGemv(m, k, n)) return gemvKernel(this.ctx, a, b, batch, m, k, n);
    return matmulKernel(this.ctx, a, b, batch, m, k, n);
  }

  /**
   * Fused `activation(a @ b + bias)`: the bias and the activation are applied in the matmul's
   * epilogue, before the tile is stored; products of a few rows (decoding) take the
   * matrix-vector kernel, which applies them as it stores each output.
   */
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
    this.check('linear');
    const epilogue = { bias, activation };
    return useGemv(m, k, n)
      ? gemvKernel(this.ctx, a, b, batch, m, k, n, epilogue)
      : matmulKernel(this.ctx, a, b, batch, m, k, n, epilogue);
  }

  gather(x: View, dim: number, index: View): Storage {
    this.check('gather');
    return this.viaF32(x.dtype, (dt) => gatherKernel(this.ctx, x, dim, index, dt));
  }

  scatterAdd(target: View, dim: number, index: View, src: View): Storage {
    this.check('scatterAdd');
    const dt = target.dtype;
    const work: DType = dt === 'int32' ? 'int32' : 'float32';
    const out = this.copy(target, work) as GpuStorage;
    scatterAddKernel(this.ctx, out, target.shape, dim, index, src);
    return this.castOwned(out, work, dt, target.shape);
  }

  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage {
    this.check(op);
    return this.viaF32(x.dtype, (dt) => cumulativeKernel(this.ctx, op, x, dim, dt));
  }

  sort(x: View, descending: boolean): [Storage, Storage] {
    this.check('sort');
    const work: DType = x.dtype === 'int32' || x.dtype === 'bool' ? 'int32' : 'float32';
    const [v, i] = sortKernel(this.ctx, x, descending, work);
    return [this.castOwned(v, work, x.dtype, x.shape), i];
  }

  conv2d(x: View, w: View, params: Conv2dParams): Storage {
    this.check('conv2d');
    return conv2dKernel(this.ctx, x, w, params);
  }

  softmax(x: View, log: boolean): Storage {
    this.check('softmax');
    return softmaxKernel(this.ctx, x, log);
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): Storage {
    this.check('layerNorm');
    return layerNormKernel(this.ctx, x, weight, bias, eps);
  }

  rmsNorm(x: View, weight: View | null, eps: number): Storage {
    this.check('rmsNorm');
    return rmsNormKernel(this.ctx, x, weight, eps);
  }

  /**
   * Fused flash-style attention (kernels/attention.ts): one workgroup per block of queries, keys
   * tiled through workgroup memory with an online softmax; the Lq×Lk matrix never exists.
   */
  attention(q: View, k: View, v: View, params: AttentionParams): Storage {
    this.check('attention');
    return attentionKernel(this.ctx, q, k, v, params);
  }

  /**
   * Fused block-sparse attention (kernels/attention.ts): the same kernel, each workgroup walking
   * only the key blocks its query block sees.
   */
  blockSparseAttention(q: View, k: View, v: View, params: BlockSparseAttentionParams): Storage {
    this.check('blockSparseAttention');
    return attentionKernel(this.ctx, q, k, v, params, params.blocks);
  }

  // ---- helpers ----

  /** Runs `fn` in float32 when `dtype` is float16 or bfloat16 (kernels never write packed halves), then packs. */
  private viaF32(dtype: DType, fn: (dt: DType) => GpuStorage): GpuStorage {
    if (!isPacked(dtype)) return fn(dtype);
    const tmp = fn('float32');
    const shape = [tmp.length];
    return this.castOwned(tmp, 'float32', dtype, shape);
  }

  /** Casts a fresh contiguous storage to `to`, freeing it (returns it unchanged when `from === to`). */
  private castOwned(s: GpuStorage, from: DType, to: DType, shape: readonly number[]): GpuStorage {
    if (from === to) return s;
    const out = this.copy(
      { storage: s, dtype: from, shape, strides: contiguous(shape), offset: 0 },
      to,
    ) as GpuStorage;
    this.free(s);
    return out;
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

/**
 * Requests a WebGPU device (navigator.gpu in browsers, the `webgpu` package in Node) and creates a
 * backend on it. Register it with `registerBackend('webgpu', () => backend)` or use {@link initWebGPU}.
 *
 * @example
 * ```ts
 * const backend = await createWebGPUBackend();
 * console.log(backend.adapterName);
 * ```
 */
export async function createWebGPUBackend(
  options: WebGPUDeviceOptions & WebGPUBackendOptions = {},
): Promise<WebGPUBackend> {
  return new WebGPUBackend(await acquireDevice(options), options);
}
