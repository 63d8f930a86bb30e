import './setup.js';
import { createWebGPUBackend, type WebGPUBackend } from '@attnkit/backend-webgpu';
import { registerBackend } from '@attnkit/tensor-core';
import { defineConformanceSuite, WGSL_PRECISION } from '@attnkit/tensor-core/testing';
import { afterAll, describe, it } from 'vitest';

// Matmul, softmax, the norms and conv2d (GEMM or direct by grid size on GPUs) pick their kernel shapes by adapter kind (fallback adapters get
// fewer, larger invocations; GPUs wider workgroups and log-step reductions). Whatever adapter runs
// the tests, the conformance cases of those ops run once more with the other kind's shapes.
const probe = await createWebGPUBackend();
const software = probe.kernelProfile === 'software';
probe.dispose();
const other: WebGPUBackend = await createWebGPUBackend({ softwareKernels: !software });
registerBackend('webgpu-other-kernels', () => other);
afterAll(() => other.dispose());

describe(`kernel shapes for ${software ? 'GPUs' : 'fallback adapters'}`, () => {
  defineConformanceSuite(
    'webgpu-other-kernels',
    { describe, it: (name, fn) => it(name, fn, 60_000) },
    {
      precision: WGSL_PRECISION,
      only: [
        'matmul',
        'softmax',
        'logSoftmax',
        'layerNorm',
        'rmsNorm',
        'groupNorm',
        'crossEntropy',
        'linear',
        'conv1d',
        'conv2d',
        'convTranspose2d',
      ],
    },
  );
});
