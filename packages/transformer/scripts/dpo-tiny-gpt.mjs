#!/usr/bin/env node
// Preference tuning end to end on the embedded tiny GPT (a character-level GPT-2 pre-trained on
// assets/corpus/fables.txt). The preference is a rule anyone can check: a continuation that
// contains the word "said" is preferred to one that does not (--word changes it). Prompts are the
// openings of the corpus's fables ("A Fox ", "The Crow ", ...), split into training and held-out
// prompts. From samples of the pre-trained model the script builds preference pairs (same prompt,
// one continuation with the word, one without), then
//   1. trains a reward model (the tiny GPT's body + a scalar head, Bradley-Terry loss) and reports
//      its pair accuracy on held-out prompts' pairs;
//   2. best-of-n: the word's rate in one sample vs. in the reward model's pick of n samples;
//   3. DPO against the frozen pre-trained model: the word's rate on fresh samples before and after,
//      and the mean per-token KL(policy || reference) on the tuned policy's samples.
// Seeded: the same seed prints the same numbers.
//
//   TURBO_CACHE_DIR=/work/.turbo-cache npx turbo run build --filter=@attnkit/transformer...
//   node packages/transformer/scripts/dpo-tiny-gpt.mjs [--seed 1] [--word said] [--dpo-steps 60]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../backend-cpu/dist/index.js';
import { generate } from '../../sampling/dist/index.js';
import { Generator, manualSeed } from '../../tensor-core/dist/index.js';
import {
  bestOfN,
  dpoTrain,
  evaluateRewardModel,
  exampleBatches,
  loadTinyGPT,
  preferenceCollator,
  RewardModel,
  referenceKL,
  rewardModelLoss,
  sftCollator,
  train,
} from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const seed = Number(opt('seed', 1));
const word = opt('word', 'said');
const samplesPerPrompt = Number(opt('samples', 32));
const answerLength = Number(opt('length', 24));
const rmSteps = Number(opt('rm-steps', 60));
const dpoSteps = Number(opt('dpo-steps', 40));
const beta = Number(opt('beta', 0.1));
const bestOf = Number(opt('n', 8));
const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// ---- prompts: each fable's first two words ("A Fox ", "The Crow "), seeded split
const here = dirname(fileURLToPath(import.meta.url));
const text = readFileSync(join(here, '../assets/corpus/fables.txt'), 'utf8');
const blocks = text
  .split('\n\n')
  .map((b) => b.trim())
  .filter(Boolean);
const isTitle = (b) => /^[A-Z][A-Z ,'-]+$/.test(b);
const openings = blocks.flatMap((b, i) => (isTitle(b) && blocks[i + 1] ? [blocks[i + 1]] : []));
const prompts = [...new Set(openings.map((b) => `${b.split(' ').slice(0, 2).join(' ')} `))];
const g = new Generator(seed);
for (let i = prompts.length - 1; i > 0; i--) {
  const j = g.randint(0, i + 1);
  [prompts[i], prompts[j]] = [prompts[j], prompts[i]];
}
const heldOutPrompts = prompts.slice(0, Math.floor(prompts.length / 4));
const trainPrompts = prompts.slice(heldOutPrompts.length);

const { model: policy, tokenizer } = await loadTinyGPT();
const { model: reference } = await loadTinyGPT();
policy.eval();
const prefers = (s) => s.includes(word);

/** `count` sampled continuations of each prompt: { prompt, ids, text }. */
async function sample(model, ps, count, sampleSeed) {
  const out = [];
  for (const [k, p] of ps.entries()) {
    const ids = tokenizer.encode(p);
    const { sequences } = await generate(model, [ids], {
      maxNewTokens: answerLength,
      doSample: true,
      numReturnSequences: count,
      seed: sampleSeed * 1000 + k,
    });
    for (const s of sequences) {
      const answer = s.slice(ids.length);
      out.push({ prompt: p, promptIds: ids, answer, text: tokenizer.decode(answer) });
    }
  }
  return out;
}
const rate = (samples) => samples.filter((s) => prefers(s.text)).length / samples.length;
const pct = (x) => `${(100 * x).toFixed(1)}%`;

// ---- preference pairs from the pre-trained model's samples
function pairsOf(samples) {
  const pairs = [];
  const byPrompt = new Map();
  for (const s of samples) byPrompt.set(s.prompt, [...(byPrompt.get(s.prompt) ?? []), s]);
  for (const group of byPrompt.values()) {
    const good = group.filter((s) => prefers(s.text));
    const bad = group.filter((s) => !prefers(s.text));
    for (let i = 0; i < Math.min(good.length, bad.length); i++) {
      pairs.push({ prompt: good[i].promptIds, chosen: good[i].answer, rejected: bad[i].answer });
    }
  }
  return pairs;
}
const base = await sample(policy, prompts, samplesPerPrompt, seed);
const trainPairs = pairsOf(base.filter((s) => trainPrompts.includes(s.prompt)));
const heldOutPairs = pairsOf(base.filter((s) => heldOutPrompts.includes(s.prompt)));
console.log(
  `rule: a continuation containing ${JSON.stringify(word)} is preferred; ${prompts.length} prompts (${trainPrompts.length} train, ${heldOutPrompts.length} held out), ${samplesPerPrompt} samples of ${answerLength} characters each`,
);
console.log(
  `pre-trained samples: ${JSON.stringify(word)} in ${pct(rate(base))}; pairs: ${trainPairs.length} train, ${heldOutPairs.length} held out (${secs()})`,
);
const show = base.find((s) => prefers(s.text));
console.log(`  e.g. ${JSON.stringify(show.prompt + show.text)}`);

// ---- 1. reward model: the tiny GPT's body + a scalar head, Bradley-Terry loss
manualSeed(seed);
const { model: rmBase } = await loadTinyGPT();
const rm = new RewardModel(rmBase);
const collate = preferenceCollator({ maxLength: policy.config.nPositions });
const before = await evaluateRewardModel(rm, heldOutPairs);
const rmResult = await train(rm, {
  batches: exampleBatches(trainPairs, 8, collate, { seed }),
  loss: rewardModelLoss,
  maxSteps: rmSteps,
  lr: 1e-3,
  warmupSteps: 10,
  weightDecay: 0,
});
const rmEval = await evaluateRewardModel(rm, heldOutPairs);
const rmTrain = await evaluateRewardModel(rm, trainPairs);
console.log(
  `\n== reward model (${rmSteps} steps, final train loss ${rmResult.losses.at(-1).toFixed(4)}, ${secs()})\n` +
    `pair accuracy: train ${pct(rmTrain.accuracy)}, held out ${pct(rmEval.accuracy)} (before training ${pct(before.accuracy)}); held-out loss ${rmEval.loss.toFixed(4)}, margin ${rmEval.margin.toFixed(3)}`,
);

// ---- 2. best-of-n with the reward model, on the held-out prompts
let single = 0;
let picked = 0;
let total = 0;
for (const [k, p] of heldOutPrompts.entries()) {
  for (let r = 0; r < 4; r++) {
    const { answers, best } = await bestOfN(policy, rm, tokenizer.encode(p), {
      n: bestOf,
      maxNewTokens: answerLength,
      seed: 7000 + seed * 100 + k * 4 + r,
    });
    if (prefers(tokenizer.decode(answers[0]))) single++;
    if (prefers(tokenizer.decode(best))) picked++;
    total++;
  }
}
console.log(
  `\n== best-of-${bestOf} (held-out prompts, ${total} draws): ${JSON.stringify(word)} in the first sample ${pct(single / total)}, in the reward model's pick ${pct(picked / total)} (${secs()})`,
);

// ---- 3. DPO against the frozen pre-trained model
const evalSeed = seed + 500;
const fresh = (m) => sample(m, prompts, 16, evalSeed);
const beforeSamples = await fresh(policy);
const heldRate = (ss) => rate(ss.filter((s) => heldOutPrompts.includes(s.prompt)));
console.log(
  `\n== DPO (beta ${beta}, ${dpoSteps} steps, ${trainPairs.length} pairs)\nbefore: ${JSON.stringify(word)} in ${pct(rate(beforeSamples))} of fresh samples (held-out prompts ${pct(heldRate(beforeSamples))})`,
);
manualSeed(seed);
const result = await dpoTrain(policy, {
  reference,
  pairs: trainPairs,
  evalPairs: heldOutPairs,
  beta,
  batchSize: 8,
  seed,
  maxLength: policy.config.nPositions,
  maxSteps: dpoSteps,
  lr: 2e-4,
  warmupSteps: 5,
  weightDecay: 0,
  onProgress: (p) => {
    if (p.step % 10 === 0 || p.step === dpoSteps) {
      console.log(
        `  step ${p.step}/${dpoSteps}  loss ${p.loss.toFixed(4)}  reward accuracy ${pct(p.dpo.rewardAccuracy)}  margin ${p.dpo.rewardMargin.toFixed(3)}`,
      );
    }
  },
});
const afterSamples = await fresh(policy);
const kl = await referenceKL(
  policy,
  reference,
  sftCollator()(afterSamples.map((s) => ({ prompt: s.promptIds, answer: s.answer }))),
);
console.log(
  `after:  ${JSON.stringify(word)} in ${pct(rate(afterSamples))} of fresh samples (held-out prompts ${pct(heldRate(afterSamples))}); held-out DPO loss ${result.finalEvalLoss.toFixed(4)}`,
);
console.log(
  `KL(policy || reference), mean per answer token on the tuned policy's samples: ${kl.toFixed(4)} nats`,
);
for (const s of afterSamples.filter((x) => heldOutPrompts.includes(x.prompt)).slice(0, 4)) {
  console.log(`  ${JSON.stringify(s.prompt + s.text)}`);
}
console.log(`\ntotal ${secs()}, seed ${seed}`);
