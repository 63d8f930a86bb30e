// BART's text infilling (30% of tokens in Poisson(3) spans, each span one mask token): masked
// fraction and span lengths as specified, inputs keep the unmasked tokens in order with one mask
// per span, batches are seeded; a tiny BART trained on the embedded fables with it rebuilds held-out
// text with a loss well below the unigram baseline.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { Generator, manualSeed } from '@attnkit/tensor-core';
import { CharTokenizer } from '@attnkit/tokenizer';
import { describe, expect, it } from 'vitest';
import {
  BartForConditionalGeneration,
  evaluate,
  type Seq2SeqBatch,
  seq2seqLoss,
  textInfilling,
  textInfillingBatches,
  train,
} from '../src/index.js';

describe('text infilling', () => {
  it('masks about 30% of the tokens in Poisson spans, one mask token per span', () => {
    const g = new Generator(7);
    const tokens = Array.from({ length: 200 }, (_, i) => 10 + (i % 50));
    let maskedTotal = 0;
    const runs: number[] = [];
    for (let rep = 0; rep < 200; rep++) {
      const { input, masked } = textInfilling(tokens, { maskTokenId: 3, generator: g });
      const m = masked.filter(Boolean).length;
      maskedTotal += m;
      expect(m).toBeLessThanOrEqual(Math.ceil(0.3 * 200) + 30);
      // one mask token per masked run; the unmasked tokens in order
      let run = 0;
      const starts = masked.filter((x, i) => x && (i === 0 || !masked[i - 1])).length;
      expect(input.filter((t) => t === 3).length).toBe(starts);
      expect(input.filter((t) => t !== 3)).toEqual(tokens.filter((_, i) => !masked[i]));
      masked.forEach((x, i) => {
        if (x) run++;
        if (run > 0 && (!x || i === masked.length - 1)) {
          runs.push(run);
          run = 0;
        }
      });
    }
    const fraction = maskedTotal / (200 * 200);
    expect(fraction).toBeGreaterThan(0.24);
    expect(fraction).toBeLessThan(0.31);
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
    expect(mean).toBeGreaterThan(3); // Poisson(3) without zeros has mean 3.16; touching spans merge
    expect(mean).toBeLessThan(4.5);
    expect(() => textInfilling(tokens, { maskTokenId: 3, generator: g, maskRatio: 0 })).toThrow(/maskRatio/);
  });

  it('trains a tiny BART on the embedded fables: held-out loss well below the unigram baseline', async () => {
    const corpus = readFileSync(new URL('../assets/corpus/fables.txt', import.meta.url), 'utf8');
    const tok = CharTokenizer.fromText(corpus);
    // ids: 0 <s>, 1 pad, 2 </s>, 3 <mask>, characters from 4
    const ids = tok.encode(corpus).map((t) => t + 4);
    const vocabSize = tok.vocabSize + 4;
    const split = Math.floor(ids.length * 0.9);
    const opts = {
      windowLength: 40,
      padTokenId: 1,
      bosTokenId: 0,
      eosTokenId: 2,
      decoderStartTokenId: 2,
      maskTokenId: 3,
    };
    const heldOut = textInfillingBatches(ids.slice(split), { ...opts, batchSize: 16, seed: 2 });
    const evalBatches: Seq2SeqBatch[] = Array.from({ length: 6 }, (_, i) => heldOut(i));
    // unigram baseline of the targets: character counts of the training text (add-one), plus <s> and </s>
    const counts = new Float64Array(vocabSize).fill(1);
    for (const t of ids.slice(0, split)) counts[t]++;
    counts[0] += split / opts.windowLength;
    counts[2] += split / opts.windowLength;
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
    const model = new BartForConditionalGeneration({
      vocabSize,
      dModel: 64,
      encoderLayers: 2,
      decoderLayers: 2,
      encoderAttentionHeads: 4,
      decoderAttentionHeads: 4,
      encoderFfnDim: 128,
      decoderFfnDim: 128,
      maxPositionEmbeddings: 64,
      dropout: 0,
      padTokenId: 1,
    });
    const batches = textInfillingBatches(ids.slice(0, split), { ...opts, batchSize: 16, seed: 1 });
    await train(model, { batches, loss: seq2seqLoss as never, maxSteps: 250, lr: 3e-3, warmupSteps: 20 });
    const after = await evaluate(model.eval(), evalBatches, seq2seqLoss as never);
    console.log(`text infilling: unigram ${unigram.toFixed(3)}, after ${after.toFixed(3)} nats/token`);
    expect(after).toBeLessThan(0.75 * unigram);
    for (const b of evalBatches) for (const t of Object.values(b)) t.dispose();
    model.dispose();
  }, 600_000);
});
