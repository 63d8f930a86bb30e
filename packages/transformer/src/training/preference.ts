// Preference data for reward modelling and DPO: a prompt with a chosen and a rejected answer (TRL's
// "prompt" / "chosen" / "rejected" columns). The collator stacks every pair's chosen row, then
// every rejected row, into one right-padded batch [2B, L] (TRL's concatenated forward), with labels
// that keep only the answer tokens (-100 on the prompt and padding).
import { type Tensor, tensor } from '@attnkit/tensor-core';

/** One preference pair: token ids of the prompt and of the preferred and the dispreferred answer. */
export interface PreferenceExample {
  prompt: readonly number[];
  chosen: readonly number[];
  rejected: readonly number[];
  /** How much more the chosen answer is preferred (the reward loss's margin, as TRL's "margin" column). */
  margin?: number;
}

/** A preference batch: rows 0..B-1 are prompt + chosen, rows B..2B-1 prompt + rejected. */
export interface PreferenceBatch {
  /** int32 [2B, L], right-padded. */
  inputIds: Tensor;
  /** int32 [2B, L]: 1 on real tokens, 0 on padding. */
  attentionMask: Tensor;
  /** int32 [2B, L]: the answer's ids at the answer's positions, -100 on prompt and padding. */
  labels: Tensor;
  /** float32 [B]: the pairs' margins (0 where a pair has none), when any pair has one. */
  margin?: Tensor;
  /** Number of pairs B. */
  pairs: number;
}

/** Options of {@link preferenceCollator}. */
export interface PreferenceCollatorOptions {
  /** Id that pads shorter rows on the right (0). */
  padTokenId?: number;
  /** Longest row (the model's context, say): a longer prompt + answer is an error naming the pair. */
  maxLength?: number;
}

const sameIds = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Checks preference pairs once, before training: each has token-id arrays, a non-empty prompt and
 * answers, a chosen answer different from the rejected one (an identical pair teaches nothing and
 * makes DPO's loss constant) and a finite margin if any. `who` names the caller in messages.
 *
 * @throws TypeError / RangeError naming the pair index and what was wrong
 */
export function checkPreferencePairs(
  pairs: readonly PreferenceExample[],
  who = 'checkPreferencePairs',
): void {
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new RangeError(`${who}: expected a non-empty array of { prompt, chosen, rejected } pairs`);
  }
  pairs.forEach((p, i) => {
    if (!p || !Array.isArray(p.prompt) || !Array.isArray(p.chosen) || !Array.isArray(p.rejected)) {
      throw new TypeError(
        `${who}: pair ${i} must be { prompt: number[], chosen: number[], rejected: number[] }`,
      );
    }
    if (p.prompt.length === 0) {
      throw new RangeError(
        `${who}: pair ${i} has an empty prompt (the first answer token needs a token before it)`,
      );
    }
    if (p.chosen.length === 0 || p.rejected.length === 0) {
      throw new RangeError(
        `${who}: pair ${i} has an empty ${p.chosen.length === 0 ? 'chosen' : 'rejected'} answer`,
      );
    }
    if (sameIds(p.chosen, p.rejected)) {
      throw new RangeError(
        `${who}: pair ${i} has identical chosen and rejected answers (${p.chosen.length} tokens); a preference pair needs two different answers`,
      );
    }
    if (p.margin !== undefined && !Number.isFinite(p.margin)) {
      throw new RangeError(`${who}: pair ${i} has margin ${p.margin}, expected a finite number`);
    }
  });
}

/**
 * A collate function for preference pairs (use with exampleBatches, then rewardModelLoss or
 * dpoTrain's loss): rows 0..B-1 hold prompt + chosen, rows B..2B-1 prompt + rejected, right-padded
 * to the longest row; labels keep the answers only.
 *
 * @throws RangeError / TypeError naming the pair (see {@link checkPreferencePairs}) or a row over maxLength
 * @example
 * ```ts
 * const collate = preferenceCollator({ maxLength: 96 });
 * const batch = collate([{ prompt: [1, 2], chosen: [3, 4], rejected: [5] }]); // inputIds [2, 4]
 * ```
 */
export function preferenceCollator(
  options: PreferenceCollatorOptions = {},
): (pairs: PreferenceExample[]) => PreferenceBatch {
  const op = 'preferenceCollator';
  const pad = options.padTokenId ?? 0;
  const maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
  if (!(maxLength >= 2))
    throw new RangeError(`${op}: maxLength must be at least 2, got ${options.maxLength}`);
  return (pairs) => {
    checkPreferencePairs(pairs, op);
    const rows: [readonly number[], readonly number[]][] = [
      ...pairs.map((p) => [p.prompt, p.chosen] as [readonly number[], readonly number[]]),
      ...pairs.map((p) => [p.prompt, p.rejected] as [readonly number[], readonly number[]]),
    ];
    rows.forEach(([prompt, answer], r) => {
      if (prompt.length + answer.length > maxLength) {
        const which = r < pairs.length ? 'chosen' : 'rejected';
        throw new RangeError(
          `${op}: pair ${r % pairs.length} has ${prompt.length + answer.length} tokens with its ${which} answer (prompt ${prompt.length} + answer ${answer.length}), more than maxLength ${maxLength}`,
        );
      }
    });
    const R = rows.length;
    const L = Math.max(...rows.map(([p, a]) => p.length + a.length));
    const ids = new Int32Array(R * L).fill(pad);
    const mask = new Int32Array(R * L);
    const labels = new Int32Array(R * L).fill(-100);
    rows.forEach(([prompt, answer], r) => {
      const o = r * L;
      [...prompt, ...answer].forEach((id, t) => {
        ids[o + t] = id;
        mask[o + t] = 1;
        if (t >= prompt.length) labels[o + t] = id;
      });
    });
    const batch: PreferenceBatch = {
      inputIds: tensor(ids, [R, L], 'int32'),
      attentionMask: tensor(mask, [R, L], 'int32'),
      labels: tensor(labels, [R, L], 'int32'),
      pairs: pairs.length,
    };
    if (pairs.some((p) => p.margin !== undefined)) {
      batch.margin = tensor(
        pairs.map((p) => p.margin ?? 0),
        [pairs.length],
      );
    }
    return batch;
  };
}
