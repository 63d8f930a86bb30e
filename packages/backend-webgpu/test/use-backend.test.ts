// Importing the package registers 'webgpu' for initialisation on first use: await useBackend('webgpu')
// requests the device, makes the backend current, and ops run on it.
import './setup.js';
import '@attnkit/backend-cpu';
import { WebGPUBackend } from '@attnkit/backend-webgpu';
import { add, setBackend, tensor, useBackend } from '@attnkit/tensor-core';
import { expect, it } from 'vitest';

it("import '@attnkit/backend-webgpu' then await useBackend('webgpu') initialises it", async () => {
  expect(() => setBackend('webgpu')).toThrow("use `await useBackend('webgpu')`");
  const backend = await useBackend('webgpu');
  expect(backend).toBeInstanceOf(WebGPUBackend);
  const y = add(tensor([1, 2]), tensor([10, 20]));
  expect(y.backend).toBe(backend);
  // Hand-derived: elementwise sum.
  expect(Array.from(await y.data())).toEqual([11, 22]);
  expect(setBackend('webgpu')).toBe(backend); // initialised: synchronous from now on
  setBackend('cpu');
}, 120_000);
