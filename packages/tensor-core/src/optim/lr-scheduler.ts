import type { BaseOptions, Optimizer } from './optimizer.js';

/** A multiplier of the base learning rate as a function of the step count (0-based). */
export type LrLambda = (step: number) => number;

/**
 * Sets each parameter group's learning rate to `initialLr · lrLambda(step)`, as
 * torch.optim.lr_scheduler.LambdaLR. Creating it applies step 0; call {@link LambdaLR.step}
 * after each optimizer step.
 *
 * @example
 * ```ts
 * const opt = new SGD(new Linear(4, 1).parameters(), { lr: 0.1 });
 * const sched = new LambdaLR(opt, (step) => Math.min(1, (step + 1) / 100));
 * for (let step = 0; step < 10; step++) {
 *   opt.step(); // after loss.backward()
 *   sched.step();
 * }
 * ```
 */
export class LambdaLR {
  /** The step the current learning rates belong to (0 after construction). */
  lastEpoch: number;
  /** Each group's learning rate before scaling. */
  readonly baseLrs: number[];
  private readonly lambdas: LrLambda[];
  private lastLr: number[] = [];

  constructor(
    readonly optimizer: Optimizer<BaseOptions>,
    lrLambda: LrLambda | LrLambda[],
    lastEpoch = -1,
  ) {
    if (!optimizer || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw new TypeError('LambdaLR: expected an optimizer');
    }
    const groups = optimizer.paramGroups;
    const fns = Array.isArray(lrLambda) ? lrLambda : groups.map(() => lrLambda);
    if (fns.length !== groups.length || !fns.every((f) => typeof f === 'function')) {
      throw new TypeError(
        `LambdaLR: expected a function or one function per parameter group (${groups.length}), got ${Array.isArray(lrLambda) ? `${lrLambda.length} items` : typeof lrLambda}`,
      );
    }
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) {
      throw new RangeError(`LambdaLR: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    }
    for (const g of groups) {
      if (lastEpoch === -1) g.initialLr = g.lr;
      else if (g.initialLr === undefined) {
        throw new Error('LambdaLR: resuming (lastEpoch >= 0) needs initialLr set on every parameter group');
      }
    }
    this.lambdas = fns;
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** Advances one step and sets the groups' learning rates. */
  step(): void {
    this.lastEpoch++;
    this.lastLr = this.optimizer.paramGroups.map((g, i) => {
      const lr = this.baseLrs[i] * this.lambdas[i](this.lastEpoch);
      g.lr = lr;
      return lr;
    });
  }

  /** The learning rates the last {@link LambdaLR.step} set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }
}

function checkSteps(op: string, warmup: number, total?: number): void {
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(`${op}: numWarmupSteps must be an integer >= 0, got ${warmup}`);
  }
  if (total !== undefined && (!Number.isInteger(total) || total < 0)) {
    throw new RangeError(`${op}: numTrainingSteps must be an integer >= 0, got ${total}`);
  }
}

/**
 * The multiplier of Hugging Face's get_cosine_schedule_with_warmup: linear from 0 to 1 over
 * `numWarmupSteps`, then `0.5·(1 + cos(π·numCycles·2·progress))` (clamped at 0).
 */
export function cosineWithWarmupLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  numCycles = 0.5,
): LrLambda {
  checkSteps('cosineWithWarmupLambda', numWarmupSteps, numTrainingSteps);
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    const progress = (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  };
}

/**
 * The multiplier of Hugging Face's get_linear_schedule_with_warmup: linear from 0 to 1 over
 * `numWarmupSteps`, then linear down to 0 at `numTrainingSteps` (and 0 after).
 */
export function linearWithWarmupLambda(numWarmupSteps: number, numTrainingSteps: number): LrLambda {
  checkSteps('linearWithWarmupLambda', numWarmupSteps, numTrainingSteps);
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    return Math.max(0, (numTrainingSteps - step) / Math.max(1, numTrainingSteps - numWarmupSteps));
  };
}

/**
 * Linear warmup then cosine decay, as transformers.get_cosine_schedule_with_warmup.
 *
 * @example
 * ```ts
 * const model = new Linear(4, 1);
 * const opt = new AdamW(model.parameters(), { lr: 3e-4 });
 * const sched = getCosineScheduleWithWarmup(opt, 100, 10_000);
 * // each step: opt.step(); sched.step();
 * ```
 */
export function getCosineScheduleWithWarmup(
  optimizer: Optimizer<BaseOptions>,
  numWarmupSteps: number,
  numTrainingSteps: number,
  numCycles = 0.5,
  lastEpoch = -1,
): LambdaLR {
  return new LambdaLR(
    optimizer,
    cosineWithWarmupLambda(numWarmupSteps, numTrainingSteps, numCycles),
    lastEpoch,
  );
}

/** Linear warmup then linear decay to 0, as transformers.get_linear_schedule_with_warmup. */
export function getLinearScheduleWithWarmup(
  optimizer: Optimizer<BaseOptions>,
  numWarmupSteps: number,
  numTrainingSteps: number,
  lastEpoch = -1,
): LambdaLR {
  return new LambdaLR(optimizer, linearWithWarmupLambda(numWarmupSteps, numTrainingSteps), lastEpoch);
}

/** Linear warmup then constant, as transformers.get_constant_schedule_with_warmup. */
export function getConstantScheduleWithWarmup(
  optimizer: Optimizer<BaseOptions>,
  numWarmupSteps: number,
  lastEpoch = -1,
): LambdaLR {
  checkSteps('getConstantScheduleWithWarmup', numWarmupSteps);
  return new LambdaLR(
    optimizer,
    (step) => (step < numWarmupSteps ? step / Math.max(1, numWarmupSteps) : 1),
    lastEpoch,
  );
}
