// T5's relative position bias against transformers 5.18 (scripts/relative_position_refs.py): the
// bucket of every relative position in -300..300 for several bucket counts and distances, both
// bidirectional and causal, and compute_bias() of a seeded table (with a cache offset).
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { RelativePositionBias, relativePositionBucket, relativePositionBuckets } from '../src/index.js';

interface Ref {
  relative_positions: [number, number];
  buckets: { num_buckets: number; max_distance: number; bidirectional: boolean; buckets: number[] }[];
  biases: {
    bidirectional: boolean;
    num_buckets: number;
    max_distance: number;
    lq: number;
    lk: number;
    past: number;
    weight: number[];
    shape: number[];
    bias: number[];
  }[];
}

const ref = JSON.parse(
  readFileSync(new URL('./fixtures/relative-position.json', import.meta.url), 'utf8'),
) as Ref;

describe("relativePositionBucket equals transformers' T5 bucketing", () => {
  for (const c of ref.buckets) {
    it(`${c.num_buckets} buckets, max distance ${c.max_distance}, ${c.bidirectional ? 'bidirectional' : 'causal'}`, () => {
      const [lo] = ref.relative_positions;
      const got = c.buckets.map((_, i) =>
        relativePositionBucket(lo + i, {
          bidirectional: c.bidirectional,
          numBuckets: c.num_buckets,
          maxDistance: c.max_distance,
        }),
      );
      expect(got).toEqual(c.buckets);
    });
  }

  it('refuses bad arguments by name', () => {
    expect(() => relativePositionBucket(1.5)).toThrow(/relativePosition/);
    expect(() => relativePositionBucket(1, { numBuckets: 0 })).toThrow(/numBuckets/);
    expect(() => relativePositionBuckets(2, 2, { pastLength: -1 })).toThrow(/pastLength/);
    expect(() => new RelativePositionBias({ numHeads: 0 })).toThrow(/numHeads/);
  });
});

describe("RelativePositionBias equals transformers' compute_bias", () => {
  for (const b of ref.biases) {
    it(`${b.bidirectional ? 'encoder' : 'decoder'}: ${b.lq} queries over ${b.lk} keys, ${b.past} cached`, () => {
      const rpb = new RelativePositionBias({
        numHeads: b.shape[1],
        numBuckets: b.num_buckets,
        maxDistance: b.max_distance,
        bidirectional: b.bidirectional,
      });
      rpb.loadStateDict({ weight: tensor(Float32Array.from(b.weight), [b.num_buckets, b.shape[1]]) });
      const out = rpb.forward(b.lq, b.lk, { pastLength: b.past });
      expect(out.shape).toEqual(b.shape);
      const got = Array.from(out.dataSync());
      got.forEach((v, i) => {
        expect(Math.abs(v - b.bias[i])).toBeLessThanOrEqual(1e-6);
      });
    });
  }
});
