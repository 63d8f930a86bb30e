// T5's span corruption (noise density 0.15, mean span 3): the noise mask has T5's counts of noise
// tokens and spans, input and target interleave back into the original with descending sentinels,
// batches are seeded; and a tiny T5 trained on the embedded fables with it (train() + seq2seqLoss)
// ends with held-out loss well below the unigram baseline of the targets.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { Generator, manualSeed } from '@attnkit/tensor-core';
import { CharTokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  randomSpansNoiseMask,
  type Seq2SeqBatch,
  seq2seqLoss,
  spanCorruption,
  spanCorruptionBatches,
  T5ForConditionalGeneration,
  train,
} from '../src/index.js';

describe('span corruption', () => {
  it("has T5's numbers of noise tokens and spans, starting with kept tokens", () => {
    const g = new Generator(3);
    for (const length of [10, 50, 114, 512]) {
      for (let rep = 0; rep < 20; rep++) {
        const mask = randomSpansNoiseMask(length, 0.15, 3, g);
        expect(mask.length).toBe(length);
        const noise = Math.min(Math.max(Math.round(length * 0.15), 1), length - 1);
        expect(mask.filter(Boolean).length).toBe(noise);
        const spans = mask.filter((m, i) => m && (i === 0 || !mask[i - 1])).length;
        expect(spans).toBe(Math.max(Math.round(Math.min(noise, length - noise) / 3), 1));
        expect(mask[0]).toBe(false);
      }
    }
    expect(() => randomSpansNoiseMask(1, 0.15, 3, g)).toThrow(/length/);
    expect(() => randomSpansNoiseMask(10, 1.5, 3, g)).toThrow(/noiseDensity/);
  });

  it('input and target interleave back into the tokens, sentinels descending', () => {
    const tokens = Array.from({ length: 40 }, (_, i) => 10 + i);
    const sentinel = (i: number) => 99 - i;
    const { input, target } = spanCorruption(tokens, {
      sentinelId: sentinel,
      eosTokenId: 1,
      generator: new Generator(5),
    });
    expect(input.at(-1)).toBe(1);
    expect(target.at(-1)).toBe(1);
    // rebuild: each sentinel of the input is replaced by what follows the same sentinel in the target
    const pieces = new Map<number, number[]>();
    let cur = -1;
    for (const t of target.slice(0, -1)) {
      if (t >= 90) {
        cur = t;
        pieces.set(t, []);
      } else pieces.get(cur)?.push(t);
    }
    const rebuilt = input.slice(0, -1).flatMap((t) => (t >= 90 ? (pieces.get(t) ?? []) : [t]));
    expect(rebuilt).toEqual(tokens);
    const used = input.filter((t) => t >= 90);
    expect(used).toEqual(used.map((_, i) => sentinel(i)));
    expect(target.filter((t) => t >= 90)).toEqual(used);
  });

  it('trains a tiny T5 on the embedded fables: held-out loss well below the unigram baseline', async () => {
    const corpus = readFileSync(new URL('../assets/corpus/fables.txt', import.meta.url), 'utf8');
    const tok = CharTokenizer.fromText(corpus);
    // ids: 0 pad, 1 </s>, characters from 2, then 8 sentinels at the top of the vocabulary
    const ids = tok.encode(corpus).map((t) => t + 2);
    const vocabSize = tok.vocabSize + 2 + 8;
    const split = Math.floor(ids.length * 0.9);
    const opts = {
      windowLength: 48,
      padTokenId: 0,
      eosTokenId: 1,
      sentinelId: (i: number) => vocabSize - 1 - i,
    };
    const trainBatches = spanCorruptionBatches(ids.slice(0, split), { ...opts, batchSize: 16, seed: 1 });
    const heldOut = spanCorruptionBatches(ids.slice(split), { ...opts, batchSize: 16, seed: 2 });
    const evalBatches: Seq2SeqBatch[] = Array.from({ length: 8 }, (_, i) => heldOut(i));
    // unigram baseline of the target tokens (add-one counts over 200 training batches)
    const counts = new Float64Array(vocabSize).fill(1);
    const countFrom = spanCorruptionBatches(ids.slice(0, split), { ...opts, batchSize: 16, seed: 3 });
    for (let i = 0; i < 200; i++) {
      const b = countFrom(i);
      for (const t of b.labels.dataSync()) if (t >= 0) counts[t]++;
      for (const t of Object.values(b)) t.dispose();
    }
    const total = counts.reduce((a, b) => a + b, 0);
    let nll = 0;
    let n = 0;
    for (const b of evalBatches)
      for (const t of b.labels.dataSync())
        if (t >= 0) {
          nll -= Math.log(counts[t] / total);
          n++;
        }
    const unigram = nll / n;

    manualSeed(0);
    const model = new T5ForConditionalGeneration({
      vocabSize,
      dModel: 64,
      dKv: 16,
      dFf: 128,
      numLayers: 2,
      numHeads: 4,
      relativeAttentionNumBuckets: 16,
      relativeAttentionMaxDistance: 64,
      dropoutRate: 0,
      feedForwardProj: 'gated-gelu',
      tieWordEmbeddings: false,
      decoderStartTokenId: 0,
    });
    const before = await evaluate(model.eval(), evalBatches, seq2seqLoss as never);
    model.train();
    await train(model, {
      batches: trainBatches,
      loss: seq2seqLoss as never,
      maxSteps: 300,
      lr: 3e-3,
      warmupSteps: 20,
    });
    const after = await evaluate(model.eval(), evalBatches, seq2seqLoss as never);
    console.log(
      `span corruption: unigram ${unigram.toFixed(3)}, before ${before.toFixed(3)}, after ${after.toFixed(3)} nats/token`,
    );
    expect(before).toBeGreaterThan(unigram);
    expect(after).toBeLessThan(0.75 * unigram);
    for (const b of evalBatches) for (const t of Object.values(b)) t.dispose();
    model.dispose();
  }, 600_000);
});
