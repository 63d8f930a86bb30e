import { Generator, getDefaultGenerator, type Tensor } from '@attnkit/tensor-core';
import { beamSearch } from './beam-search.js';
import { type GenerationConfig, validateGenerationConfig } from './config.js';
import { type Batch, forwardLast, type PromptIds, toBatch } from './inputs.js';
import { type CausalLM, disposeCache } from './model.js';
import {
  applyProcessors,
  buildProcessors,
  eosList,
  type ProcessorContext,
  type ProcessorTrace,
} from './processors/index.js';
import { expNonPositive } from './processors/processor.js';
import { speculativeGenerate } from './speculative.js';

/** What generate() returns. */
export interface GenerateOutput {
  /** Prompt (left-padded as given) followed by the generated tokens, per returned sequence. */
  sequences: number[][];
  /** Processed scores of each step ([step][row]), with `outputScores`. */
  scores?: Float32Array[][];
  /** Beam search: the final score of each returned sequence. */
  sequencesScores?: number[];
  /** With `traceTopN`: for each step and row, what every processor did to the top candidates. */
  trace?: ProcessorTrace[][][];
  /** Speculative decoding: accepted draft tokens / proposed draft tokens. */
  acceptanceRate?: number;
}

/** One step of stream(): the token chosen for each row and, with a tokenizer, new whole-character text. */
export interface StreamChunk {
  step: number;
  /** Token per row (padTokenId for rows already finished). */
  tokenIds: number[];
  /** New text per row since the last chunk: only whole UTF-8 characters are emitted. */
  text?: string[];
  /** Rows that have finished after this step. */
  finished: boolean[];
  /** With `traceTopN`: per row, what every processor did to the top candidates at this step. */
  trace?: ProcessorTrace[][];
}

/** Maximum total length from a config and prompt width. */
export function resolveMaxLength(config: GenerationConfig, promptWidth: number): number {
  if (config.maxNewTokens !== undefined) return promptWidth + config.maxNewTokens;
  return config.maxLength ?? 20;
}

/** Draws an index from probabilities (float64, summing to ~1) with one uniform draw. */
export function sampleIndex(probs: Float64Array, g: Generator): number {
  const u = g.uniform();
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  let acc = 0;
  const target = u * total;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    acc += probs[i];
    if (acc > target) return i;
  }
  return last;
}

let expBuf = new Float64Array(0);

/**
 * Draws a token from softmax(scores) with one uniform draw: one exp pass over the finite scores
 * (masked tokens, -inf, cost nothing) and a cumulative search, reusing one buffer.
 */
export function sampleFromScores(scores: Float32Array, g: Generator): number {
  const n = scores.length;
  if (expBuf.length < n) expBuf = new Float64Array(n);
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (scores[i] > m) m = scores[i];
  if (m === Number.NEGATIVE_INFINITY)
    throw new Error('generate: every token was masked (all scores are -inf)');
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    const e = expNonPositive(s - m);
    expBuf[i] = e;
    total += e;
  }
  const target = g.uniform() * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const e = expBuf[i];
    if (e === 0) continue;
    last = i;
    acc += e;
    if (acc > target) return i;
  }
  return last;
}

/** Draws from probabilities restricted to the kept tokens (what top-p left), renormalised. */
export function sampleKept(kept: NonNullable<ProcessorContext['kept']>, g: Generator): number {
  const { ids, probs, mass } = kept;
  if (ids.length === 0) throw new Error('generate: every token was masked (all scores are -inf)');
  const target = g.uniform() * mass;
  let acc = 0;
  let last = ids[0];
  for (let j = 0; j < ids.length; j++) {
    const e = probs[j];
    if (e === 0) continue;
    last = ids[j];
    acc += e;
    if (acc > target) return last;
  }
  return last;
}

/** Index of the largest score (the first on ties). */
export function argmaxRow(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/**
 * Generates tokens with a causal LM: greedy, sampling, beam search (numBeams > 1) or speculative
 * decoding (assistantModel), with Hugging Face GenerationConfig names.
 *
 * @example
 * ```ts
 * const out = await generate(model, [[464, 3290]], { maxNewTokens: 20, doSample: true, topP: 0.9, seed: 1 });
 * console.log(out.sequences[0]);
 * ```
 */
export async function generate(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig = {},
  attentionMask?: Tensor,
): Promise<GenerateOutput> {
  if (!model || typeof model.forward !== 'function')
    throw new TypeError('generate: model must have a forward() method');
  validateGenerationConfig(config);
  if (config.assistantModel) return speculativeGenerate(model, inputIds, config);
  if ((config.numBeams ?? 1) > 1) return beamSearch(model, inputIds, config, attentionMask);
  const scores: Float32Array[][] = [];
  const trace: ProcessorTrace[][][] = [];
  let sequences: number[][] = [];
  for await (const chunk of decodeLoop(model, inputIds, config, attentionMask, scores, trace)) {
    sequences = chunk.sequences;
  }
  const out: GenerateOutput = { sequences };
  if (config.outputScores) out.scores = scores;
  if (config.traceTopN) out.trace = trace;
  return out;
}

/**
 * Streams generation step by step: an async iterator of {@link StreamChunk}s. With
 * `config.tokenizer`, each chunk carries the new text of each row, holding back bytes until they
 * form whole characters. `config.signal` ends the stream early.
 *
 * @example
 * ```ts
 * for await (const chunk of stream(model, prompt, { maxNewTokens: 50, tokenizer })) process.stdout.write(chunk.text![0]);
 * ```
 */
export async function* stream(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig = {},
  attentionMask?: Tensor,
): AsyncGenerator<StreamChunk> {
  validateGenerationConfig(config);
  if ((config.numBeams ?? 1) > 1 || config.assistantModel)
    throw new Error('stream: beam search and speculative decoding do not stream; use generate()');
  const tok = config.tokenizer;
  const emitted: number[] = [];
  const traces: ProcessorTrace[][][] = [];
  for await (const s of decodeLoop(model, inputIds, config, attentionMask, [], traces)) {
    const chunk: StreamChunk = { step: s.step, tokenIds: s.tokenIds, finished: s.finished };
    if (config.traceTopN) chunk.trace = traces[traces.length - 1];
    if (tok) {
      chunk.text = s.generated.map((ids, i) => {
        const text = tok.decode(ids);
        emitted[i] ??= 0;
        // hold back a trailing replacement character: the next token may complete it
        let end = text.length;
        if (!s.done && text.endsWith('\uFFFD')) end = text.length - 1;
        const piece = text.slice(emitted[i], Math.max(end, emitted[i]));
        emitted[i] = Math.max(end, emitted[i]);
        return piece;
      });
    }
    yield chunk;
  }
}

interface LoopState {
  step: number;
  tokenIds: number[];
  finished: boolean[];
  sequences: number[][];
  generated: number[][];
  done: boolean;
}

async function* decodeLoop(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
  attentionMask: Tensor | undefined,
  scoresOut: Float32Array[][],
  traceOut: ProcessorTrace[][][],
): AsyncGenerator<LoopState> {
  const eos = eosList(config.eosTokenId);
  const pad = config.padTokenId ?? eos[0] ?? 0;
  const batch: Batch = await toBatch(inputIds, pad, attentionMask);
  const { rows, masks } = batch;
  const width = rows[0].length;
  const maxLength = resolveMaxLength(config, width);
  const processors = buildProcessors(config);
  const gen =
    config.generator ?? (config.seed !== undefined ? new Generator(config.seed) : getDefaultGenerator());
  const greedy = !config.doSample || config.temperature === 0;
  const useCache = config.useCache ?? true;
  const stops =
    config.stopStrings === undefined
      ? []
      : Array.isArray(config.stopStrings)
        ? config.stopStrings
        : [config.stopStrings];
  const finished = rows.map(() => false);
  const generated: number[][] = rows.map(() => []);
  // the real tokens of each row (no left padding), as processors see them
  const real = rows.map((r, i) => r.filter((_, j) => masks[i][j] === 1));
  let past: unknown;
  let step = 0;
  try {
    while (rows[0].length < maxLength && !finished.every(Boolean)) {
      if (config.signal?.aborted) throw config.signal.reason ?? new Error('generate: aborted');
      const feed = useCache && past != null ? 1 : rows[0].length;
      const res = await forwardLast(model, rows, masks, useCache ? past : undefined, feed);
      if (useCache) past = res.past;
      else disposeCache(res.past);
      const chosen: number[] = [];
      const stepScores: Float32Array[] = [];
      const stepTrace: ProcessorTrace[][] = [];
      for (let i = 0; i < rows.length; i++) {
        const s = res.logits[i];
        if (finished[i]) {
          chosen.push(pad);
          continue;
        }
        const ctx: ProcessorContext = {
          promptLength: batch.promptLengths[i],
          maxLength: maxLength - (width - batch.promptLengths[i]),
        };
        const t = applyProcessors(processors, real[i], s, ctx, config.traceTopN);
        if (t) stepTrace[i] = t;
        if (config.outputScores) stepScores[i] = s;
        chosen.push(greedy ? argmaxRow(s) : ctx.kept ? sampleKept(ctx.kept, gen) : sampleFromScores(s, gen));
      }
      for (let i = 0; i < rows.length; i++) {
        rows[i].push(chosen[i]);
        masks[i].push(1);
        if (finished[i]) continue;
        real[i].push(chosen[i]);
        generated[i].push(chosen[i]);
        if (eos.includes(chosen[i])) finished[i] = true;
        else if (stops.length && config.tokenizer) {
          const text = config.tokenizer.decode(generated[i]);
          if (stops.some((st) => text.includes(st))) finished[i] = true;
        }
      }
      if (config.outputScores) scoresOut.push(stepScores);
      if (config.traceTopN) traceOut.push(stepTrace);
      const done = rows[0].length >= maxLength || finished.every(Boolean);
      yield { step: step++, tokenIds: chosen, finished: [...finished], sequences: rows, generated, done };
    }
  } finally {
    disposeCache(past);
  }
}
