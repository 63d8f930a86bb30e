/**
 * The heap: one WebAssembly memory that holds the CPU backend's large float arrays (weights,
 * activations, outputs), so that WebAssembly kernels read them in place, with no copy per call,
 * and so that worker threads see the same bytes. Where SharedArrayBuffer exists (Node, and
 * cross-origin-isolated pages) the memory is shared; elsewhere there is no heap and storages stay
 * ordinary typed arrays (growing an unshared memory would detach every view of it).
 *
 * Allocation is by size class: sizes are rounded up (to 64 bytes, and above 64 KiB to one
 * sixteenth of their power of two), a freed block goes to its class's free list, and an
 * allocation takes a block of its class or bumps the top of the heap. A loop that allocates the
 * same shapes every step (decoding, training) therefore runs in flat memory. Blocks are returned
 * when tensor-core frees a storage, or by a FinalizationRegistry when a storage is collected
 * without being freed.
 */

/** Bytes at the bottom of the memory kept for the worker pool's control words. */
export const RESERVED_BYTES = 65536;
const PAGE = 65536;

function sizeClass(bytes: number): number {
  if (bytes <= PAGE) return Math.max(64, Math.ceil(bytes / 64) * 64);
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 4);
  return Math.ceil(bytes / step) * step;
}

/** A block of the heap: byte offset, the bytes asked for, and whether it backs a storage. */
interface Block {
  ptr: number;
  bytes: number;
  storage: boolean;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top = RESERVED_BYTES;
  private readonly free = new Map<number, number[]>();
  private readonly finalizer: FinalizationRegistry<Block>;
  /** Bytes of blocks handed out and not yet returned (rounded up to their size classes). */
  liveBytes = 0;
  /** Bytes asked for by the blocks that back storages ({@link track}). */
  storageBytes = 0;
  /** Bytes asked for by the blocks attached to storages beside their own ({@link attach}). */
  attachedBytes = 0;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.finalizer = new FinalizationRegistry((b) => {
      if (b.storage) this.storageBytes -= b.bytes;
      else this.attachedBytes -= b.bytes;
      this.release(b.ptr, b.bytes);
    });
  }

  /** Total bytes of the memory (live blocks, free lists and the reserved control area). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates a block of at least `bytes` (16-byte aligned); returns its byte offset. */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    this.liveBytes += size;
    if (list?.length) return list.pop() as number;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return ptr;
  }

  /** Returns a block to its free list. */
  release(ptr: number, bytes: number): void {
    const size = sizeClass(bytes);
    this.liveBytes -= size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(ptr);
  }

  /** Makes the block back a storage `owner`: returned when `owner` is collected, unless {@link untrack} comes first. */
  track(owner: object, ptr: number, bytes: number): void {
    this.storageBytes += bytes;
    this.finalizer.register(owner, { ptr, bytes, storage: true }, owner);
  }

  /**
   * Makes the block a companion of storage `owner` (a packed copy of its values): returned when
   * `owner` is collected, unless {@link detach} with the same `token` comes first.
   */
  attach(owner: object, token: object, ptr: number, bytes: number): void {
    this.attachedBytes += bytes;
    this.finalizer.register(owner, { ptr, bytes, storage: false }, token);
  }

  /** Returns a block made by {@link attach} now. */
  detach(token: object, ptr: number, bytes: number): void {
    this.finalizer.unregister(token);
    this.attachedBytes -= bytes;
    this.release(ptr, bytes);
  }

  /** Returns the block of storage `owner` now (tensor-core freed it). */
  untrack(owner: object, ptr: number, bytes: number): void {
    this.finalizer.unregister(owner);
    this.storageBytes -= bytes;
    this.release(ptr, bytes);
  }

  /** A Float32Array of `n` elements at byte offset `ptr`. */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** An Int8Array of `n` elements at byte offset `ptr`. */
  i8(ptr: number, n: number): Int8Array {
    return new Int8Array(this.memory.buffer, ptr, n);
  }

  /** A Uint16Array of `n` elements at byte offset `ptr`. */
  u16(ptr: number, n: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, n);
  }
}

let heap: WasmHeap | null | undefined;

/** True where SharedArrayBuffer can be used (Node; browsers only when cross-origin isolated). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof WebAssembly !== 'object') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
  return g.window === undefined || g.crossOriginIsolated === true;
}

/** The process's heap, or null where shared WebAssembly memory is unavailable. */
export function getHeap(): WasmHeap | null {
  if (heap !== undefined) return heap;
  heap = null;
  if (!sharedMemoryAvailable()) return heap;
  // Shared memories need a maximum: 4 GiB (the whole 32-bit address space), else 1 GiB where a
  // host will not reserve that much address space.
  for (const maximum of [65536, 16384]) {
    try {
      const memory = new WebAssembly.Memory({ initial: RESERVED_BYTES / PAGE, maximum, shared: true });
      heap = new WasmHeap(memory);
      break;
    } catch {
      // try the smaller maximum, else no heap
    }
  }
  return heap;
}
