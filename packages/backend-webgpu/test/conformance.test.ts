import './setup.js';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { defineConformanceSuite, WGSL_PRECISION } from '@attnkit/tensor-core/testing';
import { describe, it } from 'vitest';

await initWebGPU();

// Shader compilation on a software adapter is slow on a busy machine: allow a minute per case.
defineConformanceSuite(
  'webgpu',
  { describe, it: (name, fn) => it(name, fn, 60_000) },
  { precision: WGSL_PRECISION },
);
