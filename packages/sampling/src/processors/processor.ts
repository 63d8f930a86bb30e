/**
 * A logits processor rewrites the next-token scores of each row in place, given the ids generated
 * so far (prompt included), as Hugging Face's LogitsProcessor does.
 */
export interface LogitsProcessor {
  /** Name shown in traces (e.g. 'temperature'). */
  readonly name: string;
  /**
   * @param inputIds the tokens of this row so far (prompt + generated, without left padding).
   * @param scores the vocab scores of this row; modified in place.
   * @param context generation state shared by all processors.
   */
  process(inputIds: readonly number[], scores: Float32Array, context: ProcessorContext): void;
}

/** Generation state processors may need. */
export interface ProcessorContext {
  /** Length of the prompt of this row (without padding). */
  promptLength: number;
  /** Total length the sequence may reach (prompt + maxNewTokens). */
  maxLength: number;
  /**
   * Set by a warper that computed the softmax of the scores and the set of kept tokens (top-p), so
   * the sampler can draw from the kept tokens without a second pass over the vocabulary.
   * applyProcessors clears it when a later processor changes the scores.
   */
  kept?: {
    /** The kept token ids, ascending. */
    ids: Int32Array;
    /** exp(score - max) of each kept token, in the order of `ids`. */
    probs: Float64Array;
    /** The sum of `probs`. */
    mass: number;
    /** The processor that set it. */
    owner: LogitsProcessor;
  };
}

/** Largest-first indices of `scores` (ties by lower index), for the warpers that sort. */
export function sortedIndices(scores: Float32Array): Int32Array {
  const idx = new Int32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => {
    const d = scores[b] - scores[a];
    return d > 0 || d < 0 ? d : a - b;
  });
  return idx;
}

/** Steps per unit of the exp table (internal; shared with the top-p histogram). */
export const EXP_STEPS = 64;
const EXP_TABLE_SIZE = 110 * EXP_STEPS + 2;
/** exp(-k / EXP_STEPS) for k = 0 … 110·EXP_STEPS + 1 (internal). */
export const EXP_TABLE = Float64Array.from({ length: EXP_TABLE_SIZE }, (_, k) => Math.exp(-k / EXP_STEPS));

/**
 * exp(x) for x <= 0 (scores minus their max), about twice as fast as Math.exp over a vocabulary:
 * a table of exp(-k/64) times a 4th-order Taylor polynomial of the remainder (|r| <= 1/128), with
 * relative error below 1e-12. Below -110 it returns 0 (far under float32's smallest value).
 */
export function expNonPositive(x: number): number {
  const t = -x * EXP_STEPS;
  if (!(t < EXP_TABLE_SIZE - 1)) return 0;
  const k = (t + 0.5) | 0;
  const r = (k - t) / EXP_STEPS;
  return EXP_TABLE[k] * (1 + r * (1 + r * (0.5 + r * (0.16666666666666666 + r * 0.041666666666666664))));
}

/** Softmax of a row into float64 probabilities (max-subtracted; -inf gives 0). */
export function softmaxRow(scores: Float32Array, out = new Float64Array(scores.length)): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) if (scores[i] > m) m = scores[i];
  if (m === Number.NEGATIVE_INFINITY) {
    out.fill(0);
    return out;
  }
  let s = 0;
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i];
    const e = expNonPositive(x - m);
    out[i] = e;
    s += e;
  }
  for (let i = 0; i < scores.length; i++) out[i] /= s;
  return out;
}
