// The masked-LM collator (BERT's 80/10/10 rule, as transformers' DataCollatorForLanguageModeling),
// checked by its statistics over many seeded tokens (each share within 5 standard errors of its
// expected value), and the masked-LM loss against transformers' BertForMaskedLM (scripts/loss_refs.py).
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { loadPretrained, maskedLMLoss, mlmCollator } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const V = 100;
const CLS = 1;
const SEP = 2;
const PAD = 0;
const MASK = 3;

/** Rows of random ids in [5, V) framed by [CLS] ... [SEP], of varying lengths. */
function rows(n: number, seed: number): number[][] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => {
    const len = g.randint(20, 60);
    return [CLS, ...Array.from({ length: len }, () => g.randint(5, V)), SEP];
  });
}

/** |observed share - p| within 5 standard errors of a binomial share over n trials. */
function expectShare(hits: number, n: number, p: number): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(hits / n - p), `share ${hits}/${n} vs ${p}`).toBeLessThan(5 * se);
}

describe('mlmCollator', () => {
  it('chooses 15% of the tokens, never special ones or padding; 80% [MASK], 10% random, 10% kept', () => {
    const collate = mlmCollator({
      maskTokenId: MASK,
      vocabSize: V,
      specialTokenIds: [CLS, SEP, PAD],
      seed: 7,
    });
    let real = 0;
    let chosen = 0;
    let masked = 0;
    let kept = 0;
    let random = 0;
    for (let batch = 0; batch < 40; batch++) {
      const src = rows(16, batch);
      const a = collate.arrays(src);
      const [B, L] = a.shape;
      expect(B).toBe(16);
      expect(L).toBe(Math.max(...src.map((r) => r.length)));
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < L; t++) {
          const i = b * L + t;
          const orig = t < src[b].length ? src[b][t] : PAD;
          expect(a.attentionMask[i]).toBe(t < src[b].length ? 1 : 0);
          if (orig === CLS || orig === SEP || t >= src[b].length) {
            expect(a.labels[i]).toBe(-100);
            expect(a.inputIds[i]).toBe(orig);
            continue;
          }
          real++;
          if (a.labels[i] === -100) {
            expect(a.inputIds[i]).toBe(orig); // not chosen: untouched
            continue;
          }
          expect(a.labels[i]).toBe(orig);
          chosen++;
          if (a.inputIds[i] === MASK) masked++;
          else if (a.inputIds[i] === orig) kept++;
          else random++;
        }
      }
    }
    expect(real).toBeGreaterThan(20000);
    expectShare(chosen, real, 0.15);
    // a random replacement lands on [MASK] or the original id with probability 1/V each
    expectShare(masked, chosen, 0.8 + 0.1 / V);
    expectShare(random, chosen, 0.1 * (1 - 2 / V));
    expectShare(kept, chosen, 0.1 + 0.1 / V);
  });

  it('is seeded, honours specialTokensMask, and pads with padTokenId', () => {
    const src = rows(4, 1);
    const a = mlmCollator({ maskTokenId: MASK, vocabSize: V, seed: 3, mlmProbability: 0.5 }).arrays(src);
    const b = mlmCollator({ maskTokenId: MASK, vocabSize: V, seed: 3, mlmProbability: 0.5 }).arrays(src);
    expect(Array.from(a.inputIds)).toEqual(Array.from(b.inputIds));
    const c = mlmCollator({ maskTokenId: MASK, vocabSize: V, seed: 4, mlmProbability: 0.5 }).arrays(src);
    expect(Array.from(c.labels)).not.toEqual(Array.from(a.labels));
    const enc = { ids: [7, 8, 9, 10, 11, 12], specialTokensMask: [1, 0, 0, 0, 0, 1] };
    const all = mlmCollator({ maskTokenId: MASK, vocabSize: V, mlmProbability: 1, padTokenId: 99 }).arrays([
      enc,
      [5],
    ]);
    expect(Array.from(all.labels.slice(0, 6))).toEqual([-100, 8, 9, 10, 11, -100]);
    expect(Array.from(all.inputIds.slice(7))).toEqual([99, 99, 99, 99, 99]);
    expect(Array.from(all.attentionMask.slice(6))).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it('whole-word masking chooses 15% of the words and masks every token of a chosen word', () => {
    const collate = mlmCollator({
      maskTokenId: MASK,
      vocabSize: V,
      wholeWordMask: true,
      specialTokenIds: [CLS, SEP],
      seed: 2,
    });
    let words = 0;
    let chosenWords = 0;
    for (let batch = 0; batch < 30; batch++) {
      const g = new Generator(100 + batch);
      const examples = Array.from({ length: 16 }, () => {
        const ids = [CLS];
        const wordIds: (number | null)[] = [null];
        for (let w = 0; w < 30; w++) {
          const pieces = g.randint(1, 4);
          for (let k = 0; k < pieces; k++) {
            ids.push(g.randint(5, V));
            wordIds.push(w);
          }
        }
        ids.push(SEP);
        wordIds.push(null);
        return { ids, wordIds };
      });
      const a = collate.arrays(examples);
      const L = a.shape[1];
      examples.forEach((ex, b) => {
        const byWord = new Map<number, number[]>();
        ex.wordIds.forEach((w, t) => {
          if (w === null) expect(a.labels[b * L + t]).toBe(-100);
          else byWord.set(w, [...(byWord.get(w) ?? []), t]);
        });
        for (const ts of byWord.values()) {
          words++;
          const picked = ts.map((t) => a.labels[b * L + t] !== -100);
          expect(new Set(picked).size).toBe(1); // all or none of a word's tokens
          if (picked[0]) {
            chosenWords++;
            for (const t of ts) expect(a.inputIds[b * L + t]).toBe(MASK);
          }
        }
      });
    }
    expect(words).toBe(30 * 16 * 30);
    expectShare(chosenWords, words, 0.15);
  });

  it('refuses bad options and rows', () => {
    expect(() => mlmCollator({ maskTokenId: 200, vocabSize: V })).toThrow(
      /maskTokenId must be a token id in \[0, 100\)/,
    );
    expect(() => mlmCollator({ maskTokenId: MASK, vocabSize: V, mlmProbability: 1.5 })).toThrow(
      /mlmProbability must be a probability/,
    );
    expect(() =>
      mlmCollator({ maskTokenId: MASK, vocabSize: V, maskReplaceProb: 0.8, randomReplaceProb: 0.3 }),
    ).toThrow(/must not exceed 1/);
    expect(() =>
      mlmCollator({ maskTokenId: MASK, vocabSize: V, wholeWordMask: true, maskReplaceProb: 0.8 }),
    ).toThrow(/maskReplaceProb must be 1/);
    const ww = mlmCollator({ maskTokenId: MASK, vocabSize: V, wholeWordMask: true });
    expect(() => ww.arrays([[5, 6]])).toThrow(/needs each row's wordIds/);
    const c = mlmCollator({ maskTokenId: MASK, vocabSize: V });
    expect(() => c.arrays([[5, 600]])).toThrow(/row 0 position 1 holds 600/);
    expect(() => c.arrays([])).toThrow(/non-empty array of rows/);
  });
});

describe('maskedLMLoss', () => {
  it("equals transformers' BertForMaskedLM loss (cross-entropy over labels, -100 ignored)", async () => {
    const m = JSON.parse(readFileSync(join(FIXTURES, 'loss-refs', 'meta.json'), 'utf8')).mlm;
    const model = await loadPretrained(join(FIXTURES, 'lora-bert', 'base'));
    const loss = maskedLMLoss(model, {
      inputIds: tensor(m.input_ids, undefined, 'int32'),
      attentionMask: tensor(m.attention_mask, undefined, 'int32'),
      labels: tensor(m.labels, undefined, 'int32'),
    }).itemSync();
    expect(Math.abs(loss - m.loss) / m.loss).toBeLessThan(1e-5);
    model.dispose();
  });
});
