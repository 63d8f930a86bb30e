/**
 * The parts of a Stable Diffusion pipeline, in their own module so that the pipeline and its folder
 * loader (from-pretrained.ts) both import them without importing each other.
 */
import type { Tensor } from '@attnkit/tensor-core';
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { UNet2DConditionModel } from '../models/unet-2d-condition.js';
import type { Scheduler } from '../schedulers/scheduler.js';

/**
 * A text encoder: int32 token ids [B, S] → hidden states [B, S, D], returned as a tensor or as
 * `lastHiddenState` of an output object (`@attnkit/transformer`'s CLIPTextModel, as diffusers reads
 * `text_encoder(ids)[0]`; other outputs such as `poolerOutput` are freed).
 */
export interface TextEncoderLike {
  forward(inputIds: Tensor): Tensor | { lastHiddenState: Tensor };
  /** When present (CLIPTextModel), `maxPositionEmbeddings` is the default {@link StableDiffusionComponents.maxLength}. */
  config?: unknown;
}

/** The parts of a Stable Diffusion pipeline (diffusers' component names, camelCase). */
export interface StableDiffusionComponents {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  scheduler: Scheduler;
  textEncoder: TextEncoderLike;
  /** Text → token ids including the special tokens (e.g. CLIP's `<|startoftext|> … <|endoftext|>`). */
  tokenize: (text: string) => number[];
  /**
   * Ids are truncated (keeping the last, end token) or padded to this length. Default: the text
   * encoder's `config.maxPositionEmbeddings` when it has one (CLIPTextModel), else 77 (CLIP).
   */
  maxLength?: number;
  /** Padding id. Default 49407 (CLIP's `<|endoftext|>`, which SD 1.x pads with). */
  padTokenId?: number;
}
