// StableDiffusionPipeline.fromPretrained on a diffusers-layout folder written here: unet/ and vae/
// (the fixture models), text_encoder/ (a CLIPTextModel saved with @attnkit/transformer's saveModel),
// tokenizer/ as CLIP ships it (vocab.json + merges.txt, no tokenizer.json), and a scheduler_config.json
// naming PNDMScheduler (SD 1.x's default, not implemented here). The tokenizer built from vocab.json +
// merges.txt must give the ids of an independent re-implementation of CLIP's BPE
// (packages/transformer/scripts/clip_tokenizer_refs.py); the loaded pipeline must generate exactly
// what the same components assembled by hand generate.
import '@attnkit/backend-cpu';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, manualSeed } from '@attnkit/tensor-core';
import { Tokenizer } from '@attnkit/tokenizer';
import { CLIPTextModel, saveModel } from '@attnkit/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AutoencoderKL,
  DDIMScheduler,
  StableDiffusionImg2ImgPipeline,
  StableDiffusionPipeline,
  UNet2DConditionModel,
} from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
const clipDir = fileURLToPath(new URL('../../transformer/test/fixtures/clip-tokenizer/', import.meta.url));
const tokJson = JSON.parse(readFileSync(join(clipDir, 'tokenizer.json'), 'utf8'));
const refs = JSON.parse(readFileSync(join(clipDir, 'encodings.json'), 'utf8')) as {
  eos_token_id: number;
  cases: { text: string; ids: number[] }[];
};
const SCHEDULER = {
  _class_name: 'PNDMScheduler',
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  clip_sample: false,
};

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attnkit-sd-'));
  cpSync(join(fixtures, 'unet2d_condition_tiny'), join(dir, 'unet'), { recursive: true });
  cpSync(join(fixtures, 'vae_tiny'), join(dir, 'vae'), { recursive: true });
  manualSeed(3);
  const clip = new CLIPTextModel({
    vocabSize: Object.keys(tokJson.model.vocab).length,
    hiddenSize: 12, // the U-Net's cross_attention_dim
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 3,
    maxPositionEmbeddings: 16,
    eosTokenId: refs.eos_token_id,
  }).eval();
  await saveModel(clip, join(dir, 'text_encoder'));
  clip.dispose();
  mkdirSync(join(dir, 'tokenizer'));
  writeFileSync(join(dir, 'tokenizer', 'vocab.json'), JSON.stringify(tokJson.model.vocab));
  writeFileSync(join(dir, 'tokenizer', 'merges.txt'), `#version: 0.2\n${tokJson.model.merges.join('\n')}\n`);
  mkdirSync(join(dir, 'scheduler'));
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(SCHEDULER));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('StableDiffusionPipeline.fromPretrained (diffusers folder layout)', () => {
  it('says how to choose a scheduler when the folder names one attnkit lacks', async () => {
    await expect(StableDiffusionPipeline.fromPretrained(dir)).rejects.toThrow(
      /"PNDMScheduler" is not implemented; pass \{ scheduler: 'DDIMScheduler' \}/,
    );
  });

  it('loads every component; vocab.json + merges.txt tokenize as CLIP does', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(dir, { scheduler: 'DDIMScheduler' });
    expect(pipe.scheduler).toBeInstanceOf(DDIMScheduler);
    expect(pipe.textEncoder).toBeInstanceOf(CLIPTextModel);
    expect(pipe.maxLength).toBe(16);
    expect(pipe.padTokenId).toBe(refs.eos_token_id);
    for (const { text, ids } of refs.cases) expect(pipe.tokenize(text)).toEqual(ids);
  });

  it('generates what the same components assembled by hand generate', async () => {
    const loaded = await StableDiffusionPipeline.fromPretrained(dir, { scheduler: 'DDIMScheduler' });
    const tok = Tokenizer.fromJSON(tokJson);
    const byHand = new StableDiffusionPipeline({
      unet: await UNet2DConditionModel.fromPretrained(join(dir, 'unet')),
      vae: await AutoencoderKL.fromPretrained(join(dir, 'vae')),
      scheduler: DDIMScheduler.fromConfig(SCHEDULER),
      textEncoder: loaded.textEncoder,
      tokenize: (t) => tok.encode(t).ids,
      padTokenId: refs.eos_token_id,
    });
    const run = (p: StableDiffusionPipeline) =>
      p.generate({ prompt: 'a red circle', numInferenceSteps: 2, generator: new Generator(5) });
    const [a, b] = [await run(loaded), await run(byHand)];
    expect(Array.from(a.images[0].data)).toEqual(Array.from(b.images[0].data));
    expect(Array.from(a.latents.dataSync())).toEqual(Array.from(b.latents.dataSync()));
  });

  it('called on StableDiffusionImg2ImgPipeline makes that class', async () => {
    const pipe = await StableDiffusionImg2ImgPipeline.fromPretrained(dir, {
      scheduler: 'EulerDiscreteScheduler',
    });
    expect(pipe).toBeInstanceOf(StableDiffusionImg2ImgPipeline);
  });
});
