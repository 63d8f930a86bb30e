// A reward model for preference tuning: a causal LM's body with a scalar head read at each row's
// last real token (transformers' GPT2ForSequenceClassification / LlamaForSequenceClassification with
// num_labels=1, as TRL's RewardTrainer uses it), trained with the Bradley-Terry loss
// -log sigmoid(r_chosen - r_rejected [- margin]) on preference pairs.
import {
  add,
  arange,
  argmax,
  gather,
  isGradEnabled,
  mean,
  mul,
  noGrad,
  softplus,
  sub,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { Linear, Module } from '@attnkit/tensor-core/nn';
import { normalParameter } from '../blocks/embeddings.js';
import { assertTensorArg, describe, idsArg } from '../internal.js';
import type { PreTrainedModel } from '../models/base.js';
import { checkPreferencePairs, type PreferenceBatch, type PreferenceExample } from './preference.js';

/** The transformer body of a causal LM (GPT2Model, LlamaModel, ...): ids → hidden states. */
interface CausalBody extends Module {
  forward(
    inputs: { inputIds: Tensor; attentionMask?: Tensor | null; useCache?: boolean },
    who?: string,
  ): { lastHiddenState: Tensor };
}

/** Options of {@link RewardModel}. */
export interface RewardModelOptions {
  /** Standard deviation of the score head's normal initialisation (the config's initializer range, else 0.02). */
  initStd?: number;
}

/** What {@link RewardModel.forward} returns. */
export interface RewardOutput {
  /** float32 [B]: the reward of each row. */
  rewards: Tensor;
  /** float32 [B, 1]: the same, as transformers' `logits` of a one-label classifier. */
  logits: Tensor;
}

/**
 * A causal LM turned into a reward model: the LM's transformer body (its weights, shared, not
 * copied) and `score`, a Linear(hidden, 1) without bias, read at each row's last real token (the
 * rightmost position whose attention mask is 1; the last position without a mask). Parameter
 * names are transformers' *ForSequenceClassification ones (`transformer.*` or `model.*`, and
 * `score.weight`). Memory follows the models: without an autograd graph in eval mode, with one
 * while training (run the step inside tidy; {@link train} does).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model, tokenizer } = await loadTinyGPT();
 * const rm = new RewardModel(model);
 * const pairs = [{
 *   prompt: tokenizer.encode('THE FOX '), chosen: tokenizer.encode('SAID'), rejected: tokenizer.encode('SAW '),
 * }];
 * const batches = exampleBatches(pairs, 1, preferenceCollator(), { seed: 1 });
 * await train(rm, { batches, loss: rewardModelLoss as never, maxSteps: 3, lr: 1e-3 });
 * (await rm.rewards([[1, 2, 3], [1, 2, 4]])).length; // => 2
 * ```
 */
export class RewardModel extends Module {
  /** Linear(hidden, 1), no bias: the scalar head. */
  score: Linear;
  readonly #body: CausalBody;
  /** Name of the body (`transformer` for GPT-2, `model` for Llama-like families). */
  readonly bodyName: string;
  readonly hiddenSize: number;

  constructor(lm: PreTrainedModel, options: RewardModelOptions = {}) {
    super();
    const who = 'RewardModel';
    if (!lm || typeof (lm as PreTrainedModel).basePrefix !== 'function') {
      throw new TypeError(
        `${who}: expected a causal LM (GPT2LMHeadModel, LlamaForCausalLM, ...), got ${describe(lm)}`,
      );
    }
    const name = lm.basePrefix().replace(/\.$/, '');
    const body = (lm as unknown as Record<string, unknown>)[name] as CausalBody | undefined;
    const config = (lm as unknown as { config?: Record<string, unknown> }).config ?? {};
    const hidden = (config.nEmbd ?? config.hiddenSize) as number | undefined;
    if (
      !name ||
      !(body instanceof Module) ||
      typeof body.forward !== 'function' ||
      !Number.isInteger(hidden)
    ) {
      throw new TypeError(
        `${who}: ${lm.constructor.name} has no decoder body with a hidden size (expected a causal LM such as GPT2LMHeadModel or LlamaForCausalLM)`,
      );
    }
    this.bodyName = name;
    this.hiddenSize = hidden as number;
    this.#body = body;
    (this as unknown as Record<string, unknown>)[name] = body; // registered under transformers' name
    const std = options.initStd ?? (config.initializerRange as number | undefined) ?? 0.02;
    this.score = new Linear(this.hiddenSize, 1, { bias: false });
    this.score.weight.dispose();
    this.score.weight = normalParameter([1, this.hiddenSize], std);
  }

  /** ids [B, L] (right-padded, with `attentionMask`) → the reward of each row, [B]. */
  override forward(inputs: { inputIds: Tensor; attentionMask?: Tensor | null }): RewardOutput {
    const who = 'RewardModel.forward';
    if (!inputs || typeof inputs !== 'object')
      throw new TypeError(`${who}: expected { inputIds, attentionMask? }`);
    const ids = idsArg(inputs.inputIds, 'inputIds', who);
    const [b, l] = ids.shape;
    const mask = inputs.attentionMask ?? null;
    if (mask) {
      assertTensorArg(mask, 'attentionMask', who);
      if (mask.shape.join() !== ids.shape.join()) {
        throw new Error(`${who}: attentionMask must be [${b}, ${l}] like inputIds, got [${mask.shape}]`);
      }
    }
    const fn = (): RewardOutput => {
      const { lastHiddenState: h } = this.#body.forward(
        { inputIds: ids, attentionMask: mask, useCache: false },
        who,
      ); // [B, L, E]
      // the rightmost real token of each row (transformers: argmax of position * non-pad mask)
      const last = mask
        ? argmax(mul(arange(0, l, 1, 'float32'), mask.cast('float32')), 1) // [B]
        : tensor(new Int32Array(b).fill(l - 1), [b], 'int32');
      const index = last.reshape([b, 1, 1]).expand([b, 1, this.hiddenSize]);
      const pooled = gather(h, 1, index).reshape([b, this.hiddenSize]); // [B, E]
      const logits = this.score.forward(pooled); // [B, 1]
      return { rewards: logits.reshape([b]), logits };
    };
    if (this.training && isGradEnabled()) return fn();
    return noGrad(() => tidy(fn));
  }

  /**
   * Rewards of token sequences (lists of ids, any lengths; right-padded here), without gradients,
   * `batchSize` rows per forward (32). Each batch's rewards are read with the asynchronous read, so
   * this runs on every backend (WebGPU included).
   */
  async rewards(
    sequences: readonly (readonly number[])[],
    options: { batchSize?: number } = {},
  ): Promise<number[]> {
    const who = 'RewardModel.rewards';
    if (!Array.isArray(sequences) || sequences.some((s) => !Array.isArray(s) || s.length === 0)) {
      throw new TypeError(`${who}: expected an array of non-empty token-id arrays`);
    }
    const bs = options.batchSize ?? 32;
    if (!Number.isInteger(bs) || bs < 1)
      throw new RangeError(`${who}: batchSize must be a positive integer, got ${String(options.batchSize)}`);
    const out: number[] = [];
    for (let i = 0; i < sequences.length; i += bs) {
      const rows = sequences.slice(i, i + bs);
      const L = Math.max(...rows.map((r) => r.length));
      const ids = new Int32Array(rows.length * L);
      const mask = new Int32Array(rows.length * L);
      rows.forEach((r, b) => {
        for (let t = 0; t < r.length; t++) {
          ids[b * L + t] = r[t];
          mask[b * L + t] = 1;
        }
      });
      const rewards = tidy(() =>
        noGrad(
          () =>
            this.forward({
              inputIds: tensor(ids, [rows.length, L], 'int32'),
              attentionMask: tensor(mask, [rows.length, L], 'int32'),
            }).rewards,
        ),
      );
      try {
        out.push(...(await rewards.data()));
      } finally {
        rewards.dispose();
      }
    }
    return out;
  }
}

/**
 * The Bradley-Terry preference loss, mean over pairs of -log sigmoid(r_chosen - r_rejected - margin)
 * (TRL's RewardTrainer; computed as softplus(-(...)), which is stable). `margin` is a number or a
 * [B] tensor (0 by default).
 */
export function bradleyTerryLoss(chosen: Tensor, rejected: Tensor, margin?: Tensor | number): Tensor {
  const who = 'bradleyTerryLoss';
  assertTensorArg(chosen, 'chosen', who);
  assertTensorArg(rejected, 'rejected', who);
  if (chosen.rank !== 1 || chosen.shape.join() !== rejected.shape.join()) {
    throw new Error(
      `${who}: chosen and rejected must be [B] rewards of the same length, got [${chosen.shape}] and [${rejected.shape}]`,
    );
  }
  let d = sub(chosen, rejected);
  if (margin !== undefined) d = sub(d, margin);
  return mean(softplus(mul(d, -1)));
}

/**
 * The reward model's training loss on a preference batch (use with {@link train}): rewards of the
 * chosen rows and of the rejected rows, then {@link bradleyTerryLoss} with the batch's margins.
 * `centerRewardsCoefficient` adds c * mean((r_chosen + r_rejected)^2), as TRL's option of that name.
 */
export function rewardModelLoss(
  model: Module,
  batch: PreferenceBatch,
  options: { centerRewardsCoefficient?: number } = {},
): Tensor {
  if (!(model instanceof RewardModel))
    throw new TypeError(`rewardModelLoss: 'model' must be a RewardModel, got ${describe(model)}`);
  const { rewards } = (model as RewardModel).forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
  });
  const chosen = rewards.sliceDim(0, 0, batch.pairs);
  const rejected = rewards.sliceDim(0, batch.pairs, 2 * batch.pairs);
  const loss = bradleyTerryLoss(chosen, rejected, batch.margin);
  const c = options.centerRewardsCoefficient;
  if (!c) return loss;
  const s = add(chosen, rejected);
  return add(loss, mul(mean(mul(s, s)), c));
}

/** Held-out quality of a reward model on preference pairs. */
export interface RewardEvaluation {
  /** Share of pairs whose chosen answer gets the higher reward. */
  accuracy: number;
  /** Mean of r_chosen - r_rejected. */
  margin: number;
  /** Mean Bradley-Terry loss. */
  loss: number;
}

/**
 * Accuracy, mean margin and loss of `model` on `pairs`, without gradients (read asynchronously, so
 * on every backend).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model } = await loadTinyGPT();
 * const rm = new RewardModel(model);
 * const { accuracy } = await evaluateRewardModel(rm, [{ prompt: [1, 2], chosen: [3], rejected: [4] }]);
 * [0, 1].includes(accuracy); // => true
 * ```
 */
export async function evaluateRewardModel(
  model: RewardModel,
  pairs: readonly PreferenceExample[],
  options: { batchSize?: number } = {},
): Promise<RewardEvaluation> {
  if (!(model instanceof RewardModel))
    throw new TypeError(`evaluateRewardModel: 'model' must be a RewardModel, got ${describe(model)}`);
  checkPreferencePairs(pairs, 'evaluateRewardModel');
  const chosen = await model.rewards(
    pairs.map((p) => [...p.prompt, ...p.chosen]),
    options,
  );
  const rejected = await model.rewards(
    pairs.map((p) => [...p.prompt, ...p.rejected]),
    options,
  );
  let correct = 0;
  let margin = 0;
  let loss = 0;
  pairs.forEach((p, i) => {
    const d = chosen[i] - rejected[i];
    if (d > 0) correct++;
    margin += d;
    const z = -(d - (p.margin ?? 0));
    loss += z > 20 ? z : Math.log1p(Math.exp(z));
  });
  return { accuracy: correct / pairs.length, margin: margin / pairs.length, loss: loss / pairs.length };
}
