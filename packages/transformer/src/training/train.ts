// A training loop for any model here: batches from a BatchSource, AdamW (no decay on biases and
// norms), linear warmup then cosine (or linear / constant) decay, gradient clipping, gradient
// accumulation, periodic evaluation, checkpoints, a progress callback and a terminal progress bar.
// Each micro-step runs inside tidy, so memory stays flat however long it trains.
import { add, keep, noGrad, type Tensor, tidy } from '@attnkit/tensor-core';
import type { Module, Parameter } from '@attnkit/tensor-core/nn';
import {
  AdamW,
  clipGradNorm,
  cosineWithWarmupLambda,
  LambdaLR,
  linearWithWarmupLambda,
} from '@attnkit/tensor-core/optim';
import { describe } from '../internal.js';
import type { BatchSource } from './data.js';

/** What {@link train} reports after each optimizer step. */
export interface TrainProgress {
  /** Optimizer steps done (1-based). */
  step: number;
  maxSteps: number;
  /** Mean training loss of this step's micro-batches. */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  /** Global gradient norm before clipping (when clipping is on). */
  gradNorm: number | null;
  /** Evaluation loss, on steps where evaluation ran. */
  evalLoss?: number;
  /** Milliseconds since training started. */
  elapsedMs: number;
}

/** Options of {@link train}. */
export interface TrainOptions<B> {
  /** The batch of each step (see lmBatches / exampleBatches). */
  batches: BatchSource<B>;
  /** Scalar loss of a batch (see causalLMLoss / seq2seqLoss). */
  loss: (model: Module, batch: B) => Tensor;
  /** Optimizer steps. */
  maxSteps: number;
  /** Batches whose mean loss is the evaluation loss. */
  evalBatches?: readonly B[];
  /** Evaluate every this many steps (and after the last); 0 = only at the end (default). */
  evalEvery?: number;
  /** Peak learning rate (3e-4). */
  lr?: number;
  /** AdamW weight decay on matrices (0.01; biases, norms and other 1-D parameters get none). */
  weightDecay?: number;
  /** AdamW betas ([0.9, 0.999]). */
  betas?: [number, number];
  /** Linear warmup steps (0). */
  warmupSteps?: number;
  /** Decay after warmup: 'cosine' (default), 'linear' or 'constant'. */
  schedule?: 'cosine' | 'linear' | 'constant';
  /** Clip the global gradient norm to this (1.0); null turns clipping off. */
  maxGradNorm?: number | null;
  /** Micro-batches per optimizer step (1). */
  gradientAccumulationSteps?: number;
  /** Called after every step (awaited). */
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Save a checkpoint every this many steps (and at the end) via `saveCheckpoint`. */
  checkpointEvery?: number;
  /** Writes a checkpoint (e.g. `(m, step) => saveModel(m, `ckpt/step-${step}`)`). */
  saveCheckpoint?: (model: Module, step: number) => void | Promise<void>;
  /** Draw a progress bar on this stream (e.g. process.stderr); off by default. */
  progressBar?: { write(s: string): unknown; isTTY?: boolean; columns?: number } | null;
  /** Dispose the tensors of each batch after use (true). */
  disposeBatches?: boolean;
}

/** What {@link train} returns. */
export interface TrainResult {
  /** Training loss of every step. */
  losses: number[];
  /** [step, loss] of every evaluation. */
  evalLosses: [number, number][];
  /** Final evaluation loss (NaN without evalBatches). */
  finalEvalLoss: number;
  steps: number;
  elapsedMs: number;
}

function disposeDeep(x: unknown): void {
  if (!x || typeof x !== 'object') return;
  if ((x as { isTensor?: boolean }).isTensor === true) {
    (x as Tensor).dispose();
    return;
  }
  if (Array.isArray(x)) for (const v of x) disposeDeep(v);
  else for (const v of Object.values(x)) disposeDeep(v);
}

/**
 * Mean loss over `batches` in eval mode without gradients. The losses are summed on the device and
 * read once, with the asynchronous read, so it runs on every backend (WebGPU included).
 */
export async function evaluate<B>(
  model: Module,
  batches: readonly B[],
  loss: (m: Module, b: B) => Tensor,
): Promise<number> {
  if (!batches.length) return Number.NaN;
  const was = model.training;
  model.eval();
  let total: Tensor | null = null;
  try {
    for (const b of batches) {
      const prev: Tensor | null = total;
      total = tidy(() => noGrad(() => (prev ? add(prev, loss(model, b)) : loss(model, b).detach())));
      prev?.dispose();
    }
    return (await (total as Tensor).item()) / batches.length;
  } finally {
    total?.dispose();
    model.train(was);
  }
}

/** One line of a progress bar: `[#####.....] 120/500  loss 2.31  eval 2.40  lr 3.0e-4  12.3 it/s`. */
export function progressLine(p: TrainProgress, lastEval: number | undefined, width = 30): string {
  const done = Math.round((p.step / p.maxSteps) * width);
  const bar = `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
  const rate = p.elapsedMs > 0 ? (p.step / p.elapsedMs) * 1000 : 0;
  const evalPart = lastEval !== undefined ? `  eval ${lastEval.toFixed(4)}` : '';
  return `[${bar}] ${p.step}/${p.maxSteps}  loss ${p.loss.toFixed(4)}${evalPart}  lr ${p.lr.toExponential(1)}  ${rate.toFixed(1)} it/s`;
}

/**
 * Trains `model` with AdamW and a warmup + decay schedule. Each micro-step runs forward and
 * backward inside tidy; gradients accumulate over `gradientAccumulationSteps` micro-batches, are
 * clipped, and the optimizer steps. The model is left in eval mode.
 *
 * @example
 * ```ts
 * const model = new GPT2LMHeadModel({ vocabSize: 65, nPositions: 64, nEmbd: 64, nLayer: 2, nHead: 4 });
 * const tokens = Array.from({ length: 4000 }, (_, i) => (i * 7) % 65); // a tokenized corpus
 * const valTokens = tokens.slice(0, 1200);
 * const result = await train(model, {
 *   batches: lmBatches(tokens, { batchSize: 4, blockSize: 32, seed: 1 }),
 *   loss: causalLMLoss,
 *   maxSteps: 10, lr: 1e-3, warmupSteps: 2,
 *   evalBatches: lmEvalBatches(valTokens, { batchSize: 4, blockSize: 32 }), evalEvery: 5,
 *   progressBar: null, // process.stderr draws a bar
 * });
 * result.losses.length; // => 10
 * ```
 */
export async function train<B>(model: Module, options: TrainOptions<B>): Promise<TrainResult> {
  const who = 'train';
  if (!model || typeof (model as Module).parameters !== 'function') {
    throw new TypeError(`${who}: 'model' must be a Module, got ${describe(model)}`);
  }
  if (!options || typeof options.batches !== 'function' || typeof options.loss !== 'function') {
    throw new TypeError(
      `${who}: options need 'batches' (step => batch) and 'loss' ((model, batch) => Tensor)`,
    );
  }
  const maxSteps = options.maxSteps;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new RangeError(`${who}: maxSteps must be a positive integer, got ${String(maxSteps)}`);
  }
  const accum = options.gradientAccumulationSteps ?? 1;
  if (!Number.isInteger(accum) || accum < 1) {
    throw new RangeError(
      `${who}: gradientAccumulationSteps must be a positive integer, got ${String(accum)}`,
    );
  }
  const warmup = options.warmupSteps ?? 0;
  const maxNorm = options.maxGradNorm === undefined ? 1.0 : options.maxGradNorm;
  const schedule = options.schedule ?? 'cosine';
  if (!['cosine', 'linear', 'constant'].includes(schedule)) {
    throw new TypeError(`${who}: schedule must be 'cosine', 'linear' or 'constant', got ${String(schedule)}`);
  }
  const disposeBatches = options.disposeBatches ?? true;
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (!params.length) throw new Error(`${who}: the model has no parameters that require gradients`);
  const decay: Parameter[] = params.filter((p) => p.rank >= 2);
  const noDecay: Parameter[] = params.filter((p) => p.rank < 2);
  const opt = new AdamW(
    [
      { params: decay, weightDecay: options.weightDecay ?? 0.01 },
      { params: noDecay, weightDecay: 0 },
    ].filter((g) => g.params.length > 0),
    { lr: options.lr ?? 3e-4, betas: options.betas ?? [0.9, 0.999] },
  );
  const lambda =
    schedule === 'cosine'
      ? cosineWithWarmupLambda(warmup, maxSteps)
      : schedule === 'linear'
        ? linearWithWarmupLambda(warmup, maxSteps)
        : (s: number) => (s < warmup ? s / Math.max(1, warmup) : 1);
  const sched = new LambdaLR(opt, lambda);
  const losses: number[] = [];
  const evalLosses: [number, number][] = [];
  const t0 = Date.now();
  const bar = options.progressBar ?? null;
  let lastEval: number | undefined;
  let micro = 0;
  model.train();
  try {
    for (let step = 1; step <= maxSteps; step++) {
      const lr = opt.paramGroups[0].lr;
      opt.zeroGrad();
      // The micro-batch losses are summed on the device (detached) and read once per step with the
      // asynchronous read, after every backward is queued: no synchronous read, so this runs on
      // backends that read asynchronously (WebGPU), and the device is awaited once per step.
      let lossSum: Tensor | null = null;
      let loss: number;
      try {
        for (let a = 0; a < accum; a++) {
          const batch = options.batches(micro++);
          const prev: Tensor | null = lossSum;
          try {
            lossSum = tidy(() => {
              const l = options.loss(model, batch);
              if (l?.size !== 1) {
                throw new Error(`${who}: the loss function must return a scalar tensor, got ${describe(l)}`);
              }
              (accum > 1 ? l.div(accum) : l).backward();
              const v = l.detach().reshape([]);
              return prev ? noGrad(() => add(prev, v)) : v;
            });
          } finally {
            if (disposeBatches) disposeDeep(batch);
          }
          if (prev && prev !== lossSum) prev.dispose();
        }
        // read before the optimizer steps, so a non-finite loss leaves the parameters untouched
        loss = (await (lossSum as Tensor).item()) / accum;
      } finally {
        lossSum?.dispose();
      }
      if (!Number.isFinite(loss)) throw new Error(`${who}: the loss is ${loss} at step ${step}`);
      let norm: Tensor | null = null;
      tidy(() => {
        if (maxNorm !== null) norm = keep(clipGradNorm(params, maxNorm));
        opt.step();
      });
      sched.step();
      let gradNorm: number | null = null;
      if (norm !== null) {
        try {
          gradNorm = await (norm as Tensor).item();
        } finally {
          (norm as Tensor).dispose();
        }
      }
      losses.push(loss);
      const progress: TrainProgress = { step, maxSteps, loss, lr, gradNorm, elapsedMs: Date.now() - t0 };
      const every = options.evalEvery ?? 0;
      if (options.evalBatches?.length && ((every > 0 && step % every === 0) || step === maxSteps)) {
        progress.evalLoss = await evaluate(model, options.evalBatches, options.loss);
        evalLosses.push([step, progress.evalLoss]);
        lastEval = progress.evalLoss;
        model.train();
      }
      const ck = options.checkpointEvery ?? 0;
      if (options.saveCheckpoint && ((ck > 0 && step % ck === 0) || step === maxSteps)) {
        await options.saveCheckpoint(model, step);
      }
      if (bar) {
        const line = progressLine(progress, lastEval);
        bar.write(bar.isTTY ? `\r${line}` : `${line}\n`);
      }
      await options.onProgress?.(progress);
    }
  } finally {
    opt.zeroGrad();
    opt.dispose();
    model.eval();
    if (bar?.isTTY) bar.write('\n');
  }
  return {
    losses,
    evalLosses,
    finalEvalLoss: evalLosses.length ? evalLosses[evalLosses.length - 1][1] : Number.NaN,
    steps: maxSteps,
    elapsedMs: Date.now() - t0,
  };
}
