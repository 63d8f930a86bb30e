export {
  BasicTransformerBlock,
  type BasicTransformerBlockOptions,
  FeedForward,
  type FeedForwardActivation,
  GEGLU,
} from './attention.js';
export { Attention, type AttentionOptions } from './attention-processor.js';
export { AUTOENCODER_KL_DEFAULTS, AutoencoderKL, type AutoencoderKLConfig } from './autoencoder-kl.js';
export {
  getTimestepEmbedding,
  TimestepEmbedding,
  type TimestepEmbeddingOptions,
  Timesteps,
} from './embeddings.js';
export { convertLegacyAttentionKeys, type ModelSource } from './loading.js';
export { Downsample2D, ResnetBlock2D, type ResnetBlock2DOptions, Upsample2D } from './resnet.js';
export { Transformer2DModel, type Transformer2DModelOptions } from './transformer-2d.js';
export { UNET_2D_DEFAULTS, type UNet2DConfig, UNet2DModel } from './unet-2d.js';
export {
  type AttentionKind,
  AttnDownBlock2D,
  AttnUpBlock2D,
  type BlockOptions,
  CrossAttnDownBlock2D,
  CrossAttnUpBlock2D,
  DownBlock2D,
  DownBlockBase,
  type DownBlockOptions,
  type DownBlockOutput,
  DownEncoderBlock2D,
  getDownBlock,
  getUpBlock,
  type MidBlockOptions,
  UNetMidBlock2D,
  UNetMidBlock2DCrossAttn,
  UpBlock2D,
  UpBlockBase,
  type UpBlockOptions,
  UpDecoderBlock2D,
} from './unet-2d-blocks.js';
export {
  UNET_2D_CONDITION_DEFAULTS,
  type UNet2DConditionConfig,
  UNet2DConditionModel,
} from './unet-2d-condition.js';
export { Decoder, DiagonalGaussianDistribution, Encoder, type VaeCoderOptions } from './vae.js';
