// loadPretrained typed by task or architecture, and the AutoModelFor... classes: the result goes to
// generate() without a cast (the type assertions below are checked by `tsc`, the package's
// typecheck), and a checkpoint of the wrong kind for the task is refused by name.
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AutoModelForCausalLM,
  AutoModelForMaskedLM,
  BertForMaskedLM,
  GPT2LMHeadModel,
  type LlamaForCausalLM,
  loadPretrained,
  MistralForCausalLM,
  MixtralForCausalLM,
  type PreTrainedModel,
  Qwen2ForCausalLM,
} from '../src/index.js';
import { loadFixture } from './helpers.js';

type CausalLMs =
  | GPT2LMHeadModel
  | LlamaForCausalLM
  | MistralForCausalLM
  | MixtralForCausalLM
  | Qwen2ForCausalLM;

/** The argmax of the fixture's last-position logits: the greedy next token, from transformers' logits. */
function greedyNextFromFixture(): number {
  const fx = loadFixture('gpt2-tiny');
  const { shape, data } = fx.array('logits');
  const [, seq, vocab] = shape as [number, number, number];
  const row = data.subarray((seq - 1) * vocab, seq * vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
  return best;
}

describe('typed loadPretrained', () => {
  it("{ task: 'text-generation' } is typed as a causal LM and drives generate() without a cast", async () => {
    const fx = loadFixture('gpt2-tiny');
    const lm = await loadPretrained(fx.dir, { task: 'text-generation' });
    expectTypeOf(lm).toEqualTypeOf<CausalLMs>();
    expect(lm).toBeInstanceOf(GPT2LMHeadModel);
    const prompt = Array.from(fx.array('input_ids').data);
    const out = await generate(lm, [prompt], { maxNewTokens: 1 });
    expect(out.sequences[0].at(-1)).toBe(greedyNextFromFixture());
    lm.dispose();
  });

  it("{ task: 'text-generation' } also serves Mistral, Mixtral and Qwen2 checkpoints (pipeline('text-generation') loads them)", async () => {
    for (const [name, cls] of [
      ['hf-mistral-sliding', MistralForCausalLM],
      ['hf-mixtral', MixtralForCausalLM],
      ['hf-qwen2', Qwen2ForCausalLM],
    ] as const) {
      const lm = await loadPretrained(loadFixture(name).dir, { task: 'text-generation' });
      expect(lm).toBeInstanceOf(cls);
      const out = await generate(lm, [[1, 2, 3]], { maxNewTokens: 2 });
      expect(out.sequences[0]).toHaveLength(5);
      lm.dispose();
    }
  });

  it('{ architecture } is typed as that class; no option gives the base class', async () => {
    const fx = loadFixture('gpt2-tiny');
    const g = await loadPretrained(fx.dir, { architecture: 'GPT2LMHeadModel' });
    expectTypeOf(g).toEqualTypeOf<GPT2LMHeadModel>();
    expect(g).toBeInstanceOf(GPT2LMHeadModel);
    g.dispose();
    const any = await loadPretrained(fx.dir);
    expectTypeOf(any).toEqualTypeOf<PreTrainedModel>();
    any.dispose();
  });

  it('AutoModelForCausalLM / AutoModelForMaskedLM load and type for their task', async () => {
    const lm = await AutoModelForCausalLM.fromPretrained(loadFixture('gpt2-tiny').dir);
    expectTypeOf(lm).toEqualTypeOf<CausalLMs>();
    expect(lm).toBeInstanceOf(GPT2LMHeadModel);
    lm.dispose();
    const mlm = await AutoModelForMaskedLM.fromPretrained(loadFixture('bert-mlm').dir);
    expectTypeOf(mlm).toEqualTypeOf<BertForMaskedLM>();
    expect(mlm).toBeInstanceOf(BertForMaskedLM);
    mlm.dispose();
  });

  it('refuses a checkpoint whose class does not serve the task, and an unknown task, by name', async () => {
    await expect(AutoModelForCausalLM.fromPretrained(loadFixture('bert-mlm').dir)).rejects.toThrow(
      /the checkpoint's class BertForMaskedLM does not serve the task 'text-generation' \(classes for it: GPT2LMHeadModel, GPT2Model, LlamaForCausalLM/,
    );
    await expect(
      loadPretrained(loadFixture('gpt2-tiny').dir, { task: 'translation' as 'fill-mask' }),
    ).rejects.toThrow(/loadPretrained: options\.task must be one of text-generation, fill-mask/);
  });
});
