/**
 * @attnkit/tensor-core/optim: optimizers, gradient clipping and learning-rate schedules, as
 * torch.optim (and transformers' schedules).
 *
 * @example
 * ```ts
 * import { crossEntropy, randn, tensor, tidy } from '@attnkit/tensor-core';
 * import { Linear } from '@attnkit/tensor-core/nn';
 * import { AdamW, clipGradNorm, getCosineScheduleWithWarmup } from '@attnkit/tensor-core/optim';
 * const model = new Linear(8, 3);
 * const x = randn([16, 8]);
 * const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16], 'int32');
 * const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 * const sched = getCosineScheduleWithWarmup(opt, 10, 50);
 * for (let step = 0; step < 50; step++) {
 *   tidy(() => {
 *     opt.zeroGrad();
 *     crossEntropy(model.forward(x), y).backward();
 *     clipGradNorm(model.parameters(), 1.0);
 *     opt.step();
 *   });
 *   sched.step();
 * }
 * ```
 * @packageDocumentation
 */

import '../index.js';

export { Adam, type AdamOptions, AdamW } from './adam.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export {
  cosineWithWarmupLambda,
  getConstantScheduleWithWarmup,
  getCosineScheduleWithWarmup,
  getLinearScheduleWithWarmup,
  LambdaLR,
  type LrLambda,
  linearWithWarmupLambda,
} from './lr-scheduler.js';
export {
  type BaseOptions,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamsInput,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
