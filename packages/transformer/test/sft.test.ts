// Supervised fine-tuning: sftCollator masks the loss to the answer tokens; with causalLMLoss it
// equals transformers' GPT2LMHeadModel loss on the same labels (scripts/loss_refs.py), and differs
// from the loss over prompt and answer.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { causalLMLoss, type LogitsModel, loadPretrained, sftCollator } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const ref = () => JSON.parse(readFileSync(join(FIXTURES, 'loss-refs', 'meta.json'), 'utf8')).sft;

describe('sftCollator', () => {
  it('puts prompt + answer in a row, labels only the answer, pads on the right', () => {
    const b = sftCollator({ padTokenId: 9 })([
      { prompt: [1, 2, 3], answer: [4, 5] },
      { prompt: [6], answer: [7] },
    ]);
    expect(b.inputIds.shape).toEqual([2, 5]);
    expect(Array.from(b.inputIds.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 9, 9]);
    expect(Array.from(b.attentionMask.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(b.labels.dataSync())).toEqual([-100, -100, -100, 4, 5, -100, 7, -100, -100, -100]);
    const all = sftCollator({ trainOnPrompt: true })([{ prompt: [1, 2], answer: [3] }]);
    expect(Array.from(all.labels.dataSync())).toEqual([1, 2, 3]);
  });

  it("with causalLMLoss gives transformers' loss on the answer tokens", async () => {
    const m = ref();
    const model = (await loadPretrained(join(FIXTURES, 'lora-gpt2', 'base'))) as unknown as LogitsModel;
    const batch = sftCollator()(m.rows);
    expect(Array.from(batch.labels.dataSync())).toEqual(m.labels.flat());
    const loss = causalLMLoss(model, batch).itemSync();
    expect(Math.abs(loss - m.loss) / m.loss).toBeLessThan(1e-5);
    const both = causalLMLoss(model, sftCollator({ trainOnPrompt: true })(m.rows)).itemSync();
    expect(Math.abs(both - m.loss_on_prompt_too) / m.loss_on_prompt_too).toBeLessThan(1e-5);
    expect(Math.abs(both - loss)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('refuses empty answers, rows over maxLength and malformed rows', () => {
    const c = sftCollator({ maxLength: 4 });
    expect(() => c([{ prompt: [1], answer: [] }])).toThrow(/row 0 has an empty answer/);
    expect(() =>
      c([
        { prompt: [1], answer: [2] },
        { prompt: [1, 2, 3], answer: [4, 5] },
      ]),
    ).toThrow(/row 1 has 5 tokens \(prompt 3 \+ answer 2\), more than maxLength 4/);
    expect(() => c([[1, 2] as never])).toThrow(/row 0 must be \{ prompt: number\[\], answer: number\[\] \}/);
    expect(() => sftCollator({ maxLength: 1 })).toThrow(/maxLength must be at least 2/);
  });
});
