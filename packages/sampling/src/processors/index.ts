import type { GenerationConfig } from '../config.js';
import {
  BadWordsProcessor,
  ForcedBOSProcessor,
  ForcedEOSProcessor,
  LogitBiasProcessor,
  MinLengthProcessor,
  MinNewTokensProcessor,
  NoRepeatNGramProcessor,
  PresenceFrequencyPenaltyProcessor,
  RepetitionPenaltyProcessor,
  SuppressTokensAtBeginProcessor,
  SuppressTokensProcessor,
} from './penalties.js';
import { type LogitsProcessor, type ProcessorContext, softmaxRow } from './processor.js';
import { TopPWarper } from './top-p.js';
import { MinPWarper, TemperatureWarper, TopKWarper, TypicalPWarper } from './warpers.js';

/** Token ids of `eosTokenId`, as a list. */
export function eosList(v: number | number[] | undefined): number[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The processors a config asks for, in Hugging Face's order: logit bias, repetition penalty,
 * presence/frequency penalties, no-repeat n-gram, bad words, min length, min new tokens, forced
 * BOS/EOS, suppressed tokens (always, then at the first generated position), your own
 * `logitsProcessors`; then, when sampling, the warpers temperature, topK, topP,
 * minP, typicalP.
 */
export function buildProcessors(config: GenerationConfig, minTokensToKeep = 1): LogitsProcessor[] {
  const eos = eosList(config.eosTokenId);
  const list: LogitsProcessor[] = [];
  if (config.logitBias && Object.keys(config.logitBias).length)
    list.push(new LogitBiasProcessor(config.logitBias));
  if (config.repetitionPenalty !== undefined && config.repetitionPenalty !== 1)
    list.push(new RepetitionPenaltyProcessor(config.repetitionPenalty));
  if (config.presencePenalty || config.frequencyPenalty) {
    list.push(
      new PresenceFrequencyPenaltyProcessor(config.presencePenalty ?? 0, config.frequencyPenalty ?? 0),
    );
  }
  if (config.noRepeatNgramSize) list.push(new NoRepeatNGramProcessor(config.noRepeatNgramSize));
  if (config.badWordsIds?.length) list.push(new BadWordsProcessor(config.badWordsIds));
  if (config.minLength && eos.length) list.push(new MinLengthProcessor(config.minLength, eos));
  if (config.minNewTokens && eos.length) list.push(new MinNewTokensProcessor(config.minNewTokens, eos));
  if (config.forcedBosTokenId !== undefined) list.push(new ForcedBOSProcessor(config.forcedBosTokenId));
  if (config.forcedEosTokenId !== undefined)
    list.push(new ForcedEOSProcessor(eosList(config.forcedEosTokenId)));
  if (config.suppressTokens?.length) list.push(new SuppressTokensProcessor(config.suppressTokens));
  if (config.beginSuppressTokens?.length)
    list.push(
      new SuppressTokensAtBeginProcessor(config.beginSuppressTokens, config.forcedBosTokenId !== undefined),
    );
  if (config.logitsProcessors) list.push(...config.logitsProcessors);
  if (config.doSample) {
    if (config.temperature !== undefined && config.temperature !== 1 && config.temperature > 0)
      list.push(new TemperatureWarper(config.temperature));
    if (config.topK) list.push(new TopKWarper(config.topK, minTokensToKeep));
    if (config.topP !== undefined && config.topP < 1) list.push(new TopPWarper(config.topP, minTokensToKeep));
    if (config.minP) list.push(new MinPWarper(config.minP, minTokensToKeep));
    if (config.typicalP !== undefined && config.typicalP < 1)
      list.push(new TypicalPWarper(config.typicalP, minTokensToKeep));
  }
  return list;
}

/** One candidate token in a trace: its id, score and probability at that point. */
export interface Candidate {
  tokenId: number;
  score: number;
  prob: number;
}

/** What one processor did to one row: the top-n candidates before and after it. */
export interface ProcessorTrace {
  processor: string;
  before: Candidate[];
  after: Candidate[];
}

/** Applies processors in order to one row; with `traceTopN`, records what each one did. */
export function applyProcessors(
  processors: readonly LogitsProcessor[],
  ids: readonly number[],
  scores: Float32Array,
  ctx: ProcessorContext,
  traceTopN?: number,
): ProcessorTrace[] | undefined {
  ctx.kept = undefined;
  if (!traceTopN) {
    for (const p of processors) {
      p.process(ids, scores, ctx);
      if (keptBy(ctx) !== p) ctx.kept = undefined;
    }
    return undefined;
  }
  const trace: ProcessorTrace[] = [];
  for (const p of processors) {
    const before = topCandidates(scores, traceTopN);
    p.process(ids, scores, ctx);
    if (keptBy(ctx) !== p) ctx.kept = undefined;
    trace.push({ processor: p.name, before, after: topCandidates(scores, traceTopN) });
  }
  return trace;
}

// A helper, so TypeScript does not narrow ctx.kept to undefined across the process() calls.
function keptBy(ctx: ProcessorContext): LogitsProcessor | undefined {
  return ctx.kept?.owner;
}

/** The n highest-scoring tokens with their softmax probabilities. */
export function topCandidates(scores: Float32Array, n: number): Candidate[] {
  const probs = softmaxRow(scores);
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (top.length < n) {
      top.push(i);
      top.sort((a, b) => scores[b] - scores[a] || a - b);
    } else if (scores[i] > scores[top[n - 1]]) {
      top[n - 1] = i;
      top.sort((a, b) => scores[b] - scores[a] || a - b);
    }
  }
  return top.map((i) => ({ tokenId: i, score: scores[i], prob: probs[i] }));
}

export * from './penalties.js';
export type { LogitsProcessor, ProcessorContext } from './processor.js';
export { softmaxRow } from './processor.js';
export * from './warpers.js';
