import { expNonPositive, type LogitsProcessor, type ProcessorContext, softmaxRow } from './processor.js';

const BUCKETS = 4096;
const BUCKET_RANGE = 64;

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
/**
 * Nucleus sampling: keeps the smallest set of top tokens whose probability mass exceeds topP
 * (HF TopPLogitsWarper: a token is removed when the mass of the tokens ranked below it, itself
 * included, is at most 1 - topP).
 */
export class TopPWarper implements LogitsProcessor {
  readonly name = 'topP';
  private probs = new Float32Array(0);
  private keep = new Uint8Array(0);
  private bucket = new Uint16Array(0);
  private counts = new Int32Array(BUCKETS + 1);
  private bucketMass = new Float64Array(BUCKETS);
  constructor(
    readonly topP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  }

  /**
   * Four passes over the vocabulary and no full sort: (1) the max; (2) exp, the total and a
   * histogram of scores in 4096 buckets below the max, with each bucket's mass; then the buckets
   * are walked from the top to find the one where the kept mass crosses topP; (3) tokens above that
   * bucket are kept, those below masked, and only the crossing bucket is sorted and walked token by
   * token, so the kept set is exactly HF's.
   */
  process(_ids: readonly number[], scores: Float32Array, ctx?: ProcessorContext): void {
    if (this.topP >= 1) return;
    const n = scores.length;
    if (this.probs.length !== n) {
      this.probs = new Float32Array(n);
      this.keep = new Uint8Array(n);
      this.bucket = new Uint16Array(n);
    }
    const { probs, keep, bucket, counts, bucketMass } = this;
    let m = NEG_INF;
    for (let i = 0; i < n; i++) if (scores[i] > m) m = scores[i];
    if (m === NEG_INF) return;
    counts.fill(0);
    bucketMass.fill(0);
    const scale = BUCKETS / BUCKET_RANGE;
    let z = 0;
    for (let i = 0; i < n; i++) {
      const d = m - scores[i];
      const e = expNonPositive(-d);
      probs[i] = e;
      z += e;
      let b = (d * scale) | 0;
      if (!(b < BUCKETS)) b = BUCKETS - 1; // far tail (and -inf) share the last bucket
      bucket[i] = b;
      counts[b + 1]++;
      bucketMass[b] += e;
    }
    // stop before a token once the mass above it reaches topP (HF: remove when the mass ranked at
    // or below it is <= 1 - topP), keeping at least minTokensToKeep
    const limit = this.topP * z;
    const minCount = this.minTokensToKeep;
    let mass = 0;
    let count = 0;
    let stopBucket = BUCKETS;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[b + 1];
      if (c === 0) continue;
      if (count + c > minCount && z - (mass + bucketMass[b]) <= z - limit) {
        stopBucket = b;
        break;
      }
      mass += bucketMass[b];
      count += c;
    }
    const members: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = bucket[i];
      if (b < stopBucket) keep[i] = 1;
      else {
        keep[i] = 0;
        if (b === stopBucket) members.push(i);
        else scores[i] = NEG_INF;
      }
    }
    members.sort((p, q) => scores[q] - scores[p] || p - q);
    let r = 0;
    for (; r < members.length; r++) {
      const i = members[r];
      if (count >= minCount && z - mass <= z - limit) break;
      if (scores[i] === NEG_INF) break;
      keep[i] = 1;
      mass += probs[i];
      count++;
    }
    for (; r < members.length; r++) scores[members[r]] = NEG_INF;
    if (ctx) ctx.kept = { probs, keep, mass, owner: this };
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
