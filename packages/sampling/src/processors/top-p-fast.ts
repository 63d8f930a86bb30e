// The fast path of top-p (nucleus) sampling for long rows: a histogram of the scores instead of a
// sort of the vocabulary, in WebAssembly SIMD where available (kernels.wat). top-p.ts holds the
// version a learner reads and selects this one behind it.
import { HISTOGRAM_BUCKETS, histogram, type LoadedRow, loadRow } from './kernels.js';
import {
  EXP_STEPS,
  EXP_TABLE,
  expNonPositive,
  type LogitsProcessor,
  type ProcessorContext,
} from './processor.js';

/** Buckets of width 1/STEPS in score units: 64 below the max (kernels.wat has the same numbers). */
const BUCKETS = HISTOGRAM_BUCKETS;
const STEPS = EXP_STEPS;

const NEG_INF = Number.NEGATIVE_INFINITY;

/**
 * Top-p without sorting the vocabulary: the same kept set as {@link TopPWarper}'s sort and
 * cumulative sum (tested equal), in one histogram pass over the row. TopPWarper hands long rows
 * to it.
 *
 * How: a histogram of t = 64·(max - score) in buckets of width 1;
 * bucket k holds the mass of its tokens,
 * exp(-t/64) = exp(-k/64) · exp((k - t)/64), summing only a polynomial of the small second factor
 * and multiplying by the table value once per bucket. The buckets are walked from the top to find
 * the one where the kept mass crosses topP; tokens above it are kept, those below masked, and only
 * the crossing bucket is sorted and walked token by token, so the kept set is exactly HF's. Tokens
 * more than 64 below the max (each under e^-64 of it) carry no mass. The histogram pass also
 * collects the tokens near the top (down to 1 below where the previous row stopped): when the kept
 * set lies among them, only those are classified and the row is masked with one fill. Long rows
 * run the temperature division and the histogram in WebAssembly SIMD (kernels.wat), with the same
 * bits as the JavaScript loops.
 */
export class TopPHistogram {
  /** Per bucket: sums of exp(score - bucket top), in two halves (even and odd positions). */
  private sumsA = new Float64Array(BUCKETS);
  private sumsB = new Float64Array(BUCKETS);
  /** Per bucket token counts, only needed when minTokensToKeep > 1. */
  private counts = new Int32Array(BUCKETS);
  private keptIds = new Int32Array(0);
  private keptProbs = new Float64Array(0);
  private keptScores = new Float32Array(0);
  private cands = new Int32Array(0);
  /** Tokens scoring above this are collected as candidates (from the previous row). */
  private candidateFloor = Number.NEGATIVE_INFINITY;
  constructor(
    readonly topP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
    if (!Number.isInteger(minTokensToKeep) || minTokensToKeep < 1)
      throw new RangeError(`minTokensToKeep must be a positive integer, got ${minTokensToKeep}`);
  }

  /** Masks the tokens outside the nucleus to -inf and hands the kept set to the sampler (ctx.kept). */
  process(scores: Float32Array, ctx: ProcessorContext | undefined, owner: LogitsProcessor): void {
    if (this.topP >= 1) return;
    this.fromMax(scores, rowMax(scores), ctx, loadRow(scores), owner);
  }

  private candidates(n: number): Int32Array {
    if (this.cands.length < n) {
      this.cands = new Int32Array(n);
      this.keptIds = new Int32Array(n);
      this.keptProbs = new Float64Array(n);
      this.keptScores = new Float32Array(n);
    }
    return this.cands;
  }

  /**
   * The histogram pass below the row's true max `m` (in WebAssembly when the row is loaded there,
   * the same sums bit for bit), then {@link finish}.
   */
  private fromMax(
    scores: Float32Array,
    m: number,
    ctx: ProcessorContext | undefined,
    row: LoadedRow | null,
    owner: LogitsProcessor,
  ): void {
    if (m === NEG_INF) return;
    this.candidates(scores.length);
    const cut = (m - this.candidateFloor) * STEPS;
    let nc: number;
    let sums: [Float64Array, Float64Array];
    let cands: Int32Array;
    if (row) {
      nc = row.histogram(m, cut);
      sums = [row.sumsA, row.sumsB];
      cands = row.cands;
    } else {
      nc = histogram(scores, m, this.sumsA, this.sumsB, cut, this.cands);
      sums = [this.sumsA, this.sumsB];
      cands = this.cands;
    }
    if (this.minTokensToKeep > 1) countBuckets(scores, m, this.counts);
    this.finish(scores, m, nc, ctx, sums, cands, owner);
  }

  /**
   * From the histogram below the max `m` and the `nc` candidates: finds the crossing
   * bucket, keeps and masks, and hands the kept set to the sampler through `ctx.kept`.
   */
  private finish(
    scores: Float32Array,
    m: number,
    nc: number,
    ctx: ProcessorContext | undefined,
    [sumsA, sumsB]: [Float64Array, Float64Array],
    cands: Int32Array,
    owner: LogitsProcessor,
  ): void {
    const { counts } = this;
    const minCount = this.minTokensToKeep;
    const n = scores.length;
    let z = 0;
    for (let b = 0; b < LAST; b++) {
      const mass = EXP_TABLE[b] * (sumsA[b] + sumsB[b]);
      sumsA[b] = mass;
      z += mass;
    }
    sumsA[LAST] = 0;
    // stop before a token once the mass above it reaches topP (HF: remove when the mass ranked at
    // or below it is <= 1 - topP), keeping at least minTokensToKeep; with minTokensToKeep = 1 the
    // token walk below keeps the top token whatever bucket the walk stops in
    const limit = this.topP * z;
    let mass = 0;
    let count = 0;
    let stop = BUCKETS; // BUCKETS: the walk never stopped, every finite token is kept
    for (let b = 0; b < BUCKETS; b++) {
      const bucketMass = sumsA[b];
      const c = minCount > 1 ? counts[b] : bucketMass > 0 ? 1 : 0;
      if (minCount > 1 && c === 0) continue;
      if (count + c >= minCount && z - (mass + bucketMass) <= z - limit) {
        stop = b;
        break;
      }
      mass += bucketMass;
      count += c;
    }
    const kept = this.keptIds;
    let nk = 0;
    if (stop === BUCKETS) {
      for (let i = 0; i < n; i++) if (scores[i] > NEG_INF) kept[nk++] = i;
    } else {
      const members: number[] = [];
      const fromCandidates = stop < LAST && stop + 1 <= (m - this.candidateFloor) * STEPS;
      if (fromCandidates) {
        // every kept token and the crossing bucket are among the candidates: classify those only,
        // then mask the whole row at once and put the kept scores back
        for (let j = 0; j < nc; j++) {
          const i = cands[j];
          const t = (m - scores[i]) * STEPS;
          if (t < stop) kept[nk++] = i;
          else if (t < stop + 1) members.push(i);
        }
      } else {
        const hi = stop === LAST ? Number.POSITIVE_INFINITY : stop + 1;
        nk = split(scores, m, stop, hi, kept, members);
      }
      const above = nk;
      members.sort((p, q) => scores[q] - scores[p] || p - q);
      let r = 0;
      for (; r < members.length; r++) {
        const i = members[r];
        if (nk >= minCount && z - mass <= z - limit) break;
        if (!(scores[i] > NEG_INF)) break;
        kept[nk++] = i;
        mass += expNonPositive(scores[i] - m);
      }
      if (fromCandidates) {
        const saved = this.keptScores;
        for (let j = 0; j < nk; j++) saved[j] = scores[kept[j]];
        scores.fill(NEG_INF);
        for (let j = 0; j < nk; j++) scores[kept[j]] = saved[j];
      } else {
        for (; r < members.length; r++) scores[members[r]] = NEG_INF;
      }
      if (nk > above) mergeSorted(kept, above, nk);
    }
    // the next row: candidates down to 1 below where this row stopped; its max guessed from this one
    this.candidateFloor = stop >= LAST ? NEG_INF : m - (stop + STEPS) / STEPS;
    if (!ctx) return;
    const probs = this.keptProbs;
    let total = 0;
    for (let j = 0; j < nk; j++) {
      const e = expNonPositive(scores[kept[j]] - m);
      probs[j] = e;
      total += e;
    }
    ctx.kept = { ids: kept.subarray(0, nk), probs: probs.subarray(0, nk), mass: total, owner };
  }
}

const LAST = BUCKETS - 1;

/** The largest value of a row (-inf when every value is -inf or the row is empty); 4 lanes. */
function rowMax(x: Float32Array): number {
  let a = NEG_INF;
  let b = NEG_INF;
  let c = NEG_INF;
  let d = NEG_INF;
  const n = x.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = x[i];
    const x1 = x[i + 1];
    const x2 = x[i + 2];
    const x3 = x[i + 3];
    if (x0 > a) a = x0;
    if (x1 > b) b = x1;
    if (x2 > c) c = x2;
    if (x3 > d) d = x3;
  }
  for (; i < n; i++) if (x[i] > a) a = x[i];
  if (b > a) a = b;
  if (d > c) c = d;
  return Math.max(a, c);
}

/** Sorts ids[from, to) and merges them into the ascending ids[0, from), in place. */
function mergeSorted(ids: Int32Array, from: number, to: number): void {
  const tail = ids.slice(from, to).sort();
  let i = from - 1;
  let j = tail.length - 1;
  for (let w = to - 1; j >= 0; w--) {
    if (i >= 0 && ids[i] > tail[j]) ids[w] = ids[i--];
    else ids[w] = tail[j--];
  }
}

/** Token counts per bucket (the far tail, -inf and NaN in the last one). */
function countBuckets(x: Float32Array, m: number, counts: Int32Array): void {
  counts.fill(0);
  for (let i = 0; i < x.length; i++) {
    const t = (m - x[i]) * STEPS;
    counts[t < LAST ? t | 0 : LAST]++;
  }
}

/**
 * Classifies tokens by t = 64·(ref - score) as computed in histogram(): t < lo kept (ids written to
 * `kept` in index order, their count returned), lo <= t < hi are the crossing bucket's `members`,
 * the rest masked to -inf.
 */
function split(
  x: Float32Array,
  ref: number,
  lo: number,
  hi: number,
  kept: Int32Array,
  members: number[],
): number {
  let nk = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const t = (ref - x[i]) * STEPS;
    if (t < lo) kept[nk++] = i;
    else if (t < hi) members.push(i);
    else x[i] = NEG_INF;
  }
  return nk;
}
