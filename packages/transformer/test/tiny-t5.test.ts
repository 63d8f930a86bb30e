// The embedded tiny T5 (numbers 0–999 → English words, scripts/train-tiny-t5.mjs): it loads from the
// package with no download, its greedy exact match on the held-out numbers is what training.json
// states, and numberToWords (the task's reference) writes the expected words.
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { describe, expect, it } from 'vitest';
import { loadTinyT5, numberToWords, T5ForConditionalGeneration, tinyT5Report } from '../src/index.js';

describe('embedded tiny T5', () => {
  it('numberToWords writes English numbers', () => {
    expect([0, 7, 13, 20, 42, 90, 100, 115, 342, 700, 999].map(numberToWords)).toEqual([
      'zero',
      'seven',
      'thirteen',
      'twenty',
      'forty-two',
      'ninety',
      'one hundred',
      'one hundred fifteen',
      'three hundred forty-two',
      'seven hundred',
      'nine hundred ninety-nine',
    ]);
    expect(() => numberToWords(1000)).toThrow(/0\.\.999/);
  });

  it("writes held-out numbers in words with training.json's exact-match accuracy", async () => {
    const { model, tokenizer } = await loadTinyT5();
    expect(model).toBeInstanceOf(T5ForConditionalGeneration);
    const report = await tinyT5Report();
    expect(report.heldOut.length).toBe(100);
    const { sequences } = await generate(
      model,
      report.heldOut.map((n) => tokenizer.encode(String(n))),
      {},
    );
    const decoded = sequences.map((s) => tokenizer.decode(s));
    const exact = decoded.filter((d, i) => d === numberToWords(report.heldOut[i])).length / 100;
    expect(exact).toBe(report.heldOutExactMatch);
    expect(exact).toBeGreaterThanOrEqual(0.9);
    expect(() => tokenizer.encode('12a!')).toThrow(/not in the vocabulary/);
    model.dispose();
  });
});
