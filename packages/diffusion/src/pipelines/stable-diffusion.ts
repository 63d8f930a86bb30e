/**
 * Text-to-image and image-to-image latent diffusion shaped like diffusers' StableDiffusionPipeline
 * and StableDiffusionImg2ImgPipeline: prompt → token ids → text encoder → U-Net loop with
 * classifier-free guidance over VAE latents → VAE decode → RGBA images.
 *
 * The text side is pluggable: any tokenizer function and any text encoder whose `forward(ids)`
 * returns the last hidden state [B, S, D], directly or as `lastHiddenState` (so
 * `@attnkit/transformer`'s CLIPTextModel, loaded from a checkpoint's `text_encoder` folder, plugs
 * in as it is).
 */
import {
  add,
  concat,
  type Generator,
  keep,
  mul,
  noGrad,
  randn,
  sub,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { type RgbaImage, tensorToRgba } from '../image/rgba.js';
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { UNet2DConditionModel } from '../models/unet-2d-condition.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { StableDiffusionComponents, TextEncoderLike } from './components.js';
import { checkLatents, type DenoiseStepInfo } from './denoise.js';
import { loadStableDiffusionComponents, type StableDiffusionLoadOptions } from './from-pretrained.js';

export type { StableDiffusionComponents, TextEncoderLike } from './components.js';

/** Options of {@link StableDiffusionPipeline.generate}. */
export interface StableDiffusionOptions {
  prompt: string | string[];
  /** What to steer away from (the unconditional prompt of classifier-free guidance). Default ''. */
  negativePrompt?: string | string[];
  /** Guidance scale w: `uncond + w · (cond − uncond)`; guidance is off when w ≤ 1. Default 7.5. */
  guidanceScale?: number;
  /** Denoising steps. Default 50. */
  numInferenceSteps?: number;
  /** Image height and width in pixels (multiples of the VAE factor). Default unet.sampleSize × factor. */
  height?: number;
  width?: number;
  /** Images per prompt. Default 1. */
  numImagesPerPrompt?: number;
  generator?: Generator;
  /** DDIM's eta. */
  eta?: number;
  /** Start from these latents [B, C, h, w] (unscaled) instead of fresh noise. */
  latents?: Tensor;
  /** Called after each step (awaited); `predOriginalSample` holds the predicted latents (decode for a preview). */
  onStep?: (info: DenoiseStepInfo) => void | Promise<void>;
}

/** Options of {@link StableDiffusionImg2ImgPipeline.generate}. */
export interface StableDiffusionImg2ImgOptions
  extends Omit<StableDiffusionOptions, 'latents' | 'height' | 'width'> {
  /** The starting image [B, 3, H, W] in [−1, 1] (B = 1 or the number of images). */
  image: Tensor;
  /** How much to change it, in [0, 1]: the fraction of the schedule that is run. Default 0.8. */
  strength?: number;
}

/** Result of a Stable Diffusion call. */
export interface StableDiffusionOutput {
  images: RgbaImage[];
  /** Final latents [B, C, h, w] (caller owns them). */
  latents: Tensor;
}

function isTensor(v: unknown): v is Tensor {
  return !!v && (v as { isTensor?: unknown }).isTensor === true;
}

/** `config.maxPositionEmbeddings` of a CLIPTextModel-like encoder, if it has one. */
function encoderMaxLength(encoder: TextEncoderLike | undefined): number | undefined {
  const n = (encoder?.config as { maxPositionEmbeddings?: unknown } | undefined)?.maxPositionEmbeddings;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

function asList(op: string, name: string, v: string | string[] | undefined, n: number): string[] {
  if (v === undefined) return new Array<string>(n).fill('');
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string'))
    throw new TypeError(`${op}: ${name} must be a string or an array of strings`);
  if (list.length === 1 && n > 1) return new Array<string>(n).fill(list[0]);
  if (list.length !== n) throw new Error(`${op}: ${name} has ${list.length} entries for ${n} prompts`);
  return list;
}

/**
 * Stable-Diffusion-shaped text-to-image pipeline.
 *
 * @example
 * ```ts
 * import { CharTokenizer } from '@attnkit/tokenizer';
 * import { CLIPTextModel } from '@attnkit/transformer';
 * const fixtures = 'packages/diffusion/test/fixtures/models';
 * const unet = await UNet2DConditionModel.fromPretrained(`${fixtures}/unet2d_condition_tiny`); // cross-attention dim 12
 * const vae = await AutoencoderKL.fromPretrained(`${fixtures}/vae_tiny`);
 * const scheduler = new DDIMScheduler();
 * const tok = CharTokenizer.fromText('abcdefghijklmnopqrstuvwxyz ');
 * // any text encoder with the U-Net's hidden size; here an untrained CLIP text model
 * const clip = new CLIPTextModel({ vocabSize: tok.vocabSize, hiddenSize: 12, intermediateSize: 24, numHiddenLayers: 1,
 *   numAttentionHeads: 3, maxPositionEmbeddings: 16 }).eval();
 * const pipe = new StableDiffusionPipeline({ unet, vae, scheduler, textEncoder: clip, tokenize: (t) => tok.encode(t),
 *   padTokenId: 0 });
 * const { images } = await pipe.generate({ prompt: 'a red circle', generator: new Generator(0), numInferenceSteps: 5 });
 * [images.length, images[0].width]; // => [1, 16]
 * ```
 */
export class StableDiffusionPipeline {
  readonly unet: UNet2DConditionModel;
  readonly vae: AutoencoderKL;
  readonly scheduler: Scheduler;
  readonly textEncoder: TextEncoderLike;
  readonly tokenize: (text: string) => number[];
  readonly maxLength: number;
  readonly padTokenId: number;

  /**
   * Loads a diffusers pipeline folder or URL: `unet/`, `vae/`, `text_encoder/` (CLIPTextModel),
   * `tokenizer/` (tokenizer.json, or CLIP's vocab.json + merges.txt) and
   * `scheduler/scheduler_config.json`. Called on StableDiffusionImg2ImgPipeline it makes that class.
   *
   * @example
   * ```ts
   * import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
   * import { tmpdir } from 'node:os';
   * import { join } from 'node:path';
   * import { CLIPTextModel, saveModel } from '@attnkit/transformer';
   * // a diffusers folder such as stable-diffusion-v1-5, assembled here from tiny parts
   * const dir = mkdtempSync(join(tmpdir(), 'attnkit-sd-'));
   * cpSync('packages/diffusion/test/fixtures/models/unet2d_condition_tiny', join(dir, 'unet'), { recursive: true });
   * cpSync('packages/diffusion/test/fixtures/models/vae_tiny', join(dir, 'vae'), { recursive: true });
   * cpSync('packages/transformer/test/fixtures/clip-tokenizer/tokenizer.json', join(dir, 'tokenizer', 'tokenizer.json'));
   * await saveModel(new CLIPTextModel({ vocabSize: 634, hiddenSize: 12, intermediateSize: 24, numHiddenLayers: 1,
   *   numAttentionHeads: 3, maxPositionEmbeddings: 16, eosTokenId: 633 }), join(dir, 'text_encoder'));
   * mkdirSync(join(dir, 'scheduler'));
   * writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'PNDMScheduler',
   *   beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, skip_prk_steps: true, steps_offset: 1 }));
   * const pipe = await StableDiffusionPipeline.fromPretrained(dir, { scheduler: 'DDIMScheduler' });
   * pipe.scheduler.constructor.name; // => 'DDIMScheduler'
   * ```
   */
  static async fromPretrained<T extends typeof StableDiffusionPipeline>(
    this: T,
    source: string | URL,
    options: StableDiffusionLoadOptions = {},
  ): Promise<InstanceType<T>> {
    return new this(await loadStableDiffusionComponents(source, options)) as InstanceType<T>;
  }

  constructor(c: StableDiffusionComponents) {
    const op = this.constructor.name;
    for (const k of ['unet', 'vae', 'scheduler', 'textEncoder', 'tokenize'] as const) {
      if (!c?.[k]) throw new TypeError(`${op}: component '${k}' is missing`);
    }
    this.unet = c.unet;
    this.vae = c.vae;
    this.scheduler = c.scheduler;
    this.textEncoder = c.textEncoder;
    this.tokenize = c.tokenize;
    this.maxLength = c.maxLength ?? encoderMaxLength(c.textEncoder) ?? 77;
    this.padTokenId = c.padTokenId ?? 49407;
  }

  /** Token ids [B, maxLength] (int32) for prompts: truncated keeping the last (end) token, then padded. */
  tokenIds(prompts: readonly string[]): Tensor {
    const L = this.maxLength;
    const ids = new Int32Array(prompts.length * L).fill(this.padTokenId);
    prompts.forEach((p, b) => {
      let t = this.tokenize(p);
      if (t.length > L) t = [...t.slice(0, L - 1), t[t.length - 1]];
      ids.set(t, b * L);
    });
    return tensor(ids, [prompts.length, L], 'int32');
  }

  /** Text embeddings [B, S, D] for prompts (diffusers' `encode_prompt`, without guidance). */
  encodePrompt(prompts: readonly string[]): Tensor {
    const op = `${this.constructor.name}.encodePrompt`;
    return tidy(() =>
      noGrad(() => {
        const out = this.textEncoder.forward(this.tokenIds(prompts));
        const h = isTensor(out) ? out : (out as { lastHiddenState?: unknown })?.lastHiddenState;
        if (!isTensor(h) || h.rank !== 3 || h.shape[0] !== prompts.length) {
          throw new TypeError(
            `${op}: textEncoder.forward(ids [${prompts.length}, ${this.maxLength}]) must return hidden states [${prompts.length}, S, D] (a Tensor or { lastHiddenState }), got ${
              isTensor(h) ? `a Tensor [${h.shape.join(', ')}]` : typeof out
            }`,
          );
        }
        return h;
      }),
    );
  }

  /** Generates images from text; see {@link StableDiffusionOptions}. */
  async generate(options: StableDiffusionOptions): Promise<StableDiffusionOutput> {
    const op = `${this.constructor.name}.generate`;
    const prompts = asList(
      op,
      'prompt',
      options.prompt,
      typeof options.prompt === 'string' ? 1 : (options.prompt?.length ?? 0),
    );
    if (prompts.length === 0) throw new Error(`${op}: prompt is required`);
    const f = this.vae.scaleFactor;
    const ss = this.unet.config.sampleSize;
    const def = (Array.isArray(ss) ? ss[0] : (ss ?? 64)) * f;
    const height = options.height ?? def;
    const width = options.width ?? def;
    if (height % f !== 0 || width % f !== 0)
      throw new Error(`${op}: height and width must be multiples of ${f}, got ${height}×${width}`);
    const perPrompt = options.numImagesPerPrompt ?? 1;
    const b = prompts.length * perPrompt;
    const shape = [b, this.unet.config.inChannels, height / f, width / f];
    if (options.latents !== undefined) checkLatents(op, options.latents, shape);
    this.scheduler.setTimesteps(options.numInferenceSteps ?? 50);
    const init = tidy(() => {
      const z = options.latents ?? randn(shape, { generator: options.generator });
      return keep(mul(z, this.scheduler.initNoiseSigma));
    });
    return this.run(op, prompts, perPrompt, options, init, [...this.scheduler.timesteps]);
  }

  /** The guided denoising loop and decoding, from initial latents over `timesteps`. @internal */
  protected async run(
    op: string,
    prompts: string[],
    perPrompt: number,
    options: StableDiffusionOptions | StableDiffusionImg2ImgOptions,
    init: Tensor,
    timesteps: number[],
  ): Promise<StableDiffusionOutput> {
    const g = options.guidanceScale ?? 7.5;
    if (typeof g !== 'number' || !Number.isFinite(g))
      throw new TypeError(`${op}: guidanceScale must be a finite number, got ${String(g)}`);
    const cfg = g > 1;
    const negatives = asList(op, 'negativePrompt', options.negativePrompt, prompts.length);
    const repeat = (list: string[]) => list.flatMap((p) => new Array<string>(perPrompt).fill(p));
    // [uncond; cond] along the batch, as diffusers concatenates them
    const context = keep(
      this.encodePrompt(cfg ? [...repeat(negatives), ...repeat(prompts)] : repeat(prompts)),
    );
    let x = init;
    try {
      for (let i = 0; i < timesteps.length; i++) {
        const t = timesteps[i];
        const prev = x;
        const out = tidy(() => {
          const input = this.scheduler.scaleModelInput(cfg ? concat([prev, prev], 0) : prev, t);
          const pred = noGrad(() => this.unet.forward(input, t, context));
          let eps = pred;
          if (cfg) {
            const n = prev.shape[0];
            const uncond = pred.sliceDim(0, 0, n);
            const cond = pred.sliceDim(0, n, 2 * n);
            eps = add(uncond, mul(sub(cond, uncond), g));
          }
          const r = this.scheduler.step(eps, t, prev, { generator: options.generator, eta: options.eta });
          return { prevSample: keep(r.prevSample), predOriginalSample: keep(r.predOriginalSample) };
        });
        prev.dispose();
        x = out.prevSample;
        try {
          await options.onStep?.({
            step: i,
            numSteps: timesteps.length,
            timestep: t,
            sample: x,
            predOriginalSample: out.predOriginalSample,
          });
        } finally {
          out.predOriginalSample.dispose();
        }
      }
    } finally {
      context.dispose();
      (this.scheduler as { dispose?: () => void }).dispose?.();
    }
    const pixels = tidy(() => noGrad(() => this.decodeLatents(x)));
    const images = await tensorToRgba(pixels);
    pixels.dispose();
    return { images, latents: x };
  }

  /** VAE decode of diffusion latents: `vae.decode(latents / scalingFactor)` → [B, 3, H, W] in [−1, 1]. */
  decodeLatents(latents: Tensor): Tensor {
    const c = this.vae.config;
    return tidy(() => {
      const z =
        c.shiftFactor === null
          ? mul(latents, 1 / c.scalingFactor)
          : add(mul(latents, 1 / c.scalingFactor), c.shiftFactor);
      return this.vae.decode(z);
    });
  }
}

/**
 * Image-to-image (SDEdit): encode the image with the VAE, noise it to the timestep `strength` of
 * the way into the schedule, and denoise from there with the prompt.
 */
export class StableDiffusionImg2ImgPipeline extends StableDiffusionPipeline {
  /** Transforms `options.image` toward the prompt; see {@link StableDiffusionImg2ImgOptions}. */
  override async generate(
    options: StableDiffusionImg2ImgOptions | StableDiffusionOptions,
  ): Promise<StableDiffusionOutput> {
    const op = 'StableDiffusionImg2ImgPipeline.generate';
    const o = options as StableDiffusionImg2ImgOptions;
    if (o.image?.isTensor !== true || o.image.rank !== 4)
      throw new Error(`${op}: options.image must be an image tensor [B, 3, H, W] in [−1, 1]`);
    const strength = o.strength ?? 0.8;
    if (typeof strength !== 'number' || !(strength >= 0 && strength <= 1))
      throw new RangeError(`${op}: strength must be in [0, 1], got ${String(strength)}`);
    const prompts = asList(
      op,
      'prompt',
      o.prompt,
      typeof o.prompt === 'string' ? 1 : (o.prompt?.length ?? 0),
    );
    if (prompts.length === 0) throw new Error(`${op}: prompt is required`);
    const perPrompt = o.numImagesPerPrompt ?? 1;
    const b = prompts.length * perPrompt;
    if (o.image.shape[0] !== 1 && o.image.shape[0] !== b)
      throw new Error(`${op}: image batch ${o.image.shape[0]} must be 1 or ${b}`);
    const n = o.numInferenceSteps ?? 50;
    this.scheduler.setTimesteps(n);
    // diffusers' get_timesteps: run the last min(n·strength, n) steps
    const initTimestep = Math.min(Math.floor(n * strength), n);
    const tStart = Math.max(n - initTimestep, 0);
    const timesteps = this.scheduler.timesteps.slice(tStart * this.scheduler.order);
    const sched = this.scheduler as { setBeginIndex?: (i: number) => void };
    if (timesteps.length > 0) sched.setBeginIndex?.(tStart * this.scheduler.order);
    const c = this.vae.config;
    const init = tidy(() =>
      noGrad(() => {
        let z = this.vae.encode(o.image).latentDist.sample(o.generator);
        if (c.shiftFactor !== null) z = sub(z, c.shiftFactor);
        z = mul(z, c.scalingFactor);
        if (z.shape[0] !== b) z = concat(new Array<Tensor>(b).fill(z), 0);
        if (timesteps.length === 0) return keep(z);
        const noise = randn(z.shape, { generator: o.generator });
        return keep(this.scheduler.addNoise(z, noise, new Array<number>(b).fill(timesteps[0])));
      }),
    );
    return this.run(op, prompts, perPrompt, o, init, timesteps);
  }
}
