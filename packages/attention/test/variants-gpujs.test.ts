// The attention variants on backend-gpujs (gpu.js' CPU mode in Node; WebGL in browsers): every case
// of variant-cases.ts (differential attention, block-sparse layouts, multi-query, grouped-query and
// sliding-window attention), outputs and gradients against the float64 / torch references, at the
// GPU tolerance, 1e-3 relative with a 1e-4 absolute floor.
import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { setBackend } from '@attnkit/tensor-core';
import { afterAll, beforeAll, vi } from 'vitest';
import { defineVariantCases } from './variant-cases.js';

vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  await initGpuJs({ priority: -1 });
  setBackend('gpujs');
});
afterAll(() => setBackend('cpu'));

defineVariantCases('gpujs', { rtol: 1e-3, atol: 1e-4 });
