#!/usr/bin/env node
// Trains attnkit's embedded default model: a tiny character-level GPT-2 on the fables corpus shipped
// in packages/transformer/assets/corpus/fables.txt (written and retold for attnkit, MIT licensed),
// seeded, on the CPU backend, and writes it to packages/transformer/assets/tiny-gpt/ as a Hugging
// Face checkpoint (config.json + model.safetensors) plus vocab.json and training.json (losses,
// baselines, settings).
//
//   pnpm build && node scripts/train-tiny-gpt.mjs            # the committed model (seed 1)
//   node scripts/train-tiny-gpt.mjs --steps 200 --out /tmp/g  # a quick try
//
// Options: --steps N (default 2000), --seed S (1), --out DIR, --root REPO (the repository root), --quiet.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../packages/backend-cpu/dist/index.js';
import { generate } from '../packages/sampling/dist/index.js';
import { manualSeed } from '../packages/tensor-core/dist/index.js';
import {
  causalLMLoss,
  GPT2LMHeadModel,
  lmBatches,
  lmEvalBatches,
  saveModel,
  train,
} from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = opt('root', join(dirname(fileURLToPath(import.meta.url)), '..'));
const steps = Number(opt('steps', 2000));
const seed = Number(opt('seed', 1));
const out = opt('out', join(root, 'packages/transformer/assets/tiny-gpt'));
const quiet = args.includes('--quiet');

// ---- data: characters, 90% train / 10% validation (the last tenth)
const text = readFileSync(join(root, 'packages/transformer/assets/corpus/fables.txt'), 'utf8');
const chars = [...new Set(text)].sort();
const index = new Map(chars.map((c, i) => [c, i]));
const ids = Int32Array.from(text, (c) => index.get(c));
const split = Math.floor(ids.length * 0.9);
const trainIds = ids.subarray(0, split);
const valIds = ids.subarray(split);

// ---- baselines on the validation text (nats per character), counts from the training text
const V = chars.length;
function unigramLoss(alpha = 1) {
  const counts = new Float64Array(V);
  for (const t of trainIds) counts[t]++;
  const total = trainIds.length + alpha * V;
  let nll = 0;
  for (const t of valIds) nll -= Math.log((counts[t] + alpha) / total);
  return nll / valIds.length;
}
function bigramLoss(alpha = 1) {
  const counts = new Float64Array(V * V);
  const rows = new Float64Array(V);
  for (let i = 1; i < trainIds.length; i++) {
    counts[trainIds[i - 1] * V + trainIds[i]]++;
    rows[trainIds[i - 1]]++;
  }
  let nll = 0;
  for (let i = 1; i < valIds.length; i++) {
    const a = valIds[i - 1];
    const b = valIds[i];
    nll -= Math.log((counts[a * V + b] + alpha) / (rows[a] + alpha * V));
  }
  return nll / (valIds.length - 1);
}
const baselines = {
  uniform: Math.log(V),
  unigramAdd1: unigramLoss(1),
  bigramAdd1: bigramLoss(1),
  bigramAdd01: bigramLoss(0.1),
};

// ---- model: GPT-2 layout, small
const blockSize = 96;
manualSeed(seed);
const model = new GPT2LMHeadModel({
  vocabSize: V,
  nPositions: blockSize,
  nEmbd: 96,
  nLayer: 3,
  nHead: 4,
  residPdrop: 0.1,
  embdPdrop: 0.1,
  attnPdrop: 0.1,
  bosTokenId: null,
  eosTokenId: null,
});
const settings = {
  seed,
  steps,
  batchSize: 12,
  blockSize,
  lr: 3e-3,
  warmupSteps: 50,
  weightDecay: 0.1,
  maxGradNorm: 1,
  schedule: 'cosine',
  betas: [0.9, 0.99],
};
if (!quiet) {
  console.error(
    `corpus ${text.length} chars, vocab ${V}, train ${trainIds.length}, val ${valIds.length}; model ${model.numParameters()} parameters`,
  );
  console.error(`baselines (nats/char): ${JSON.stringify(baselines)}`);
}
const result = await train(model, {
  batches: lmBatches(trainIds, { batchSize: settings.batchSize, blockSize, seed }),
  loss: causalLMLoss,
  maxSteps: steps,
  lr: settings.lr,
  warmupSteps: settings.warmupSteps,
  weightDecay: settings.weightDecay,
  maxGradNorm: settings.maxGradNorm,
  betas: settings.betas,
  evalBatches: lmEvalBatches(valIds, { batchSize: 12, blockSize }),
  evalEvery: Math.max(1, Math.floor(steps / 7)),
  progressBar: quiet ? null : process.stderr,
});

// ---- save
mkdirSync(out, { recursive: true });
await saveModel(model, out);
writeFileSync(join(out, 'vocab.json'), `${JSON.stringify({ type: 'char', chars }, null, 0)}\n`);
const prompt = 'THE FOX AND THE ';
const { sequences } = await generate(model, [Array.from(prompt, (c) => index.get(c))], {
  maxNewTokens: blockSize - prompt.length,
  doSample: true,
  temperature: 0.8,
  topK: 20,
  seed: 7,
});
const sample = sequences[0].map((i) => chars[i]).join('');
const report = {
  corpus: 'packages/transformer/assets/corpus/fables.txt',
  characters: text.length,
  vocabSize: V,
  parameters: model.numParameters(),
  settings,
  baselines,
  finalValidationLoss: result.finalEvalLoss,
  validationLosses: result.evalLosses,
  finalTrainingLoss: result.losses.at(-1),
  trainingSeconds: Math.round(result.elapsedMs / 1000),
  sample: { prompt, temperature: 0.8, topK: 20, seed: 7, text: sample },
};
writeFileSync(join(out, 'training.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `validation loss ${result.finalEvalLoss.toFixed(4)} nats/char (unigram ${baselines.unigramAdd1.toFixed(4)}, bigram ${baselines.bigramAdd1.toFixed(4)}) after ${steps} steps in ${report.trainingSeconds} s`,
);
console.log(sample);
