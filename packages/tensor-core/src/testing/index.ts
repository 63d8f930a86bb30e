/**
 * @attnkit/tensor-core/testing: the backend conformance kit. Every backend runs the same table of
 * cases against float64 references, values and gradients.
 * @packageDocumentation
 */
export type { ConformanceCase, RefArray } from './case.js';
export { mapRef, ref, seeded, zipRef } from './case.js';
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
