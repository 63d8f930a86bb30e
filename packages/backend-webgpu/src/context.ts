/// <reference types="@webgpu/types" preserve="true" />
import type { DType, Storage } from '@attnkit/tensor-core';
import type { Meta } from './layout.js';

/**
 * A storage of the WebGPU backend: a GPU buffer holding `length` elements. float16 and bfloat16 are packed two
 * elements per 32-bit word; bool takes one 32-bit word per element (0 or 1).
 */
export class GpuStorage implements Storage {
  constructor(
    /** The buffer (from the pool; may be larger than needed). */
    readonly buffer: GPUBuffer,
    /** Bytes of GPU memory the elements occupy (rounded up to 4). */
    readonly byteLength: number,
    /** Number of elements. */
    readonly length: number,
    /** The dtype the storage was created with. */
    readonly dtype: DType,
  ) {}
}

/** One recorded compute dispatch. */
export interface DispatchSpec {
  /** Short op name, used as the GPU object label (it appears in validation messages). */
  label: string;
  /** Pipeline cache key: the same key must always produce the same WGSL. */
  key: string;
  /** WGSL source generator, called once per key. */
  code: () => string;
  /** Buffers bound at bindings 1, 2, ... (binding 0 is the meta buffer). */
  buffers: GPUBuffer[];
  /** Kernel parameters (binding 0). */
  meta: Meta;
  /** Workgroup counts. */
  groups: [number, number, number];
}

/** What kernels need from the backend. */
export interface KernelContext {
  /** A new storage for `n` elements of `dtype` (contents undefined). */
  alloc(dtype: DType, n: number): GpuStorage;
  /** Records one dispatch into the current batch. */
  dispatch(spec: DispatchSpec): void;
  /** Releases a temporary storage. */
  release(s: GpuStorage): void;
  /** Device limits. */
  readonly limits: GPUSupportedLimits;
  /**
   * True on a fallback (software, CPU-run) adapter, where kernels may prefer fewer, larger
   * invocations.
   */
  readonly software?: boolean;
}

/** Workgroup counts for `threads` invocations of a 256-wide 1-D kernel (spread over x and y). */
export function grid1d(threads: number, perGroup = 256): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / perGroup));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

/** Workgroup counts for one workgroup per item (spread over x and y). */
export function gridItems(items: number): [number, number, number] {
  const x = Math.max(1, Math.min(items, 65535));
  return [x, Math.max(1, Math.ceil(items / x)), 1];
}
