// The text-to-image and img2img pipelines on tiny random models (the fixture U-Net and VAE) with a
// stand-in text encoder (a token embedding): the wiring, guidance algebra, strength and determinism.
import '@attnkit/backend-cpu';
import { fileURLToPath } from 'node:url';
import { Generator, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { Embedding } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import {
  AutoencoderKL,
  DDIMScheduler,
  EulerDiscreteScheduler,
  type Scheduler,
  StableDiffusionImg2ImgPipeline,
  StableDiffusionPipeline,
  UNet2DConditionModel,
} from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));

async function parts(scheduler: Scheduler) {
  const unet = await UNet2DConditionModel.fromPretrained(`${fixtures}unet2d_condition_tiny`); // cross dim 12, 4 latent channels
  const vae = await AutoencoderKL.fromPretrained(`${fixtures}vae_tiny`); // factor 2, 4 latent channels
  const emb = new Embedding(60, 12, { generator: new Generator(5) });
  const textEncoder = { forward: (ids: Tensor) => emb.forward(ids) };
  const tokenize = (s: string) => [1, ...Array.from(s, (ch) => 3 + (ch.charCodeAt(0) % 50)), 2];
  return {
    unet,
    vae,
    scheduler,
    textEncoder,
    tokenize,
    maxLength: 6,
    padTokenId: 0,
    dispose: () => {
      for (const m of [unet, vae, emb]) m.dispose();
    },
  };
}

const values = (t: Tensor) => Array.from(t.dataSync());

describe('StableDiffusionPipeline (tiny random models)', () => {
  it('tokenIds truncate keeping the end token and pad', async () => {
    const p = await parts(new DDIMScheduler());
    const pipe = new StableDiffusionPipeline(p);
    const ids = pipe.tokenIds(['ab', 'abcdefgh']);
    expect(ids.shape).toEqual([2, 6]);
    // 'a'..'d' → 3 + code % 50 = 50, 51, 52, 3
    expect(Array.from(ids.dataSync())).toEqual([1, 50, 51, 2, 0, 0, 1, 50, 51, 52, 3, 2]);
    p.dispose();
  });

  it('is deterministic for a seed, calls onStep per step, returns RGBA of height × width', async () => {
    const p = await parts(new DDIMScheduler());
    const pipe = new StableDiffusionPipeline(p);
    const run = async (seed: number) => {
      let calls = 0;
      const out = await pipe.generate({
        prompt: 'a red circle',
        generator: new Generator(seed),
        numInferenceSteps: 4,
        height: 16,
        width: 16,
        onStep: () => {
          calls++;
        },
      });
      expect(calls).toBe(4);
      expect(out.latents.shape).toEqual([1, 4, 8, 8]);
      expect([out.images[0].width, out.images[0].height]).toEqual([16, 16]);
      const v = values(out.latents);
      out.latents.dispose();
      return v;
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
    p.dispose();
  });

  it('guidance: uncond + w·(cond − uncond) equals the unguided result when the negative prompt is the prompt', async () => {
    const p = await parts(new DDIMScheduler());
    const pipe = new StableDiffusionPipeline(p);
    const go = async (guidanceScale: number, negativePrompt?: string) => {
      const out = await pipe.generate({
        prompt: 'cat',
        negativePrompt,
        guidanceScale,
        generator: new Generator(1),
        numInferenceSteps: 3,
        height: 16,
        width: 16,
      });
      const v = values(out.latents);
      out.latents.dispose();
      return v;
    };
    const plain = await go(1); // no guidance: one U-Net pass on the prompt
    const same = await go(7.5, 'cat'); // guided, but uncond == cond
    const guided = await go(7.5, ''); // guided away from the empty prompt
    let d1 = 0;
    let d2 = 0;
    for (let i = 0; i < plain.length; i++) {
      d1 = Math.max(d1, Math.abs(plain[i] - same[i]));
      d2 = Math.max(d2, Math.abs(plain[i] - guided[i]));
    }
    expect(d1).toBeLessThan(1e-4);
    expect(d2).toBeGreaterThan(1e-3);
    p.dispose();
  });

  it('img2img runs floor(n·strength) steps (Euler, begin index) and strength 0 returns the encoded image', async () => {
    const p = await parts(new EulerDiscreteScheduler());
    const pipe = new StableDiffusionImg2ImgPipeline(p);
    const image = tensor(
      Float64Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i / 7)),
      [1, 3, 16, 16],
    );
    const steps: number[] = [];
    const out = await pipe.generate({
      prompt: 'x',
      image,
      strength: 0.5,
      numInferenceSteps: 10,
      generator: new Generator(2),
      onStep: ({ timestep }) => {
        steps.push(timestep);
      },
    });
    expect(steps.length).toBe(5);
    expect(steps[0]).toBe(p.scheduler.timesteps[5]);
    out.latents.dispose();
    const before = memory().cpu.numTensors;
    const none = await pipe.generate({
      prompt: 'x',
      image,
      strength: 0,
      numInferenceSteps: 10,
      generator: new Generator(2),
    });
    expect(none.latents.shape).toEqual([1, 4, 8, 8]);
    none.latents.dispose();
    expect(memory().cpu.numTensors).toBe(before);
    await expect(pipe.generate({ prompt: 'x', image, strength: 1.5 })).rejects.toThrow(
      /strength must be in \[0, 1\], got 1.5/,
    );
    p.dispose();
  });
});
