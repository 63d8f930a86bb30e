/**
 * @attnkit/tensor-core/nn: modules with named parameters and buffers, as torch.nn.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { Linear, ReLU, Sequential } from '@attnkit/tensor-core/nn';
 * const mlp = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 2));
 * ```
 * @packageDocumentation
 */

import '../index.js';

export { activationByName } from './activations.js';
export { ModuleList, Sequential, type TensorModule } from './container.js';
export {
  Conv1d,
  type Conv1dLayerOptions,
  Conv2d,
  type Conv2dLayerOptions,
  ConvTranspose2d,
  type ConvTranspose2dLayerOptions,
} from './conv.js';
export { Embedding, type EmbeddingLayerOptions } from './embedding.js';
export { countParameters, freeze, type ParameterPattern, unfreeze } from './freeze.js';
export * as init from './init.js';
export {
  AvgPool2d,
  Dropout,
  Flatten,
  GELU,
  Identity,
  MaxPool2d,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Tanh,
} from './layers.js';
export { Linear, type LinearOptions } from './linear.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  Parameter,
  withPlaceholderParameters,
} from './module.js';
export {
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
  RMSNorm,
  type RMSNormOptions,
} from './normalization.js';
export {
  Embedding16,
  Linear16,
  type Quantizable,
  QuantizeContext,
  QuantizedEmbedding,
  QuantizedLinear,
  type QuantizeOptions,
  quantize,
} from './quantize.js';
