/**
 * @attnkit/backend-cpu: the default attnkit backend, the whole Backend interface in TypeScript
 * over typed arrays. Importing the package registers it as `cpu` (priority 1, the default).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { randn, matmul } from '@attnkit/tensor-core';
 * const y = matmul(randn([64, 64]), randn([64, 64]));
 * ```
 * @packageDocumentation
 */
import { registerBackend } from '@attnkit/tensor-core';
import { CpuBackend } from './cpu-backend.js';

export { CpuBackend, type CpuBackendOptions, CpuStorage } from './cpu-backend.js';

registerBackend('cpu', () => new CpuBackend(), 1);
