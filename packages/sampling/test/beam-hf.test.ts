// Beam search against transformers 5.18's generate() (scripts/beam_refs.py): a scripted model whose
// next-token logits at position t after token x are table[t][x] runs 80 random settings (2–4 beams,
// 2–5 new tokens, length penalty −1 to 2, early stopping true / false / 'never', several return
// sequences, one or two prompts); the sequences must be transformers'.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { type CausalLM, generate } from '@attnkit/sampling';
import { tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

interface Case {
  table: number[];
  prompts: number[][];
  num_beams: number;
  max_new_tokens: number;
  length_penalty: number;
  early_stopping: boolean | 'never';
  num_return_sequences: number;
  sequences: number[][];
  sequences_scores: number[];
}

const ref = JSON.parse(readFileSync(new URL('./fixtures/hf-beam-cases.json', import.meta.url), 'utf8')) as {
  vocab: number;
  positions: number;
  eos: number;
  pad: number;
  cases: Case[];
};

/** logits[b, t, :] = table[t][ids[b, t]] */
function scripted(table: number[]): CausalLM {
  const v = ref.vocab;
  return {
    forward({ inputIds }) {
      const [b, l] = inputIds.shape;
      const ids = inputIds.dataSync();
      const out = new Float32Array(b * l * v);
      for (let i = 0; i < b; i++)
        for (let t = 0; t < l; t++) {
          const x = ids[i * l + t];
          for (let k = 0; k < v; k++) out[(i * l + t) * v + k] = table[(t * v + x) * v + k];
        }
      return { logits: tensor(out, [b, l, v]) };
    },
  };
}

describe("beam search equals transformers' generate()", () => {
  it('covers the settings', () => {
    expect(ref.cases.length).toBe(80);
    expect(new Set(ref.cases.map((c) => String(c.early_stopping))).size).toBe(3);
  });
  ref.cases.forEach((c, i) => {
    it(`case ${i}: ${c.num_beams} beams, ${c.max_new_tokens} new, length penalty ${c.length_penalty}, early stopping ${c.early_stopping}, ${c.num_return_sequences} returned, ${c.prompts.length} prompt(s)`, async () => {
      const out = await generate(scripted(c.table), c.prompts, {
        numBeams: c.num_beams,
        maxNewTokens: c.max_new_tokens,
        lengthPenalty: c.length_penalty,
        earlyStopping: c.early_stopping,
        numReturnSequences: c.num_return_sequences,
        eosTokenId: ref.eos,
        padTokenId: ref.pad,
      });
      expect(out.sequences).toEqual(c.sequences);
      out.sequencesScores?.forEach((s, j) => {
        expect(Math.abs(s - c.sequences_scores[j])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(s)));
      });
    });
  });
});
