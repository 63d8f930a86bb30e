// The reference backend the core's tests run on passes the same conformance suite as every backend
// (against the suite's float64 references), with its fused kernels and without them.
import './reference-backend.js';
import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
import { describe, it } from 'vitest';

defineConformanceSuite('reference', { describe, it });
defineConformanceSuite('reference-primitives', { describe, it });
