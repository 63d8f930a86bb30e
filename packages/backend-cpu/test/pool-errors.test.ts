// The worker pool when a task fails (a WebAssembly trap on the calling thread or in a worker): run()
// throws, but only after every task of that call has finished, so the next call is neither handed a
// stale "done" from the failed call's workers (returning before its own tasks ran) nor a stale
// failure flag (throwing for a call that worked). And when a worker sleeps through a call: the
// caller takes its task back and runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemmModule, type Task, WorkerPool } from '../src/pool.js';

const PAGE = 65536;
const memory = new WebAssembly.Memory({ initial: 16, maximum: 64, shared: true });
const module = gemmModule(true);
const pool = module ? new WorkerPool(memory, module) : null;

// dequant_q8(w, ldw, scales, groups, gsize, out, rows): out[j, q] = w[j, q] · scales[j, q / gsize]
const W = PAGE; // int8 weights
const SCALES = PAGE + 1024; // float32 scales
const OUT = 2 * PAGE; // float32 outputs, 64 bytes per task
const bytes = new Int8Array(memory.buffer);
const floats = new Float32Array(memory.buffer);

/** Writes out[0..3] = w[0..3] · scale at OUT + slot * 64. */
const good = (slot: number, scale: number): Task => {
  floats[(SCALES >> 2) + slot] = scale;
  return {
    kernel: 'dequant_q8',
    args: [W, 4, SCALES + slot * 4, 1, 4, OUT + slot * 64, 1],
    act: 0,
    c: 0,
    ldc: 0,
    m: 0,
    n: 0,
  };
};
/** Stores past the end of the memory: a WebAssembly trap. */
const trap: Task = {
  kernel: 'dequant_q8',
  args: [W, 4, SCALES, 1, 4, 16 * PAGE - 2, 1],
  act: 0,
  c: 0,
  ldc: 0,
  m: 0,
  n: 0,
};
/** 2^26 empty rows: a fraction of a second of work that touches no memory. */
const slow: Task = {
  kernel: 'dequant_q8',
  args: [W, 0, SCALES, 0, 0, OUT, 2 ** 26],
  act: 0,
  c: 0,
  ldc: 0,
  m: 0,
  n: 0,
};
const out = (slot: number) => [...floats.subarray((OUT >> 2) + slot * 16, (OUT >> 2) + slot * 16 + 4)];

beforeAll(async () => {
  bytes.set([1, 2, 3, 4], W);
  pool?.ensureWorkers(2);
  await pool?.whenReady(2);
});
afterAll(async () => {
  await pool?.terminate();
});

describe.runIf(pool)('worker pool failures', () => {
  it('a trap on the calling thread is thrown after the workers finish; the next call runs all its tasks', () => {
    const p = pool!;
    expect(() => p.run([trap, slow])).toThrow(/out of bounds/);
    floats.fill(0, OUT >> 2, (OUT >> 2) + 64);
    p.run([good(0, 2), good(1, 3), good(2, 5)]);
    expect([out(0), out(1), out(2)]).toEqual([
      [2, 4, 6, 8],
      [3, 6, 9, 12],
      [5, 10, 15, 20],
    ]);
  });

  it('a trap in a worker is thrown by the caller, once; the next call does not see it', () => {
    const p = pool!;
    // the caller's own task is slow, so the workers surely take theirs (none is taken back)
    expect(() => p.run([slow, trap, good(2, 1)])).toThrow('a worker thread failed');
    expect(() => p.run([trap, trap])).toThrow(/out of bounds/);
    floats.fill(0, OUT >> 2, (OUT >> 2) + 64);
    expect(() => p.run([good(0, 7), good(1, 11)])).not.toThrow();
    expect([out(0), out(1)]).toEqual([
      [7, 14, 21, 28],
      [11, 22, 33, 44],
    ]);
  });

  it('tasks a sleeping worker has not taken yet are taken back by the caller, and the next calls still wait for the workers that took theirs', async () => {
    const p = pool!;
    const before = p.reclaimed;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 5)); // the workers go to sleep
      floats.fill(0, OUT >> 2, (OUT >> 2) + 64);
      p.run([good(0, 2 + i), good(1, 3 + i), good(2, 5 + i)]); // a microsecond of work each
      expect([out(0), out(1), out(2)]).toEqual([2 + i, 3 + i, 5 + i].map((s) => [s, 2 * s, 3 * s, 4 * s]));
      // then a call whose workers take their tasks (the caller's is slow): none is lost
      floats.fill(0, OUT >> 2, (OUT >> 2) + 64);
      p.run([slow, good(1, 7), good(2, 11)]);
      expect([out(1), out(2)]).toEqual([
        [7, 14, 21, 28],
        [11, 22, 33, 44],
      ]);
    }
    expect(p.reclaimed).toBeGreaterThan(before);
  });
});
