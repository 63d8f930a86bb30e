/**
 * UNet2DConditionModel (diffusers' `models/unets/unet_2d_condition.py`): the latent-diffusion U-Net
 * of Stable Diffusion, conditioned on text embeddings through cross-attention transformer blocks.
 */
import { add, type Tensor, tensor } from '@attnkit/tensor-core';
import { Conv2d, Embedding, GroupNorm, Module } from '@attnkit/tensor-core/nn';
import { activation, checkActivation } from './activations.js';
import { perBlock, readModelConfig } from './config.js';
import { batchTimesteps, TimestepEmbedding, Timesteps } from './embeddings.js';
import { loadPretrained, type ModelSource } from './loading.js';
import {
  type DownBlockBase,
  getDownBlock,
  getUpBlock,
  UNetMidBlock2DCrossAttn,
  type UpBlockBase,
} from './unet-2d-blocks.js';

/** UNet2DConditionModel config: diffusers' fields in camelCase, with diffusers' defaults. */
export interface UNet2DConditionConfig {
  sampleSize: number | number[] | null;
  inChannels: number;
  outChannels: number;
  centerInputSample: boolean;
  flipSinToCos: boolean;
  freqShift: number;
  downBlockTypes: string[];
  midBlockType: 'UNetMidBlock2DCrossAttn' | null;
  upBlockTypes: string[];
  onlyCrossAttention: boolean | boolean[];
  blockOutChannels: number[];
  layersPerBlock: number | number[];
  downsamplePadding: number;
  midBlockScaleFactor: number;
  actFn: string;
  normNumGroups: number;
  normEps: number;
  crossAttentionDim: number | number[];
  transformerLayersPerBlock: number | number[];
  /**
   * diffusers' (misnamed) `attention_head_dim`: the number of heads per block when
   * `numAttentionHeads` is null (as in every Stable Diffusion config).
   */
  attentionHeadDim: number | number[];
  numAttentionHeads: number | number[] | null;
  useLinearProjection: boolean;
  resnetTimeScaleShift: 'default' | 'scale_shift';
  timeEmbeddingType: 'positional';
  classEmbedType: null;
  numClassEmbeds: number | null;
  convInKernel: number;
  convOutKernel: number;
}

/** diffusers' defaults of {@link UNet2DConditionModel} (Stable Diffusion 1.x sizes). */
export const UNET_2D_CONDITION_DEFAULTS: UNet2DConditionConfig = Object.freeze({
  sampleSize: null,
  inChannels: 4,
  outChannels: 4,
  centerInputSample: false,
  flipSinToCos: true,
  freqShift: 0,
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  midBlockType: 'UNetMidBlock2DCrossAttn',
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  onlyCrossAttention: false,
  blockOutChannels: [320, 640, 1280, 1280],
  layersPerBlock: 2,
  downsamplePadding: 1,
  midBlockScaleFactor: 1,
  actFn: 'silu',
  normNumGroups: 32,
  normEps: 1e-5,
  crossAttentionDim: 1280,
  transformerLayersPerBlock: 1,
  attentionHeadDim: 8,
  numAttentionHeads: null,
  useLinearProjection: false,
  resnetTimeScaleShift: 'default',
  timeEmbeddingType: 'positional',
  classEmbedType: null,
  numClassEmbeds: null,
  convInKernel: 3,
  convOutKernel: 3,
}) as UNet2DConditionConfig;

/**
 * The conditional U-Net. Parameter names are diffusers' (`down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k`, ...).
 *
 * @example
 * ```ts
 * // a diffusers folder, e.g. a Stable Diffusion pipeline's unet/ (this one: cross-attention dim 12)
 * const unet = await UNet2DConditionModel.fromPretrained('packages/diffusion/test/fixtures/models/unet2d_condition_tiny');
 * const latents = randn([1, 4, 8, 8]);
 * const textEmbeddings = randn([1, 5, 12]);
 * const eps = unet.forward(latents, 981, textEmbeddings);
 * eps.shape; // => [1, 4, 8, 8]
 * ```
 */
export class UNet2DConditionModel extends Module {
  readonly config: Readonly<UNet2DConditionConfig>;
  conv_in: Conv2d;
  time_proj: Timesteps;
  time_embedding: TimestepEmbedding;
  class_embedding: Embedding | null = null;
  down_blocks: DownBlockBase[];
  mid_block: UNetMidBlock2DCrossAttn | null;
  up_blocks: UpBlockBase[];
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;

  /** Builds the model from camelCase or snake_case config fields. */
  constructor(config: Partial<UNet2DConditionConfig> | Record<string, unknown> = {}) {
    super();
    const op = 'UNet2DConditionModel';
    const c = readModelConfig(op, UNET_2D_CONDITION_DEFAULTS, config, {
      timeEmbeddingType: ['positional'],
      classEmbedType: [null],
      additionEmbedType: [null],
      encoderHidDim: [null],
      dualCrossAttention: [null, false],
      timeCondProjDim: [null],
      midBlockOnlyCrossAttention: [null, false],
      reverseTransformerLayersPerBlock: [null],
    });
    this.config = Object.freeze(c);
    const boc = c.blockOutChannels;
    const n = boc.length;
    if (c.downBlockTypes.length !== n || c.upBlockTypes.length !== n) {
      throw new Error(
        `${op}: blockOutChannels (${n}), downBlockTypes (${c.downBlockTypes.length}) and upBlockTypes (${c.upBlockTypes.length}) must have the same length`,
      );
    }
    checkActivation(op, c.actFn);
    // diffusers: num_attention_heads = num_attention_heads or attention_head_dim
    const heads = perBlock(op, 'numAttentionHeads', c.numAttentionHeads ?? c.attentionHeadDim, n);
    const onlyCross = perBlock(op, 'onlyCrossAttention', c.onlyCrossAttention, n);
    const layers = perBlock(op, 'layersPerBlock', c.layersPerBlock, n);
    const crossDim = perBlock(op, 'crossAttentionDim', c.crossAttentionDim, n);
    const tlayers = perBlock(op, 'transformerLayersPerBlock', c.transformerLayersPerBlock, n);
    const timeEmbedDim = boc[0] * 4;
    this.conv_in = new Conv2d(c.inChannels, boc[0], c.convInKernel, { padding: (c.convInKernel - 1) / 2 });
    this.time_proj = new Timesteps(boc[0], c.flipSinToCos, c.freqShift);
    this.time_embedding = new TimestepEmbedding(boc[0], timeEmbedDim, c.actFn);
    if (c.numClassEmbeds !== null) this.class_embedding = new Embedding(c.numClassEmbeds, timeEmbedDim);
    const common = {
      tembChannels: timeEmbedDim,
      resnetEps: c.normEps,
      resnetActFn: c.actFn,
      resnetGroups: c.normNumGroups,
      resnetTimeScaleShift: c.resnetTimeScaleShift,
      useLinearProjection: c.useLinearProjection,
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
            numLayers: layers[i],
            inChannels: inC,
            outChannels: out,
            addDownsample: i !== n - 1,
            downsamplePadding: c.downsamplePadding,
            numAttentionHeads: heads[i],
            crossAttentionDim: crossDim[i],
            transformerLayersPerBlock: tlayers[i],
            onlyCrossAttention: onlyCross[i],
          },
          op,
        ),
      );
    });
    this.mid_block =
      c.midBlockType === null
        ? null
        : new UNetMidBlock2DCrossAttn({
            ...common,
            inChannels: boc[n - 1],
            outputScaleFactor: c.midBlockScaleFactor,
            numAttentionHeads: heads[n - 1],
            crossAttentionDim: crossDim[n - 1],
            transformerLayersPerBlock: tlayers[n - 1],
          });
    const rev = [...boc].reverse();
    const revHeads = [...heads].reverse();
    const revLayers = [...layers].reverse();
    const revCross = [...crossDim].reverse();
    const revT = [...tlayers].reverse();
    const revOnly = [...onlyCross].reverse();
    this.up_blocks = [];
    out = rev[0];
    c.upBlockTypes.forEach((type, i) => {
      const prev = out;
      out = rev[i];
      const inC = rev[Math.min(i + 1, n - 1)];
      this.up_blocks.push(
        getUpBlock(
          type,
          {
            ...common,
            numLayers: revLayers[i] + 1,
            inChannels: inC,
            outChannels: out,
            prevOutputChannels: prev,
            addUpsample: i !== n - 1,
            numAttentionHeads: revHeads[i],
            crossAttentionDim: revCross[i],
            transformerLayersPerBlock: revT[i],
            onlyCrossAttention: revOnly[i],
          },
          op,
        ),
      );
    });
    this.conv_norm_out = new GroupNorm(c.normNumGroups, boc[0], { eps: c.normEps });
    this.conv_out = new Conv2d(boc[0], c.outChannels, c.convOutKernel, {
      padding: (c.convOutKernel - 1) / 2,
    });
  }

  /** Loads `config.json` + `diffusion_pytorch_model.safetensors` (diffusers' `unet/` folder). */
  static async fromPretrained(source: ModelSource): Promise<UNet2DConditionModel> {
    return loadPretrained(
      source,
      (cfg) => new UNet2DConditionModel(cfg),
      'UNet2DConditionModel.fromPretrained',
    );
  }

  /**
   * Predicts the noise of latents `sample` at `timestep`, attending to `encoderHiddenStates`.
   *
   * @param sample [B, inChannels, H, W]
   * @param timestep one for the batch or one per sample
   * @param encoderHiddenStates text embeddings [B, S, crossAttentionDim]
   * @param classLabels int32 [B] for models with `numClassEmbeds`
   * @returns [B, outChannels, H, W]
   */
  override forward(
    sample: Tensor,
    timestep: number | readonly number[],
    encoderHiddenStates: Tensor,
    classLabels?: Tensor | readonly number[],
  ): Tensor {
    const op = 'UNet2DConditionModel.forward';
    const c = this.config;
    if (sample?.rank !== 4 || sample.shape[1] !== c.inChannels) {
      throw new Error(
        `${op}: expected sample [B, ${c.inChannels}, H, W], got ${sample?.shape ? `[${sample.shape.join(', ')}]` : String(sample)}`,
      );
    }
    const b = sample.shape[0];
    const crossDim = Array.isArray(c.crossAttentionDim) ? c.crossAttentionDim[0] : c.crossAttentionDim;
    if (
      encoderHiddenStates?.rank !== 3 ||
      encoderHiddenStates.shape[0] !== b ||
      encoderHiddenStates.shape[2] !== crossDim
    ) {
      throw new Error(
        `${op}: expected encoderHiddenStates [${b}, S, ${crossDim}], got ${encoderHiddenStates?.shape ? `[${encoderHiddenStates.shape.join(', ')}]` : String(encoderHiddenStates)}`,
      );
    }
    const upFactor = 2 ** this.up_blocks.filter((u) => u.upsamplers.length > 0).length;
    const forwardUpsampleSize = sample.shape[2] % upFactor !== 0 || sample.shape[3] % upFactor !== 0;
    let x = c.centerInputSample ? sample.mul(2).sub(1) : sample;
    let emb = this.time_embedding.forward(this.time_proj.forward(batchTimesteps(op, timestep, b)));
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
      const r = block.forward(x, emb, encoderHiddenStates);
      x = r.hiddenStates;
      skips.push(...r.resSamples);
    }
    if (this.mid_block) x = this.mid_block.forward(x, emb, encoderHiddenStates);
    this.up_blocks.forEach((block, i) => {
      const k = block.resnets.length;
      const res = skips.splice(skips.length - k, k);
      const last = i === this.up_blocks.length - 1;
      const size =
        !last && forwardUpsampleSize && skips.length > 0
          ? ([skips[skips.length - 1].shape[2], skips[skips.length - 1].shape[3]] as [number, number])
          : undefined;
      x = block.forward(x, res, emb, encoderHiddenStates, size);
    });
    x = activation(c.actFn, this.conv_norm_out.forward(x));
    return this.conv_out.forward(x);
  }
}
