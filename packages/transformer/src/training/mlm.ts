// Masked-language modelling (Devlin et al. 2018, BERT), as transformers' DataCollatorForLanguageModeling:
// each token is chosen with probability mlmProbability (special tokens and padding never); a
// chosen token is replaced by [MASK] 80% of the time, by a random token 10%, and left as it is
// 10%; labels hold the original id where chosen and -100 elsewhere, so the loss covers only them.
// Whole-word masking chooses words (at their first token) and masks every token of a chosen word.
import { crossEntropy, Generator, type Tensor, tensor } from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';
import type { LogitsModel } from './losses.js';

/** One example: token ids, or a tokenizer Encoding's fields (`ids`, `specialTokensMask`, `wordIds`). */
export type MLMExample =
  | readonly number[]
  | {
      ids: readonly number[];
      /** 1 for tokens the tokenizer added ([CLS], [SEP]); they are never masked. */
      specialTokensMask?: readonly number[];
      /** The word each token belongs to (null for added tokens); needed for whole-word masking. */
      wordIds?: readonly (number | null)[];
    };

/** Options of {@link mlmCollator}, with the meaning of transformers' DataCollatorForLanguageModeling. */
export interface MLMCollatorOptions {
  /** Id of the [MASK] token. */
  maskTokenId: number;
  /** Vocabulary size: random replacements are drawn uniformly from [0, vocabSize). */
  vocabSize: number;
  /** Probability that a token (or, with wholeWordMask, a word) is chosen (0.15). */
  mlmProbability?: number;
  /** Share of chosen tokens replaced by [MASK] (0.8; 1 with wholeWordMask). */
  maskReplaceProb?: number;
  /** Share of chosen tokens replaced by a random token (0.1; 0 with wholeWordMask). */
  randomReplaceProb?: number;
  /** Ids never masked wherever they occur ([CLS], [SEP], [PAD], …), besides each row's specialTokensMask. */
  specialTokenIds?: readonly number[];
  /** Id that pads shorter rows to the longest (0); padding is never masked and has attention mask 0. */
  padTokenId?: number;
  /**
   * Choose whole words (from each row's `wordIds`) and mask all their tokens. As transformers,
   * every token of a chosen word becomes [MASK] (no random or kept tokens).
   */
  wholeWordMask?: boolean;
  /** Seed of the masking draws (0); the same seed and rows give the same batches. */
  seed?: number;
}

/** A masked-LM batch: int32 `inputIds` [B, L] (masked), `attentionMask` [B, L], `labels` [B, L] (-100 where not chosen). */
export interface MLMBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  labels: Tensor;
}

/** The batch as plain arrays (row-major [B, L]), before it becomes tensors. */
export interface MLMArrays {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array;
  shape: [number, number];
}

function prob(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new RangeError(`${op}: ${name} must be a probability in [0, 1], got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * A collate function for masked-language modelling (use with exampleBatches): pads the rows,
 * chooses tokens with BERT's 80/10/10 rule, and returns `{ inputIds, attentionMask, labels }`.
 * `collate.arrays(rows)` gives the same draw as plain arrays.
 *
 * @throws RangeError for probabilities outside [0, 1], maskReplaceProb + randomReplaceProb > 1,
 *   or whole-word masking without wordIds or with random replacement
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { Tokenizer } from '@attnkit/tokenizer';
 * const dir = 'packages/transformer/test/fixtures/pipe-bert-mlm'; // a tiny BertForMaskedLM and its tokenizer
 * const tok = Tokenizer.fromJSON(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
 * const bert = await loadPretrained(dir);
 * const [cls, sep, pad] = ['[CLS]', '[SEP]', '[PAD]'].map((t) => tok.tokenToId(t) as number);
 * const text = 'the cat sat on the mat and the dog ran home while the sun was hot and the birds sang';
 * const encodings = Array.from({ length: 8 }, () => tok.encode(text).ids);
 * const collate = mlmCollator({ maskTokenId: tok.tokenToId('[MASK]') as number, vocabSize: tok.getVocabSize(),
 *   specialTokenIds: [cls, sep, pad], seed: 0 });
 * const batches = exampleBatches(encodings, 4, collate, { seed: 0 });
 * const { losses } = await train(bert, { batches, loss: maskedLMLoss, maxSteps: 3 });
 * losses.length; // => 3
 * ```
 */
export function mlmCollator(
  options: MLMCollatorOptions,
): ((rows: MLMExample[]) => MLMBatch) & { arrays(rows: MLMExample[]): MLMArrays } {
  const op = 'mlmCollator';
  if (!options || typeof options !== 'object')
    throw new TypeError(`${op}: options { maskTokenId, vocabSize } are required`);
  const { maskTokenId, vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new RangeError(`${op}: vocabSize must be a positive integer, got ${JSON.stringify(vocabSize)}`);
  }
  if (!Number.isInteger(maskTokenId) || maskTokenId < 0 || maskTokenId >= vocabSize) {
    throw new RangeError(
      `${op}: maskTokenId must be a token id in [0, ${vocabSize}), got ${JSON.stringify(maskTokenId)}`,
    );
  }
  const wholeWord = options.wholeWordMask ?? false;
  const p = prob(op, 'mlmProbability', options.mlmProbability ?? 0.15);
  const maskP = prob(op, 'maskReplaceProb', options.maskReplaceProb ?? (wholeWord ? 1 : 0.8));
  const randP = prob(op, 'randomReplaceProb', options.randomReplaceProb ?? (wholeWord ? 0 : 0.1));
  if (maskP + randP > 1 + 1e-12) {
    throw new RangeError(
      `${op}: maskReplaceProb + randomReplaceProb must not exceed 1, got ${maskP} + ${randP}`,
    );
  }
  if (wholeWord && maskP !== 1) {
    throw new RangeError(
      `${op}: whole-word masking replaces every token of a chosen word by [MASK] (as transformers); maskReplaceProb must be 1, got ${maskP}`,
    );
  }
  const pad = options.padTokenId ?? 0;
  const special = new Set(options.specialTokenIds ?? []);
  const g = new Generator(options.seed ?? 0);
  // share of the not-[MASK] remainder that becomes random (transformers' random_replace_prob_scaled)
  const randScaled = maskP < 1 ? randP / (1 - maskP) : 0;

  const arrays = (rows: MLMExample[]): MLMArrays => {
    if (!Array.isArray(rows) || rows.length === 0)
      throw new RangeError(`${op}: expected a non-empty array of rows`);
    const norm = rows.map((r, i) => {
      const ids = Array.isArray(r) ? (r as readonly number[]) : (r as { ids?: readonly number[] })?.ids;
      if (!Array.isArray(ids) || ids.length === 0) {
        throw new TypeError(
          `${op}: row ${i} must be a non-empty array of token ids or { ids, specialTokensMask?, wordIds? }`,
        );
      }
      const obj: Exclude<MLMExample, readonly number[]> = Array.isArray(r)
        ? { ids }
        : (r as Exclude<MLMExample, readonly number[]>);
      if (wholeWord && !obj.wordIds) {
        throw new Error(
          `${op}: whole-word masking needs each row's wordIds (a tokenizer Encoding's wordIds); row ${i} has none`,
        );
      }
      return { ids, mask: obj.specialTokensMask, words: obj.wordIds };
    });
    const B = norm.length;
    const L = Math.max(...norm.map((r) => r.ids.length));
    const inputIds = new Int32Array(B * L).fill(pad);
    const attentionMask = new Int32Array(B * L);
    const labels = new Int32Array(B * L).fill(-100);
    for (let b = 0; b < B; b++) {
      const { ids, mask, words } = norm[b];
      const o = b * L;
      const chosen = new Uint8Array(ids.length);
      const canMask = (t: number) => !special.has(ids[t]) && !(mask && mask[t] === 1);
      if (wholeWord) {
        const w = words as readonly (number | null)[];
        let lastWord: number | null = null;
        let pick = false;
        for (let t = 0; t < ids.length; t++) {
          const word = canMask(t) ? w[t] : null;
          if (word === null || word === undefined) {
            lastWord = null;
            continue;
          }
          if (word !== lastWord) pick = g.uniform() < p;
          lastWord = word;
          chosen[t] = pick ? 1 : 0;
        }
      } else {
        for (let t = 0; t < ids.length; t++) chosen[t] = canMask(t) && g.uniform() < p ? 1 : 0;
      }
      for (let t = 0; t < ids.length; t++) {
        const id = ids[t];
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new RangeError(
            `${op}: row ${b} position ${t} holds ${id}, not a token id in [0, ${vocabSize})`,
          );
        }
        attentionMask[o + t] = 1;
        inputIds[o + t] = id;
        if (!chosen[t]) continue;
        labels[o + t] = id;
        if (g.uniform() < maskP) inputIds[o + t] = maskTokenId;
        else if (g.uniform() < randScaled) inputIds[o + t] = g.randint(0, vocabSize);
      }
    }
    return { inputIds, attentionMask, labels, shape: [B, L] };
  };
  const collate = (rows: MLMExample[]): MLMBatch => {
    const a = arrays(rows);
    return {
      inputIds: tensor(a.inputIds, a.shape, 'int32'),
      attentionMask: tensor(a.attentionMask, a.shape, 'int32'),
      labels: tensor(a.labels, a.shape, 'int32'),
    };
  };
  return Object.assign(collate, { arrays });
}

/**
 * Mean cross-entropy of a masked LM's logits against `labels` over the chosen tokens (-100 is
 * ignored), as transformers' BertForMaskedLM loss. The labels are not shifted.
 */
export function maskedLMLoss(
  model: Module,
  batch: { inputIds: Tensor; attentionMask?: Tensor; labels: Tensor },
): Tensor {
  const { logits } = (model as LogitsModel).forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
  });
  const [b, t, v] = logits.shape;
  return crossEntropy(logits.reshape([b * t, v]), batch.labels.reshape([b * t]), { ignoreIndex: -100 });
}
