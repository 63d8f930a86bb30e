// The reference decompositions of the optional fused kernels (softmax, logSoftmax, layerNorm,
// rmsNorm, groupNorm) pass the same conformance cases as the cpu's fused kernels.
import './reference-backend.js';
import { findBackend } from '@attnkit/tensor-core';
import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { PRIMITIVES_ONLY } from './primitives-backend.js';

describe('primitives-only backend', () => {
  it('has no fused kernels, while cpu has them', () => {
    const b = findBackend(PRIMITIVES_ONLY);
    expect(b?.softmax).toBeUndefined();
    expect(b?.layerNorm).toBeUndefined();
    expect(b?.rmsNorm).toBeUndefined();
    expect(typeof findBackend('reference')?.softmax).toBe('function');
  });
});

defineConformanceSuite(
  PRIMITIVES_ONLY,
  { describe, it },
  { only: ['softmax', 'logSoftmax', 'layerNorm', 'rmsNorm', 'groupNorm'] },
);
