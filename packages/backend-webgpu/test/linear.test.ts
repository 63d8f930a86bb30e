import './setup.js';
import { initWebGPU, type WebGPUBackend } from '@attnkit/backend-webgpu';
import { fromValues, type LinearActivation, linear, setBackend } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

// linear(x, W, b, { activation }) with the bias and activation fused into the matmul epilogue
// (and, for a few rows, the matrix-vector kernel then elementwise ops), against float64.

let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await initWebGPU();
  setBackend('webgpu');
});

function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s >>> 8) / 8388608 - 1);
  });
}

/** erf in float64 (series for |x| < 3, else the asymptotic complement): error far below 1e-12. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let k = 1; k < 100; k++) {
      term *= (-ax * ax) / k;
      const t = term / (2 * k + 1);
      sum += t;
      if (Math.abs(t) < 1e-17) break;
    }
    return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
  }
  // erfc by continued fraction
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

const ACTS: Record<LinearActivation, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x / (1 + Math.exp(-x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
};

function reference(
  xv: number[],
  rows: number,
  k: number,
  wv: number[],
  n: number,
  bv: number[] | null,
  act: LinearActivation | null,
): Float64Array {
  const out = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < n; j++) {
      let s = bv ? bv[j] : 0;
      for (let kk = 0; kk < k; kk++) s += xv[i * k + kk] * wv[j * k + kk];
      out[i * n + j] = act ? ACTS[act](s) : s;
    }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 2e-5 + 1e-4 * Math.abs(want[i])))
      throw new Error(`${what}: element ${i}: got ${got[i]}, expected ${want[i]}`);
  }
}

const acts: (LinearActivation | null)[] = [null, 'relu', 'gelu', 'gelu_tanh', 'silu', 'sigmoid', 'tanh'];

describe('webgpu linear: bias and activation in the matmul epilogue', () => {
  // [batch dims, rows, in, out]: tiles with partial edges and N % 4 != 0; N % 4 == 0 (vec4 stores);
  // one row (the matrix-vector path)
  const shapes: [number[], number, number, number][] = [
    [[2], 37, 70, 130],
    [[], 65, 48, 68],
    [[], 1, 96, 80],
  ];
  for (const [batch, rows, k, n] of shapes) {
    it(`x [${[...batch, rows, k]}] @ W [${n}, ${k}]ᵀ, every activation, with and without bias`, async () => {
      const nb = batch.reduce((p, q) => p * q, 1);
      const xv = values(nb * rows * k, rows);
      const wv = values(n * k, n).map((v) => Math.fround(v / 4));
      const bv = values(n, 3);
      const x = fromValues(xv, [...batch, rows, k], 'float32');
      const w = fromValues(wv, [n, k], 'float32');
      const b = fromValues(bv, [n], 'float32');
      const spy = vi.spyOn(backend, 'linear');
      spy.mockClear();
      for (const act of acts)
        for (const withBias of [true, false]) {
          const y = linear(x, w, withBias ? b : null, { activation: act });
          expect(y.shape).toEqual([...batch, rows, n]);
          expectClose(
            await y.data(),
            reference(xv, nb * rows, k, wv, n, withBias ? bv : null, act),
            `${act ?? 'none'}, bias ${withBias}`,
          );
          y.dispose();
        }
      expect(spy).toHaveBeenCalledTimes(acts.length * 2);
      spy.mockRestore();
      for (const t of [x, w, b]) t.dispose();
    });
  }

  it('a 1-D input, a float16 weight and a strided (transposed-back) input', async () => {
    const [k, n] = [72, 40];
    const xv = values(k, 9);
    const wv = values(n * k, 10).map((v) => Math.round(v * 256) / 256);
    const bv = values(n, 11);
    const x = fromValues(xv, [k], 'float32');
    const w = fromValues(wv, [n, k], 'float16');
    const b = fromValues(bv, [n], 'float32');
    const y = linear(x, w, b, { activation: 'silu' });
    expect(y.shape).toEqual([n]);
    expectClose(await y.data(), reference(xv, 1, k, wv, n, bv, 'silu'), '1-D input');
    // x as the transpose of a [k, 3] buffer: a strided [3, k] view
    const xt = values(3 * k, 12);
    const xT = fromValues(xt, [k, 3], 'float32').T;
    const rowsT = Array.from({ length: 3 * k }, (_, i) => xt[(i % k) * 3 + Math.floor(i / k)]);
    const y2 = linear(xT, w, b, { activation: 'relu' });
    expectClose(await y2.data(), reference(rowsT, 3, k, wv, n, bv, 'relu'), 'strided input');
    for (const t of [x, w, b, y, y2]) t.dispose();
  });

  it('records gradients through the decomposition (matmul, add, activation) with the same values', async () => {
    const [rows, k, n] = [5, 12, 9];
    const xv = values(rows * k, 21);
    const wv = values(n * k, 22);
    const bv = values(n, 23);
    const x = fromValues(xv, [rows, k], 'float32');
    const w = fromValues(wv, [n, k], 'float32');
    w.requiresGrad = true;
    const b = fromValues(bv, [n], 'float32');
    const spy = vi.spyOn(backend, 'linear');
    spy.mockClear();
    const y = linear(x, w, b, { activation: 'tanh' });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(y.requiresGrad).toBe(true);
    expectClose(await y.data(), reference(xv, rows, k, wv, n, bv, 'tanh'), 'with gradients');
  });

  it('rejects bad arguments with messages naming linear', () => {
    const x = fromValues(values(6, 1), [2, 3], 'float32');
    const w = fromValues(values(12, 2), [4, 3], 'float32');
    expect(() => linear(x, fromValues(values(8, 3), [4, 2], 'float32'))).toThrow(
      /linear: expected input \[\.\.\., in\]/,
    );
    expect(() => linear(x, w, fromValues(values(3, 4), [3], 'float32'))).toThrow(
      /linear: expected bias \[4\]/,
    );
    expect(() => linear(x, w, null, { activation: 'softmax' as LinearActivation })).toThrow(
      /linear: activation must be one of/,
    );
  });
});
