/**
 * @attnkit/sampling: logits processors (temperature, top-k, top-p, min-p, typical-p, penalties,
 * n-gram blocking, bad words, forced tokens), decoding strategies (greedy, seeded sampling, beam
 * search, speculative decoding) and a streaming generate() for any causal LM or encoder-decoder.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * import { loadTinyGPT } from '@attnkit/transformer';
 * const { model, tokenizer } = await loadTinyGPT(); // a 0.2M-parameter GPT-2 trained on fables
 * const { sequences } = await generate(model, [tokenizer.encode('THE ')], { maxNewTokens: 16, doSample: true, temperature: 0.8, topP: 0.95, seed: 0 });
 * sequences[0].length; // => 20
 * ```
 * @packageDocumentation
 */
export { type GenerationConfig, isSeq2SeqLM, resolveConfig, validateGenerationConfig } from './config.js';
export {
  argmaxRow,
  type GenerateOutput,
  generate,
  resolveMaxLength,
  type StreamChunk,
  sampleFromScores,
  sampleIndex,
  sampleKept,
  stream,
} from './generate.js';
export type { PromptIds } from './inputs.js';
export type {
  CausalLM,
  CausalLMInputs,
  CausalLMOutputs,
  ConditionedDecoder,
  DecodingTokenizer,
  Seq2SeqLM,
} from './model.js';
export * from './processors/index.js';
