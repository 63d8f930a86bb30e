// Relative position bias (Shaw et al. 2018; T5, Raffel et al. 2020): no position embeddings; each
// head adds a learned scalar to the score of query i and key j, looked up by a bucket of the
// distance j − i. Near distances get a bucket each, far ones share logarithmically wider buckets up
// to max_distance; bidirectional attention (T5's encoder) splits the buckets between keys before
// and after the query, causal attention (T5's decoder) uses them all for keys before it.
//
//   j − i ─ relativePositionBucket ─▶ bucket [Lq, Lk] ─ weight [buckets, H] ─▶ bias [1, H, Lq, Lk]
import {
  arange,
  clamp,
  embedding,
  type Generator,
  indexSelect,
  sub,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@attnkit/tensor-core';
import { init, Module, Parameter } from '@attnkit/tensor-core/nn';
import { assertPositiveInt } from './internal.js';

/** Options of {@link relativePositionBucket}. */
export interface RelativePositionBucketOptions {
  /** Keys after the query get their own half of the buckets (an encoder); default true. */
  bidirectional?: boolean;
  /** Number of buckets (T5: 32). */
  numBuckets?: number;
  /** Distances at or beyond this share the last bucket (T5: 128). */
  maxDistance?: number;
}

const f32 = Math.fround;

/**
 * The bucket of a relative position `memory − query` (key position minus query position), as
 * transformers' `T5Attention._relative_position_bucket` computes it (in float32, truncating):
 * for a bidirectional bucketing half of the buckets are for keys after the query; of each half,
 * the first half are exact distances and the rest logarithmic bins up to `maxDistance`. For a
 * causal bucketing keys after the query fall into bucket 0 (they are masked anyway).
 *
 * @example
 * ```ts
 * relativePositionBucket(-3, { bidirectional: false, numBuckets: 32, maxDistance: 128 }); // => 3
 * relativePositionBucket(200, { numBuckets: 32, maxDistance: 128 }); // => 31
 * ```
 */
export function relativePositionBucket(
  relativePosition: number,
  options: RelativePositionBucketOptions = {},
): number {
  const who = 'relativePositionBucket';
  if (!Number.isInteger(relativePosition)) {
    throw new TypeError(`${who}: relativePosition must be an integer, got ${String(relativePosition)}`);
  }
  const bidirectional = options.bidirectional ?? true;
  let numBuckets = options.numBuckets ?? 32;
  const maxDistance = options.maxDistance ?? 128;
  assertPositiveInt(numBuckets, 'numBuckets', who);
  assertPositiveInt(maxDistance, 'maxDistance', who);
  let bucket = 0;
  let n = relativePosition;
  if (bidirectional) {
    numBuckets = Math.floor(numBuckets / 2);
    if (n > 0) bucket += numBuckets;
    n = Math.abs(n);
  } else {
    n = -Math.min(n, 0);
  }
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return bucket + n;
  // float32 throughout, as torch computes it: log(n / maxExact) / log(maxDistance / maxExact) · (buckets − maxExact)
  const ratio = f32(Math.log(f32(f32(n) / maxExact)));
  const scaled = f32(f32(ratio / f32(Math.log(maxDistance / maxExact))) * (numBuckets - maxExact));
  const large = Math.min(maxExact + Math.trunc(scaled), numBuckets - 1);
  return bucket + large;
}

/**
 * The bucket of every (query, key) pair: int32 [Lq, Lk], the queries being positions
 * `pastLength .. pastLength + Lq − 1` and the keys `0 .. Lk − 1` (a KV cache holds the first ones).
 */
export function relativePositionBuckets(
  lq: number,
  lk: number,
  options: RelativePositionBucketOptions & { pastLength?: number } = {},
): Tensor {
  const who = 'relativePositionBuckets';
  assertPositiveInt(lq, 'lq', who);
  assertPositiveInt(lk, 'lk', who);
  const past = options.pastLength ?? 0;
  if (!Number.isInteger(past) || past < 0) {
    throw new RangeError(`${who}: 'pastLength' must be a non-negative integer, got ${String(past)}`);
  }
  // Distances of maxDistance or more share their half's last bucket, so a table over
  // −maxDistance .. maxDistance covers every pair, whatever the lengths; each pair reads it at its
  // clamped relative position (key − query), computed with tensor ops.
  const m = options.maxDistance ?? 128;
  const table = new Int32Array(2 * m + 1);
  for (let r = -m; r <= m; r++) table[r + m] = relativePositionBucket(r, options);
  return tidy(() => {
    const queries = arange(past, past + lq, 1, 'int32').unsqueeze(1); // [Lq, 1]
    const keys = arange(0, lk, 1, 'int32').unsqueeze(0); // [1, Lk]
    const index = clamp(sub(keys, queries), -m, m).add(m); // [Lq, Lk]
    return indexSelect(tensor(table, [2 * m + 1], 'int32'), 0, index.reshape([lq * lk])).reshape([lq, lk]);
  });
}

/** Options of {@link RelativePositionBias}. */
export interface RelativePositionBiasOptions {
  numHeads: number;
  /** Number of buckets (default 32, as T5). */
  numBuckets?: number;
  /** Distances at or beyond this share a bucket (default 128, as T5). */
  maxDistance?: number;
  /** An encoder's bucketing (keys after the query have their own buckets); default true. */
  bidirectional?: boolean;
  /** Initial weights from N(0, initStd²) (default 0.02). */
  initStd?: number;
  generator?: Generator;
}

/**
 * T5's learned relative position bias: a table `weight` [numBuckets, numHeads] (transformers'
 * `relative_attention_bias.weight`) read at each pair's bucket, giving the float bias
 * [1, H, Lq, Lk] to add to the attention scores (pass it as `mask` to
 * {@link scaledDotProductAttention}; T5 attends with `scale: 1`).
 *
 * @example
 * ```ts
 * const rpb = new RelativePositionBias({ numHeads: 8, numBuckets: 32, maxDistance: 128, bidirectional: true });
 * const [lq, lk] = [5, 7];
 * const q = randn([1, 8, lq, 16]), k = randn([1, 8, lk, 16]), v = randn([1, 8, lk, 16]);
 * const bias = rpb.forward(lq, lk);
 * bias.shape; // => [1, 8, 5, 7]
 * const y = scaledDotProductAttention(q, k, v, { mask: bias, scale: 1 });
 * ```
 */
export class RelativePositionBias extends Module {
  /** [numBuckets, numHeads] */
  weight: Parameter;
  readonly numHeads: number;
  readonly numBuckets: number;
  readonly maxDistance: number;
  readonly bidirectional: boolean;

  constructor(options: RelativePositionBiasOptions) {
    super();
    const who = 'RelativePositionBias';
    if (!options || typeof options !== 'object')
      throw new TypeError(`${who}: expected options { numHeads, ... }`);
    assertPositiveInt(options.numHeads, 'numHeads', who);
    this.numHeads = options.numHeads;
    this.numBuckets = options.numBuckets ?? 32;
    this.maxDistance = options.maxDistance ?? 128;
    assertPositiveInt(this.numBuckets, 'numBuckets', who);
    assertPositiveInt(this.maxDistance, 'maxDistance', who);
    this.bidirectional = options.bidirectional ?? true;
    this.weight = new Parameter(zeros([this.numBuckets, this.numHeads]));
    init.normal_(this.weight, 0, options.initStd ?? 0.02, { generator: options.generator });
  }

  /**
   * The bias [1, H, Lq, Lk] for queries at positions `pastLength .. pastLength + Lq − 1` over keys
   * `0 .. Lk − 1` (with a KV cache, `pastLength` is the number of cached positions).
   */
  override forward(lq: number, lk: number, options: { pastLength?: number } = {}): Tensor {
    const buckets = relativePositionBuckets(lq, lk, {
      pastLength: options.pastLength ?? 0,
      bidirectional: this.bidirectional,
      numBuckets: this.numBuckets,
      maxDistance: this.maxDistance,
    });
    const values = embedding(buckets, this.weight); // [Lq, Lk, H]
    buckets.dispose();
    return values.permute([2, 0, 1]).unsqueeze(0); // [1, H, Lq, Lk]
  }
}
