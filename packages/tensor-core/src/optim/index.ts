/**
 * @attnkit/tensor-core/optim: optimizers, gradient clipping and learning-rate schedules, as
 * torch.optim (and transformers' schedules).
 *
 * @example
 * ```ts
 * import { AdamW, clipGradNorm, getCosineScheduleWithWarmup } from '@attnkit/tensor-core/optim';
 * const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 * const sched = getCosineScheduleWithWarmup(opt, 100, 5000);
 * for (let step = 0; step < 5000; step++) {
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
