/**
 * UNet2DModel (diffusers' `models/unets/unet_2d.py`): the unconditional (or class-conditional)
 * denoising U-Net of DDPM: sinusoidal timestep embedding, ResNet down blocks with optional
 * self-attention, a middle block, up blocks over skip connections.
 */

import { add, type Tensor, tensor } from '@attnkit/tensor-core';
import { Conv2d, Embedding, GroupNorm, Module } from '@attnkit/tensor-core/nn';
import type { Denoiser } from '../training/train-denoiser.js';
import { activation, checkActivation } from './activations.js';
import { readModelConfig } from './config.js';
import { batchTimesteps, TimestepEmbedding, Timesteps } from './embeddings.js';
import { loadPretrained, type ModelSource } from './loading.js';
import {
  type DownBlockBase,
  getDownBlock,
  getUpBlock,
  UNetMidBlock2D,
  type UpBlockBase,
} from './unet-2d-blocks.js';

/** UNet2DModel config: diffusers' `config.json` fields in camelCase, with diffusers' defaults. */
export interface UNet2DConfig {
  sampleSize: number | number[] | null;
  inChannels: number;
  outChannels: number;
  /** Map the input from [0, 1] to [−1, 1] first. Default false. */
  centerInputSample: boolean;
  /** Only `'positional'` (sinusoidal) is supported. */
  timeEmbeddingType: 'positional';
  flipSinToCos: boolean;
  freqShift: number;
  downBlockTypes: string[];
  midBlockType: 'UNetMidBlock2D' | null;
  upBlockTypes: string[];
  blockOutChannels: number[];
  layersPerBlock: number;
  midBlockScaleFactor: number;
  downsamplePadding: number;
  actFn: string;
  attentionHeadDim: number | null;
  normNumGroups: number;
  attnNormNumGroups: number | null;
  normEps: number;
  resnetTimeScaleShift: 'default' | 'scale_shift';
  addAttention: boolean;
  /** Class conditioning: a learned embedding of `numClassEmbeds` labels added to the time embedding. */
  classEmbedType: null;
  numClassEmbeds: number | null;
  /**
   * The class label that means "no class", the unconditional row of the class embedding that
   * classifier-free guidance needs (`null_class_index` in config.json; an attnkit key that diffusers
   * ignores, as DiT's `LabelEmbedding` keeps its null class in the last row). It must be the last
   * row, `numClassEmbeds − 1`. Default null: the model has no unconditional mode.
   */
  nullClassIndex: number | null;
  numTrainTimesteps: number | null;
}

/** diffusers' defaults of {@link UNet2DModel}. */
export const UNET_2D_DEFAULTS: UNet2DConfig = Object.freeze({
  sampleSize: null,
  inChannels: 3,
  outChannels: 3,
  centerInputSample: false,
  timeEmbeddingType: 'positional',
  flipSinToCos: true,
  freqShift: 0,
  downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'],
  midBlockType: 'UNetMidBlock2D',
  upBlockTypes: ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
  blockOutChannels: [224, 448, 672, 896],
  layersPerBlock: 2,
  midBlockScaleFactor: 1,
  downsamplePadding: 1,
  actFn: 'silu',
  attentionHeadDim: 8,
  normNumGroups: 32,
  attnNormNumGroups: null,
  normEps: 1e-5,
  resnetTimeScaleShift: 'default',
  addAttention: true,
  classEmbedType: null,
  numClassEmbeds: null,
  nullClassIndex: null,
  numTrainTimesteps: null,
}) as UNet2DConfig;

/**
 * The DDPM U-Net. Parameter names are diffusers' (`conv_in`, `time_embedding.linear_1`,
 * `down_blocks.0.resnets.0.norm1`, `mid_block.attentions.0.to_q`, `up_blocks.N...`, `conv_out`), so
 * a diffusers checkpoint loads with {@link UNet2DModel.fromPretrained}.
 *
 * @example
 * ```ts
 * const unet = new UNet2DModel({ sampleSize: 32, inChannels: 1, outChannels: 1, blockOutChannels: [32, 64],
 *   downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'], upBlockTypes: ['AttnUpBlock2D', 'UpBlock2D'],
 *   normNumGroups: 8, layersPerBlock: 1 });
 * const noisy = randn([2, 1, 32, 32]);
 * const eps = unet.forward(noisy, 999);
 * eps.shape; // => [2, 1, 32, 32]
 * ```
 */
export class UNet2DModel extends Module implements Denoiser {
  readonly config: Readonly<UNet2DConfig>;
  conv_in: Conv2d;
  time_proj: Timesteps;
  time_embedding: TimestepEmbedding;
  class_embedding: Embedding | null = null;
  down_blocks: DownBlockBase[];
  mid_block: UNetMidBlock2D | null;
  up_blocks: UpBlockBase[];
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;

  /** Builds the model from camelCase or snake_case config fields (missing ones take diffusers' defaults). */
  constructor(config: Partial<UNet2DConfig> | Record<string, unknown> = {}) {
    super();
    const op = 'UNet2DModel';
    const c = readModelConfig(op, UNET_2D_DEFAULTS, config, {
      timeEmbeddingType: ['positional'],
      classEmbedType: [null],
    });
    this.config = Object.freeze(c);
    const boc = c.blockOutChannels;
    if (boc.length !== c.downBlockTypes.length || boc.length !== c.upBlockTypes.length) {
      throw new Error(
        `${op}: blockOutChannels (${boc.length}), downBlockTypes (${c.downBlockTypes.length}) and upBlockTypes (${c.upBlockTypes.length}) must have the same length`,
      );
    }
    checkActivation(op, c.actFn);
    if (c.nullClassIndex !== null) {
      if (c.numClassEmbeds === null || c.numClassEmbeds < 2 || c.nullClassIndex !== c.numClassEmbeds - 1) {
        throw new Error(
          `${op}: config.nullClassIndex must be the last class embedding row (numClassEmbeds − 1 = ${c.numClassEmbeds === null ? 'none, numClassEmbeds is null' : c.numClassEmbeds - 1}), got ${JSON.stringify(c.nullClassIndex)}`,
        );
      }
    }
    for (const ch of boc) {
      if (ch % c.normNumGroups !== 0) {
        throw new Error(
          `${op}: every blockOutChannels entry must be divisible by normNumGroups (${c.normNumGroups}), got ${boc.join(', ')}`,
        );
      }
    }
    const timeEmbedDim = boc[0] * 4;
    this.conv_in = new Conv2d(c.inChannels, boc[0], 3, { padding: 1 });
    this.time_proj = new Timesteps(boc[0], c.flipSinToCos, c.freqShift);
    this.time_embedding = new TimestepEmbedding(boc[0], timeEmbedDim);
    if (c.numClassEmbeds !== null) this.class_embedding = new Embedding(c.numClassEmbeds, timeEmbedDim);
    const common = {
      tembChannels: timeEmbedDim,
      resnetEps: c.normEps,
      resnetActFn: c.actFn,
      resnetGroups: c.normNumGroups,
      resnetTimeScaleShift: c.resnetTimeScaleShift,
    };
    this.down_blocks = [];
    let out = boc[0];
    c.downBlockTypes.forEach((type, i) => {
      const inC = out;
      out = boc[i];
      this.down_blocks.push(
        getDownBlock(
          type,
          {
            ...common,
            numLayers: c.layersPerBlock,
            inChannels: inC,
            outChannels: out,
            addDownsample: i !== boc.length - 1,
            downsamplePadding: c.downsamplePadding,
            attentionHeadDim: c.attentionHeadDim ?? out,
          },
          op,
        ),
      );
    });
    this.mid_block =
      c.midBlockType === null
        ? null
        : new UNetMidBlock2D({
            ...common,
            inChannels: boc[boc.length - 1],
            outputScaleFactor: c.midBlockScaleFactor,
            attentionHeadDim: c.attentionHeadDim ?? boc[boc.length - 1],
            attnGroups: c.attnNormNumGroups,
            addAttention: c.addAttention,
          });
    const rev = [...boc].reverse();
    this.up_blocks = [];
    out = rev[0];
    c.upBlockTypes.forEach((type, i) => {
      const prev = out;
      out = rev[i];
      const inC = rev[Math.min(i + 1, boc.length - 1)];
      this.up_blocks.push(
        getUpBlock(
          type,
          {
            ...common,
            numLayers: c.layersPerBlock + 1,
            inChannels: inC,
            outChannels: out,
            prevOutputChannels: prev,
            addUpsample: i !== boc.length - 1,
            attentionHeadDim: c.attentionHeadDim ?? out,
          },
          op,
        ),
      );
    });
    this.conv_norm_out = new GroupNorm(c.normNumGroups, boc[0], { eps: c.normEps });
    this.conv_out = new Conv2d(boc[0], c.outChannels, 3, { padding: 1 });
  }

  /** Loads `config.json` + `diffusion_pytorch_model.safetensors` from a folder, URL or Files. */
  static async fromPretrained(source: ModelSource): Promise<UNet2DModel> {
    return loadPretrained(source, (cfg) => new UNet2DModel(cfg), 'UNet2DModel.fromPretrained');
  }

  /**
   * Predicts the noise (or v, or x0, per the scheduler's predictionType) of `sample` at `timestep`.
   *
   * @param sample [B, inChannels, H, W] (H and W divisible by 2^(blocks − 1))
   * @param timestep one timestep for the batch or one per sample
   * @param classLabels int32 [B], for models with `numClassEmbeds`
   * @returns [B, outChannels, H, W]
   */
  override forward(
    sample: Tensor,
    timestep: number | readonly number[],
    classLabels?: Tensor | readonly number[],
  ): Tensor {
    const op = 'UNet2DModel.forward';
    const c = this.config;
    if (sample?.rank !== 4 || sample.shape[1] !== c.inChannels) {
      throw new Error(
        `${op}: expected sample [B, ${c.inChannels}, H, W], got ${sample?.shape ? `[${sample.shape.join(', ')}]` : String(sample)}`,
      );
    }
    const factor = 2 ** (c.blockOutChannels.length - 1);
    if (sample.shape[2] % factor !== 0 || sample.shape[3] % factor !== 0) {
      throw new Error(
        `${op}: H and W must be divisible by ${factor} (2^(blocks − 1)), got [${sample.shape.join(', ')}]`,
      );
    }
    const b = sample.shape[0];
    let x = c.centerInputSample ? sample.mul(2).sub(1) : sample;
    const tEmb = this.time_proj.forward(batchTimesteps(op, timestep, b));
    let emb = this.time_embedding.forward(tEmb);
    if (this.class_embedding) {
      if (classLabels === undefined)
        throw new Error(`${op}: classLabels is required when config.numClassEmbeds is set`);
      const labels = Array.isArray(classLabels)
        ? tensor(Int32Array.from(classLabels as number[]), [b])
        : (classLabels as Tensor);
      emb = add(emb, this.class_embedding.forward(labels));
    }
    x = this.conv_in.forward(x);
    const skips: Tensor[] = [x];
    for (const block of this.down_blocks) {
      const r = block.forward(x, emb);
      x = r.hiddenStates;
      skips.push(...r.resSamples);
    }
    if (this.mid_block) x = this.mid_block.forward(x, emb);
    for (const block of this.up_blocks) {
      const n = block.resnets.length;
      const res = skips.splice(skips.length - n, n);
      x = block.forward(x, res, emb);
    }
    x = activation(c.actFn, this.conv_norm_out.forward(x));
    return this.conv_out.forward(x);
  }
}
