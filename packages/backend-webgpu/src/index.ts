/**
 * @attnkit/backend-webgpu: the whole attnkit Backend interface as WGSL compute shaders, in browsers
 * (`navigator.gpu`) and in Node (the `webgpu` package, Dawn). Device creation is asynchronous, so
 * importing the package registers `webgpu` for initialisation on first use: `await
 * useBackend('webgpu')` requests the device and makes it current. {@link initWebGPU} does the same
 * with options (adapter, kernels, priority).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-webgpu';
 * import { randn, matmul, useBackend } from '@attnkit/tensor-core';
 * const backend = await useBackend('webgpu');   // requests the device, makes 'webgpu' current
 * const y = matmul(randn([512, 512]), randn([512, 512]));
 * console.log(backend.name, (await y.data()).length);
 * ```
 * @packageDocumentation
 */
import { registerBackend } from '@attnkit/tensor-core';
import type { WebGPUDeviceOptions } from './device.js';
import { createWebGPUBackend, type WebGPUBackend, type WebGPUBackendOptions } from './webgpu-backend.js';

export { GpuStorage } from './context.js';
export {
  type AcquiredDevice,
  describeAdapter,
  findGPU,
  type WebGPUDeviceOptions,
} from './device.js';
export { createWebGPUBackend, WebGPUBackend, type WebGPUBackendOptions } from './webgpu-backend.js';

/** Options of {@link initWebGPU}. */
export interface InitWebGPUOptions extends WebGPUDeviceOptions, WebGPUBackendOptions {
  /** Registry priority (default 0; the CPU backend has 1, so pass 2 to make WebGPU the default). */
  priority?: number;
}

/**
 * Requests a WebGPU device, creates a {@link WebGPUBackend} on it and registers it as `webgpu`
 * (select it with `setBackend('webgpu')`, or pass a priority above 1 to make it the default).
 * Rejects with a clear error when no adapter is available.
 *
 * @example
 * ```ts
 * const backend = await initWebGPU({ priority: 2 }); // now the default backend
 * ```
 */
export async function initWebGPU(options: InitWebGPUOptions = {}): Promise<WebGPUBackend> {
  const backend = await createWebGPUBackend(options);
  registerBackend('webgpu', () => backend, options.priority ?? 0);
  return backend;
}

// Importing the package registers 'webgpu' for initialisation on first use, with default options:
// `await useBackend('webgpu')` (tensor-core) requests the device then. initWebGPU(options) replaces
// this entry with a backend made with its options.
registerBackend('webgpu', () => createWebGPUBackend(), 0);
