#!/usr/bin/env node
// Trains a tiny CLIP (@attnkit/transformer's CLIPModel) contrastively, seeded, on the CPU backend,
// on the shapes of @attnkit/diffusion's makeShapes (16×16 grey, 10 classes) paired with captions
// built from the class names ("a circle", "a drawing of a cross", ...), then measures its
// zero-shot accuracy on held-out images: each image is given the class whose prompt "a <class>"
// has the most similar text embedding (no classifier head is trained).
//
// Tokens: a word-level vocabulary of the caption words (the course's tiny stand-in for CLIP's BPE),
// <|startoftext|> words <|endoftext|>, padded with <|endoftext|> as Stable Diffusion pads.
// Each batch holds one image of each class, so the contrastive targets (the diagonal of
// logits_per_text, clipLoss) never pair an image with another image's identical caption.
//
//   pnpm --filter "@attnkit/diffusion..." build && node scripts/train-tiny-clip.mjs
//   node scripts/train-tiny-clip.mjs --steps 100 --out /tmp/tiny-clip     # a quick try
//
// Options: --steps N (default 1500), --seed S (1), --out DIR (a save_pretrained folder plus
// training.json; none by default), --quiet. Same seed and Node version → the same weights.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../packages/backend-cpu/dist/index.js';
import { makeShapes, SHAPE_CLASSES } from '../packages/diffusion/dist/index.js';
import {
  add,
  Generator,
  indexSelect,
  keep,
  manualSeed,
  mul,
  randn,
  tensor,
  tidy,
} from '../packages/tensor-core/dist/index.js';
import { AdamW, getCosineScheduleWithWarmup } from '../packages/tensor-core/dist/optim/index.js';
import { CLIPModel, clipLoss, loadPretrained, saveModel } from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const steps = Number(opt('steps', 1500));
const seed = Number(opt('seed', 1));
const out = opt('out', null);
const quiet = args.includes('--quiet');
const log = (...a) => {
  if (!quiet) console.log(...a);
};

// ---- captions and their word-level tokens
const TEMPLATES = ['a {}', 'a drawing of a {}', 'a picture of a {}', 'a small {}', 'a bright {}', 'the {}'];
const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';
const words = new Set();
for (const t of TEMPLATES) for (const w of t.split(' ')) if (w !== '{}') words.add(w);
const VOCAB = [BOS, EOS, ...words, ...SHAPE_CLASSES];
const ID = new Map(VOCAB.map((w, i) => [w, i]));
const LENGTH = Math.max(...TEMPLATES.map((t) => t.split(' ').length)) + 2;
const encode = (text) => {
  const ids = [ID.get(BOS), ...text.split(' ').map((w) => ID.get(w)), ID.get(EOS)];
  while (ids.length < LENGTH) ids.push(ID.get(EOS));
  return ids;
};
const caption = (template, label) => template.replace('{}', SHAPE_CLASSES[label]);

// ---- data: training and held-out images from different seeds
const SIZE = 16;
const K = SHAPE_CLASSES.length;
const train = makeShapes(5000, { generator: new Generator(seed * 1000 + 11), size: SIZE });
const heldOut = makeShapes(1000, { generator: new Generator(seed * 1000 + 12), size: SIZE });
const trainLabels = await train.labels.data();
const byClass = Array.from({ length: K }, () => []);
for (let i = 0; i < trainLabels.length; i++) byClass[trainLabels[i]].push(i);

// ---- model
manualSeed(seed * 1000 + 13);
const config = {
  projectionDim: 32,
  textConfig: {
    vocabSize: VOCAB.length,
    hiddenSize: 32,
    intermediateSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    maxPositionEmbeddings: LENGTH,
    bosTokenId: ID.get(BOS),
    eosTokenId: ID.get(EOS),
    padTokenId: ID.get(EOS),
  },
  visionConfig: {
    hiddenSize: 48,
    intermediateSize: 96,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numChannels: 1,
    imageSize: SIZE,
    patchSize: 4,
  },
};
const clip = new CLIPModel(config);
log(`tiny CLIP: ${clip.numParameters()} parameters, vocabulary ${VOCAB.length} words`);

// ---- contrastive training: batches of one image per class, each with a random caption
const rng = new Generator(seed * 1000 + 14);
const optimizer = new AdamW(clip.parameters(), { lr: 2e-3, weightDecay: 0.01 });
const schedule = getCosineScheduleWithWarmup(optimizer, 50, steps);
const t0 = performance.now();
clip.train();
for (let step = 0; step < steps; step++) {
  const loss = tidy(() => {
    const labels = Array.from({ length: K }, (_, k) => k);
    const idx = labels.map((k) => byClass[k][rng.randint(0, byClass[k].length)]);
    const texts = labels.map((k) => encode(caption(TEMPLATES[rng.randint(0, TEMPLATES.length)], k)));
    // light pixel noise, so that the tower does not hinge on perfectly clean renders
    const pixels = add(
      indexSelect(train.images, 0, tensor(Int32Array.from(idx), [K], 'int32')),
      mul(randn([K, 1, SIZE, SIZE], { generator: rng }), 0.1 * rng.uniform()),
    );
    const { logitsPerText } = clip.forward({
      inputIds: tensor(texts, undefined, 'int32'),
      pixelValues: pixels,
    });
    const l = clipLoss(logitsPerText);
    optimizer.zeroGrad();
    l.backward();
    optimizer.step();
    return keep(l.detach());
  });
  schedule.step();
  const v = await loss.item();
  loss.dispose();
  if (step % 100 === 0 || step === steps - 1) log(`step ${step} contrastive loss ${v.toFixed(4)}`);
}
clip.eval();
const seconds = (performance.now() - t0) / 1000;

// ---- zero-shot classification of held-out images by the prompts "a <class>"
async function zeroShot(model, images, labels) {
  const prompts = tensor(
    SHAPE_CLASSES.map((c) => encode(`a ${c}`)),
    undefined,
    'int32',
  );
  const n = images.shape[0];
  let correct = 0;
  const want = await labels.data();
  for (let start = 0; start < n; start += 200) {
    const count = Math.min(200, n - start);
    const batch = images.sliceDim(0, start, start + count);
    const out = model.forward({ inputIds: prompts, pixelValues: batch });
    const logits = await out.logitsPerImage.data(); // [count, K]
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
      if (best === want[start + i]) correct++;
    }
    for (const t of [out.logitsPerImage, out.logitsPerText, out.textEmbeds, out.imageEmbeds, batch])
      t.dispose();
    for (const t of Object.values(out.textModelOutput)) t.dispose();
    for (const t of Object.values(out.visionModelOutput)) t.dispose();
  }
  prompts.dispose();
  return correct / n;
}

let model = clip;
if (out) {
  // score the saved copy: what loadPretrained gives back
  mkdirSync(out, { recursive: true });
  await saveModel(clip, out);
  model = await loadPretrained(out);
}
const accuracy = await zeroShot(model, heldOut.images, heldOut.labels);
const trainAccuracy = await zeroShot(
  model,
  train.images.sliceDim(0, 0, 1000),
  train.labels.sliceDim(0, 0, 1000),
);
log(
  `${steps} steps in ${seconds.toFixed(0)} s; zero-shot accuracy ("a <class>", ${K} classes, chance ${(100 / K).toFixed(0)}%): ` +
    `held-out ${(100 * accuracy).toFixed(1)}% of ${heldOut.images.shape[0]}, training images ${(100 * trainAccuracy).toFixed(1)}%`,
);
if (out) {
  writeFileSync(
    join(out, 'training.json'),
    `${JSON.stringify(
      {
        script: 'scripts/train-tiny-clip.mjs',
        seed,
        steps,
        seconds: Math.round(seconds),
        node: process.version,
        vocabulary: VOCAB,
        templates: TEMPLATES,
        zeroShotPrompt: 'a {}',
        heldOutImages: heldOut.images.shape[0],
        heldOutZeroShotAccuracy: accuracy,
        trainZeroShotAccuracy: trainAccuracy,
      },
      null,
      2,
    )}\n`,
  );
}
