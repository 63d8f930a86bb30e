#!/usr/bin/env node
// The way out to PyTorch, step 1 of 2: writes one saveModel folder per model family attnkit
// implements (seeded weights), plus a GPT-2 and a Mixtral trained for a few steps with train(), to
// packages/transformer/test/fixtures/export-<name>/ with the inputs to run (meta.json + .i32/.f32
// arrays). Step 2, scripts/export_refs.py, loads each folder with transformers' from_pretrained and
// records transformers' outputs beside them; test/export.test.ts checks that attnkit's outputs equal
// them within 1e-4 and that saveModel still writes these files.
//
//   TURBO_CACHE_DIR=/work/.turbo-cache npx turbo run build --filter=@attnkit/transformer...
//   node packages/transformer/scripts/export_models.mjs
//   /work/venv-ref/bin/python packages/transformer/scripts/export_refs.py
//
// attnkit's encoder-decoder (model_type attnkit-encoder-decoder) has no transformers class and is left out.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../backend-cpu/dist/index.js';
import { Generator, manualSeed, tensor } from '../../tensor-core/dist/index.js';
import {
  BartForConditionalGeneration,
  BertForMaskedLM,
  BertModel,
  CLIPTextModel,
  causalLMLoss,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  lmBatches,
  MistralForCausalLM,
  MixtralForCausalLM,
  Qwen2ForCausalLM,
  saveModel,
  T5EncoderModel,
  T5ForConditionalGeneration,
  train,
  ViTForImageClassification,
  ViTModel,
  WhisperForConditionalGeneration,
} from '../dist/index.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');

/** Replaces every parameter with seeded values large enough for distinct logits (norm scales near 1). */
function randomize(model, seed) {
  const g = new Generator(seed);
  const state = model.stateDict();
  const next = {};
  for (const [name, t] of Object.entries(state)) {
    const v = new Float32Array(t.size);
    const norm = /(norm|LayerNorm|ln_\d|ln_f|layernorm[a-z_]*|layer_norm\d?)\.weight$/.test(name);
    for (let i = 0; i < v.length; i++)
      v[i] = norm ? 1 + 0.1 * g.normal() : (name.endsWith('bias') ? 0.1 : 0.2) * g.normal();
    next[name] = tensor(v, t.shape);
  }
  model.loadStateDict(next);
  for (const t of Object.values(next)) t.dispose();
  return model;
}

function ids(seed, batch, len, vocab) {
  const g = new Generator(seed);
  return Array.from({ length: batch }, () =>
    Array.from({ length: len }, () => 1 + (g.nextUint32() % (vocab - 1))),
  );
}

function writeArray(dir, name, values, shape, int) {
  const data = int ? Int32Array.from(values) : Float32Array.from(values);
  writeFileSync(join(dir, `${name}.${int ? 'i32' : 'f32'}`), new Uint8Array(data.buffer));
  return { file: `${name}.${int ? 'i32' : 'f32'}`, shape };
}

async function write(name, family, model, inputs) {
  const dir = join(OUT, `export-${name}`);
  rmSync(dir, { recursive: true, force: true });
  await saveModel(model.eval(), dir);
  const meta = { model: 'export', family, architecture: model.architecture };
  if (inputs.ids)
    meta.input_ids = writeArray(
      dir,
      'input_ids',
      inputs.ids.flat(),
      [inputs.ids.length, inputs.ids[0].length],
      true,
    );
  if (inputs.decoderIds)
    meta.decoder_input_ids = writeArray(
      dir,
      'decoder_input_ids',
      inputs.decoderIds.flat(),
      [inputs.decoderIds.length, inputs.decoderIds[0].length],
      true,
    );
  if (inputs.pixels)
    meta.pixel_values = writeArray(dir, 'pixel_values', inputs.pixels.values, inputs.pixels.shape, false);
  if (inputs.features)
    meta.input_features = writeArray(
      dir,
      'input_features',
      inputs.features.values,
      inputs.features.shape,
      false,
    );
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
  model.dispose();
  console.log('wrote', dir);
}

function pixels(seed, shape) {
  const g = new Generator(seed);
  return { values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal()), shape };
}

const V = 64;
const lm = {
  vocabSize: V,
  hiddenSize: 32,
  intermediateSize: 48,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
};
manualSeed(1);
await write(
  'gpt2',
  'causal-lm',
  randomize(new GPT2LMHeadModel({ vocabSize: V, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 }), 1),
  { ids: ids(1, 2, 9, V) },
);
await write(
  'llama-yarn',
  'causal-lm',
  randomize(
    new LlamaForCausalLM({
      ...lm,
      maxPositionEmbeddings: 64,
      ropeParameters: {
        rope_type: 'yarn',
        rope_theta: 10000,
        factor: 4,
        original_max_position_embeddings: 16,
      },
    }),
    2,
  ),
  { ids: ids(2, 2, 9, V) },
);
await write(
  'mistral',
  'causal-lm',
  randomize(new MistralForCausalLM({ ...lm, slidingWindow: 4, maxPositionEmbeddings: 64 }), 3),
  { ids: ids(3, 2, 11, V) },
);
await write(
  'mixtral',
  'causal-lm',
  randomize(
    new MixtralForCausalLM({
      ...lm,
      intermediateSize: 24,
      numLocalExperts: 4,
      numExpertsPerTok: 2,
      maxPositionEmbeddings: 64,
    }),
    4,
  ),
  { ids: ids(4, 2, 9, V) },
);
await write(
  'qwen2',
  'causal-lm',
  randomize(new Qwen2ForCausalLM({ ...lm, tieWordEmbeddings: true, maxPositionEmbeddings: 64 }), 5),
  { ids: ids(5, 2, 9, V) },
);
const bert = {
  vocabSize: V,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 48,
  maxPositionEmbeddings: 32,
};
await write('bert', 'bert', randomize(new BertModel(bert), 6), { ids: ids(6, 2, 8, V) });
await write('bert-mlm', 'bert-mlm', randomize(new BertForMaskedLM(bert), 7), { ids: ids(7, 2, 8, V) });
const vit = {
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 48,
  imageSize: 16,
  patchSize: 4,
};
await write(
  'vit',
  'vit-classification',
  randomize(new ViTForImageClassification({ ...vit, id2label: { 0: 'a', 1: 'b', 2: 'c' } }), 8),
  {
    pixels: pixels(8, [2, 3, 16, 16]),
  },
);
await write('vit-model', 'vit-model', randomize(new ViTModel(vit), 9), { pixels: pixels(9, [2, 3, 16, 16]) });
await write(
  'clip-text',
  'clip-text',
  randomize(
    new CLIPTextModel({
      vocabSize: V,
      hiddenSize: 32,
      intermediateSize: 48,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      maxPositionEmbeddings: 16,
      eosTokenId: V - 1,
    }),
    10,
  ),
  { ids: ids(10, 2, 8, V - 1).map((r) => [...r, V - 1]) },
);
const t5 = {
  vocabSize: V,
  dModel: 32,
  dKv: 8,
  dFf: 48,
  numLayers: 2,
  numDecoderLayers: 2,
  numHeads: 4,
  relativeAttentionNumBuckets: 8,
  relativeAttentionMaxDistance: 16,
};
await write('t5', 't5', randomize(new T5ForConditionalGeneration({ ...t5, feedForwardProj: 'relu' }), 13), {
  ids: ids(13, 2, 9, V),
  decoderIds: ids(14, 2, 5, V).map((r) => [0, ...r.slice(1)]),
});
await write(
  't5-gated-untied',
  't5',
  randomize(
    new T5ForConditionalGeneration({ ...t5, feedForwardProj: 'gated-gelu', tieWordEmbeddings: false }),
    15,
  ),
  { ids: ids(15, 2, 9, V), decoderIds: ids(16, 2, 5, V).map((r) => [0, ...r.slice(1)]) },
);
await write(
  't5-encoder',
  't5-encoder',
  randomize(new T5EncoderModel({ ...t5, feedForwardProj: 'gated-gelu' }), 17),
  { ids: ids(17, 2, 9, V) },
);

await write(
  'bart',
  'bart',
  randomize(
    new BartForConditionalGeneration({
      vocabSize: V,
      dModel: 32,
      encoderLayers: 2,
      decoderLayers: 2,
      encoderAttentionHeads: 4,
      decoderAttentionHeads: 4,
      encoderFfnDim: 48,
      decoderFfnDim: 48,
      maxPositionEmbeddings: 16,
      scaleEmbedding: true,
    }),
    19,
  ),
  { ids: ids(19, 2, 9, V), decoderIds: ids(20, 2, 5, V).map((r) => [2, ...r.slice(1)]) },
);

await write(
  'whisper',
  'whisper',
  randomize(
    new WhisperForConditionalGeneration({
      vocabSize: V,
      numMelBins: 16,
      encoderLayers: 2,
      decoderLayers: 2,
      encoderAttentionHeads: 4,
      decoderAttentionHeads: 4,
      encoderFfnDim: 48,
      decoderFfnDim: 48,
      dModel: 32,
      maxSourcePositions: 15,
      maxTargetPositions: 16,
      padTokenId: 60,
      bosTokenId: 60,
      eosTokenId: 60,
      decoderStartTokenId: 61,
    }),
    21,
  ),
  { features: pixels(22, [2, 16, 30]), decoderIds: ids(23, 2, 5, V).map((r) => [61, ...r.slice(1)]) },
);

// models trained in JavaScript, continued in PyTorch
const stream = ids(11, 1, 600, V)[0];
for (const [name, model] of [
  ['gpt2-trained', new GPT2LMHeadModel({ vocabSize: V, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 })],
  [
    'mixtral-trained',
    new MixtralForCausalLM({
      ...lm,
      intermediateSize: 24,
      numLocalExperts: 4,
      numExpertsPerTok: 2,
      maxPositionEmbeddings: 64,
    }),
  ],
]) {
  const result = await train(model, {
    batches: lmBatches(stream, { batchSize: 4, blockSize: 16, seed: 1 }),
    loss: causalLMLoss,
    maxSteps: 30,
    lr: 3e-3,
    warmupSteps: 3,
    progressBar: null,
  });
  console.log(name, 'loss', result.losses[0].toFixed(3), '->', result.losses.at(-1).toFixed(3));
  await write(name, 'causal-lm', model, { ids: ids(12, 2, 9, V) });
}
mkdirSync(OUT, { recursive: true });
