#!/usr/bin/env node
// Trains attnkit's embedded seq2seq companion: a tiny character-level T5 that writes numbers 0–999
// as English words ("342" → "three hundred forty-two"), seeded, on the CPU backend, and writes it to
// packages/transformer/assets/tiny-t5/ as a Hugging Face checkpoint (config.json,
// generation_config.json, model.safetensors) plus vocab.json and training.json (settings, losses,
// the held-out numbers and the exact-match accuracy of greedy decoding on them).
//
//   TURBO_CACHE_DIR=/work/.turbo-cache npx turbo run build --filter=@attnkit/transformer...
//   node scripts/train-tiny-t5.mjs [--steps 1500] [--seed 1] [--out <dir>]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../packages/backend-cpu/dist/index.js';
import { generate } from '../packages/sampling/dist/index.js';
import { Generator, manualSeed } from '../packages/tensor-core/dist/index.js';
import {
  collateSeq2Seq,
  exampleBatches,
  numberToWords,
  saveModel,
  seq2seqLoss,
  T5ForConditionalGeneration,
  TinyT5Tokenizer,
  train,
} from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = opt('out', join(root, 'packages/transformer/assets/tiny-t5'));
const seed = Number(opt('seed', 1));
const steps = Number(opt('steps', 1500));
const settings = {
  seed,
  steps,
  batchSize: 32,
  lr: 3e-3,
  warmupSteps: 50,
  weightDecay: 0.01,
  schedule: 'cosine',
};

// the task: 0..999 → words; 100 numbers held out (a seeded shuffle)
const numbers = Array.from({ length: 1000 }, (_, i) => i);
const g = new Generator(seed);
for (let i = numbers.length - 1; i > 0; i--) {
  const j = g.randint(0, i + 1);
  [numbers[i], numbers[j]] = [numbers[j], numbers[i]];
}
const heldOut = numbers.slice(0, 100).sort((a, b) => a - b);
const trainSet = numbers.slice(100);
const chars = [...new Set(numbers.flatMap((n) => [...String(n), ...numberToWords(n)]))].sort();
const tok = new TinyT5Tokenizer(chars);
const example = (n) => ({ input: tok.encode(String(n)), target: tok.encode(numberToWords(n)) });

manualSeed(seed);
const model = new T5ForConditionalGeneration({
  vocabSize: tok.vocabSize,
  dModel: 64,
  dKv: 16,
  dFf: 128,
  numLayers: 2,
  numDecoderLayers: 2,
  numHeads: 4,
  relativeAttentionNumBuckets: 16,
  relativeAttentionMaxDistance: 32,
  dropoutRate: 0,
  feedForwardProj: 'gated-gelu',
  tieWordEmbeddings: false,
  padTokenId: 0,
  eosTokenId: 1,
  decoderStartTokenId: 0,
});
const t0 = Date.now();
const result = await train(model, {
  batches: exampleBatches(trainSet, settings.batchSize, (rows) => collateSeq2Seq(rows.map(example), 0, 0), {
    seed,
  }),
  loss: seq2seqLoss,
  maxSteps: steps,
  lr: settings.lr,
  warmupSteps: settings.warmupSteps,
  weightDecay: settings.weightDecay,
  onProgress: (p) => {
    if (p.step % 100 === 0) console.log(`step ${p.step} loss ${p.loss.toFixed(4)}`);
  },
});
model.eval();
model.generationConfig = { decoderStartTokenId: 0, eosTokenId: 1, padTokenId: 0, maxNewTokens: 40 };
const { sequences } = await generate(
  model,
  heldOut.map((n) => tok.encode(String(n))),
  {},
);
const decoded = sequences.map((s) => tok.decode(s));
const exact = decoded.filter((d, i) => d === numberToWords(heldOut[i])).length / heldOut.length;
console.log(`held-out exact match ${exact} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
mkdirSync(out, { recursive: true });
await saveModel(model, out);
writeFileSync(join(out, 'vocab.json'), `${JSON.stringify({ type: 'char', pad: 0, eos: 1, chars })}\n`);
// each tensor once (the state dict lists the shared embedding under shared., encoder. and decoder.)
const parameters = model.numParameters();
const report = {
  task: 'an integer 0-999 in English words (numberToWords)',
  parameters,
  settings,
  losses: result.losses.filter((_, i) => i % 50 === 0 || i === result.losses.length - 1),
  heldOut,
  heldOutExactMatch: exact,
  mistakes: decoded.map((d, i) => [heldOut[i], d]).filter(([n, d]) => d !== numberToWords(n)),
};
writeFileSync(join(out, 'training.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote', out);
