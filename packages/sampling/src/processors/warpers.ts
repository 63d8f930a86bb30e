import { divideByTemperature } from './kernels.js';
import { type LogitsProcessor, softmaxRow } from './processor.js';

const NEG_INF = Number.NEGATIVE_INFINITY;

/** Divides scores by the temperature (HF TemperatureLogitsWarper). */
export class TemperatureWarper implements LogitsProcessor {
  readonly name = 'temperature';
  constructor(readonly temperature: number) {
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new RangeError(`temperature must be a positive finite number, got ${temperature}`);
    }
  }
  process(_ids: readonly number[], scores: Float32Array): void {
    divideByTemperature(scores, this.temperature);
  }
}

/** The k-th largest value of `x` (1-based k), by quickselect on a copy: O(n) on average. */
export function kthLargest(x: Float32Array, k: number): number {
  const a = Float32Array.from(x);
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

/** Keeps the k highest scores (ties with the k-th kept too), as HF TopKLogitsWarper. */
export class TopKWarper implements LogitsProcessor {
  readonly name = 'topK';
  constructor(
    readonly topK: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!Number.isInteger(topK) || topK < 1)
      throw new RangeError(`topK must be a positive integer, got ${topK}`);
  }
  process(_ids: readonly number[], scores: Float32Array): void {
    const k = Math.min(Math.max(this.topK, this.minTokensToKeep), scores.length);
    const kth = kthLargest(scores, k);
    for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = NEG_INF;
  }
}

/**
 * Min-p sampling: removes tokens whose probability is below minP times the top probability
 * (HF MinPLogitsWarper).
 */
export class MinPWarper implements LogitsProcessor {
  readonly name = 'minP';
  private probs = new Float64Array(0);
  constructor(
    readonly minP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(minP >= 0 && minP <= 1)) throw new RangeError(`minP must be in [0, 1], got ${minP}`);
  }
  process(_ids: readonly number[], scores: Float32Array): void {
    if (this.probs.length !== scores.length) this.probs = new Float64Array(scores.length);
    const probs = softmaxRow(scores, this.probs);
    let top = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] > top) top = probs[i];
    const threshold = this.minP * top;
    let kept = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] >= threshold) kept++;
    if (kept >= this.minTokensToKeep) {
      for (let i = 0; i < scores.length; i++) if (probs[i] < threshold) scores[i] = NEG_INF;
      return;
    }
    const kth = kthLargest(scores, Math.min(this.minTokensToKeep, scores.length));
    for (let i = 0; i < scores.length; i++) if (probs[i] < threshold && scores[i] < kth) scores[i] = NEG_INF;
  }
}

/**
 * Locally typical sampling (Meister et al. 2022; HF TypicalLogitsWarper): keeps the tokens whose
 * surprisal is closest to the entropy until their mass exceeds typicalP.
 */
export class TypicalPWarper implements LogitsProcessor {
  readonly name = 'typicalP';
  constructor(
    readonly typicalP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(typicalP > 0 && typicalP <= 1)) throw new RangeError(`typicalP must be in (0, 1], got ${typicalP}`);
  }
  process(_ids: readonly number[], scores: Float32Array): void {
    if (this.typicalP >= 1) return;
    const probs = softmaxRow(scores);
    let entropy = 0;
    const logp = new Float64Array(scores.length);
    for (let i = 0; i < probs.length; i++) {
      logp[i] = Math.log(probs[i]);
      if (probs[i] > 0) entropy -= probs[i] * logp[i];
    }
    const shifted = new Float64Array(scores.length);
    for (let i = 0; i < probs.length; i++)
      shifted[i] = probs[i] > 0 ? Math.abs(-logp[i] - entropy) : Number.POSITIVE_INFINITY;
    const order = Array.from({ length: scores.length }, (_, i) => i).sort(
      (a, b) => shifted[a] - shifted[b] || a - b,
    );
    // HF: last_ind = (cumulative_probs < mass).sum(); keep sorted[0..last_ind] inclusive
    let cum = 0;
    let lastInd = 0;
    for (const i of order) {
      cum += probs[i];
      if (cum < this.typicalP) lastInd++;
      else break;
    }
    lastInd = Math.min(lastInd, scores.length - 1);
    const limit = shifted[order[lastInd]];
    for (let r = this.minTokensToKeep; r < order.length; r++)
      if (shifted[order[r]] > limit) scores[order[r]] = NEG_INF;
  }
}

export { TopPWarper } from './top-p.js';
