// countLiveBytes (@attnkit/tensor-core/testing), the live-bytes counter of the memory tests
// (attention's flash-memory, transformer's loading-half-save), on the reference backend: it counts
// every storage a kernel makes and every one freed, exactly, keeps the peak of one call, and can
// hide an optional kernel so that tensor-core takes its reference composition.
import './reference-backend.js';
import {
  add,
  getBackend,
  matmul,
  registerBackend,
  setBackend,
  softmax,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { countLiveBytes } from '@attnkit/tensor-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('countLiveBytes', () => {
  const base = getBackend();
  const c = countLiveBytes(base, 'reference-live');
  registerBackend('reference-live', () => c.backend, -1);
  beforeAll(() => setBackend('reference-live'));
  afterAll(() => setBackend(base.name));

  it('is the inner backend under its own name', () => {
    expect(c.backend.name).toBe('reference-live');
    expect(getBackend().name).toBe('reference-live');
    expect(typeof c.backend.softmax).toBe('function');
  });

  it('counts what a call allocates at its peak and what it keeps, and what dispose frees', () => {
    const start = c.live;
    const kept: Tensor[] = [];
    const m = c.measure(() => {
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]); // 24 bytes
      const y = add(x, x); // 24 more, then x goes
      x.dispose();
      kept.push(y);
    });
    expect(m).toEqual({ peak: 48, after: 24 });
    expect(c.live).toBe(start + 24);
    kept[0].dispose();
    expect(c.live).toBe(start);
  });

  it('awaits an async call', async () => {
    const m = await c.measure(async () => {
      const x = tensor([1, 2, 3, 4], [4], 'int32'); // 16 bytes
      await x.data();
      x.dispose();
    });
    expect(m).toEqual({ peak: 16, after: 0 });
  });

  it('hides an optional kernel: the same softmax through the reference composition holds more', () => {
    const hidden = countLiveBytes(base, 'reference-no-softmax', { hide: 'softmax' });
    registerBackend('reference-no-softmax', () => hidden.backend, -1);
    expect(hidden.backend.softmax).toBeUndefined();
    const run = (counter: typeof c) =>
      counter.measure(() => tidy(() => Array.from(softmax(tensor([1, 2, 3, 4], [2, 2])).dataSync())));
    const fused = run(c);
    setBackend('reference-no-softmax');
    try {
      const composed = run(hidden);
      // input and output only (2 × 16 bytes) with the kernel; the max, exp and sum besides without
      expect(fused.peak).toBe(32);
      expect(composed.peak).toBeGreaterThan(fused.peak);
      expect([fused.after, composed.after]).toEqual([0, 0]);
    } finally {
      setBackend('reference-live');
    }
  });

  it('matmul outside any scope keeps no view of its operands: disposing them frees everything', () => {
    const start = c.live;
    const x = tensor(
      Float32Array.from({ length: 24 }, (_, i) => i / 8),
      [2, 3, 4],
    );
    const w = tensor(
      Float32Array.from({ length: 20 }, (_, i) => 1 - i / 10),
      [4, 5],
    ); // broadcast over the batch
    const v = tensor([1, 2, 3, 4], [4], 'int32'); // cast to float32, and promoted to a matrix
    const y = matmul(x, w);
    const z = matmul(x, v);
    expect(y.shape).toEqual([2, 3, 5]);
    expect(z.shape).toEqual([2, 3]);
    for (const t of [x, w, v, y, z]) t.dispose();
    expect(c.live).toBe(start);
  });
});
