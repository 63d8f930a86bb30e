/**
 * @attnkit/tensor-core: tensors, the Backend interface and registry, ops with autograd, memory
 * scopes and seeded random numbers. Backends (`@attnkit/backend-cpu`, ...) implement the interface.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { tensor, matmul } from '@attnkit/tensor-core';
 * const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
 * y.toString(); // => 'tensor([[11.]], shape=[1, 1], dtype=float32)'
 * ```
 * @packageDocumentation
 */

export type { GradNode } from './autograd.js';
export { isGradEnabled, noGrad, setGradEnabled } from './autograd.js';
export type {
  AttentionParams,
  Backend,
  BinaryOp,
  BlockSparseAttentionParams,
  BlockSparseIndex,
  Conv2dParams,
  Operand,
  ReduceOp,
  Storage,
  UnaryOp,
  View,
} from './backend.js';
export * from './creation.js';
export type { DType, DTypeArray, TypedArray } from './dtype.js';
export {
  allocArray,
  assertDType,
  BYTES_PER_ELEMENT,
  bfloat16ToFloat32,
  fromBfloat16Bits,
  fromFloat16Bits,
  halfDecoder,
  halfEncoder,
  isFloat,
  isHalf,
  promoteTypes,
  toBfloat16Bits,
  toFloat16Bits,
} from './dtype.js';
export type { MemoryInfo, TensorContainer } from './memory.js';
export { keep, memory, opScope, tidy } from './memory.js';
export * from './ops/attention.js';
export type { Conv1dOptions, Conv2dOptions, ConvTranspose2dOptions, Size2 } from './ops/conv.js';
export { conv1d, conv2d, convTranspose2d } from './ops/conv.js';
export * from './ops/dropout.js';
export * from './ops/elementwise.js';
export * from './ops/indexing.js';
export * from './ops/interpolate.js';
export * from './ops/loss.js';
export * from './ops/matmul.js';
export * from './ops/multinomial.js';
export * from './ops/norm.js';
export * from './ops/pool.js';
export * from './ops/quantized.js';
export * from './ops/reduce.js';
export * from './ops/shape-ops.js';
export * from './ops/softmax.js';
export * from './ops/sort.js';
export * from './ops/transfer.js';
export type { TensorOrNumber } from './ops/util.js';
export { Generator, getDefaultGenerator, manualSeed } from './random.js';
export {
  findBackend,
  getBackend,
  listBackends,
  registerBackend,
  setBackend,
  useBackend,
} from './registry.js';
export type { Shape } from './shape.js';
export { broadcastShapes, contiguousStrides, sizeOf } from './shape.js';
export type { NestedArray } from './tensor.js';
export { Tensor } from './tensor.js';
export type { Trace, TracedOp } from './trace.js';
export { isTracing, traceMark, traceOp, traceOps } from './trace.js';
