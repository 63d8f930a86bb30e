import { type LogitsProcessor, type ProcessorContext, softmaxRow } from './processor.js';

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
    const t = this.temperature;
    for (let i = 0; i < scores.length; i++) scores[i] /= t;
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
 * Marks in `keep` the top tokens, in descending score order, until `stop(massBefore, count)` says
 * enough, without sorting the whole vocabulary: tokens are bucketed by score, whole buckets are
 * taken by their summed probability while the walk cannot stop inside them, and only the bucket
 * where it stops is sorted.
 */
function keepTopUntil(
  scores: Float32Array,
  probs: Float64Array,
  keep: Uint8Array,
  minCount: number,
  stop: (massBefore: number) => boolean,
): void {
  const n = scores.length;
  let max = NEG_INF;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s === NEG_INF) continue;
    if (s > max) max = s;
    if (s < min) min = s;
  }
  keep.fill(0);
  if (max === NEG_INF) return;
  const B = 4096;
  const scale = B / (max - min || 1);
  const bucket = new Int32Array(n);
  const counts = new Int32Array(B + 1);
  const bucketMass = new Float64Array(B);
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s === NEG_INF) {
      bucket[i] = -1;
      continue;
    }
    const b = Math.min(B - 1, ((max - s) * scale) | 0);
    bucket[i] = b;
    counts[b + 1]++;
    bucketMass[b] += probs[i];
  }
  // Find the bucket where the walk stops, taking whole buckets before it.
  let mass = 0;
  let count = 0;
  let stopBucket = B;
  for (let b = 0; b < B; b++) {
    const c = counts[b + 1];
    if (c === 0) continue;
    // the walk may stop inside this bucket if stopping is possible before its last token
    if (count + c > minCount && stop(mass + bucketMass[b])) {
      stopBucket = b;
      break;
    }
    if (count >= minCount && stop(mass)) {
      stopBucket = b;
      break;
    }
    mass += bucketMass[b];
    count += c;
  }
  for (let i = 0; i < n; i++) if (bucket[i] >= 0 && bucket[i] < stopBucket) keep[i] = 1;
  if (stopBucket >= B) return;
  const members: number[] = [];
  for (let i = 0; i < n; i++) if (bucket[i] === stopBucket) members.push(i);
  members.sort((p, q) => scores[q] - scores[p] || p - q);
  for (const i of members) {
    if (count >= minCount && stop(mass)) return;
    keep[i] = 1;
    mass += probs[i];
    count++;
  }
}

/**
 * Nucleus sampling: keeps the smallest set of top tokens whose probability mass exceeds topP
 * (HF TopPLogitsWarper: a token is removed when the mass of the tokens ranked below it, itself
 * included, is at most 1 - topP).
 */
export class TopPWarper implements LogitsProcessor {
  readonly name = 'topP';
  private probs = new Float64Array(0);
  private keep = new Uint8Array(0);
  constructor(
    readonly topP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  }
  process(_ids: readonly number[], scores: Float32Array, ctx?: ProcessorContext): void {
    if (this.topP >= 1) return;
    if (this.probs.length !== scores.length) {
      this.probs = new Float64Array(scores.length);
      this.keep = new Uint8Array(scores.length);
    }
    const probs = softmaxRow(scores, this.probs);
    const p = this.topP;
    const m = this.minTokensToKeep;
    // mass of the tokens ranked below token i (itself included) = 1 - massBefore; keep while > 1 - p
    keepTopUntil(scores, probs, this.keep, m, (massBefore) => 1 - massBefore <= 1 - p);
    let mass = 0;
    for (let i = 0; i < scores.length; i++) {
      if (this.keep[i]) mass += probs[i];
      else scores[i] = NEG_INF;
    }
    if (ctx) ctx.kept = { probs, keep: this.keep, mass, owner: this };
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
