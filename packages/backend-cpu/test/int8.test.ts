// int8 weights: quantizeInt8 against the definition (round(w / scale), scale = max|w| / 127 per
// row and group), and linearInt8 on the CPU kernels (gemv_q8 for few rows, dequant_q8 + GEMM for
// more) against a float64 product with the dequantised weights, on 1 and several threads; and the
// kernels themselves: gemv_q8's eight-row blocks give each row exactly what the one-row path gives,
// and dequant_q8 gives exactly w · scale.
import { CpuBackend } from '@attnkit/backend-cpu';
import {
  dequantizeInt8,
  type LinearActivation,
  linearInt8,
  quantizeInt8,
  registerBackend,
  setBackend,
  tensor,
} from '@attnkit/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEMM_WASM_UNSHARED } from '../src/kernels/gemm-wasm.js';
import { availableCores } from '../src/pool.js';
import { rng, values } from './random.js';

const multi = new CpuBackend({ threads: Math.min(3, availableCores()) });
const single = new CpuBackend({ threads: 1 });
registerBackend('cpu-int8-threads', () => multi);
registerBackend('cpu-int8-single', () => single);
beforeAll(async () => {
  await multi.ready();
});
afterAll(() => setBackend('cpu'));

describe('quantizeInt8', () => {
  it('rounds w / scale with scale = max|w| / 127 per row and group; all-zero groups get scale 1', () => {
    setBackend('cpu-int8-single');
    const r = rng(1);
    const [rows, cols, g] = [5, 48, 16];
    const w = values(rows * cols, r);
    w.fill(0, 16, 32); // row 0, group 1: all zero
    const { q, scales, groupSize } = quantizeInt8(tensor(w, [rows, cols]), g);
    expect(q.dtype).toBe('int8');
    expect(q.shape).toEqual([rows, cols]);
    expect(scales.shape).toEqual([rows, cols / g]);
    expect(groupSize).toBe(g);
    const qv = q.dataSync();
    const sv = scales.dataSync();
    for (let i = 0; i < rows; i++) {
      for (let G = 0; G < cols / g; G++) {
        let amax = 0;
        for (let c = 0; c < g; c++) amax = Math.max(amax, Math.abs(w[i * cols + G * g + c]));
        const s = amax === 0 ? 1 : Math.fround(amax / 127);
        expect(sv[i * (cols / g) + G]).toBeCloseTo(s, 7);
        for (let c = 0; c < g; c++) {
          const x = w[i * cols + G * g + c];
          const got = qv[i * cols + G * g + c];
          expect(Math.abs(got - x / s)).toBeLessThanOrEqual(0.5 + 1e-5);
          expect(Math.abs(got)).toBeLessThanOrEqual(127);
        }
      }
    }
    expect(() => quantizeInt8(tensor(w, [rows, cols]), 20)).toThrow(
      /48 columns do not divide into groups of 20/,
    );
  });
});

describe('gemv_q8 and dequant_q8 (the WebAssembly kernels themselves)', () => {
  const kernels = () => {
    const mem = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
    const mod = new WebAssembly.Module(Buffer.from(GEMM_WASM_UNSHARED, 'base64'));
    const ex = new WebAssembly.Instance(mod, { env: { mem } }).exports as Record<
      string,
      (...a: number[]) => void
    >;
    return { mem, ex };
  };
  // [m, k, n, groupSize]: rows in blocks of eight and a tail of n mod 8, groups with and without a
  // scalar rest after the 16-weight steps
  for (const [m, k, n, g] of [
    [1, 768, 19, 768],
    [2, 100, 15, 20],
    [3, 48, 6, 12],
    [1, 35, 17, 35],
    [4, 64, 24, 16],
  ]) {
    it(`[${m}, ${k}] x int8 [${n}, ${k}] group ${g}: each row of an eight-row block equals that row alone, bit for bit, and the float64 product`, () => {
      const { mem, ex } = kernels();
      const r = rng(k + n);
      const groups = k / g;
      const [X, W, S, B, Y, Y1] = [0, 1, 2, 3, 4, 5].map((i) => 65536 + i * 65536);
      const x = new Float32Array(mem.buffer, X, m * k);
      const w = new Int8Array(mem.buffer, W, n * k);
      const sc = new Float32Array(mem.buffer, S, n * groups);
      const b = new Float32Array(mem.buffer, B, n);
      x.set(values(m * k, r));
      for (let i = 0; i < n * k; i++) w[i] = Math.round(r() * 254) - 127;
      w[0] = -127;
      w[1] = 127;
      sc.set(Float32Array.from({ length: n * groups }, () => r() * 0.02 + 1e-3));
      b.set(values(n, r));
      ex.gemv_q8(X, k, W, k, S, groups, g, Y, n, m, n, B);
      // row by row: every call has n = 1, so every row takes the one-row path
      for (let j = 0; j < n; j++)
        ex.gemv_q8(X, k, W + j * k, k, S + j * groups * 4, groups, g, Y1 + j * 4, n, m, 1, B + j * 4);
      const y = new Float32Array(mem.buffer, Y, m * n);
      expect(y).toEqual(new Float32Array(mem.buffer, Y1, m * n));
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = b[j];
          let mag = Math.abs(b[j]);
          for (let q = 0; q < k; q++) {
            const p = x[i * k + q] * w[j * k + q] * sc[j * groups + Math.floor(q / g)];
            s += p;
            mag += Math.abs(p);
          }
          expect(Math.abs(y[i * n + j] - s)).toBeLessThanOrEqual((k + groups + 2) * 2 ** -24 * mag);
        }
      }
      // dequant_q8: exactly w · scale
      ex.dequant_q8(W, k, S, groups, g, Y, n);
      const d = new Float32Array(mem.buffer, Y, n * k);
      for (let j = 0; j < n; j++)
        for (let q = 0; q < k; q++)
          expect(d[j * k + q]).toBe(Math.fround(w[j * k + q] * sc[j * groups + Math.floor(q / g)]));
    });
  }
});

describe('linearInt8 on the CPU kernels', () => {
  // [m, k, n, groupSize]: gemv_q8 (m < 8) with vector and scalar parts of each group, and the
  // dequantise + GEMM path (m >= 8)
  const cases: [number, number, number, number | undefined][] = [
    [1, 768, 600, undefined],
    [1, 256, 700, 64],
    [3, 200, 333, 40],
    [2, 72, 513, 12],
    [20, 96, 130, 32],
    [9, 768, 64, undefined],
    // n mod 8 = 3 (three rows after the eight-row blocks), groups of 16 + 4 and 96 + 4 weights
    [1, 100, 259, 20],
    [5, 100, 1027, undefined],
    // dequantise + GEMM with groups of 16 + 16 + 8 weights
    [12, 120, 37, 40],
  ];
  for (const [m, k, n, g] of cases) {
    for (const act of [null, 'gelu_tanh'] as (LinearActivation | null)[]) {
      it(`[${m}, ${k}] x int8 [${n}, ${k}] (group ${g ?? 'row'}, ${act ?? 'no activation'}): float64 of the dequantised weight, threads = 1 thread`, () => {
        const r = rng(m * 31 + k + n);
        const x = values(m * k, r);
        const w = values(n * k, r);
        const b = values(n, r);
        const run = (name: string) => {
          setBackend(name);
          const w8 = quantizeInt8(tensor(w, [n, k]), g);
          const y = linearInt8(tensor(x, [m, k]), w8, tensor(b, [n]), { activation: act });
          return { y: y.dataSync() as Float32Array, dq: dequantizeInt8(w8).dataSync() as Float32Array };
        };
        const one = run('cpu-int8-single');
        const many = run('cpu-int8-threads');
        expect(many.y).toEqual(one.y);
        // dequantised weights from the int8 values and scales, as float64 (dequantizeInt8 is the
        // reference decomposition: a cast and a multiply, exact in float32 for |q| <= 127)
        let worst = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = b[j];
            let mag = Math.abs(b[j]);
            for (let q = 0; q < k; q++) {
              const p = x[i * k + q] * one.dq[j * k + q];
              s += p;
              mag += Math.abs(p);
            }
            const want = act
              ? 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3)))
              : s;
            const tol = 1.13 * (k + 3) * 2 ** -24 * mag + 4e-7 * Math.max(1, Math.abs(want));
            worst = Math.max(worst, Math.abs(one.y[i * n + j] - want) / tol);
          }
        }
        expect(worst).toBeLessThanOrEqual(1);
      });
    }
  }

  it('checks its arguments', () => {
    setBackend('cpu-int8-single');
    const w8 = quantizeInt8(tensor(new Float32Array(8 * 16).fill(0.5), [8, 16]), 8);
    expect(() => linearInt8(tensor(new Float32Array(15), [1, 15]), w8)).toThrow(
      /expected input \[\.\.\., 16\]/,
    );
    expect(() => linearInt8(tensor(new Float32Array(16), [1, 16]), { ...w8, groupSize: 5 })).toThrow(
      /groupSize 5 must be a positive integer dividing the 16 input features/,
    );
    expect(() =>
      linearInt8(tensor(new Float32Array(16), [1, 16]), { ...w8, q: tensor(new Float32Array(128), [8, 16]) }),
    ).toThrow(/weight.q must be an int8 matrix/);
  });
});
