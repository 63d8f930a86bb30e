// pipeline('text-to-image', folder) of @attnkit/transformer, registered by importing this package:
// on a diffusers-layout folder written here (as from-pretrained.test.ts writes it), it must draw
// exactly what StableDiffusionPipeline.fromPretrained on the same folder draws with the same
// generator; the task is typed (declaration merging) and refuses what it does not implement.
import '@attnkit/backend-cpu';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, manualSeed } from '@attnkit/tensor-core';
import { CLIPTextModel, pipeline, pipelineTasks, saveModel } from '@attnkit/transformer';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  EulerDiscreteScheduler,
  type RgbaImage,
  StableDiffusionPipeline,
  type TextToImagePipeline,
} from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
const clipDir = fileURLToPath(new URL('../../transformer/test/fixtures/clip-tokenizer/', import.meta.url));
const tokJson = JSON.parse(readFileSync(join(clipDir, 'tokenizer.json'), 'utf8'));

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attnkit-t2i-'));
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
    eosTokenId: tokJson.model.vocab['<|endoftext|>'],
  }).eval();
  await saveModel(clip, join(dir, 'text_encoder'));
  clip.dispose();
  mkdirSync(join(dir, 'tokenizer'));
  writeFileSync(join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tokJson));
  mkdirSync(join(dir, 'scheduler'));
  writeFileSync(
    join(dir, 'scheduler', 'scheduler_config.json'),
    JSON.stringify({
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pipeline('text-to-image') (registered by @attnkit/diffusion)", () => {
  it('is registered and typed', async () => {
    expect(pipelineTasks()).toContain('text-to-image');
    const draw = await pipeline('text-to-image', dir);
    expectTypeOf(draw).toEqualTypeOf<TextToImagePipeline>();
    expectTypeOf(draw).returns.resolves.toEqualTypeOf<RgbaImage[]>();
    expect(draw.task).toBe('text-to-image');
    draw.dispose();
  });

  it('draws what StableDiffusionPipeline.fromPretrained draws with the same generator', async () => {
    const draw = await pipeline('text-to-image', dir);
    const images = await draw(['a red circle', 'a blue square'], {
      numInferenceSteps: 2,
      generator: new Generator(5),
    });
    const pipe = await StableDiffusionPipeline.fromPretrained(dir);
    const want = await pipe.generate({
      prompt: ['a red circle', 'a blue square'],
      numInferenceSteps: 2,
      generator: new Generator(5),
    });
    expect(images).toHaveLength(2);
    expect(images[0].width).toBe(want.images[0].width);
    for (const [i, img] of images.entries())
      expect(Array.from(img.data)).toEqual(Array.from(want.images[i].data));
    want.latents.dispose();
    draw.dispose();
  });

  it('refuses a map of files and dtype q8; options.scheduler picks the scheduler class', async () => {
    await expect(pipeline('text-to-image', { 'config.json': '{}' })).rejects.toThrow(
      /loads from a folder path or a URL/,
    );
    await expect(pipeline('text-to-image', dir, { dtype: 'q8' })).rejects.toThrow(
      /dtype 'q8' is not implemented for diffusion models/,
    );
    const euler = await pipeline('text-to-image', dir, { scheduler: 'EulerDiscreteScheduler' });
    expect(euler.pipe.scheduler).toBeInstanceOf(EulerDiscreteScheduler);
    euler.dispose();
  });
});
