/**
 * @attnkit/tensor-core/testing: the backend conformance kit. Every backend runs the same table of
 * cases against float64 references, values and gradients. And the tools of memory tests: a
 * training loop that must hold memory flat, and a backend wrapper that counts live bytes exactly.
 * @packageDocumentation
 */
export type { ConformanceCase, RefArray } from './case.js';
export { mapRef, ref, seeded, zipRef } from './case.js';
export {
  type BytesMeasure,
  countLiveBytes,
  type LiveBytesCounter,
  type LiveBytesOptions,
} from './live-bytes.js';
export type { ConformanceOptions, KernelPrecision, TestApi } from './suite.js';
export {
  checkCase,
  conformanceCases,
  defineConformanceSuite,
  FLOAT32_UNIT_ROUNDOFF,
  GLSL_ES_3_PRECISION,
  WGSL_PRECISION,
} from './suite.js';
export { checkTrainingMemory, type TrainingMemoryReport } from './training-memory.js';
