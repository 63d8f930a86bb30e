// Masked-language pretraining end to end, reduced from scripts/pretrain-tiny-bert.mjs: a byte-level
// BPE learnt on the fables corpus (the last tenth of the paragraphs held out), a tiny
// BertForMaskedLM pre-trained with mlmCollator (80/10/10 token masking, every fourth batch whole-word
// masking) and maskedLMLoss, and its masked-token accuracy on the held-out paragraphs against the
// unigram baseline (always the most frequent training token), on the same masking draws.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { manualSeed, noGrad, tensor, tidy } from '@attnkit/tensor-core';
import { trainBPE } from '@attnkit/tokenizer';
import { describe, expect, it, vi } from 'vitest';
import {
  BertForMaskedLM,
  exampleBatches,
  type MLMExample,
  maskedLMLoss,
  mlmCollator,
  train,
} from '../src/index.js';

const corpus = readFileSync(new URL('../assets/corpus/fables.txt', import.meta.url), 'utf8');
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
// training takes about a minute of one core: past vitest's 5 s default (as the WebGPU suites)
vi.setConfig({ testTimeout: 600_000 });

describe('masked-LM pretraining on the fables corpus', () => {
  it('learns to fill masked tokens of held-out text far better than the most frequent token', async () => {
    const paragraphs = corpus
      .split(/\n\s*\n/)
      .map((p) => p.replace(/\s+/g, ' ').trim())
      .filter((p) => p.length > 0);
    const split = Math.floor(paragraphs.length * 0.9);
    const { tokenizer } = trainBPE(paragraphs.slice(0, split), { vocabSize: 280, specialTokens: SPECIALS });
    const [PAD, , CLS, SEP, MASK] = SPECIALS.map((t) => tokenizer.tokenToId(t) as number);
    const V = tokenizer.getVocabSize();
    const seqLen = 32;
    const windows = (paras: string[]) =>
      paras.flatMap((p) => {
        const enc = tokenizer.encode(p);
        const rows: MLMExample[] = [];
        for (let s = 0; s < enc.ids.length; s += seqLen - 2) {
          const ids = enc.ids.slice(s, s + seqLen - 2);
          rows.push({
            ids: [CLS, ...ids, SEP],
            wordIds: [null, ...enc.wordIds.slice(s, s + seqLen - 2), null],
            specialTokensMask: [1, ...ids.map(() => 0), 1],
          });
        }
        return rows;
      });
    const trainRows = windows(paragraphs.slice(0, split));
    const heldRows = windows(paragraphs.slice(split));
    expect(heldRows.length).toBeGreaterThan(20);

    const counts = new Map<number, number>();
    for (const r of trainRows)
      for (const id of (r as { ids: number[] }).ids.slice(1, -1)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const mostFrequent = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];

    manualSeed(1);
    const model = new BertForMaskedLM({
      vocabSize: V,
      hiddenSize: 64,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      intermediateSize: 192,
      maxPositionEmbeddings: seqLen,
      typeVocabSize: 1,
      hiddenDropoutProb: 0,
      attentionProbsDropoutProb: 0,
      padTokenId: PAD,
    });
    const options = { maskTokenId: MASK, vocabSize: V, specialTokenIds: [PAD, CLS, SEP], padTokenId: PAD };
    // BERT's 80/10/10 token masking, and every fourth batch whole-word masking
    const tokenBatches = exampleBatches(trainRows, 32, mlmCollator({ ...options, seed: 1 }), { seed: 1 });
    const wordBatches = exampleBatches(
      trainRows,
      32,
      mlmCollator({ ...options, wholeWordMask: true, seed: 2 }),
      {
        seed: 2,
      },
    );
    const result = await train(model, {
      batches: (step) => (step % 4 === 3 ? wordBatches(step) : tokenBatches(step)),
      loss: maskedLMLoss,
      maxSteps: 360,
      lr: 3e-3,
      warmupSteps: 20,
      schedule: 'linear',
    });
    expect(result.losses.at(-1)).toBeLessThan(result.losses[0]);

    // held-out accuracy over several masking draws, and the baseline on the very same positions
    for (const wholeWordMask of [true, false]) {
      let total = 0;
      let correct = 0;
      let baseline = 0;
      for (let draw = 0; draw < 4; draw++) {
        const collate = mlmCollator({ ...options, wholeWordMask, seed: 100 + draw });
        for (let i = 0; i < heldRows.length; i += 64) {
          const a = collate.arrays(heldRows.slice(i, i + 64));
          const logits = tidy(() =>
            noGrad(() =>
              model
                .forward({
                  inputIds: tensor(a.inputIds, a.shape, 'int32'),
                  attentionMask: tensor(a.attentionMask, a.shape, 'int32'),
                })
                .logits.dataSync(),
            ),
          );
          for (let p = 0; p < a.labels.length; p++) {
            const label = a.labels[p];
            if (label === -100) continue;
            let best = 0;
            for (let v = 1; v < V; v++) if (logits[p * V + v] > logits[p * V + best]) best = v;
            total++;
            if (best === label) correct++;
            if (label === mostFrequent) baseline++;
          }
        }
      }
      const acc = correct / total;
      const base = baseline / total;
      const what = `${wholeWordMask ? 'whole-word' : 'token'} masking: accuracy ${acc} vs unigram baseline ${base} over ${total} masked tokens`;
      expect(total, what).toBeGreaterThan(1000);
      // filling a lone masked token from its neighbours is learnt first; whole words are harder
      expect(acc, what).toBeGreaterThan(base + (wholeWordMask ? 0.005 : 0.03));
    }
  });
});
