// StableDiffusionPipeline end to end with a real CLIPTextModel from @attnkit/transformer as its text
// encoder (tiny and seeded; the fixture U-Net and VAE): the embeddings the U-Net receives are CLIP's
// last hidden states for [negative prompt; prompt], the run is deterministic for a seed, and
// classifier-free guidance changes the result.
import '@attnkit/backend-cpu';
import { fileURLToPath } from 'node:url';
import { Generator, manualSeed, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { CLIPTextModel } from '@attnkit/transformer';
import { describe, expect, it } from 'vitest';
import { AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
const BOS = 62;
const EOS = 63;
const MAX = 16;

/** A toy CLIP-style tokenizer: <|startoftext|>, one id per letter, <|endoftext|>. */
const tokenize = (s: string) => [BOS, ...Array.from(s, (ch) => ch.charCodeAt(0) % 60), EOS];

async function parts() {
  const unet = await UNet2DConditionModel.fromPretrained(`${fixtures}unet2d_condition_tiny`); // cross dim 12
  const vae = await AutoencoderKL.fromPretrained(`${fixtures}vae_tiny`);
  manualSeed(11);
  const clip = new CLIPTextModel({
    vocabSize: 64,
    hiddenSize: 12,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 3,
    maxPositionEmbeddings: MAX,
    bosTokenId: BOS,
    eosTokenId: EOS,
  }).eval();
  // SD 1.x pads with <|endoftext|>; maxLength defaults to the encoder's max_position_embeddings
  const pipe = new StableDiffusionPipeline({
    unet,
    vae,
    scheduler: new DDIMScheduler(),
    textEncoder: clip,
    tokenize,
    padTokenId: EOS,
  });
  return {
    pipe,
    unet,
    clip,
    dispose: () => {
      for (const m of [unet, vae, clip]) m.dispose();
    },
  };
}

/** Ids as a CLIP tokenizer pads them, written out by hand. */
function ids(text: string): number[] {
  const t = tokenize(text);
  return [...t, ...new Array<number>(MAX - t.length).fill(EOS)];
}

describe('StableDiffusionPipeline with CLIPTextModel', () => {
  it('feeds the U-Net CLIP’s last hidden state of [negative prompt; prompt] and takes maxLength from CLIP', async () => {
    const p = await parts();
    expect(p.pipe.maxLength).toBe(MAX);
    const seen: number[][] = [];
    const shapes: number[][] = [];
    const forward = p.unet.forward.bind(p.unet);
    p.unet.forward = ((x: Tensor, t: number, context: Tensor) => {
      seen.push(Array.from(context.dataSync()));
      shapes.push([...context.shape]);
      return forward(x, t, context);
    }) as typeof p.unet.forward;
    const before = memory().cpu.numTensors;
    const out = await p.pipe.generate({
      prompt: 'a red cube',
      negativePrompt: 'blur',
      guidanceScale: 5,
      numInferenceSteps: 2,
      height: 16,
      width: 16,
      generator: new Generator(3),
    });
    out.latents.dispose();
    expect(memory().cpu.numTensors).toBe(before);
    expect(seen.length).toBe(2);
    expect(shapes[0]).toEqual([2, MAX, 12]);
    const input = tensor([ids('blur'), ids('a red cube')], undefined, 'int32');
    const want = p.clip.forward({ inputIds: input });
    expect(seen[0]).toEqual(Array.from(want.lastHiddenState.dataSync()));
    expect(seen[1]).toEqual(seen[0]); // the same context every step
    // and each row is the prompt encoded alone (no cross-talk in the batch)
    const alone = p.clip.forward(tensor([ids('a red cube')], undefined, 'int32'));
    const row = seen[0].slice(MAX * 12);
    const single = Array.from(alone.lastHiddenState.dataSync());
    expect(Math.max(...row.map((v, i) => Math.abs(v - single[i])))).toBeLessThan(1e-5);
    for (const t of [
      input,
      want.lastHiddenState,
      want.poolerOutput,
      alone.lastHiddenState,
      alone.poolerOutput,
    ])
      t.dispose();
    p.dispose();
  });

  it('the empty negative prompt is CLIP of <|startoftext|><|endoftext|> padded', async () => {
    const p = await parts();
    const got = p.pipe.encodePrompt(['', 'cube']);
    const input = tensor([ids(''), ids('cube')], undefined, 'int32');
    const want = p.clip.forward(input);
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.lastHiddenState.dataSync()));
    for (const t of [got, input, want.lastHiddenState, want.poolerOutput]) t.dispose();
    p.dispose();
  });

  it('is deterministic for a seed, and guidance (w = 7.5) changes the result against w = 1', async () => {
    const p = await parts();
    const run = async (seed: number, guidanceScale: number) => {
      const out = await p.pipe.generate({
        prompt: 'a red cube',
        guidanceScale,
        numInferenceSteps: 3,
        height: 16,
        width: 16,
        generator: new Generator(seed),
      });
      expect(out.images[0].width).toBe(16);
      const v = Array.from(out.latents.dataSync());
      out.latents.dispose();
      return v;
    };
    const a = await run(1, 7.5);
    expect(await run(1, 7.5)).toEqual(a);
    expect(await run(2, 7.5)).not.toEqual(a);
    const plain = await run(1, 1);
    expect(Math.max(...plain.map((v, i) => Math.abs(v - a[i])))).toBeGreaterThan(1e-3);
    p.dispose();
  });

  it('says what a text encoder must return', async () => {
    const p = await parts();
    const pipe = new StableDiffusionPipeline({
      unet: p.unet,
      vae: p.pipe.vae,
      scheduler: new DDIMScheduler(),
      textEncoder: { forward: () => ({ hidden: 1 }) } as never,
      tokenize,
    });
    expect(() => pipe.encodePrompt(['x'])).toThrow(
      /StableDiffusionPipeline.encodePrompt: textEncoder.forward\(ids \[1, 77\]\) must return hidden states \[1, S, D\] \(a Tensor or \{ lastHiddenState \}\), got object/,
    );
    p.dispose();
  });
});
