// Top-p (nucleus) sampling (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration"):
// keep the smallest set of most likely tokens whose probability mass exceeds topP, mask the rest.
// This file is the method as it reads: softmax, sort, cumulative sum, cut. Long rows go to the
// histogram version in top-p-fast.ts, which keeps the same set without sorting (tested equal).
import { divideByTemperature } from './kernels.js';
import type { LogitsProcessor, ProcessorContext } from './processor.js';
import { TopPHistogram } from './top-p-fast.js';

/** Rows at least this long take the fast path (below, sorting costs less than the histogram's setup). */
export const TOP_P_FAST_MIN = 512;

/**
 * Nucleus sampling, as Hugging Face's TopPLogitsWarper: a token is removed when the probability
 * mass of the tokens ranked at or below it (itself included) is at most 1 - topP; the top
 * `minTokensToKeep` tokens are always kept. Sets `ctx.kept` for the sampler.
 *
 * @example
 * ```ts
 * const scores = Float32Array.from([2, 1, 0, -1]);
 * new TopPWarper(0.8).process([], scores); // keeps tokens 0 and 1 (mass 0.64 + 0.24 > 0.8)
 * scores; // => [2, 1, -Infinity, -Infinity]
 * ```
 */
export class TopPWarper implements LogitsProcessor {
  readonly name = 'topP';
  private readonly fast: TopPHistogram | null;

  /** @param options.fast hand rows of 512 tokens or more to the histogram path (default true). */
  constructor(
    readonly topP: number,
    readonly minTokensToKeep = 1,
    options: { fast?: boolean } = {},
  ) {
    if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
    if (!Number.isInteger(minTokensToKeep) || minTokensToKeep < 1)
      throw new RangeError(`minTokensToKeep must be a positive integer, got ${minTokensToKeep}`);
    this.fast = options.fast === false ? null : new TopPHistogram(topP, minTokensToKeep);
  }

  process(_ids: readonly number[], scores: Float32Array, ctx?: ProcessorContext): void {
    if (this.topP >= 1) return;
    if (this.fast && scores.length >= TOP_P_FAST_MIN) {
      this.fast.process(scores, ctx, this);
      return;
    }
    const n = scores.length;
    // 1. probabilities: softmax of the scores (masked tokens, -inf, get 0)
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) if (scores[i] > max) max = scores[i];
    if (max === Number.NEGATIVE_INFINITY) return;
    const e = Float64Array.from(scores, (s) => Math.exp(s - max));
    const z = e.reduce((a, b) => a + b, 0);
    // 2. sort the tokens from least to most likely (on equal scores, the higher id ranks lower)
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || b - a);
    // 3. cumulative mass from the bottom; 4. cut what stays at or under 1 - topP
    let cumulative = 0;
    for (let r = 0; r < n - this.minTokensToKeep; r++) {
      cumulative += e[order[r]] / z;
      if (cumulative <= 1 - this.topP) scores[order[r]] = Number.NEGATIVE_INFINITY;
      else break;
    }
    if (!ctx) return;
    // the kept tokens (ascending ids) and their exp(score - max), for the sampler
    const ids: number[] = [];
    for (let i = 0; i < n; i++) if (scores[i] > Number.NEGATIVE_INFINITY) ids.push(i);
    const probs = Float64Array.from(ids, (i) => e[i]);
    ctx.kept = {
      ids: Int32Array.from(ids),
      probs,
      mass: probs.reduce((a, b) => a + b, 0),
      owner: this,
    };
  }

  /**
   * Divides the scores by `temperature`, then applies top-p: the same as a TemperatureWarper
   * followed by {@link process}.
   * @deprecated use a TemperatureWarper before this warper (buildProcessors does).
   */
  processScaled(scores: Float32Array, temperature: number, ctx?: ProcessorContext): void {
    if (!(temperature > 0) || !Number.isFinite(temperature))
      throw new RangeError(`temperature must be a positive finite number, got ${temperature}`);
    divideByTemperature(scores, temperature);
    this.process([], scores, ctx);
  }
}
