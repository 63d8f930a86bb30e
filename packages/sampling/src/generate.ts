import { Generator, getDefaultGenerator, type Tensor } from '@attnkit/tensor-core';
import { beamSearch } from './beam-search.js';
import {
  checkAborted,
  checkVocab,
  type GenerationConfig,
  isSeq2SeqLM,
  resolveConfig,
  resolveMaxLength,
} from './config.js';
import { type Batch, forwardLast, type PromptIds, sourceBatch, toBatch } from './inputs.js';
import { type CausalLM, type ConditionedDecoder, disposeCache, type Seq2SeqLM } from './model.js';
import type { GenerateOutput } from './output.js';
import {
  applyProcessors,
  buildProcessors,
  eosList,
  type ProcessorContext,
  type ProcessorTrace,
} from './processors/index.js';
import { argmaxRow, checkLogits, sampleFromScores, sampleKept } from './select.js';
import { speculativeGenerate } from './speculative.js';

export type { GenerateOutput } from './output.js';
export { argmaxRow, sampleFromScores, sampleIndex, sampleKept } from './select.js';
export { resolveMaxLength };

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

/**
 * Generates tokens with a causal LM: greedy, sampling, beam search (numBeams > 1) or speculative
 * decoding (assistantModel), with Hugging Face GenerationConfig names.
 *
 * @example
 * ```ts
 * import { loadTinyGPT } from '@attnkit/transformer';
 * const { model, tokenizer } = await loadTinyGPT();
 * const prompt = tokenizer.encode('THE ');
 * const out = await generate(model, [prompt], { maxNewTokens: 20, doSample: true, topP: 0.9, seed: 1 });
 * out.sequences[0].length; // => 24
 * ```
 */
export async function generate(
  model: CausalLM | Seq2SeqLM,
  inputIds: PromptIds,
  options: GenerationConfig = {},
  attentionMask?: Tensor,
): Promise<GenerateOutput> {
  checkModel(model, 'generate');
  const config = resolveConfig(model, options);
  if (isSeq2SeqLM(model)) {
    const run = await openDecoder(model as Seq2SeqLM, inputIds, config, attentionMask);
    try {
      return await generateCausal(run.decoder, run.prompts, config);
    } finally {
      run.close();
    }
  }
  return generateCausal(model as CausalLM, inputIds, config, attentionMask);
}

async function generateCausal(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
  attentionMask?: Tensor,
): Promise<GenerateOutput> {
  if (config.assistantModel) return speculativeGenerate(model, inputIds, config);
  if ((config.numBeams ?? 1) > 1) return beamSearch(model, inputIds, config, attentionMask);
  const scores: Float32Array[][] = [];
  const trace: ProcessorTrace[][][] = [];
  const run = await prepare(inputIds, config, attentionMask);
  for await (const _ of decodeLoop(model, run, config, scores, trace));
  const out: GenerateOutput = { sequences: run.rows };
  if (config.outputScores) out.scores = scores;
  if (config.traceTopN) out.trace = trace;
  return out;
}

/**
 * Encodes the source batch of an encoder-decoder model once and returns its bound decoder with one
 * prompt per source row: the decoder start token (as transformers, the sequences generate() returns
 * begin with it). Lists of different lengths are padded on the right (encoder inputs are).
 */
async function openDecoder(
  model: Seq2SeqLM,
  inputIds: PromptIds | Tensor,
  config: GenerationConfig,
  attentionMask?: Tensor,
): Promise<{ decoder: ConditionedDecoder; prompts: number[][]; close: () => void }> {
  if (config.assistantModel)
    throw new Error(
      'generate: speculative decoding (assistantModel) drives causal LMs, not encoder-decoder models',
    );
  const start = config.decoderStartTokenId ?? model.decoderStartTokenId ?? config.bosTokenId;
  if (start === undefined || start === null)
    throw new Error(
      'generate: the encoder-decoder model has no decoder start token; set decoderStartTokenId (T5 uses the pad id, BART the EOS id)',
    );
  const prompt = config.decoderPromptIds ?? [start];
  const first = prompt[0] === start ? [...prompt] : [start, ...prompt];
  const eos = eosList(config.eosTokenId);
  // features (a float tensor, e.g. Whisper's log-mel) go to the encoder as they are
  const features = (inputIds as Tensor)?.isTensor === true && (inputIds as Tensor).dtype !== 'int32';
  const src = features
    ? { ids: inputIds as Tensor, mask: null, dispose: () => {} }
    : await sourceBatch(inputIds, config.padTokenId ?? 0, attentionMask, {
        padTokenId: config.padTokenId,
        eos,
      });
  let decoder: ConditionedDecoder;
  try {
    decoder = await model.seq2seqDecoder(src.ids, src.mask);
  } catch (e) {
    src.dispose();
    throw e;
  }
  return {
    decoder,
    prompts: Array.from({ length: src.ids.shape[0] }, () => [...first]),
    close: () => {
      decoder.dispose();
      src.dispose();
    },
  };
}

/**
 * Streams generation step by step: an async iterator of {@link StreamChunk}s. With
 * `config.tokenizer`, each chunk carries the new text of each row, holding back bytes until they
 * form whole characters. `config.signal` ends the stream early.
 *
 * @example
 * ```ts
 * import { loadTinyGPT } from '@attnkit/transformer';
 * const { model, tokenizer } = await loadTinyGPT();
 * const prompt = [tokenizer.encode('THE FOX ')];
 * let text = '';
 * for await (const chunk of stream(model, prompt, { maxNewTokens: 20, tokenizer })) text += chunk.text?.[0] ?? '';
 * text.length; // => 20
 * ```
 */
export async function* stream(
  model: CausalLM | Seq2SeqLM,
  inputIds: PromptIds,
  options: GenerationConfig = {},
  attentionMask?: Tensor,
): AsyncGenerator<StreamChunk> {
  checkModel(model, 'stream');
  const config = resolveConfig(model, options);
  if (isSeq2SeqLM(model)) {
    if ((config.numBeams ?? 1) > 1) throw new Error(NO_BEAM_STREAM);
    const run = await openDecoder(model as Seq2SeqLM, inputIds, config, attentionMask);
    try {
      yield* streamCausal(run.decoder, run.prompts, config);
    } finally {
      run.close();
    }
    return;
  }
  yield* streamCausal(model as CausalLM, inputIds, config, attentionMask);
}

const NO_BEAM_STREAM =
  'stream: beam search (numBeams > 1) and speculative decoding (assistantModel) do not stream; use generate()';

async function* streamCausal(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
  attentionMask?: Tensor,
): AsyncGenerator<StreamChunk> {
  if ((config.numBeams ?? 1) > 1 || config.assistantModel) throw new Error(NO_BEAM_STREAM);
  const tok = config.tokenizer;
  const emitted: number[] = [];
  const traces: ProcessorTrace[][][] = [];
  const run = await prepare(inputIds, config, attentionMask);
  for await (const s of decodeLoop(model, run, config, [], traces)) {
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

function checkModel(model: CausalLM | Seq2SeqLM, who: string): void {
  if (isSeq2SeqLM(model)) return;
  if (!model || typeof (model as CausalLM).forward !== 'function')
    throw new TypeError(
      `${who}: model must have a forward() method (or seq2seqDecoder() for an encoder-decoder)`,
    );
}

/** The left-padded batch, each prompt repeated numReturnSequences times when sampling (as HF). */
async function prepare(
  inputIds: PromptIds,
  config: GenerationConfig,
  attentionMask?: Tensor,
): Promise<Batch> {
  const eos = eosList(config.eosTokenId);
  const pad = config.padTokenId ?? eos[0] ?? 0;
  const batch = await toBatch(inputIds, pad, attentionMask, { padTokenId: config.padTokenId, eos });
  const n = config.doSample ? (config.numReturnSequences ?? 1) : 1;
  if (n === 1) return batch;
  const repeat = <T>(xs: T[], copy: (x: T) => T) =>
    xs.flatMap((x) => Array.from({ length: n }, () => copy(x)));
  return {
    rows: repeat(batch.rows, (r) => [...r]),
    masks: repeat(batch.masks, (m) => [...m]),
    promptLengths: repeat(batch.promptLengths, (p) => p),
  };
}

async function* decodeLoop(
  model: CausalLM,
  batch: Batch,
  config: GenerationConfig,
  scoresOut: Float32Array[][],
  traceOut: ProcessorTrace[][][],
): AsyncGenerator<LoopState> {
  const eos = eosList(config.eosTokenId);
  const pad = config.padTokenId ?? eos[0] ?? 0;
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
      await checkAborted(config.signal);
      const feed = useCache && past != null ? 1 : rows[0].length;
      const res = await forwardLast(model, rows, masks, useCache ? past : undefined, feed);
      if (useCache) past = res.past;
      else disposeCache(res.past);
      if (step === 0) checkVocab(config, res.logits[0].length);
      const chosen: number[] = [];
      const stepScores: Float32Array[] = [];
      const stepTrace: ProcessorTrace[][] = [];
      for (let i = 0; i < rows.length; i++) {
        const s = res.logits[i];
        if (finished[i]) {
          chosen.push(pad);
          continue;
        }
        checkLogits(s, `step ${step}, row ${i}`);
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
        // a finished row's pads are masked: the model never reads them (and their ids need not be
        // in its vocabulary)
        masks[i].push(finished[i] ? 0 : 1);
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
