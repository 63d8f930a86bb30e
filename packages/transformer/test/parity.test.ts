// Forward passes against Hugging Face transformers (scripts/reference/transformer_gen_refs.py): every
// fixture folder is a Hugging Face checkpoint loaded with loadPretrained, run on the fixture's inputs
// and compared with the reference within 1e-4 relative.
import '@attnkit/backend-cpu';
import { memory } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { type GPT2LMHeadModel, loadPretrained } from '../src/index.js';
import { closeness, fixtureNames, forwardOutputs, loadFixture, modelInputs, realTokens } from './helpers.js';

const names = fixtureNames().filter((n) =>
  ['gpt2', 'llama', 'bert'].includes(String(loadFixture(n).meta.model)),
);

describe('transformers parity (1e-4 relative, CPU)', () => {
  it('covers the expected cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of names) {
    it(name, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      const inputs = modelInputs(fx);
      const checks = forwardOutputs(fx, model, inputs);
      const mask = fx.has('attention_mask') ? fx.array('attention_mask') : null;
      for (const [key, got, onlyReal] of checks) {
        const want = fx.array(key);
        expect(got.shape).toEqual(want.shape);
        const inner = want.shape.slice(2).reduce((a, b) => a * b, 1);
        const c = closeness(got.dataSync(), want.data, onlyReal ? realTokens(mask, inner) : undefined);
        expect(c.compared).toBeGreaterThan(0);
        expect(c.ratio, `${name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
        got.dispose();
      }
      for (const t of Object.values(inputs)) t.dispose();
      model.dispose();
    });
  }

  it('frees what it allocates', async () => {
    const before = memory().cpu?.numTensors ?? 0;
    const fx = loadFixture('gpt2-tiny');
    const model = (await loadPretrained(fx.dir)) as GPT2LMHeadModel;
    const ids = fx.tensor('input_ids');
    const out = model.forward({ inputIds: ids });
    out.logits.dispose();
    out.pastKeyValues?.dispose();
    ids.dispose();
    model.dispose();
    expect(memory().cpu.numTensors).toBe(before);
  });
});
