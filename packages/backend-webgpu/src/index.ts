/**
 * @attnkit/backend-webgpu: the whole attnkit Backend interface as WGSL compute shaders, in browsers
 * (`navigator.gpu`) and in Node (the `webgpu` package, Dawn). Device creation is asynchronous, so
 * the backend registers itself when you call {@link initWebGPU}.
 *
 * @example
 * ```ts
 * import { initWebGPU } from '@attnkit/backend-webgpu';
 * import { randn, matmul, setBackend } from '@attnkit/tensor-core';
 * const backend = await initWebGPU();   // registers 'webgpu'
 * setBackend('webgpu');
 * const y = matmul(randn([512, 512]), randn([512, 512]));
 * console.log(backend.adapterName, (await y.data()).length);
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
