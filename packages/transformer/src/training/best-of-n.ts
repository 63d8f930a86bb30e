// Best-of-n sampling (rejection sampling against a reward model): draw n answers to a prompt from the
// policy, score each with the reward model, return the best. It buys a better answer with n times
// the compute and needs no training; its KL from the policy is at most log n - (n - 1) / n.
import { type CausalLM, type GenerationConfig, generate } from '@attnkit/sampling';
import { describe } from '../internal.js';
import type { RewardModel } from './reward.js';

/** Options of {@link bestOfN}: generate()'s (sampling is on), plus n. */
export interface BestOfNOptions
  extends Omit<GenerationConfig, 'numReturnSequences' | 'doSample' | 'numBeams'> {
  /** Samples to draw (4). */
  n?: number;
}

/** What {@link bestOfN} returns. */
export interface BestOfNResult {
  /** The best answer's tokens (after the prompt; up to and including an end token). */
  best: number[];
  /** Its index in `answers`. */
  bestIndex: number;
  /** The reward of each sample, in the order drawn. */
  scores: number[];
  /** Every sample's answer tokens. */
  answers: number[][];
}

/**
 * Samples `n` answers to `prompt` from `policy` (generate() with doSample) and returns the one
 * `rewardModel` scores highest (on prompt + answer), with every answer and score. Every read is
 * asynchronous, so it runs on every backend (WebGPU included).
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * const { model: policy, tokenizer } = await loadTinyGPT();
 * const { model: body } = await loadTinyGPT();
 * const rm = new RewardModel(body);
 * const { answers, scores, bestIndex } = await bestOfN(policy, rm, tokenizer.encode('THE FOX '), {
 *   n: 4, maxNewTokens: 12, seed: 1,
 * });
 * [answers.length, scores.length, scores[bestIndex] === Math.max(...scores)]; // => [4, 4, true]
 * ```
 */
export async function bestOfN(
  policy: CausalLM,
  rewardModel: RewardModel,
  prompt: readonly number[],
  options: BestOfNOptions = {},
): Promise<BestOfNResult> {
  const who = 'bestOfN';
  if (!rewardModel || typeof (rewardModel as RewardModel).rewards !== 'function') {
    throw new TypeError(`${who}: 'rewardModel' must be a RewardModel, got ${describe(rewardModel)}`);
  }
  if (!Array.isArray(prompt) || prompt.length === 0 || !prompt.every((t) => Number.isInteger(t) && t >= 0)) {
    throw new TypeError(`${who}: 'prompt' must be a non-empty array of token ids, got ${describe(prompt)}`);
  }
  const { n = 4, ...gen } = options;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${who}: n must be a positive integer, got ${String(n)}`);
  const { sequences } = await generate(policy, [prompt as number[]], {
    ...gen,
    doSample: true,
    numReturnSequences: n,
  });
  const eos = gen.eosTokenId === undefined ? [] : ([] as number[]).concat(gen.eosTokenId);
  const answers = sequences.map((s) => {
    const a = s.slice(prompt.length);
    const end = a.findIndex((t) => eos.includes(t));
    return end >= 0 ? a.slice(0, end + 1) : a;
  });
  const scores = await rewardModel.rewards(answers.map((a) => [...prompt, ...a]));
  let bestIndex = 0;
  for (let i = 1; i < n; i++) if (scores[i] > scores[bestIndex]) bestIndex = i;
  return { best: answers[bestIndex], bestIndex, scores, answers };
}
