// Direct Preference Optimization (Rafailov et al., 2023, "Direct Preference Optimization: Your
// Language Model is Secretly a Reward Model"): tune a policy on preference pairs against a frozen
// reference model, with the loss -log sigmoid(beta * ((log pi(y_w) - log ref(y_w)) - (log pi(y_l) -
// log ref(y_l)))), as TRL's DPOTrainer ('sigmoid'; 'ipo' is Azar et al.'s squared loss on
// length-normalised log-ratios). beta * (log pi - log ref) is each answer's implicit reward.
import {
  div,
  gt,
  keep,
  mean,
  mul,
  ne,
  noGrad,
  softplus,
  stack,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';
import { assertTensorArg, describe } from '../internal.js';
import { exampleBatches } from './data.js';
import { answerLogProbsFromLogits, type LogProbModel } from './logprobs.js';
import {
  checkPreferencePairs,
  type PreferenceBatch,
  type PreferenceExample,
  preferenceCollator,
} from './preference.js';
import { type TrainOptions, type TrainProgress, type TrainResult, train } from './train.js';

/** Options of {@link dpoLoss}. */
export interface DPOLossOptions {
  /** Strength of the pull towards the reference (0.1): the implicit reward is beta * log-ratio. */
  beta?: number;
  /** 'sigmoid' (DPO, default) or 'ipo'. */
  lossType?: 'sigmoid' | 'ipo';
  /**
   * Share eps of labels assumed flipped (conservative DPO, 'sigmoid' only; 0):
   * -(1 - eps) log sigmoid(beta d) - eps log sigmoid(-beta d).
   */
  labelSmoothing?: number;
  /** Answer lengths in tokens of the chosen / rejected rows ([B] each): 'ipo' averages the log-ratios over them. */
  chosenLengths?: Tensor | readonly number[];
  rejectedLengths?: Tensor | readonly number[];
}

/** What {@link dpoLoss} returns. */
export interface DPOLossOutput {
  /** Scalar: the mean loss over pairs. */
  loss: Tensor;
  /** [B], no gradient: beta * (log pi(chosen) - log ref(chosen)). */
  chosenRewards: Tensor;
  /** [B], no gradient: beta * (log pi(rejected) - log ref(rejected)). */
  rejectedRewards: Tensor;
}

/** TRL's logged DPO figures, as numbers. */
export interface DPOStats {
  /** Mean DPO loss. */
  loss: number;
  /** Share of pairs whose chosen answer has the higher implicit reward. */
  rewardAccuracy: number;
  /** Mean of chosen reward - rejected reward. */
  rewardMargin: number;
  /** Mean implicit reward of the chosen / rejected answers. */
  chosenReward: number;
  rejectedReward: number;
}

function lengthsArg(x: Tensor | readonly number[] | undefined, name: string, b: number, who: string): Tensor {
  if (x === undefined)
    throw new TypeError(`${who}: lossType 'ipo' needs ${name} (answer tokens per row, [${b}])`);
  const t = Array.isArray(x) ? tensor(x as number[], [x.length]) : (x as Tensor);
  assertTensorArg(t, name, who);
  if (t.rank !== 1 || t.shape[0] !== b) throw new Error(`${who}: ${name} must be [${b}], got [${t.shape}]`);
  return t.cast('float32');
}

/**
 * The DPO loss from the log-probabilities ([B] each, summed over each answer's tokens) that the
 * policy and the frozen reference give the chosen and the rejected answers, with the implicit
 * rewards. Gradients flow into the policy's log-probs only (pass the reference's without a graph).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const piChosen = tensor([-4, -6]).requiresGrad_();
 * const piRejected = tensor([-5, -5]).requiresGrad_();
 * const { loss, chosenRewards } = dpoLoss(piChosen, piRejected, tensor([-5, -6]), tensor([-5, -5]), { beta: 0.1 });
 * loss.backward();
 * Array.from(await chosenRewards.data()).map((r) => +r.toFixed(3)); // => [0.1, 0]
 * ```
 */
export function dpoLoss(
  policyChosenLogps: Tensor,
  policyRejectedLogps: Tensor,
  referenceChosenLogps: Tensor,
  referenceRejectedLogps: Tensor,
  options: DPOLossOptions = {},
): DPOLossOutput {
  const who = 'dpoLoss';
  const args = { policyChosenLogps, policyRejectedLogps, referenceChosenLogps, referenceRejectedLogps };
  for (const [name, t] of Object.entries(args)) {
    assertTensorArg(t, name, who);
    if (t.rank !== 1 || t.shape[0] !== policyChosenLogps.shape[0]) {
      throw new Error(
        `${who}: '${name}' must be [B] like policyChosenLogps ([${policyChosenLogps.shape}]), got [${t.shape}]`,
      );
    }
  }
  const beta = options.beta ?? 0.1;
  if (!(typeof beta === 'number' && beta > 0 && Number.isFinite(beta))) {
    throw new RangeError(`${who}: beta must be a positive number, got ${String(beta)}`);
  }
  const lossType = options.lossType ?? 'sigmoid';
  if (lossType !== 'sigmoid' && lossType !== 'ipo') {
    throw new TypeError(`${who}: lossType must be 'sigmoid' or 'ipo', got ${String(lossType)}`);
  }
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 0.5))
    throw new RangeError(`${who}: labelSmoothing must be in [0, 0.5), got ${String(eps)}`);
  if (eps > 0 && lossType !== 'sigmoid')
    throw new TypeError(`${who}: labelSmoothing applies to lossType 'sigmoid' only`);
  const chosenRatio = sub(policyChosenLogps, referenceChosenLogps);
  const rejectedRatio = sub(policyRejectedLogps, referenceRejectedLogps);
  let loss: Tensor;
  if (lossType === 'sigmoid') {
    const z = mul(sub(chosenRatio, rejectedRatio), beta); // beta * d
    const clean = softplus(mul(z, -1)); // -log sigmoid(beta d)
    loss = mean(eps > 0 ? sub(mul(clean, 1 - eps), mul(softplus(z), -eps)) : clean);
  } else {
    const b = policyChosenLogps.shape[0];
    const lc = lengthsArg(options.chosenLengths, 'chosenLengths', b, who);
    const lr = lengthsArg(options.rejectedLengths, 'rejectedLengths', b, who);
    const d = sub(sub(div(chosenRatio, lc), div(rejectedRatio, lr)), 1 / (2 * beta));
    loss = mean(mul(d, d));
  }
  return {
    loss,
    chosenRewards: mul(chosenRatio, beta).detach(),
    rejectedRewards: mul(rejectedRatio, beta).detach(),
  };
}

/**
 * TRL's DPO figures of a {@link dpoLoss} output on the device, without a gradient: float32 [5] =
 * [loss, reward accuracy, reward margin, chosen reward, rejected reward] (see {@link DPOStats}).
 */
function dpoStatsTensor(out: DPOLossOutput): Tensor {
  return tidy(() =>
    noGrad(() => {
      const c = out.chosenRewards;
      const r = out.rejectedRewards;
      return stack([
        out.loss.detach().reshape([]),
        mean(gt(c, r).cast('float32')),
        mean(sub(c, r)),
        mean(c),
        mean(r),
      ]);
    }),
  );
}

/** The figures of a [5] tensor from dpoStatsTensor, as numbers. */
function statsOf(v: ArrayLike<number>, offset = 0): DPOStats {
  return {
    loss: v[offset],
    rewardAccuracy: v[offset + 1],
    rewardMargin: v[offset + 2],
    chosenReward: v[offset + 3],
    rejectedReward: v[offset + 4],
  };
}

/**
 * Reads TRL's DPO figures (accuracy, margin, mean rewards, loss) from a {@link dpoLoss} output. They
 * are reduced on the device and read once, with the asynchronous read, so this runs on every
 * backend (WebGPU included).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const out = dpoLoss(tensor([-4, -6]), tensor([-5, -5]), tensor([-5, -6]), tensor([-5, -5]), { beta: 0.1 });
 * const { rewardAccuracy, rewardMargin } = await dpoStats(out);
 * [rewardAccuracy, +rewardMargin.toFixed(3)]; // => [0.5, 0.05]
 * ```
 */
export async function dpoStats(out: DPOLossOutput): Promise<DPOStats> {
  if (!out || typeof out !== 'object')
    throw new TypeError(
      `dpoStats: expected dpoLoss's output { loss, chosenRewards, rejectedRewards }, got ${describe(out)}`,
    );
  assertTensorArg(out.loss, 'loss', 'dpoStats');
  assertTensorArg(out.chosenRewards, 'chosenRewards', 'dpoStats');
  assertTensorArg(out.rejectedRewards, 'rejectedRewards', 'dpoStats');
  const t = dpoStatsTensor(out);
  try {
    return statsOf(await t.data());
  } finally {
    t.dispose();
  }
}

/** The answer lengths (tokens whose next label is an answer token) of a batch's rows: float [2B]. */
function answerLengths(batch: PreferenceBatch): Tensor {
  const l = batch.labels.shape[1];
  return sum(ne(batch.labels.sliceDim(1, 1, l), -100).cast('float32'), 1);
}

/**
 * The DPO loss of a preference batch ([chosen rows; rejected rows], preferenceCollator): the
 * policy's answer log-probs (with gradient) against the reference's (without), and the implicit rewards.
 */
export function dpoBatchLoss(
  policy: LogProbModel,
  reference: LogProbModel,
  batch: PreferenceBatch,
  options: DPOLossOptions = {},
): DPOLossOutput {
  const inputs = { inputIds: batch.inputIds, attentionMask: batch.attentionMask, useCache: false };
  const logps = answerLogProbsFromLogits(policy.forward(inputs).logits, batch.labels);
  const ref = noGrad(() => answerLogProbsFromLogits(reference.forward(inputs).logits, batch.labels));
  const b = batch.pairs;
  const lengths = options.lossType === 'ipo' ? answerLengths(batch) : null;
  return dpoLoss(
    logps.sliceDim(0, 0, b),
    logps.sliceDim(0, b, 2 * b),
    ref.sliceDim(0, 0, b),
    ref.sliceDim(0, b, 2 * b),
    {
      ...options,
      ...(lengths
        ? { chosenLengths: lengths.sliceDim(0, 0, b), rejectedLengths: lengths.sliceDim(0, b, 2 * b) }
        : {}),
    },
  );
}

/** What {@link dpoTrain} reports after each step: train()'s progress and TRL's DPO figures (mean over the step's micro-batches). */
export interface DPOTrainProgress extends TrainProgress {
  dpo: DPOStats;
}

/** Options of {@link dpoTrain}: train()'s, less `batches` and `loss`, plus the preference data and DPO's settings. */
export interface DPOTrainOptions
  extends Omit<TrainOptions<PreferenceBatch>, 'batches' | 'loss' | 'evalBatches' | 'onProgress'>,
    Omit<DPOLossOptions, 'chosenLengths' | 'rejectedLengths'> {
  /** The frozen reference model (required): usually a second copy of the starting checkpoint. */
  reference: Module & LogProbModel;
  /** Training pairs (token ids). */
  pairs: readonly PreferenceExample[];
  /** Pairs whose mean DPO loss is the evaluation loss. */
  evalPairs?: readonly PreferenceExample[];
  /** Pairs per batch (8). */
  batchSize?: number;
  /** Seed of the batch order (0). */
  seed?: number;
  /** Pad id (0) and the longest row (the model's context), as preferenceCollator. */
  padTokenId?: number;
  maxLength?: number;
  /** Called after every step with the DPO figures (awaited). */
  onProgress?: (p: DPOTrainProgress) => void | Promise<void>;
}

/** What {@link dpoTrain} returns: train()'s result and the DPO figures of every step. */
export interface DPOTrainResult extends TrainResult {
  stats: DPOStats[];
}

/**
 * Tunes `policy` on preference pairs with DPO against the frozen `reference` (run without
 * gradients, in eval mode; its parameters never change), through {@link train} (AdamW, schedule,
 * clipping, accumulation; memory flat). The pairs are checked first: an identical chosen and
 * rejected answer is refused, naming the pair.
 *
 * @throws TypeError without a reference model, or when it is the policy itself or shares trainable parameters with it
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model: policy, tokenizer } = await loadTinyGPT();
 * const { model: reference } = await loadTinyGPT();
 * const pairs = [{
 *   prompt: tokenizer.encode('THE FOX '), chosen: tokenizer.encode('SAID'), rejected: tokenizer.encode('SAW '),
 * }];
 * const result = await dpoTrain(policy, { reference, pairs, beta: 0.1, maxSteps: 3, lr: 1e-3 });
 * result.stats.length; // => 3
 * ```
 */
export async function dpoTrain(
  policy: Module & LogProbModel,
  options: DPOTrainOptions,
): Promise<DPOTrainResult> {
  const who = 'dpoTrain';
  if (!options || typeof options !== 'object')
    throw new TypeError(`${who}: expected options { reference, pairs, ... }`);
  const { reference } = options;
  if (!reference || typeof reference.forward !== 'function') {
    throw new TypeError(
      `${who}: options.reference must be the frozen reference model (DPO measures the policy against it; load a second copy of the starting checkpoint), got ${describe(reference)}`,
    );
  }
  if ((reference as unknown) === policy) {
    throw new TypeError(
      `${who}: options.reference is the policy itself; pass a separate frozen copy of the starting model`,
    );
  }
  const refParams = new Set(reference.parameters());
  const shared = policy.namedParameters().find(([, p]) => p.requiresGrad && refParams.has(p));
  if (shared) {
    throw new TypeError(
      `${who}: the reference shares the trainable parameter '${shared[0]}' with the policy, so it would move with it; pass a separate copy of the starting model`,
    );
  }
  checkPreferencePairs(options.pairs, who);
  if (options.evalPairs) checkPreferencePairs(options.evalPairs, `${who} (evalPairs)`);
  const lossOptions: DPOLossOptions = {
    beta: options.beta,
    lossType: options.lossType,
    labelSmoothing: options.labelSmoothing,
  };
  tidy(() => {
    const z = tensor([0]);
    dpoLoss(z, z, z, z, { ...lossOptions, chosenLengths: [1], rejectedLengths: [1] }); // checks the options once
  });
  const collate = preferenceCollator({ padTokenId: options.padTokenId, maxLength: options.maxLength });
  const batchSize = options.batchSize ?? 8;
  const evalBatches = options.evalPairs
    ? Array.from({ length: Math.ceil(options.evalPairs.length / batchSize) }, (_, i) =>
        collate(options.evalPairs!.slice(i * batchSize, (i + 1) * batchSize)),
      )
    : undefined;
  reference.eval();
  // each training micro-batch's figures, [5] on the device, read once per step after train() read its loss
  const pending: Tensor[] = [];
  const stats: DPOStats[] = [];
  const { reference: _r, pairs, evalPairs: _e, onProgress, ...trainOptions } = options;
  try {
    const result = await train(policy, {
      ...trainOptions,
      batches: exampleBatches(pairs as PreferenceExample[], batchSize, collate, { seed: options.seed ?? 0 }),
      evalBatches,
      disposeBatches: true,
      loss: (model, batch) => {
        const out = dpoBatchLoss(model as LogProbModel, reference, batch, lossOptions);
        if (model.training) pending.push(keep(dpoStatsTensor(out)));
        return out.loss;
      },
      onProgress: async (p) => {
        const micro = pending.splice(0);
        let step: DPOStats;
        try {
          // mean over the step's micro-batches, on the device
          const avg = micro.length > 1 ? tidy(() => noGrad(() => mean(stack(micro), 0))) : micro[0];
          try {
            step = statsOf(await avg.data());
          } finally {
            if (avg !== micro[0]) avg.dispose();
          }
        } finally {
          for (const t of micro) t.dispose();
        }
        stats.push(step);
        await onProgress?.({ ...p, dpo: step });
      },
    });
    return { ...result, stats };
  } finally {
    for (const t of pending.splice(0)) t.dispose();
    for (const b of evalBatches ?? [])
      for (const t of [b.inputIds, b.attentionMask, b.labels, b.margin]) t?.dispose();
  }
}
