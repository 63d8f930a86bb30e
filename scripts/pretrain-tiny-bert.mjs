#!/usr/bin/env node
// Masked-language pretraining end to end, at toy scale, seeded, on the CPU backend:
//   1. learn a byte-level BPE vocabulary (trainBPE) on the training paragraphs of the fables corpus
//      (packages/transformer/assets/corpus/fables.txt; the last tenth of the paragraphs is held out),
//   2. cut the encoded paragraphs into windows [CLS] ... [SEP] that keep each token's word id,
//   3. pre-train a tiny BertForMaskedLM with mlmCollator and maskedLMLoss: BERT's 80/10/10 token
//      masking with every fourth batch whole-word masked ('mixed', the default), or one of the two,
//   4. measure masked-token accuracy on the held-out windows (four masking draws), under both
//      maskings, against the unigram baseline: always the most frequent training token.
//
//   pnpm build && node scripts/pretrain-tiny-bert.mjs
//   node scripts/pretrain-tiny-bert.mjs --steps 300 --masking token --out /tmp/bert
//
// Options: --steps N (1500), --seed S (1), --vocab V (280), --masking mixed|token|whole-word,
// --out DIR (save the model, tokenizer.json and pretraining.json), --root REPO, --quiet.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../packages/backend-cpu/dist/index.js';
import { manualSeed, noGrad, tensor, tidy } from '../packages/tensor-core/dist/index.js';
import { trainBPE } from '../packages/tokenizer/dist/index.js';
import {
  BertForMaskedLM,
  exampleBatches,
  maskedLMLoss,
  mlmCollator,
  saveModel,
  train,
} from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = opt('root', join(dirname(fileURLToPath(import.meta.url)), '..'));
const steps = Number(opt('steps', 1500));
const seed = Number(opt('seed', 1));
const vocabSize = Number(opt('vocab', 280));
const masking = opt('masking', 'mixed');
const out = opt('out', null);
const quiet = args.includes('--quiet');
if (!['mixed', 'token', 'whole-word'].includes(masking)) {
  console.error(`pretrain-tiny-bert: --masking must be 'mixed', 'token' or 'whole-word', got '${masking}'`);
  process.exit(2);
}
const log = (s) => {
  if (!quiet) console.error(s);
};

// ---- 1. data and tokenizer: paragraphs, the last tenth held out; BPE learnt on the rest only
const corpusPath = 'packages/transformer/assets/corpus/fables.txt';
const text = readFileSync(join(root, corpusPath), 'utf8');
const paragraphs = text
  .split(/\n\s*\n/)
  .map((p) => p.replace(/\s+/g, ' ').trim())
  .filter((p) => p.length > 0);
const split = Math.floor(paragraphs.length * 0.9);
const trainParas = paragraphs.slice(0, split);
const heldParas = paragraphs.slice(split);
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const bpe = trainBPE(trainParas, { vocabSize, specialTokens: SPECIALS });
const { tokenizer } = bpe;
const [PAD, , CLS, SEP, MASK] = SPECIALS.map((t) => tokenizer.tokenToId(t));
const V = tokenizer.getVocabSize();

// ---- 2. windows of at most `seqLen` tokens: [CLS] tokens [SEP], with word ids for whole-word masking
const seqLen = 32;
function windows(paras) {
  const rows = [];
  for (const p of paras) {
    const enc = tokenizer.encode(p);
    for (let s = 0; s < enc.ids.length; s += seqLen - 2) {
      const ids = enc.ids.slice(s, s + seqLen - 2);
      const words = enc.wordIds.slice(s, s + seqLen - 2);
      rows.push({
        ids: [CLS, ...ids, SEP],
        wordIds: [null, ...words, null],
        specialTokensMask: [1, ...ids.map(() => 0), 1],
      });
    }
  }
  return rows;
}
const trainRows = windows(trainParas);
const heldRows = windows(heldParas);

// ---- the unigram baseline: the most frequent (non-special) training token
const counts = new Map();
for (const r of trainRows) for (const id of r.ids.slice(1, -1)) counts.set(id, (counts.get(id) ?? 0) + 1);
const [mostFrequent] = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));

// ---- 3. model and pretraining
manualSeed(seed);
const model = new BertForMaskedLM({
  vocabSize: V,
  hiddenSize: 64,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 256,
  maxPositionEmbeddings: seqLen,
  typeVocabSize: 1,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
  padTokenId: PAD,
});
const collatorOptions = {
  maskTokenId: MASK,
  vocabSize: V,
  specialTokenIds: [PAD, CLS, SEP],
  padTokenId: PAD,
  seed,
};
const settings = {
  seed,
  steps,
  batchSize: 32,
  seqLen,
  masking,
  mlmProbability: 0.15,
  lr: 3e-3,
  warmupSteps: 20,
  weightDecay: 0.01,
  schedule: 'linear',
  model: { hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 256 },
};
const tokenBatches = exampleBatches(trainRows, settings.batchSize, mlmCollator(collatorOptions), { seed });
const wordBatches = exampleBatches(
  trainRows,
  settings.batchSize,
  mlmCollator({ ...collatorOptions, wholeWordMask: true, seed: seed + 1 }),
  { seed: seed + 1 },
);
log(
  `corpus ${paragraphs.length} paragraphs (${trainParas.length} train, ${heldParas.length} held out); BPE vocab ${V}; ${trainRows.length} train / ${heldRows.length} held-out windows; model ${model.numParameters()} parameters`,
);
const result = await train(model, {
  batches: (step) =>
    (masking === 'whole-word' || (masking === 'mixed' && step % 4 === 3) ? wordBatches : tokenBatches)(step),
  loss: maskedLMLoss,
  maxSteps: steps,
  lr: settings.lr,
  warmupSteps: settings.warmupSteps,
  weightDecay: settings.weightDecay,
  schedule: 'linear',
  progressBar: quiet ? null : process.stderr,
});

// ---- 4. held-out masked-token accuracy (a fixed masking draw), and the baseline on the same draw
function heldOutAccuracy(wholeWordMask) {
  let total = 0;
  let correct = 0;
  let baseline = 0;
  for (let draw = 0; draw < 4; draw++) {
    const collate = mlmCollator({ ...collatorOptions, wholeWordMask, seed: 100 + draw });
    for (let i = 0; i < heldRows.length; i += 32) {
      const a = collate.arrays(heldRows.slice(i, i + 32));
      const [B, L] = a.shape;
      const logits = tidy(() =>
        noGrad(() => {
          const inputIds = tensor(a.inputIds, a.shape, 'int32');
          const attentionMask = tensor(a.attentionMask, a.shape, 'int32');
          return model.forward({ inputIds, attentionMask }).logits.dataSync();
        }),
      );
      for (let p = 0; p < B * L; p++) {
        const label = a.labels[p];
        if (label === -100) continue;
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[p * V + v] > logits[p * V + best]) best = v;
        total++;
        if (best === label) correct++;
        if (label === mostFrequent) baseline++;
      }
    }
  }
  return { maskedTokens: total, accuracy: correct / total, unigramBaseline: baseline / total };
}
model.eval();
const evalWholeWord = heldOutAccuracy(true);
const evalToken = heldOutAccuracy(false);

const report = {
  corpus: corpusPath,
  tokenizer: { type: 'byte-level BPE (trainBPE)', vocabSize: V, specialTokens: SPECIALS },
  windows: { train: trainRows.length, heldOut: heldRows.length },
  parameters: model.numParameters(),
  settings,
  mostFrequentToken: tokenizer.decode([mostFrequent]),
  finalTrainingLoss: result.losses.slice(-20).reduce((s, v) => s + v, 0) / Math.min(20, result.losses.length),
  heldOut: { wholeWordMasking: evalWholeWord, tokenMasking: evalToken },
  trainingSeconds: Math.round(result.elapsedMs / 1000),
};
const pct = (v) => `${(100 * v).toFixed(1)}%`;
console.log(
  `pretrained ${report.parameters} parameters for ${steps} steps (${masking} masking) in ${report.trainingSeconds} s; final training loss ${report.finalTrainingLoss.toFixed(3)}`,
);
for (const [name, e] of [
  ['whole-word masking', evalWholeWord],
  ['token masking (80/10/10)', evalToken],
]) {
  console.log(
    `held-out ${name}: accuracy ${pct(e.accuracy)} over ${e.maskedTokens} masked tokens; unigram baseline (always ${JSON.stringify(report.mostFrequentToken)}) ${pct(e.unigramBaseline)}`,
  );
}
if (out) {
  mkdirSync(out, { recursive: true });
  await saveModel(model, out);
  writeFileSync(join(out, 'tokenizer.json'), bpe.toJSON());
  writeFileSync(join(out, 'pretraining.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);
}
