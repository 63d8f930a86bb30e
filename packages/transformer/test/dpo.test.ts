// Preference tuning on the embedded tiny GPT, a reduced scripts/dpo-tiny-gpt.mjs: pairs from the
// pre-trained model's own samples under a rule anyone can check (a continuation containing "said"
// beats one without), a reward model that must rank held-out pairs well above chance, best-of-n
// that must pick the word more often than a single sample, and DPO against the frozen pre-trained
// model that must raise the word's rate on fresh samples, with a finite KL > 0 to the reference.
// Memory (live bytes) must be the same after step k and step 3k of DPO. Plus dpoTrain's refusals.
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { manualSeed, memory } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bestOfN,
  type CharTokenizer,
  dpoTrain,
  evaluateRewardModel,
  exampleBatches,
  type GPT2LMHeadModel,
  loadTinyGPT,
  type PreferenceExample,
  preferenceCollator,
  RewardModel,
  referenceKL,
  rewardModelLoss,
  sftCollator,
  train,
} from '../src/index.js';

const WORD = 'said';
const LENGTH = 16;
const PROMPTS = ['A Fox ', 'The Crow ', 'A Wolf ', 'A Mouse ', 'A Lion ', 'The Hare ', 'A Goat ', 'A Dog '];
const HELD_OUT = ['A Bear ', 'The Ant ', 'A Cat '];

interface Sample {
  prompt: number[];
  answer: number[];
  text: string;
}

async function sample(
  model: GPT2LMHeadModel,
  tok: CharTokenizer,
  prompts: string[],
  n: number,
  seed: number,
) {
  const out: Sample[][] = [];
  for (const [k, p] of prompts.entries()) {
    const ids = tok.encode(p);
    const { sequences } = await generate(model, [ids], {
      maxNewTokens: LENGTH,
      doSample: true,
      numReturnSequences: n,
      seed: seed * 1000 + k,
    });
    out.push(
      sequences.map((s) => ({
        prompt: ids,
        answer: s.slice(ids.length),
        text: tok.decode(s.slice(ids.length)),
      })),
    );
  }
  return out;
}
const rate = (groups: Sample[][]) => {
  const all = groups.flat();
  return all.filter((s) => s.text.includes(WORD)).length / all.length;
};
function pairsOf(groups: Sample[][]): PreferenceExample[] {
  return groups.flatMap((g) => {
    const good = g.filter((s) => s.text.includes(WORD));
    const bad = g.filter((s) => !s.text.includes(WORD));
    return good
      .slice(0, bad.length)
      .map((s, i) => ({ prompt: s.prompt, chosen: s.answer, rejected: bad[i].answer }));
  });
}

describe('preference tuning of the tiny GPT', () => {
  let tok: CharTokenizer;
  let trainPairs: PreferenceExample[];
  let heldOutPairs: PreferenceExample[];

  beforeAll(async () => {
    const { model, tokenizer } = await loadTinyGPT();
    tok = tokenizer;
    trainPairs = pairsOf(await sample(model.eval(), tok, PROMPTS, 40, 1));
    heldOutPairs = pairsOf(await sample(model, tok, HELD_OUT, 40, 2));
    model.dispose();
  }, 600_000);

  it('a reward model ranks held-out pairs well above chance, and best-of-n picks the word more often', async () => {
    expect(trainPairs.length).toBeGreaterThan(20);
    expect(heldOutPairs.length).toBeGreaterThan(8);
    manualSeed(1);
    const { model: policy } = await loadTinyGPT();
    const { model: body } = await loadTinyGPT();
    const rm = new RewardModel(body);
    await train(rm, {
      batches: exampleBatches(trainPairs, 8, preferenceCollator(), { seed: 1 }),
      loss: rewardModelLoss,
      maxSteps: 40,
      lr: 1e-3,
      warmupSteps: 5,
      weightDecay: 0,
    });
    const { accuracy } = await evaluateRewardModel(rm, heldOutPairs);
    expect(accuracy).toBeGreaterThan(0.75);
    let single = 0;
    let picked = 0;
    for (const [k, p] of HELD_OUT.entries()) {
      for (let r = 0; r < 4; r++) {
        const out = await bestOfN(policy.eval(), rm, tok.encode(p), {
          n: 8,
          maxNewTokens: LENGTH,
          seed: 50 + 4 * k + r,
        });
        expect(out.scores).toHaveLength(8);
        expect(out.scores[out.bestIndex]).toBe(Math.max(...out.scores));
        if (tok.decode(out.answers[0]).includes(WORD)) single++;
        if (tok.decode(out.best).includes(WORD)) picked++;
      }
    }
    expect(picked).toBeGreaterThan(single + 2);
    rm.dispose();
    policy.dispose();
  }, 600_000);

  it('DPO raises the preferred rate on fresh samples with a finite KL > 0, and memory stays flat', async () => {
    const { model: policy } = await loadTinyGPT();
    const { model: reference } = await loadTinyGPT();
    const before = rate(await sample(policy.eval(), tok, [...PROMPTS, ...HELD_OUT], 16, 9));
    const bytes: Record<number, number> = {};
    const k = 5;
    manualSeed(1);
    const result = await dpoTrain(policy, {
      reference,
      pairs: trainPairs,
      beta: 0.1,
      batchSize: 8,
      seed: 1,
      maxSteps: 3 * k,
      lr: 2e-4,
      warmupSteps: 2,
      weightDecay: 0,
      onProgress: (p) => {
        if (p.step === k || p.step === 3 * k) bytes[p.step] = memory().cpu.numBytes;
      },
    });
    expect(bytes[k]).toBeGreaterThan(0);
    expect(bytes[3 * k]).toBe(bytes[k]);
    expect(result.stats).toHaveLength(3 * k);
    expect(result.stats[3 * k - 1].rewardAccuracy).toBeGreaterThan(0.5);
    const after = await sample(policy.eval(), tok, [...PROMPTS, ...HELD_OUT], 16, 9);
    expect(rate(after)).toBeGreaterThan(before + 0.2);
    const kl = await referenceKL(policy, reference, sftCollator()(after.flat()));
    expect(Number.isFinite(kl)).toBe(true);
    expect(kl).toBeGreaterThan(1e-3);
    expect(await referenceKL(reference, reference, sftCollator()(after.flat()))).toBeLessThan(1e-6);
    policy.dispose();
    reference.dispose();
  }, 600_000);

  it('dpoTrain refuses to run without a separate reference model or with an identical pair', async () => {
    const { model: policy } = await loadTinyGPT();
    const { model: reference } = await loadTinyGPT();
    const pairs = [
      { prompt: [1, 2], chosen: [3], rejected: [4] },
      { prompt: [1, 2], chosen: [5, 6], rejected: [5, 6] },
    ];
    const base = { pairs: pairs.slice(0, 1), maxSteps: 1 };
    await expect(dpoTrain(policy, base as never)).rejects.toThrow(
      /options.reference must be the frozen reference model/,
    );
    await expect(dpoTrain(policy, { ...base, reference: policy })).rejects.toThrow(
      /reference is the policy itself/,
    );
    await expect(dpoTrain(policy, { reference, pairs, maxSteps: 1 })).rejects.toThrow(
      /dpoTrain: pair 1 has identical chosen and rejected answers/,
    );
    policy.dispose();
    reference.dispose();
  });
});
