// A cpu backend without the optional fused kernels, registered as 'cpu-primitives', so tests run
// tensor-core's reference decompositions (what a backend with primitives only gets).
import { CpuBackend } from '@attnkit/backend-cpu';
import { registerBackend } from '@attnkit/tensor-core';

class PrimitivesOnlyBackend extends CpuBackend {}
for (const k of ['softmax', 'layerNorm', 'rmsNorm', 'attention'] as const) {
  Object.defineProperty(PrimitivesOnlyBackend.prototype, k, { value: undefined });
}

registerBackend(
  'cpu-primitives',
  () => Object.defineProperty(new PrimitivesOnlyBackend(), 'name', { value: 'cpu-primitives' }),
  -1,
);

/** Name of the registered primitives-only backend. */
export const PRIMITIVES_ONLY = 'cpu-primitives';
