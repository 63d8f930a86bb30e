// pipeline('automatic-speech-recognition'): 16 kHz mono audio ─▶ Whisper's log-mel features (the
// folder's preprocessor_config.json) ─▶ the decoder prompt as transformers'
// WhisperForConditionalGeneration.generate builds it for short-form audio (start token, language
// given or detected, task, <|notimestamps|>) ─▶ generate() of @attnkit/sampling ─▶ the new tokens
// without special and timestamp tokens, decoded.
import { type GenerationConfig, generate } from '@attnkit/sampling';
import { noGrad, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import type { PretrainedTokenizer } from '@attnkit/tokenizer';
import type { WhisperFeatureExtractor } from '../audio/whisper-feature-extractor.js';
import { describe } from '../internal.js';
import type { PretrainedTasks } from '../loading.js';
import { WHISPER_LANGUAGE_CODES, WHISPER_LANGUAGES } from '../models/whisper-prompt.js';

/** The speech recognisers this task runs (Whisper). */
export type AutomaticSpeechRecognitionModel = PretrainedTasks['automatic-speech-recognition'];

/**
 * Options of a speech-recognition call: the language and task, and generation settings (camelCase
 * HF names). Without them the checkpoint's generation_config.json and transformers' pipeline
 * defaults apply: beam search with 5 beams unless it sets num_beams, and 256 new tokens unless it
 * sets max_new_tokens or a max_length (whisper checkpoints set max_length 448: generation then
 * runs to the end of the decoder's positions).
 */
export interface AutomaticSpeechRecognitionOptions
  extends Omit<GenerationConfig, 'tokenizer' | 'decoderPromptIds' | 'decoderStartTokenId'> {
  /**
   * The spoken language: a code ('en') or a name ('english'). Absent: the prompt of
   * generation_config.json's forced_decoder_ids, and the language detected by the model (one
   * decoder step over the language tokens) when the checkpoint is multilingual.
   */
  language?: string | null;
  /** 'transcribe' (the default once a language is given) or 'translate' (to English). */
  task?: 'transcribe' | 'translate' | null;
  /**
   * The audio's sampling rate, when given: it must be the feature extractor's (16000); audio is
   * not resampled.
   */
  samplingRate?: number;
}

/** The recognised text of one clip. */
export interface AutomaticSpeechRecognitionOutput {
  text: string;
}

/**
 * A speech-recognition pipeline: call it with a Float32Array of mono samples at the feature
 * extractor's rate (16 kHz), at most `chunk_length` seconds long (30 s for Whisper), or a list of
 * them.
 *
 * @example
 * ```ts
 * // a Whisper folder: here a tiny random one (its transcripts are noise); whisper-tiny loads the same way
 * const transcriber = await pipeline('automatic-speech-recognition', 'packages/transformer/test/fixtures/pipe-whisper');
 * const samples = new Float32Array(16000); // 1 s at 16 kHz
 * const { text } = await transcriber(samples, { language: 'en', numBeams: 1, maxNewTokens: 8 });
 * const [a, b] = [samples, new Float32Array(8000)];
 * const texts = await transcriber([a, b], { task: 'translate', language: 'fr', maxNewTokens: 8 });
 * texts.length; // => 2
 * ```
 */
export interface AutomaticSpeechRecognitionPipeline {
  (
    audio: Float32Array,
    options?: AutomaticSpeechRecognitionOptions,
  ): Promise<AutomaticSpeechRecognitionOutput>;
  (
    audios: Float32Array[],
    options?: AutomaticSpeechRecognitionOptions,
  ): Promise<AutomaticSpeechRecognitionOutput[]>;
  readonly task: 'automatic-speech-recognition';
  readonly model: AutomaticSpeechRecognitionModel;
  readonly tokenizer: PretrainedTokenizer;
  readonly featureExtractor: WhisperFeatureExtractor;
  /** Frees the model's weights. */
  dispose(): void;
}

const OP = "pipeline('automatic-speech-recognition')";

/** The Whisper settings of generation_config.json that the prompt needs (transformers' names). */
export interface WhisperGenerationSettings {
  langToId: Record<string, number> | null;
  taskToId: Record<string, number> | null;
  isMultilingual: boolean | null;
  noTimestampsTokenId: number | null;
  /** [position, token or null] pairs (the old way of giving the prompt). */
  forcedDecoderIds: [number, number | null][] | null;
  /** Default language and task, when the file sets them. */
  language: string | null;
  task: string | null;
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function idMap(json: Record<string, unknown>, key: string): Record<string, number> | null {
  const v = json[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every(isId))
    throw new TypeError(
      `${OP}: generation_config.json: '${key}' must map names to token ids, got ${describe(v)}`,
    );
  return v as Record<string, number>;
}

/**
 * Reads the Whisper-specific keys of a generation_config.json (null: the checkpoint has none).
 * `return_timestamps: true` is refused: timestamps are not implemented.
 */
export function whisperGenerationSettings(
  json: Record<string, unknown> | null,
  configExtra: Record<string, unknown> = {},
): WhisperGenerationSettings {
  const j = json ?? {};
  if (j.return_timestamps === true)
    throw new Error(
      `${OP}: generation_config.json sets return_timestamps true; timestamp prediction is not implemented`,
    );
  const forced = j.forced_decoder_ids ?? configExtra.forced_decoder_ids ?? null;
  if (
    forced !== null &&
    !(
      Array.isArray(forced) &&
      forced.every((p) => Array.isArray(p) && p.length === 2 && isId(p[0]) && (p[1] === null || isId(p[1])))
    )
  )
    throw new TypeError(
      `${OP}: forced_decoder_ids must be a list of [position, token id or null] pairs, got ${describe(forced)}`,
    );
  const noTs = j.no_timestamps_token_id ?? null;
  if (noTs !== null && !isId(noTs))
    throw new TypeError(
      `${OP}: generation_config.json: 'no_timestamps_token_id' must be a token id, got ${describe(noTs)}`,
    );
  const multi = j.is_multilingual ?? null;
  if (multi !== null && typeof multi !== 'boolean')
    throw new TypeError(
      `${OP}: generation_config.json: 'is_multilingual' must be a boolean, got ${describe(multi)}`,
    );
  const str = (k: string) => {
    const v = j[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string')
      throw new TypeError(`${OP}: generation_config.json: '${k}' must be a string, got ${describe(v)}`);
    return v;
  };
  return {
    langToId: idMap(j, 'lang_to_id'),
    taskToId: idMap(j, 'task_to_id'),
    isMultilingual: multi,
    noTimestampsTokenId: noTs,
    forcedDecoderIds: forced as [number, number | null][] | null,
    language: str('language'),
    task: str('task'),
  };
}

/** The language token of `language` (a code, a name or a `<|xx|>` token), as transformers' language_to_id. */
function languageId(language: string, langToId: Record<string, number>): number {
  const lang = language.toLowerCase();
  let token: string;
  if (lang in langToId) token = lang;
  else if (lang in WHISPER_LANGUAGE_CODES) token = `<|${WHISPER_LANGUAGE_CODES[lang]}|>`;
  else if (WHISPER_LANGUAGES.includes(lang)) token = `<|${lang}|>`;
  else {
    const list = lang.length === 2 ? WHISPER_LANGUAGES : Object.keys(WHISPER_LANGUAGE_CODES);
    throw new RangeError(`${OP}: unsupported language '${language}'; expected one of ${list.join(', ')}`);
  }
  const id = langToId[token];
  if (id === undefined)
    throw new RangeError(
      `${OP}: the language ${token} is not in this checkpoint's generation_config.json lang_to_id`,
    );
  return id;
}

/** Validates the call options; returns the audio rows and whether a list was given. */
function audioRows(input: unknown, fe: WhisperFeatureExtractor, samplingRate: unknown): Float32Array[] {
  const sr = fe.config.samplingRate;
  if (samplingRate !== undefined) {
    if (typeof samplingRate !== 'number' || !Number.isFinite(samplingRate))
      throw new TypeError(
        `${OP}: samplingRate must be a number of Hz (${sr}), got ${describe(samplingRate)}`,
      );
    if (samplingRate !== sr)
      throw new RangeError(
        `${OP}: the audio is sampled at ${samplingRate} Hz; this model's feature extractor expects ${sr} Hz (resample it first)`,
      );
  }
  const list: unknown[] = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new TypeError(`${OP}: the list of audio clips is empty`);
  const seconds = fe.config.chunkLength;
  return list.map((a, i) => {
    const which = Array.isArray(input) ? `clip ${i}` : 'the audio';
    if (!(a instanceof Float32Array))
      throw new TypeError(
        `${OP}: ${which} must be a Float32Array of mono samples at ${sr} Hz, got ${describe(a)}${ArrayBuffer.isView(a) ? ' (convert it with Float32Array.from)' : ''}`,
      );
    if (a.length === 0) throw new RangeError(`${OP}: ${which} is empty (expected mono samples at ${sr} Hz)`);
    if (a.length > fe.nSamples)
      throw new RangeError(
        `${OP}: ${which} holds ${a.length} samples (${(a.length / sr).toFixed(2)} s); this model takes at most ${fe.nSamples} (${seconds} s at ${sr} Hz): long-form transcription is not implemented, split the audio first`,
      );
    return a;
  });
}

/** Builds the pipeline around a loaded model, its tokenizer, feature extractor and generation settings. */
export function automaticSpeechRecognitionPipeline(
  model: AutomaticSpeechRecognitionModel,
  tokenizer: PretrainedTokenizer,
  featureExtractor: WhisperFeatureExtractor,
  settings: WhisperGenerationSettings,
): AutomaticSpeechRecognitionPipeline {
  const frames = Math.floor(featureExtractor.nSamples / featureExtractor.config.hopLength);
  const expected = 2 * model.config.maxSourcePositions;
  if (frames !== expected || featureExtractor.config.featureSize !== model.config.numMelBins)
    throw new Error(
      `${OP}: preprocessor_config.json gives [${featureExtractor.config.featureSize} mel bins, ${frames} frames] per clip; the model takes [${model.config.numMelBins}, ${expected}] (num_mel_bins, 2 * max_source_positions)`,
    );
  const gc = model.generationConfig ?? {};
  const start = gc.decoderStartTokenId ?? model.config.decoderStartTokenId;
  const noTs = settings.noTimestampsTokenId ?? tokenizer.tokenToId('<|notimestamps|>') ?? null;
  const timestampBegin = noTs === null ? Number.POSITIVE_INFINITY : noTs + 1;
  const mtp = model.config.maxTargetPositions;

  /** Whisper's most likely language token for one clip's features (transformers' detect_language). */
  async function detectLanguage(features: Tensor, langToId: Record<string, number>): Promise<number> {
    const ids = tensor(Int32Array.of(start), [1, 1], 'int32');
    const logits = tidy(() =>
      noGrad(() => model.forward({ inputFeatures: features, decoderInputIds: ids, useCache: false }).logits),
    );
    ids.dispose();
    const row = await logits.data();
    logits.dispose();
    let best = -1;
    for (const id of [...new Set(Object.values(langToId))].sort((a, b) => a - b))
      if (id < row.length && (best < 0 || row[id] > row[best])) best = id;
    return best;
  }

  /** The decoder prompt, as transformers' WhisperGenerationMixin._retrieve_init_tokens (no timestamps). */
  async function prompt(features: Tensor, language: string | null, task: string | null): Promise<number[]> {
    const { langToId, taskToId } = settings;
    if (settings.isMultilingual === false && (language !== null || task !== null))
      throw new Error(
        `${OP}: this checkpoint is English-only (is_multilingual false): leave out language and task`,
      );
    if (language !== null && !langToId)
      throw new Error(
        `${OP}: language needs generation_config.json's lang_to_id, which this checkpoint lacks`,
      );
    if (task !== null && !taskToId)
      throw new Error(`${OP}: task needs generation_config.json's task_to_id, which this checkpoint lacks`);
    const init: (number | null)[] = [start];
    if (task === null && language === null && settings.forcedDecoderIds) {
      let forced = settings.forcedDecoderIds;
      if (forced.length > 0 && forced[0][0] === 1) {
        for (let i = 1; forced.length > 0 && forced[0][0] === i; i++) {
          init.push(forced[0][1]);
          forced = forced.slice(1);
        }
        if (forced.length > 0)
          throw new Error(
            `${OP}: forced_decoder_ids ${JSON.stringify(settings.forcedDecoderIds)} do not follow Whisper's prompt pattern (positions 1, 2, ... in order)`,
          );
      }
    }
    const langUndefined = init.length <= 1 || init[1] === null;
    let langId: number | null = null;
    if (language !== null && langToId) langId = languageId(language, langToId);
    else if (langToId && langUndefined) langId = await detectLanguage(features, langToId);
    if (langId !== null) {
      if (init.length > 1) init[1] = langId;
      else init.push(langId);
    }
    if (task !== null && taskToId) {
      if (task !== 'transcribe' && task !== 'translate')
        throw new RangeError(`${OP}: task must be 'transcribe' or 'translate', got ${describe(task)}`);
      const id = taskToId[task];
      if (id === undefined) throw new Error(`${OP}: generation_config.json's task_to_id has no '${task}'`);
      init.push(id);
    } else if (language !== null && taskToId) {
      const taskIds = Object.values(taskToId);
      if (!init.some((t) => t !== null && taskIds.includes(t)) && taskToId.transcribe !== undefined)
        init.push(taskToId.transcribe);
    }
    if (noTs !== null && settings.noTimestampsTokenId !== null && init[init.length - 1] !== noTs)
      init.push(noTs);
    return init.filter((t): t is number => t !== null);
  }

  /** The generation settings: transformers' pipeline defaults under the caller's options, Whisper's length rule. */
  function generationOptions(gen: GenerationConfig, promptLength: number): GenerationConfig {
    const out: GenerationConfig = { ...gen };
    out.numBeams = gen.numBeams ?? gc.numBeams ?? 5;
    // the pipeline's 256 new tokens, unless the checkpoint sets a length of its own
    const maxLength = gen.maxLength ?? gc.maxLength;
    const maxNew =
      gen.maxNewTokens ??
      gc.maxNewTokens ??
      (gc.maxLength !== undefined && gc.maxLength !== 20 ? undefined : 256);
    if (maxNew !== undefined) {
      if (maxNew + promptLength > mtp)
        throw new RangeError(
          `${OP}: the decoder prompt (${promptLength} tokens) and maxNewTokens ${maxNew} exceed the model's ${mtp} decoder positions (max_target_positions); lower maxNewTokens to at most ${mtp - promptLength}`,
        );
      out.maxNewTokens = maxNew;
    } else if (maxLength !== undefined) {
      out.maxLength = Math.min(maxLength + Math.min(Math.floor(mtp / 2) - 1, promptLength), mtp);
    }
    return out;
  }

  async function transcribe(
    audio: Float32Array,
    language: string | null,
    task: string | null,
    gen: GenerationConfig,
  ): Promise<AutomaticSpeechRecognitionOutput> {
    const features = featureExtractor.call(audio);
    let ids: number[];
    try {
      const decoderPromptIds = await prompt(features, language, task);
      const out = await generate(model, features, {
        ...generationOptions(gen, decoderPromptIds.length),
        decoderPromptIds,
      });
      ids = out.sequences[0].slice(decoderPromptIds.length);
    } finally {
      features.dispose();
    }
    // special tokens (end, language, task ...) and timestamps are not text, as transformers' _decode_asr
    const text = tokenizer.decode(
      ids.filter((t) => t < timestampBegin),
      { skipSpecialTokens: true },
    );
    return { text };
  }

  async function call(
    audio: Float32Array,
    options?: AutomaticSpeechRecognitionOptions,
  ): Promise<AutomaticSpeechRecognitionOutput>;
  async function call(
    audios: Float32Array[],
    options?: AutomaticSpeechRecognitionOptions,
  ): Promise<AutomaticSpeechRecognitionOutput[]>;
  async function call(
    input: Float32Array | Float32Array[],
    options: AutomaticSpeechRecognitionOptions = {},
  ): Promise<AutomaticSpeechRecognitionOutput | AutomaticSpeechRecognitionOutput[]> {
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new TypeError(`${OP}: options must be an object, got ${describe(options)}`);
    const { language, task, samplingRate, ...gen } = options;
    if (language !== undefined && language !== null && typeof language !== 'string')
      throw new TypeError(
        `${OP}: language must be a language code or name such as 'en', got ${describe(language)}`,
      );
    if (task !== undefined && task !== null && task !== 'transcribe' && task !== 'translate')
      throw new TypeError(`${OP}: task must be 'transcribe' or 'translate', got ${describe(task)}`);
    if ((gen.numReturnSequences ?? 1) !== 1)
      throw new RangeError(`${OP}: one text per clip; leave out numReturnSequences`);
    const rows = audioRows(input, featureExtractor, samplingRate);
    const lang = language ?? settings.language;
    const t = task ?? settings.task;
    // one clip at a time, as transformers' pipeline (the language is detected per clip)
    const out: AutomaticSpeechRecognitionOutput[] = [];
    for (const row of rows) out.push(await transcribe(row, lang, t, gen));
    return Array.isArray(input) ? out : out[0];
  }

  return Object.assign(call, {
    task: 'automatic-speech-recognition' as const,
    model,
    tokenizer,
    featureExtractor,
    dispose: () => model.dispose(),
  });
}
