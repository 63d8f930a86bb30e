/// <reference types="@webgpu/types" preserve="true" />

/**
 * Rounds a byte size up to its size class: multiples of 256 bytes, then steps of 1/8 of the
 * enclosing power of two, so a pooled buffer wastes at most 12.5%.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, bytes);
  const step = Math.max(256, 2 ** (Math.floor(Math.log2(b)) - 3));
  return Math.ceil(b / step) * step;
}

/**
 * Free GPU buffers keyed by (usage, size class). Buffers released while commands that use them
 * are still being recorded go to a pending list and become reusable at the next submit, so a
 * queue.writeBuffer into a reused buffer can never overtake earlier recorded work.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private pooledBytes = 0;

  constructor(
    /** Pooled bytes above which released buffers are destroyed instead of kept. */
    private readonly maxPooledBytes: number,
  ) {}

  /** Takes a buffer of at least `bytes` bytes with exactly `usage`, creating one when none is free. */
  acquire(bytes: number, usage: number, create: (size: number) => GPUBuffer): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(`${usage}:${size}`);
    const b = list?.pop();
    if (b) {
      this.pooledBytes -= b.size;
      return b;
    }
    return create(size);
  }

  /** Returns a buffer that recorded (not yet submitted) commands may still use. */
  release(buffer: GPUBuffer): void {
    this.pending.push(buffer);
  }

  /** Returns a buffer no recorded command uses (e.g. a mapped staging buffer after reading). */
  releaseNow(buffer: GPUBuffer): void {
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Called after a submit: pending buffers become reusable. */
  submitted(): void {
    const p = this.pending;
    this.pending = [];
    for (const b of p) this.releaseNow(b);
  }

  /** Bytes held by free (pooled) buffers. */
  get bytes(): number {
    let pendingBytes = 0;
    for (const b of this.pending) pendingBytes += b.size;
    return this.pooledBytes + pendingBytes;
  }

  /** Destroys every pooled buffer. */
  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
