// The embedded tiny GPT: it loads from the package with no download, its validation loss on the
// held-out tenth of its corpus is what training.json states and beats the unigram and bigram
// baselines (computed here in float64 from the corpus), and it writes text from its alphabet.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { generate } from '@attnkit/sampling';
import { describe, expect, it } from 'vitest';
import {
  CharTokenizer,
  causalLMLoss,
  evaluate,
  lmEvalBatches,
  loadTinyGPT,
  TINY_GPT_FILES,
  TINY_GPT_URL,
  tinyGPTReport,
} from '../src/index.js';

const corpus = readFileSync(new URL('../assets/corpus/fables.txt', import.meta.url), 'utf8');
const report = JSON.parse(readFileSync(new URL('training.json', TINY_GPT_URL), 'utf8'));

function baselines(train: number[], val: number[], v: number): { unigram: number; bigram: number } {
  const uni = new Float64Array(v);
  const bi = new Float64Array(v * v);
  const rows = new Float64Array(v);
  train.forEach((t, i) => {
    uni[t]++;
    if (i > 0) {
      bi[train[i - 1] * v + t]++;
      rows[train[i - 1]]++;
    }
  });
  let u = 0;
  for (const t of val) u -= Math.log((uni[t] + 1) / (train.length + v));
  let b = 0;
  for (let i = 1; i < val.length; i++)
    b -= Math.log((bi[val[i - 1] * v + val[i]] + 1) / (rows[val[i - 1]] + v));
  return { unigram: u / val.length, bigram: b / (val.length - 1) };
}

describe('embedded tiny GPT', () => {
  it('beats the unigram and bigram baselines on held-out text, as training.json states', async () => {
    const { model, tokenizer } = await loadTinyGPT();
    expect(tokenizer.chars).toEqual([...new Set(corpus)].sort());
    const ids = tokenizer.encode(corpus);
    const split = Math.floor(ids.length * 0.9);
    const val = ids.slice(split);
    const base = baselines(ids.slice(0, split), val, tokenizer.vocabSize);
    expect(base.unigram).toBeCloseTo(report.baselines.unigramAdd1, 6);
    expect(base.bigram).toBeCloseTo(report.baselines.bigramAdd1, 6);
    const batches = lmEvalBatches(val, { batchSize: 12, blockSize: model.config.nPositions });
    const loss = await evaluate(model, batches, causalLMLoss as never);
    expect(loss).toBeCloseTo(report.finalValidationLoss, 3);
    expect(loss).toBeLessThan(base.bigram);
    expect(loss).toBeLessThan(base.unigram);
    model.dispose();
  });

  it('writes text from its alphabet, reproducibly from a seed', async () => {
    const { model, tokenizer } = await loadTinyGPT();
    const prompt = tokenizer.encode('THE FOX AND THE ');
    const config = { maxNewTokens: 60, doSample: true, temperature: 0.8, topK: 20, seed: 3 };
    const a = await generate(model, [prompt], config);
    const b = await generate(model, [prompt], config);
    expect(a.sequences).toEqual(b.sequences);
    const text = tokenizer.decode(a.sequences[0]);
    expect(text.startsWith('THE FOX AND THE ')).toBe(true);
    expect(text.length).toBe(16 + 60);
    expect(() => tokenizer.encode('€')).toThrow(/"€" (at index 0 )?is not in the vocabulary/);
    expect(() => new CharTokenizer(['a', 'a'])).toThrow(/repeat|appears twice/);
    model.dispose();
  });

  it('names each shipped file for bundlers, and reports its training figures', async () => {
    for (const url of Object.values(TINY_GPT_FILES)) {
      expect(url.href.startsWith(TINY_GPT_URL.href)).toBe(true);
      expect(readFileSync(url).length).toBeGreaterThan(0);
    }
    const r = await tinyGPTReport();
    expect(r).toEqual(report);
    expect(r.finalValidationLoss).toBeLessThan(r.baselines.bigramAdd1);
  });
});
