import './setup.js';
import '@attnkit/backend-cpu';
import { initWebGPU } from '@attnkit/backend-webgpu';
import {
  fromBfloat16Bits,
  fromFloat16Bits,
  fromValues,
  linear,
  setBackend,
  tensor,
  toBfloat16Bits,
  toFloat16Bits,
} from '@attnkit/tensor-core';
import { Embedding16, Linear16 } from '@attnkit/tensor-core/nn';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

// float16 and bfloat16 weights on WebGPU: the backend has no 16-bit linear kernel, so linear()
// casts the packed weight to float32 (unpacked in the shader) and runs the float32 product; the
// result is the float64 product with the widened weights. Embedding16 gathers packed rows.

beforeAll(async () => {
  await initWebGPU();
  setBackend('webgpu');
});

function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s >>> 8) / 8388608 - 1);
  });
}

describe('16-bit weights on webgpu', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const dec = dtype === 'float16' ? fromFloat16Bits : fromBfloat16Bits;
    const enc = dtype === 'float16' ? toFloat16Bits : toBfloat16Bits;
    it(`Linear16 and Embedding16 with ${dtype} weights: float64 of the widened weights`, async () => {
      const [m, k, n] = [3, 37, 21];
      const x = values(m * k, 1);
      const w = values(n * k, 2);
      const b = values(n, 3);
      const wt = fromValues(w, [n, k], 'float32').cast(dtype);
      expect(wt.dtype).toBe(dtype);
      const layer = new Linear16(wt, null);
      const y = await linear(
        fromValues(x, [m, k], 'float32'),
        layer.weight,
        fromValues(b, [n], 'float32'),
      ).data();
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = b[j];
          let mag = Math.abs(b[j]);
          for (let q = 0; q < k; q++) {
            const p = x[i * k + q] * dec(enc(w[j * k + q]));
            s += p;
            mag += Math.abs(p);
          }
          expect(Math.abs(y[i * n + j] - s)).toBeLessThanOrEqual((k + 3) * 2 ** -23 * mag);
        }
      }
      // a layer made on the CPU moves with its 16-bit weight (raw bits) and gives the same output
      setBackend('cpu');
      const onCpu = new Linear16(fromValues(w, [n, k], 'float32').cast(dtype), null);
      const yCpu = await onCpu.forward(fromValues(x, [m, k], 'float32')).data();
      await onCpu.to('webgpu');
      setBackend('webgpu');
      expect(onCpu.weight.backend.name).toBe('webgpu');
      expect(onCpu.weight.dtype).toBe(dtype);
      const yGpu = await onCpu.forward(fromValues(x, [m, k], 'float32')).data();
      for (let i = 0; i < m * n; i++) expect(Math.abs(yGpu[i] - yCpu[i])).toBeLessThanOrEqual(1e-5 * k);
      const emb = new Embedding16(wt);
      const rows = await emb.forward(tensor([4, 0, 20, 4], [2, 2], 'int32')).data();
      const want = [4, 0, 20, 4].flatMap((r) => w.slice(r * k, r * k + k).map((v) => dec(enc(v))));
      expect(Array.from(rows)).toEqual(want);
    });
  }
});
