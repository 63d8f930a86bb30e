import { GpuJsBackend, initGpuJs } from '@attnkit/backend-gpujs';
import { fromValues, setBackend } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

const backend = await initGpuJs();

/** Deterministic values in [-1, 1) (an LCG), so the float64 reference sees the same inputs. */
function values(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 8388608 - 1;
  });
}

/** float64 reference of a [b, m, k] x [b, k, n] product (b optional: 1 when absent). */
function matmul64(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[z * m * k + i * k + p] * b[z * k * n + p * n + j];
        out[z * m * n + i * n + j] = s;
      }
  return out;
}

function expectClose(got: ArrayLike<number>, want: Float64Array, rtol: number, atol: number) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    worst = Math.max(worst, err);
  }
  expect(worst).toBeLessThanOrEqual(0);
}

describe('gpujs matmul against float64', () => {
  it('registers a GpuJsBackend named gpujs', () => {
    expect(backend).toBeInstanceOf(GpuJsBackend);
    expect(setBackend('gpujs')).toBe(backend);
  });

  it('[96, 80] @ [80, 72] within 1e-5 relative', async () => {
    setBackend('gpujs');
    const [m, k, n] = [96, 80, 72];
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    const y = fromValues(a, [m, k], 'float32').matmul(fromValues(b, [k, n], 'float32'));
    expect(y.shape).toEqual([m, n]);
    expectClose(await y.data(), matmul64(a, b, 1, m, k, n), 1e-5, 1e-5);
  });

  it('batched product with a transposed (strided) right operand', async () => {
    setBackend('gpujs');
    const [z, m, k, n] = [3, 17, 33, 9];
    const a = values(z * m * k, 3);
    const bt = values(z * n * k, 4); // stored as [z, n, k]; used transposed
    const b = new Float64Array(z * k * n);
    for (let q = 0; q < z; q++)
      for (let p = 0; p < k; p++)
        for (let j = 0; j < n; j++) b[q * k * n + p * n + j] = bt[q * n * k + j * k + p];
    const y = fromValues(a, [z, m, k], 'float32').matmul(
      fromValues(bt, [z, n, k], 'float32').transpose(1, 2),
    );
    expect(y.shape).toEqual([z, m, n]);
    expectClose(await y.data(), matmul64(a, b, z, m, k, n), 1e-5, 1e-5);
  });
});
