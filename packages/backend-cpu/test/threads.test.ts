// The worker pool: products split across threads equal the single-threaded ones bit for bit (each
// output element is summed in the same order whatever the split), both equal a float64 reference,
// the linear epilogue (bias + activation) runs on every thread's rectangle, weights live in the
// heap and are read in place, and bad thread counts are refused.
import { CpuBackend, CpuStorage } from '@attnkit/backend-cpu';
import {
  type LinearActivation,
  linear,
  matmul,
  memory,
  registerBackend,
  setBackend,
  type Tensor,
  tensor,
} from '@attnkit/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores } from '../src/pool.js';
import { rng, values } from './random.js';

// Two workers beside the calling thread where the host has the cores, else as many as it has.
const THREADS = Math.min(3, availableCores());
const multi = new CpuBackend({ threads: THREADS });
const single = new CpuBackend({ threads: 1 });
registerBackend('cpu-threads', () => multi);
registerBackend('cpu-single', () => single);

beforeAll(async () => {
  await multi.ready();
});
afterAll(() => setBackend('cpu'));

/** Runs `f` on a backend with inputs made there from host arrays; returns the output values. */
function on(name: string, f: (t: (v: Float32Array, s: number[]) => Tensor) => Tensor): Float32Array {
  setBackend(name);
  return f((v, s) => tensor(v, s)).dataSync() as Float32Array;
}

const F64: Record<LinearActivation, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  gelu: (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x / (1 + Math.exp(-x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
};
/** erf in float64: Maclaurin series for |x| < 2, else 1 - erfc by its continued fraction. */
function erf64(x: number): number {
  if (Math.abs(x) >= 2) {
    const z = Math.abs(x);
    let t = z;
    for (let n = 80; n >= 1; n--) t = z + n / 2 / t;
    const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / t;
    return Math.sign(x) * (1 - erfc);
  }
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('threaded products', () => {
  it('the backend reports its threads and runs the workers', () => {
    expect(multi.threads).toBe(THREADS);
    expect(single.threads).toBe(1);
    expect(multi.sharedMemory).toBe(true);
  });

  // [m, k, n, layout of B]: gemm split by columns (n >= m) and by rows, the matrix-vector kernels
  // (x @ W.T reads W rows in place; x @ W reads B rows), edges of every tile.
  const cases: [number, number, number, 'plain' | 'transposed'][] = [
    [96, 300, 520, 'plain'],
    [517, 70, 33, 'transposed'],
    [130, 257, 131, 'transposed'],
    [1, 768, 2304, 'transposed'],
    [3, 769, 1001, 'transposed'],
    [2, 333, 1030, 'plain'],
    [7, 64, 4099, 'plain'],
  ];
  for (const [m, k, n, layout] of cases) {
    it(`[${m}, ${k}] @ [${k}, ${n}] (B ${layout}): ${THREADS} threads equal 1 thread bit for bit, and float64`, () => {
      const r = rng(m * 7919 + n);
      const a = values(m * k, r);
      const b = values(k * n, r);
      const make = (t: (v: Float32Array, s: number[]) => Tensor) =>
        matmul(t(a, [m, k]), layout === 'plain' ? t(b, [k, n]) : t(b, [n, k]).T);
      const y1 = on('cpu-single', make);
      const yt = on('cpu-threads', make);
      expect(yt).toEqual(y1);
      let worst = 0;
      for (let i = 0; i < m; i += Math.max(1, Math.floor(m / 17))) {
        for (let j = 0; j < n; j += Math.max(1, Math.floor(n / 23))) {
          let s = 0;
          let mag = 0;
          for (let q = 0; q < k; q++) {
            const p = a[i * k + q] * (layout === 'plain' ? b[q * n + j] : b[j * k + q]);
            s += p;
            mag += Math.abs(p);
          }
          worst = Math.max(worst, Math.abs(yt[i * n + j] - s) / ((k + 2) * 2 ** -24 * mag));
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }

  for (const act of [null, 'relu', 'gelu', 'gelu_tanh', 'silu', 'sigmoid', 'tanh'] as const) {
    for (const m of [1, 40]) {
      it(`linear epilogue (bias + ${act ?? 'no activation'}) on ${m} row(s): threads equal one thread and float64`, () => {
        const [k, n] = [200, 777];
        const r = rng(m + (act?.length ?? 0));
        const x = values(m * k, r);
        const w = values(n * k, r);
        const bias = values(n, r);
        const make = (t: (v: Float32Array, s: number[]) => Tensor) =>
          linear(t(x, [m, k]), t(w, [n, k]), t(bias, [n]), { activation: act });
        const y1 = on('cpu-single', make);
        const yt = on('cpu-threads', make);
        expect(yt).toEqual(y1);
        let worst = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = bias[j];
            let mag = Math.abs(bias[j]);
            for (let q = 0; q < k; q++) {
              s += x[i * k + q] * w[j * k + q];
              mag += Math.abs(x[i * k + q] * w[j * k + q]);
            }
            const want = act ? F64[act](s) : s;
            // float32 sum bound, carried through the activation (slope <= 1.13), plus its own
            // float32 evaluation error
            const tol = 1.13 * (k + 3) * 2 ** -24 * mag + 4e-7 * Math.max(1, Math.abs(want));
            worst = Math.max(worst, Math.abs(yt[i * n + j] - want) / tol);
          }
        }
        expect(worst).toBeLessThanOrEqual(1);
      });
    }
  }

  it('weights live in the heap and the decode loop allocates nothing new there', () => {
    setBackend('cpu-threads');
    const r = rng(9);
    const w = tensor(values(3072 * 768, r), [3072, 768]);
    const st = (w as unknown as { storage: CpuStorage }).storage;
    expect(st).toBeInstanceOf(CpuStorage);
    expect(st.ptr).toBeGreaterThanOrEqual(0);
    const x = tensor(values(768, r), [1, 768]);
    const step = () => {
      const y = linear(x, w, null, { activation: 'gelu_tanh' });
      y.dispose();
    };
    for (let i = 0; i < 5; i++) step();
    const before = memory([multi]).cpu;
    const bytesBefore = multi.memoryOverhead();
    for (let i = 0; i < 200; i++) step();
    expect(memory([multi]).cpu.numBytes).toBe(before.numBytes);
    expect(multi.memoryOverhead()).toBe(bytesBefore);
    w.dispose();
    x.dispose();
  });

  it('refuses thread counts below 1, above the cores, or fractional', () => {
    const cores = availableCores();
    expect(() => new CpuBackend({ threads: 0 })).toThrow(/threads must be an integer from 1 to/);
    expect(() => new CpuBackend({ threads: cores + 1 })).toThrow(
      new RegExp(`from 1 to ${cores}.*got ${cores + 1}`),
    );
    expect(() => new CpuBackend({ threads: 1.5 })).toThrow(/got 1.5/);
  });
});
