import type { Tensor } from '@attnkit/tensor-core';
import type { GenerationConfig } from './config.js';

/** What a causal language model's forward pass takes (Hugging Face names, camelCase). */
export interface CausalLMInputs {
  /** Token ids, int32 [batch, seq]: the whole sequence, or only the new tokens when a cache is passed. */
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding, int32 [batch, past + seq]. */
  attentionMask?: Tensor;
  /** Positions of `inputIds`, int32 [batch, seq] (left padding shifts them, as HF computes). */
  positionIds?: Tensor;
  /** The cache the previous call returned. */
  pastKeyValues?: unknown;
}

/** What a causal language model's forward pass returns. */
export interface CausalLMOutputs {
  /** Next-token logits, float32 [batch, seq, vocab]. */
  logits: Tensor;
  /** A cache to pass back on the next call; disposed by generate() when it is done (if disposable). */
  pastKeyValues?: unknown;
}

/**
 * Anything generate() can drive: GPT-2, Llama and every other causal LM in @attnkit/transformer,
 * or a toy model in a test. Forward may be synchronous or return a Promise.
 */
export interface CausalLM {
  forward(inputs: CausalLMInputs): CausalLMOutputs | Promise<CausalLMOutputs>;
  /**
   * Reorders a cache along the batch dim (beam search). Models without it are run without a cache
   * during beam search.
   */
  reorderCache?(pastKeyValues: unknown, beamIndices: readonly number[]): unknown;
  /**
   * Keeps the first `length` positions of a cache (speculative decoding rolls back rejected draft
   * tokens with it). Models without it are run without a cache during speculative decoding.
   */
  cropCache?(pastKeyValues: unknown, length: number): unknown;
  /**
   * The model's default generation settings (its generation_config.json, camelCase): generate()
   * starts from them and the caller's options override them, as in transformers.
   */
  generationConfig?: GenerationConfig | null;
}

/**
 * The decoder of an encoder-decoder model bound to one encoded batch: a causal LM over decoder
 * tokens whose every row reads the encoder output of its source row. generate() feeds it rows
 * grouped by source (beam search and numReturnSequences give k rows per source, in order: rows
 * i·k .. i·k + k − 1 read source i), and disposes it when done.
 */
export interface ConditionedDecoder extends CausalLM {
  /** Frees the encoder output (and anything cached from it). */
  dispose(): void;
}

/**
 * An encoder-decoder model as generate() drives it (T5, BART): the encoder runs once over the
 * source batch, then the decoder generates from the decoder start token with its own cache (and
 * the cross-attention keys and values computed once), as transformers' generate does.
 */
export interface Seq2SeqLM {
  /**
   * Encodes the source batch and returns the decoder bound to it: token ids int32 [B, Ls] with
   * their mask (1 real, 0 padding), or features as given (a float32 tensor such as Whisper's
   * log-mel [B, mels, frames]; the mask is then null).
   */
  seq2seqDecoder(
    inputs: Tensor,
    attentionMask: Tensor | null,
  ): ConditionedDecoder | Promise<ConditionedDecoder>;
  /** The first decoder token when neither the options nor the generationConfig set decoderStartTokenId. */
  readonly decoderStartTokenId?: number | null;
  /** The model's generation_config.json settings (camelCase), under the caller's options. */
  generationConfig?: GenerationConfig | null;
}

/** A tokenizer as generate() needs it: enough to decode for streaming and stop strings. */
export interface DecodingTokenizer {
  decode(ids: readonly number[]): string;
}

/** Disposes a cache object if it knows how. */
export function disposeCache(past: unknown): void {
  if (!past || typeof past !== 'object') return;
  const p = past as { dispose?: () => void; isTensor?: boolean };
  if (typeof p.dispose === 'function') {
    p.dispose();
    return;
  }
  if (Array.isArray(past)) for (const x of past) disposeCache(x);
}
