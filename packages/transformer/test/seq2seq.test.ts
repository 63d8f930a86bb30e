// The 2017 encoder-decoder learns to reverse digit strings with train(): exact match on held-out
// strings ≥ 99%. Also: greedy decoding with the decoder's KV cache equals decoding without it,
// generate() of @attnkit/sampling drives it (greedy and beam search), and the model saves and loads
// through loadPretrained.
import '@attnkit/backend-cpu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@attnkit/sampling';
import { argmax, Generator, manualSeed, memory, noGrad, tensor, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  EncoderDecoderModel,
  exampleBatches,
  loadPretrained,
  type Seq2SeqBatch,
  saveModel,
  seq2seqLoss,
  train,
} from '../src/index.js';

// vocabulary: 0 pad, 1 bos, 2 eos, 3..12 digits 0..9
const PAD = 0;
const BOS = 1;
const EOS = 2;

function makeData(n: number, seed: number, exclude = new Set<string>()): number[][] {
  const g = new Generator(seed);
  const out: number[][] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const len = g.randint(3, 7); // 3 to 6 digits
    const s = Array.from({ length: len }, () => g.randint(0, 10));
    const key = s.join('');
    if (exclude.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

function collate(rows: number[][]): Seq2SeqBatch {
  const b = rows.length;
  const ls = Math.max(...rows.map((r) => r.length));
  const lt = ls + 1;
  const src = new Int32Array(b * ls).fill(PAD);
  const srcMask = new Int32Array(b * ls);
  const dec = new Int32Array(b * lt).fill(PAD);
  const decMask = new Int32Array(b * lt);
  const labels = new Int32Array(b * lt).fill(-100);
  rows.forEach((r, i) => {
    const rev = [...r].reverse().map((d) => d + 3);
    r.forEach((d, j) => {
      src[i * ls + j] = d + 3;
      srcMask[i * ls + j] = 1;
    });
    const inp = [BOS, ...rev];
    const lab = [...rev, EOS];
    for (let j = 0; j < inp.length; j++) {
      dec[i * lt + j] = inp[j];
      decMask[i * lt + j] = 1;
      labels[i * lt + j] = lab[j];
    }
  });
  return {
    inputIds: tensor(src, [b, ls], 'int32'),
    attentionMask: tensor(srcMask, [b, ls], 'int32'),
    decoderInputIds: tensor(dec, [b, lt], 'int32'),
    decoderAttentionMask: tensor(decMask, [b, lt], 'int32'),
    labels: tensor(labels, [b, lt], 'int32'),
  };
}

describe('EncoderDecoderModel on digit reversal', () => {
  it('reaches ≥ 99% exact match on held-out strings, with flat memory', async () => {
    manualSeed(0);
    const trainSet = makeData(2000, 1);
    const heldOut = makeData(300, 2, new Set(trainSet.map((s) => s.join(''))));
    const model = new EncoderDecoderModel({
      vocabSize: 13,
      dModel: 32,
      nhead: 4,
      numEncoderLayers: 2,
      numDecoderLayers: 2,
      dimFeedforward: 64,
      dropout: 0,
      maxPositionEmbeddings: 16,
    });
    const counts: number[] = [];
    const result = await train(model, {
      batches: exampleBatches(trainSet, 32, collate, { seed: 3 }),
      loss: seq2seqLoss as never,
      maxSteps: 300,
      lr: 5e-3,
      warmupSteps: 30,
      weightDecay: 0,
      onProgress: (p) => {
        if (p.step > 1) counts.push(memory().cpu.numTensors);
      },
    });
    expect(result.losses[0]).toBeGreaterThan(2);
    expect(result.losses.at(-1)).toBeLessThan(0.1);
    expect(new Set(counts).size).toBe(1); // no tensor leaks step to step
    // held-out exact match, in batches of padded sources
    let exact = 0;
    for (let i = 0; i < heldOut.length; i += 50) {
      const rows = heldOut.slice(i, i + 50);
      const batch = collate(rows);
      const out = model.greedyGenerate(batch.inputIds, {
        attentionMask: batch.attentionMask,
        maxNewTokens: 12,
      });
      out.forEach((ids, r) => {
        const want = [...rows[r]].reverse().map((d) => d + 3);
        if (ids.join(',') === want.join(',')) exact++;
      });
      for (const t of Object.values(batch)) t.dispose();
    }
    const accuracy = exact / heldOut.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.99);

    // greedy decoding with the cache equals argmax of full teacher-forced recomputation
    const probe = collate(heldOut.slice(0, 4));
    const cached = model.greedyGenerate(probe.inputIds, {
      attentionMask: probe.attentionMask,
      maxNewTokens: 9,
    });
    const uncached = noGrad(() => {
      const seqs = [[BOS], [BOS], [BOS], [BOS]];
      for (let step = 0; step < 9; step++) {
        const next = tidy(() => {
          const dec = tensor(Int32Array.from(seqs.flat()), [4, seqs[0].length], 'int32');
          const { logits } = model.forward({
            inputIds: probe.inputIds,
            attentionMask: probe.attentionMask,
            decoderInputIds: dec,
            useCache: false,
          });
          return Array.from(argmax(logits.sliceDim(1, -1).squeeze(1), -1).dataSync());
        });
        next.forEach((t, i) => {
          seqs[i].push(t);
        });
      }
      return seqs.map((s) => {
        const body = s.slice(1);
        const e = body.indexOf(EOS);
        return e >= 0 ? body.slice(0, e) : body;
      });
    });
    expect(cached).toEqual(uncached);

    // @attnkit/sampling's generate() drives it as an encoder-decoder: greedy equals greedyGenerate,
    // and beam search (4 beams) decodes the held-out strings as well
    const strip = (seqs: number[][]) =>
      seqs.map((s) => {
        expect(s[0]).toBe(BOS); // sequences begin with the decoder start token
        const body = s.slice(1);
        const e = body.indexOf(EOS);
        return e >= 0 ? body.slice(0, e) : body;
      });
    const opts = { maxNewTokens: 9, eosTokenId: EOS, padTokenId: PAD };
    const viaGenerate = await generate(model, probe.inputIds, opts, probe.attentionMask);
    expect(strip(viaGenerate.sequences)).toEqual(cached);
    const beams = await generate(model, probe.inputIds, { ...opts, numBeams: 4 }, probe.attentionMask);
    expect(strip(beams.sequences)).toEqual(
      heldOut.slice(0, 4).map((r) => [...r].reverse().map((d) => d + 3)),
    );

    // save / load through the Hugging Face layout
    const dir = mkdtempSync(join(tmpdir(), 'attnkit-seq2seq-'));
    try {
      await saveModel(model, dir);
      const again = (await loadPretrained(dir)) as EncoderDecoderModel;
      expect(again).toBeInstanceOf(EncoderDecoderModel);
      expect(
        again.greedyGenerate(probe.inputIds, { attentionMask: probe.attentionMask, maxNewTokens: 9 }),
      ).toEqual(cached);
      again.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const t of Object.values(probe)) t.dispose();
    model.dispose();
  }, 120_000);
});
