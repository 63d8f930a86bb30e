// Supervised fine-tuning on prompt/answer pairs: the batch holds prompt + answer, and the labels
// keep only the answer's tokens (-100 on the prompt and padding), so causalLMLoss trains the model
// to produce answers and never to predict the prompt (TRL's completion-only loss).
import { type Tensor, tensor } from '@attnkit/tensor-core';
import type { LMBatch } from './data.js';

/** One supervised example: the prompt's token ids and the answer's (which the loss covers). */
export interface SFTExample {
  prompt: readonly number[];
  answer: readonly number[];
}

/** Options of {@link sftCollator}. */
export interface SFTCollatorOptions {
  /** Id that pads shorter rows on the right (0); padding has attention mask 0 and label -100. */
  padTokenId?: number;
  /** Longest row: a longer prompt + answer is an error naming the row (the model's context, say). */
  maxLength?: number;
  /** Also train on the prompt tokens (false: the loss covers the answer only). */
  trainOnPrompt?: boolean;
}

/** An SFT batch: causalLMLoss's inputs plus the attention mask of the right padding. */
export interface SFTBatch extends LMBatch {
  attentionMask: Tensor;
}

/**
 * A collate function for supervised fine-tuning (use with exampleBatches and causalLMLoss): each
 * row is prompt + answer, right-padded; labels are the answer's ids at the answer's positions and
 * -100 elsewhere (the causal loss shifts them, so the last prompt token predicts the first answer
 * token, and nothing predicts a prompt token).
 *
 * @throws RangeError for an empty answer or a row longer than maxLength (naming the row)
 * @example
 * ```ts
 * const { model, tokenizer: tok } = await loadTinyGPT();
 * const pairs = [['WHO? ', 'THE FOX.'], ['WHAT? ', 'A GRAPE.']];
 * const collate = sftCollator({ maxLength: model.config.nPositions });
 * const batches = exampleBatches(pairs.map(([q, a]) => ({ prompt: tok.encode(q), answer: tok.encode(a) })), 2, collate);
 * const { losses } = await train(model, { batches, loss: causalLMLoss, maxSteps: 3 });
 * losses.length; // => 3
 * ```
 */
export function sftCollator(options: SFTCollatorOptions = {}): (rows: SFTExample[]) => SFTBatch {
  const op = 'sftCollator';
  const pad = options.padTokenId ?? 0;
  const maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
  if (!(maxLength >= 2))
    throw new RangeError(`${op}: maxLength must be at least 2, got ${options.maxLength}`);
  return (rows) => {
    if (!Array.isArray(rows) || rows.length === 0)
      throw new RangeError(`${op}: expected a non-empty array of rows`);
    rows.forEach((r, i) => {
      if (!r || !Array.isArray(r.prompt) || !Array.isArray(r.answer)) {
        throw new TypeError(`${op}: row ${i} must be { prompt: number[], answer: number[] }`);
      }
      if (r.answer.length === 0)
        throw new RangeError(`${op}: row ${i} has an empty answer (nothing to train on)`);
      const n = r.prompt.length + r.answer.length;
      if (n > maxLength) {
        throw new RangeError(
          `${op}: row ${i} has ${n} tokens (prompt ${r.prompt.length} + answer ${r.answer.length}), more than maxLength ${maxLength}`,
        );
      }
    });
    const B = rows.length;
    const L = Math.max(...rows.map((r) => r.prompt.length + r.answer.length));
    const ids = new Int32Array(B * L).fill(pad);
    const mask = new Int32Array(B * L);
    const labels = new Int32Array(B * L).fill(-100);
    rows.forEach((r, b) => {
      const o = b * L;
      const all = [...r.prompt, ...r.answer];
      all.forEach((id, t) => {
        ids[o + t] = id;
        mask[o + t] = 1;
        if (options.trainOnPrompt || t >= r.prompt.length) labels[o + t] = id;
      });
    });
    return {
      inputIds: tensor(ids, [B, L], 'int32'),
      attentionMask: tensor(mask, [B, L], 'int32'),
      labels: tensor(labels, [B, L], 'int32'),
    };
  };
}
