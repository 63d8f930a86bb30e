#!/usr/bin/env node
// Trains attnkit's embedded default diffusion model and its judge, seeded, on the CPU backend:
//   1. a shape classifier (ShapeClassifier, a small CNN) on makeShapes images (16×16, 10 classes),
//   2. a class-conditional UNet2DModel with trainDenoiser (x0 ("sample") objective, cosine β schedule, EMA)
//      and class dropout: 10% of the labels are replaced by the null class (the 11th embedding row,
//      `null_class_index` in unet/config.json), so the model also predicts unconditionally and
//      classifier-free guidance works (Ho and Salimans 2022),
// then samples 100 class-conditioned images with DDIM, unguided and guided, and counts how many the
// classifier recognises.
// Writes packages/diffusion/assets/tiny-shapes/ in diffusers' pipeline layout:
//   model_index.json, unet/{config.json, diffusion_pytorch_model.safetensors (float16)},
//   scheduler/scheduler_config.json, classifier/{config.json, model.safetensors}, training.json
//
//   pnpm --filter "@attnkit/diffusion..." build && node scripts/train-tiny-diffusion.mjs   # the committed model
//   node scripts/train-tiny-diffusion.mjs --steps 50 --clf-steps 50 --out /tmp/tiny      # a quick try
//
// Options: --steps N (diffusion steps, default 420), --clf-steps N (600), --seed S (1),
//          --p-uncond P (class dropout, 0.1), --lr LR (2e-3), --out DIR, --quiet,
//          --init-from DIR: continue from the U-Net of an earlier tiny-shapes folder instead of training
//          from scratch (its class rows are kept, a missing null row starts as their mean) and keep
//          that folder's classifier instead of training one (the committed model was made this way:
//          see training.json's `command`).
// Same seed and Node version → the same weights (every random draw comes from seeded Generators).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../packages/backend-cpu/dist/index.js';
import {
  ClassConditionalPipeline,
  DDIMScheduler,
  DDPMScheduler,
  loadShapeClassifier,
  loadTinyShapesModel,
  makeShapes,
  SHAPE_CLASSES,
  ShapeClassifier,
  trainDenoiser,
  UNet2DModel,
} from '../packages/diffusion/dist/index.js';
import {
  add,
  concat,
  crossEntropy,
  Generator,
  indexSelect,
  keep,
  manualSeed,
  mean as meanOf,
  mul,
  randn,
  tensor,
  tidy,
} from '../packages/tensor-core/dist/index.js';
import { saveSafetensors } from '../packages/tensor-core/dist/io/index.js';
import { AdamW, getCosineScheduleWithWarmup } from '../packages/tensor-core/dist/optim/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const steps = Number(opt('steps', 420));
const clfSteps = Number(opt('clf-steps', 600));
const seed = Number(opt('seed', 1));
const pUncond = Number(opt('p-uncond', 0.1));
const lr = Number(opt('lr', 2e-3));
const initFrom = opt('init-from', undefined);
const out = opt('out', join(root, 'packages/diffusion/assets/tiny-shapes'));
const command = `node scripts/train-tiny-diffusion.mjs${args
  .filter((a) => a !== '--quiet')
  .map((a) => ` ${a}`)
  .join('')}`;
const quiet = args.includes('--quiet');
const log = (...a) => {
  if (!quiet) console.log(...a);
};
const secondsSince = (t0) => (performance.now() - t0) / 1000;
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;

// ---- data: one training set for both models, a held-out set from another seed for the classifier
const SIZE = 16;
const train = makeShapes(6000, { generator: new Generator(seed * 1000 + 1), size: SIZE });
const heldOut = makeShapes(1000, { generator: new Generator(seed * 1000 + 2), size: SIZE });
const nTrain = train.images.shape[0];

// ---- 1. classifier (or the earlier folder's, with --init-from)
let clfSeconds = 0;
let previous = null;
if (initFrom) {
  previous = JSON.parse(readFileSync(join(initFrom, 'training.json'), 'utf8'));
  clfSeconds = previous.classifier.seconds;
  mkdirSync(join(out, 'classifier'), { recursive: true });
  for (const f of ['classifier/config.json', 'classifier/model.safetensors']) {
    if (join(initFrom, f) !== join(out, f)) copyFileSync(join(initFrom, f), join(out, f));
  }
} else {
  manualSeed(seed * 1000 + 3);
  const clfConfig = {
    inChannels: 1,
    sampleSize: SIZE,
    channels: [16, 32],
    hiddenSize: 64,
    numClasses: SHAPE_CLASSES.length,
    id2label: Object.fromEntries(SHAPE_CLASSES.map((c, i) => [String(i), c])),
  };
  const clf = new ShapeClassifier(clfConfig);
  const clfRng = new Generator(seed * 1000 + 4);
  const clfOpt = new AdamW(clf.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
  const clfSched = getCosineScheduleWithWarmup(clfOpt, 20, clfSteps);
  const t0 = performance.now();
  clf.train();
  for (let step = 0; step < clfSteps; step++) {
    const loss = tidy(() => {
      const idx = Int32Array.from({ length: 64 }, () => clfRng.randint(0, nTrain));
      const it = tensor(idx, [64], 'int32');
      // Light Gaussian pixel noise (σ up to 0.15) so the judge does not hinge on perfectly clean renders.
      const sigma = 0.15 * clfRng.uniform();
      const x = add(
        indexSelect(train.images, 0, it),
        mul(randn([64, 1, SIZE, SIZE], { generator: clfRng }), sigma),
      );
      const l = crossEntropy(clf.forward(x), indexSelect(train.labels, 0, it));
      clfOpt.zeroGrad();
      l.backward();
      clfOpt.step();
      return keep(l.detach());
    });
    clfSched.step();
    const v = await loss.item();
    loss.dispose();
    if (step % 100 === 0 || step === clfSteps - 1) log(`classifier step ${step} loss ${v.toFixed(4)}`);
  }
  clf.eval();
  clfSeconds = secondsSince(t0);
  mkdirSync(join(out, 'classifier'), { recursive: true });
  writeFileSync(join(out, 'classifier/config.json'), `${JSON.stringify(clfConfig, null, 2)}\n`);
  await saveSafetensors(join(out, 'classifier/model.safetensors'), clf.stateDict(), { format: 'pt' });
  clf.dispose();
}

// Score the saved copy, exactly what loadShapeClassifier returns.
const judge = await loadShapeClassifier({ baseUrl: out });
const accuracy = async (images, labels) => {
  const pred = await judge.predict(images);
  const want = await labels.data();
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === want[i]) ok++;
  return ok / pred.length;
};
const clfHeldOut = await accuracy(heldOut.images, heldOut.labels);
log(
  `classifier: ${clfSteps} steps in ${clfSeconds.toFixed(0)} s, held-out accuracy ${(100 * clfHeldOut).toFixed(1)}%`,
);

// ---- 2. class-conditional U-Net
manualSeed(seed * 1000 + 5);
const unetConfig = {
  _class_name: 'UNet2DModel',
  sample_size: SIZE,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [16, 32, 64],
  down_block_types: ['DownBlock2D', 'DownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'UpBlock2D', 'UpBlock2D'],
  layers_per_block: 1,
  add_attention: false,
  norm_num_groups: 8,
  // one row per class plus the null class (the last row), which class dropout trains
  num_class_embeds: SHAPE_CLASSES.length + 1,
  null_class_index: SHAPE_CLASSES.length,
};
const schedulerConfig = {
  _class_name: 'DDPMScheduler',
  num_train_timesteps: 1000,
  beta_schedule: 'squaredcos_cap_v2',
  prediction_type: 'sample',
  clip_sample: true,
  timestep_spacing: 'trailing',
};
const unet = new UNet2DModel(unetConfig);
if (initFrom) {
  // the earlier U-Net's weights; its class rows stay, the null row (if new) starts as their mean
  const old = await UNet2DModel.fromPretrained(join(initFrom, 'unet'));
  const rows = old.config.numClassEmbeds;
  const state = { ...old.stateDict() };
  if (rows === SHAPE_CLASSES.length) {
    const w = state['class_embedding.weight'];
    state['class_embedding.weight'] = concat([w, meanOf(w, 0, true)], 0);
  }
  unet.loadStateDict(state);
  old.dispose();
  log(`continuing from ${initFrom}/unet (${rows} class rows)`);
}
const scheduler = DDPMScheduler.fromConfig(schedulerConfig);
const t1 = performance.now();
const { losses, ema } = await trainDenoiser({
  model: unet,
  scheduler,
  data: train.images,
  labels: train.labels,
  labelDropout: pUncond,
  nullLabel: unetConfig.null_class_index,
  steps,
  batchSize: 32,
  lr,
  lrSchedule: 'cosine',
  lrWarmupSteps: 20,
  maxGradNorm: 1,
  ema: { decay: 0.99 },
  generator: new Generator(seed * 1000 + 6),
  onStep: ({ step, loss }) => {
    if (step % 20 === 0 || step === steps - 1)
      log(`unet step ${step} loss ${loss.toFixed(4)} (${secondsSince(t1).toFixed(0)} s)`);
  },
});
const unetSeconds = secondsSince(t1);
ema?.copyTo(unet.parameters());
ema?.dispose();
const state = unet.stateDict();
mkdirSync(join(out, 'unet'), { recursive: true });
mkdirSync(join(out, 'scheduler'), { recursive: true });
writeFileSync(join(out, 'unet/config.json'), `${JSON.stringify(unetConfig, null, 2)}\n`);
await saveSafetensors(
  join(out, 'unet/diffusion_pytorch_model.safetensors'),
  state,
  { format: 'pt' },
  { dtypes: Object.fromEntries(Object.keys(state).map((k) => [k, 'F16'])) },
);
writeFileSync(join(out, 'scheduler/scheduler_config.json'), `${JSON.stringify(schedulerConfig, null, 2)}\n`);
writeFileSync(
  join(out, 'model_index.json'),
  `${JSON.stringify(
    {
      _class_name: 'DDPMPipeline',
      scheduler: ['diffusers', 'DDPMScheduler'],
      unet: ['diffusers', 'UNet2DModel'],
    },
    null,
    2,
  )}\n`,
);
const nParams = Object.values(state).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
unet.dispose();

// ---- 3. sample the saved (float16) model and let the classifier judge
const loaded = await loadTinyShapesModel({ baseUrl: out });
const pipe = new ClassConditionalPipeline(loaded.unet, DDIMScheduler.fromConfig(loaded.scheduler.toJSON()));
const wanted = Array.from({ length: 100 }, (_, i) => i % SHAPE_CLASSES.length);
const wantedTensor = tensor(Int32Array.from(wanted), [100], 'int32');
// The same 100 starting noises at every guidance scale (guidanceScale 1: no guidance).
const GUIDANCE_SCALES = [1, 3];
const evaluation = {};
let sampleSeconds = 0;
for (const guidanceScale of GUIDANCE_SCALES) {
  const t2 = performance.now();
  const { sample } = await pipe.generate({
    classLabels: wanted,
    numInferenceSteps: 25,
    guidanceScale,
    generator: new Generator(seed * 1000 + 7),
  });
  if (guidanceScale === 1) sampleSeconds = secondsSince(t2);
  evaluation[guidanceScale] = await accuracy(sample, wantedTensor);
  sample.dispose();
  log(
    `generated: ${(100 * evaluation[guidanceScale]).toFixed(0)}% of 100 DDIM-25 samples at guidance scale ${guidanceScale} recognised as their class (${secondsSince(t2).toFixed(1)} s)`,
  );
}
const recognised = evaluation[1];

const every = (a, k) =>
  Array.from({ length: Math.ceil(a.length / k) }, (_, i) => mean(a.slice(i * k, (i + 1) * k)));
writeFileSync(
  join(out, 'training.json'),
  `${JSON.stringify(
    {
      command,
      ...(previous ? { continuedFrom: { command: previous.command, unet: previous.unet } } : {}),
      seed,
      node: process.version,
      data: { train: nTrain, heldOut: heldOut.images.shape[0], size: SIZE, classes: SHAPE_CLASSES },
      classifier: {
        steps: previous ? previous.classifier.steps : clfSteps,
        batchSize: 64,
        seconds: Math.round(clfSeconds),
        heldOutAccuracy: clfHeldOut,
      },
      unet: {
        steps,
        batchSize: 32,
        lr,
        classDropout: pUncond,
        nullClassIndex: unetConfig.null_class_index,
        seconds: Math.round(unetSeconds),
        parameters: nParams,
        lossFirst20: mean(losses.slice(0, 20)),
        lossLast50: mean(losses.slice(-50)),
        lossPer20Steps: every(losses, 20).map((v) => Number(v.toFixed(4))),
      },
      evaluation: {
        samples: 100,
        scheduler: 'DDIMScheduler (from the DDPM config), 25 steps, eta 0',
        recognisedByClassifier: recognised,
        seconds: Number(sampleSeconds.toFixed(1)),
        guided: GUIDANCE_SCALES.slice(1).map((guidanceScale) => ({
          guidanceScale,
          recognisedByClassifier: evaluation[guidanceScale],
        })),
      },
    },
    null,
    2,
  )}\n`,
);
