// What every model class here shares: its config (serialisable to config.json), the names of tied
// parameters, checkpoint keys it ignores, and how forward manages memory.
import { isGradEnabled, noGrad, type Tensor, tidy } from '@attnkit/tensor-core';
import { Module } from '@attnkit/tensor-core/nn';
import type { GenerationDefaults } from '../generation-config.js';

/**
 * Base of the model classes (GPT-2, Llama, BERT, ...), as transformers' PreTrainedModel.
 *
 * Memory: in eval mode (what {@link loadPretrained} returns), or with gradients off, `forward`
 * runs without an autograd graph and frees its intermediates itself. In training mode with
 * gradients on (a freshly constructed model, as in torch), it records the graph: run the
 * training step inside `tidy` (the {@link train} utility does).
 */
export abstract class PreTrainedModel extends Module {
  /** Hugging Face `model_type` (config.json). */
  abstract readonly modelType: string;
  /** Hugging Face class name written to `architectures` in config.json. */
  abstract readonly architecture: string;

  /** config.json contents for this model (snake_case, as Hugging Face writes them). */
  abstract configJson(): Record<string, unknown>;

  /**
   * Parameters that are the same tensor under two names, as [alias, source] (e.g. GPT-2's
   * `lm_head.weight` → `transformer.wte.weight`). Checkpoints usually store only the source.
   */
  tiedWeights(): [string, string][] {
    return [];
  }

  /**
   * Patterns of checkpoint keys that this class does not use and loading skips (as transformers'
   * `_keys_to_ignore_on_load_unexpected`), e.g. GPT-2's stored causal-mask buffers.
   */
  ignoredKeys(): RegExp[] {
    return [];
  }

  /**
   * The prefix of the base model's names inside task models (`transformer.` for GPT-2,
   * `model.` for Llama, `bert.` for BERT), so checkpoints of the bare model load too.
   */
  basePrefix(): string {
    return '';
  }

  /**
   * The model's default generation settings, read from generation_config.json by loadPretrained
   * (null when the checkpoint has none); `@attnkit/sampling`'s generate() uses them under the
   * caller's options, as transformers does.
   */
  generationConfig: GenerationDefaults | null = null;

  /**
   * The generation settings when a checkpoint has no generation_config.json (transformers'
   * `GenerationConfig.from_model_config`): null here; encoder-decoder families return their
   * config's token ids (start, end, pad, forced end), which their generation needs.
   */
  defaultGenerationConfig(): GenerationDefaults | null {
    return null;
  }

  /**
   * Checkpoint tensors renamed to this class's names, for checkpoint layouts other than its own
   * (e.g. Mixtral's fused experts). Returns `weights` itself when nothing changes; tensors it
   * creates are disposed by the caller after loading.
   */
  remapCheckpoint(weights: Record<string, Tensor>): Record<string, Tensor> {
    return weights;
  }

  /** True when forward should record the autograd graph (training mode, gradients on). */
  protected recordsGraph(): boolean {
    return this.training && isGradEnabled();
  }

  /** Runs `fn` as forward: recording the graph when training, else without one inside tidy. */
  protected run<T>(fn: () => T): T {
    if (this.recordsGraph()) return fn();
    return noGrad(() => tidy(fn));
  }
}
