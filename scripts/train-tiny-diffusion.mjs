#!/usr/bin/env node
// Trains attnkit's embedded default diffusion model and its judge, seeded, on the CPU backend:
//   1. a shape classifier (ShapeClassifier, a small CNN) on makeShapes images (16×16, 10 classes),
//   2. a class-conditional UNet2DModel with trainDenoiser (x0 ("sample") objective, cosine β schedule, EMA),
// then samples 100 class-conditioned images with DDIM and counts how many the classifier recognises.
// Writes packages/diffusion/assets/tiny-shapes/ in diffusers' pipeline layout:
//   model_index.json, unet/{config.json, diffusion_pytorch_model.safetensors (float16)},
//   scheduler/scheduler_config.json, classifier/{config.json, model.safetensors}, training.json
//
//   pnpm --filter "@attnkit/diffusion..." build && node scripts/train-tiny-diffusion.mjs   # the committed model
//   node scripts/train-tiny-diffusion.mjs --steps 50 --clf-steps 50 --out /tmp/tiny      # a quick try
//
// Options: --steps N (diffusion steps, default 420), --clf-steps N (600), --seed S (1), --out DIR, --quiet.
// Same seed and Node version → the same weights (every random draw comes from seeded Generators).
import { mkdirSync, writeFileSync } from 'node:fs';
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
  crossEntropy,
  Generator,
  indexSelect,
  keep,
  manualSeed,
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
const out = opt('out', join(root, 'packages/diffusion/assets/tiny-shapes'));
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

// ---- 1. classifier
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
const clfSeconds = secondsSince(t0);
mkdirSync(join(out, 'classifier'), { recursive: true });
writeFileSync(join(out, 'classifier/config.json'), `${JSON.stringify(clfConfig, null, 2)}\n`);
await saveSafetensors(join(out, 'classifier/model.safetensors'), clf.stateDict(), { format: 'pt' });
clf.dispose();

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
  num_class_embeds: SHAPE_CLASSES.length,
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
const scheduler = DDPMScheduler.fromConfig(schedulerConfig);
const t1 = performance.now();
const { losses, ema } = await trainDenoiser({
  model: unet,
  scheduler,
  data: train.images,
  labels: train.labels,
  steps,
  batchSize: 32,
  lr: 2e-3,
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
const t2 = performance.now();
const { sample } = await pipe.generate({
  classLabels: wanted,
  numInferenceSteps: 25,
  generator: new Generator(seed * 1000 + 7),
});
const sampleSeconds = secondsSince(t2);
const recognised = await accuracy(sample, tensor(Int32Array.from(wanted), [100], 'int32'));
sample.dispose();
log(
  `generated: ${(100 * recognised).toFixed(0)}% of 100 DDIM-25 samples recognised as their class (${sampleSeconds.toFixed(1)} s)`,
);

const every = (a, k) =>
  Array.from({ length: Math.ceil(a.length / k) }, (_, i) => mean(a.slice(i * k, (i + 1) * k)));
writeFileSync(
  join(out, 'training.json'),
  `${JSON.stringify(
    {
      command: 'node scripts/train-tiny-diffusion.mjs',
      seed,
      node: process.version,
      data: { train: nTrain, heldOut: heldOut.images.shape[0], size: SIZE, classes: SHAPE_CLASSES },
      classifier: {
        steps: clfSteps,
        batchSize: 64,
        seconds: Math.round(clfSeconds),
        heldOutAccuracy: clfHeldOut,
      },
      unet: {
        steps,
        batchSize: 32,
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
      },
    },
    null,
    2,
  )}\n`,
);
