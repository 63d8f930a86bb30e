// Choosing the next token from a row of scores: greedy (argmax) or one seeded draw from the softmax.
// Shared by generate(), beam search and speculative decoding.
import type { Generator } from '@attnkit/tensor-core';
import type { ProcessorContext } from './processors/index.js';
import { expNonPositive } from './processors/processor.js';

/** Index of the largest score (the first on ties). */
export function argmaxRow(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** Draws an index from probabilities (float64, summing to ~1) with one uniform draw. */
export function sampleIndex(probs: Float64Array, g: Generator): number {
  const u = g.uniform();
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  let acc = 0;
  const target = u * total;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    acc += probs[i];
    if (acc > target) return i;
  }
  return last;
}

let expBuf = new Float64Array(0);

/**
 * Draws a token from softmax(scores) with one uniform draw: one exp pass over the finite scores
 * (masked tokens, -inf, cost nothing) and a cumulative search, reusing one buffer.
 */
export function sampleFromScores(scores: Float32Array, g: Generator): number {
  const n = scores.length;
  if (expBuf.length < n) expBuf = new Float64Array(n);
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (scores[i] > m) m = scores[i];
  if (m === Number.NEGATIVE_INFINITY)
    throw new Error('generate: every token was masked (all scores are -inf)');
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    const e = expNonPositive(s - m);
    expBuf[i] = e;
    total += e;
  }
  const target = g.uniform() * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const e = expBuf[i];
    if (e === 0) continue;
    last = i;
    acc += e;
    if (acc > target) return i;
  }
  return last;
}

/** Draws from probabilities restricted to the kept tokens (what top-p left), renormalised. */
export function sampleKept(kept: NonNullable<ProcessorContext['kept']>, g: Generator): number {
  const { ids, probs, mass } = kept;
  if (ids.length === 0) throw new Error('generate: every token was masked (all scores are -inf)');
  const target = g.uniform() * mass;
  let acc = 0;
  let last = ids[0];
  for (let j = 0; j < ids.length; j++) {
    const e = probs[j];
    if (e === 0) continue;
    last = ids[j];
    acc += e;
    if (acc > target) return last;
  }
  return last;
}

/**
 * Checks a row of model logits before the processors see it. NaN is an error (transformers raises
 * too: torch.multinomial refuses NaN probabilities). A +Infinity logit is the limit of a token whose
 * probability goes to 1: the row becomes 0 at the +Infinity tokens and -Infinity elsewhere, so
 * greedy, sampling and beam search all pick it (several share the probability equally).
 */
export function checkLogits(scores: Float32Array, where: string): void {
  let inf = false;
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i];
    if (Number.isNaN(x)) throw new Error(`generate: the model returned NaN logits (${where}, token ${i})`);
    if (x === Number.POSITIVE_INFINITY) inf = true;
  }
  if (!inf) return;
  for (let i = 0; i < scores.length; i++)
    scores[i] = scores[i] === Number.POSITIVE_INFINITY ? 0 : Number.NEGATIVE_INFINITY;
}
