import './setup.js';
import '@attnkit/backend-cpu';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
import { describe, it } from 'vitest';

await initWebGPU();

defineConformanceSuite('webgpu', { describe, it }, { toleranceScale: 100 });
