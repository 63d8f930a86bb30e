// Issue 13: a left-padded row generates exactly what its prompt generates alone, as transformers'
// generate() does. Expected sequences come from transformers 5.18 (scripts/generate_padding_refs.py).
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@attnkit/sampling';
import { describe, expect, it } from 'vitest';
import { type GPT2LMHeadModel, type LlamaForCausalLM, loadPretrained } from '../src/index.js';
import { FIXTURES } from './helpers.js';

interface Case {
  options: { num_beams?: number; num_return_sequences?: number };
  use_cache: boolean;
  single: number[][];
  batch: number[][];
}
interface Reference {
  prompts: number[][];
  pad_token_id: number;
  eos_token_id: number;
  max_new_tokens: number;
  cases: Record<string, Case>;
}

for (const family of ['gpt2', 'llama']) {
  const dir = join(FIXTURES, `gen-${family}-padded`);
  const ref = JSON.parse(readFileSync(join(dir, 'generate.json'), 'utf8')) as Reference;
  const base = {
    maxNewTokens: ref.max_new_tokens,
    padTokenId: ref.pad_token_id,
    eosTokenId: ref.eos_token_id,
  };
  describe(`${family}: left-padded batches generate what transformers generates`, () => {
    for (const [name, c] of Object.entries(ref.cases)) {
      it(name, async () => {
        const model = (await loadPretrained(dir)) as GPT2LMHeadModel | LlamaForCausalLM;
        const options = {
          ...base,
          useCache: c.use_cache,
          numBeams: c.options.num_beams ?? 1,
          numReturnSequences: c.options.num_return_sequences ?? 1,
        };
        const single = await generate(model, [ref.prompts[1]], options);
        expect(single.sequences).toEqual(c.single);
        const batch = await generate(model, ref.prompts, options);
        expect(batch.sequences).toEqual(c.batch);
        model.dispose();
      });
    }
    it('ids padded by the caller: with an attentionMask, or a tensor whose pads transformers infers', async () => {
      const model = (await loadPretrained(dir)) as GPT2LMHeadModel | LlamaForCausalLM;
      const { tensor } = await import('@attnkit/tensor-core');
      const c = ref.cases.greedy;
      const width = ref.prompts[0].length;
      const p = ref.prompts[1];
      const padded = [...new Array<number>(width - p.length).fill(ref.pad_token_id), ...p];
      const rows = [ref.prompts[0], padded];
      const mask = rows.map((r, i) => r.map((_, j) => (i === 1 && j < width - p.length ? 0 : 1)));
      const am = tensor(Int32Array.from(mask.flat()), [2, width], 'int32');
      // lists already padded, with the mask
      expect((await generate(model, rows, base, am)).sequences).toEqual(c.batch);
      // a tensor with the mask
      const ids = tensor(Int32Array.from(rows.flat()), [2, width], 'int32');
      expect((await generate(model, ids, base, am)).sequences).toEqual(c.batch);
      // a tensor without one: padTokenId (not an EOS id) marks the padding, as transformers infers it
      expect((await generate(model, ids, base)).sequences).toEqual(c.batch);
      for (const t of [ids, am]) t.dispose();
      model.dispose();
    });
    it('sampling: the padded row draws what the prompt alone draws under the same seed', async () => {
      const model = (await loadPretrained(dir)) as GPT2LMHeadModel | LlamaForCausalLM;
      for (const useCache of [true, false]) {
        const options = { ...base, useCache, doSample: true, temperature: 0.9, topK: 20 };
        // one row per call, so both draw the same uniforms: the padded prompt vs. the plain one
        const width = ref.prompts[0].length;
        const p = ref.prompts[1];
        const padded = [...new Array<number>(width - p.length).fill(ref.pad_token_id), ...p];
        const mask = padded.map((_, j) => (j < width - p.length ? 0 : 1));
        const { tensor } = await import('@attnkit/tensor-core');
        for (const seed of [1, 2, 3]) {
          const alone = await generate(model, [p], { ...options, seed });
          const ids = tensor(Int32Array.from(padded), [1, width], 'int32');
          const am = tensor(Int32Array.from(mask), [1, width], 'int32');
          const withPads = await generate(model, ids, { ...options, seed }, am);
          ids.dispose();
          am.dispose();
          expect(withPads.sequences[0].slice(width - p.length)).toEqual(alone.sequences[0]);
        }
      }
      model.dispose();
    });
  });
}
