// What preference tuning measures on a causal LM: the log-probability of each row's answer tokens
// (summed, the prompt and padding masked, as TRL's DPOTrainer), and the mean per-token KL divergence
// of the tuned policy from its reference on the same answers.
import {
  exp,
  gather,
  logSoftmax,
  mul,
  ne,
  noGrad,
  stack,
  sub,
  sum,
  type Tensor,
  tidy,
  where,
} from '@attnkit/tensor-core';
import { assertTensorArg, describe } from '../internal.js';

/** A causal LM as the log-prob functions need it (GPT2LMHeadModel, LlamaForCausalLM, ...). */
export interface LogProbModel {
  forward(inputs: { inputIds: Tensor; attentionMask?: Tensor; useCache?: boolean }): { logits: Tensor };
}

/** Rows of prompt + answer with the answer's labels (sftCollator's and preferenceCollator's batches). */
export interface AnswerBatch {
  /** int32 [B, L] */
  inputIds: Tensor;
  /** [B, L], 1 on real tokens */
  attentionMask?: Tensor;
  /** int32 [B, L]: the answer's ids, -100 on prompt and padding (the model shifts them). */
  labels: Tensor;
}

function checkBatch(batch: AnswerBatch, who: string): void {
  if (!batch || typeof batch !== 'object')
    throw new TypeError(`${who}: expected a batch { inputIds, labels }, got ${describe(batch)}`);
  assertTensorArg(batch.inputIds, 'batch.inputIds', who);
  assertTensorArg(batch.labels, 'batch.labels', who);
  if (batch.labels.rank !== 2 || batch.labels.shape.join() !== batch.inputIds.shape.join()) {
    throw new Error(
      `${who}: batch.labels must have inputIds' shape [${batch.inputIds.shape}], got [${batch.labels.shape}]`,
    );
  }
}

/** Log-softmax of the logits that predict each next token: [B, L-1, V] and the targets' mask. */
function shifted(logits: Tensor, labels: Tensor): { logp: Tensor; target: Tensor; mask: Tensor } {
  const [b, l] = logits.shape;
  const logp = logSoftmax(logits.sliceDim(1, 0, l - 1)); // [B, L-1, V]
  const next = labels.sliceDim(1, 1, l); // [B, L-1]
  const mask = ne(next, -100);
  return { logp, target: where(mask, next, 0).reshape([b, l - 1, 1]), mask: mask.cast('float32') };
}

/**
 * Sum of log p(answer token) over each row's answer (labels other than -100; logits at t predict
 * labels[t + 1]): [B] from logits [B, L, V]. TRL's `selective_log_softmax` + completion-masked sum.
 */
export function answerLogProbsFromLogits(logits: Tensor, labels: Tensor): Tensor {
  const who = 'answerLogProbsFromLogits';
  assertTensorArg(logits, 'logits', who);
  assertTensorArg(labels, 'labels', who);
  if (
    logits.rank !== 3 ||
    labels.rank !== 2 ||
    logits.shape[0] !== labels.shape[0] ||
    logits.shape[1] !== labels.shape[1]
  ) {
    throw new Error(
      `${who}: expected logits [B, L, V] and labels [B, L], got [${logits.shape}] and [${labels.shape}]`,
    );
  }
  const { logp, target, mask } = shifted(logits, labels);
  const perToken = gather(logp, 2, target).reshape([...mask.shape]); // [B, L-1]
  return sum(mul(perToken, mask), 1); // [B]
}

/**
 * The log-probability the model gives each row's answer: the sum over answer tokens of
 * log p(token | everything before it), [B], differentiable (with the model in training mode).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model, tokenizer } = await loadTinyGPT();
 * const [prompt, chosen, rejected] = ['THE FOX ', 'SAID', 'SAW '].map((s) => tokenizer.encode(s));
 * const batch = preferenceCollator()([{ prompt, chosen, rejected }]);
 * const [chosenLogp, rejectedLogp] = await sequenceLogProbs(model.eval(), batch).data();
 * [chosenLogp < 0, rejectedLogp < 0]; // => [true, true]
 * ```
 */
export function sequenceLogProbs(model: LogProbModel, batch: AnswerBatch): Tensor {
  const who = 'sequenceLogProbs';
  if (!model || typeof model.forward !== 'function')
    throw new TypeError(`${who}: 'model' must be a causal LM, got ${describe(model)}`);
  checkBatch(batch, who);
  const { logits } = model.forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    useCache: false,
  });
  return answerLogProbsFromLogits(logits, batch.labels);
}

/**
 * Mean per-token KL(policy || reference) over the answer tokens of a batch: at each answer position
 * the full-vocabulary divergence sum_v p(v) (log p(v) - log q(v)) of the policy's next-token
 * distribution p from the reference's q, averaged over all answer tokens of all rows. Computed
 * without gradients and read once with the asynchronous read (so it runs on every backend, WebGPU
 * included); 0 when the two models agree. Use it on the policy's own samples (prompt + sampled
 * answer rows from sftCollator) to see how far tuning moved the model.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model: policy, tokenizer } = await loadTinyGPT();
 * const { model: reference } = await loadTinyGPT();
 * const batch = sftCollator()([{ prompt: tokenizer.encode('THE FOX '), answer: tokenizer.encode('SAID') }]);
 * await referenceKL(policy.eval(), reference.eval(), batch); // => 0
 * ```
 */
export async function referenceKL(
  policy: LogProbModel,
  reference: LogProbModel,
  batch: AnswerBatch,
): Promise<number> {
  const who = 'referenceKL';
  for (const [name, m] of [
    ['policy', policy],
    ['reference', reference],
  ] as const) {
    if (!m || typeof m.forward !== 'function')
      throw new TypeError(`${who}: '${name}' must be a causal LM, got ${describe(m)}`);
  }
  checkBatch(batch, who);
  // [summed KL over answer tokens, answer tokens], reduced on the device and read once
  const sums = tidy(() =>
    noGrad(() => {
      const inputs = { inputIds: batch.inputIds, attentionMask: batch.attentionMask, useCache: false };
      const p = shifted(policy.forward(inputs).logits, batch.labels);
      const q = shifted(reference.forward(inputs).logits, batch.labels);
      const kl = sum(mul(exp(p.logp), sub(p.logp, q.logp)), 2); // [B, L-1]
      return stack([sum(mul(kl, p.mask)), sum(p.mask)]);
    }),
  );
  let total: number;
  let tokens: number;
  try {
    [total, tokens] = await sums.data();
  } finally {
    sums.dispose();
  }
  if (tokens === 0) throw new RangeError(`${who}: the batch has no answer tokens (every label is -100)`);
  return total / tokens;
}
