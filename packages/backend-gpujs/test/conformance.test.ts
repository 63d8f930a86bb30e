import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
import { describe, it } from 'vitest';

await initGpuJs();

defineConformanceSuite('gpujs', { describe, it });
