// pipeline(task, source, options), as transformers.js' `pipeline()`: one call loads the model for
// the task (loadPretrained with { task }) and what it needs beside (AutoTokenizer, the image
// processor) and returns a function that takes raw input (text, chats, images) and returns
// transformers.js' output shapes.
//
// Where each task lives: the text and image tasks are built here, in @attnkit/transformer.
// 'text-to-image' is registered by @attnkit/diffusion (which depends on this package, so this
// package cannot import it): importing @attnkit/diffusion calls registerPipeline('text-to-image', ...)
// and adds the task to the {@link Pipelines} type by declaration merging. No dependency cycle.
import { openFiles, readJson } from '@attnkit/hub';
import { useBackend } from '@attnkit/tensor-core';
import { quantize } from '@attnkit/tensor-core/nn';
import { AutoTokenizer, type PretrainedTokenizer } from '@attnkit/tokenizer';
import { WhisperFeatureExtractor } from '../audio/whisper-feature-extractor.js';
import { describe } from '../internal.js';
import {
  type LoadPretrainedOptions,
  loadPretrained,
  modelClassFor,
  type PretrainedSource,
  type PretrainedTask,
  type PretrainedTasks,
} from '../loading.js';
import { BertForMaskedLM } from '../models/bert.js';
import { CLIPVisionModel, CLIPVisionModelWithProjection } from '../models/clip-vision.js';
import {
  type AutomaticSpeechRecognitionPipeline,
  automaticSpeechRecognitionPipeline,
  whisperGenerationSettings,
} from './automatic-speech-recognition.js';
import {
  type FeatureExtractionPipeline,
  type FillMaskPipeline,
  featureExtractionPipeline,
  fillMaskPipeline,
} from './encoder-tasks.js';
import { type ImageClassificationPipeline, imageClassificationPipeline } from './image-classification.js';
import { imageProcessorFromJson } from './image-processor.js';
import { type TextGenerationPipeline, textGenerationPipeline } from './text-generation.js';

/** Weight formats of {@link PipelineOptions.dtype} (transformers.js' names). */
export type PipelineDType = 'fp32' | 'fp16' | 'bf16' | 'q8';

/** Options of {@link pipeline}. */
export interface PipelineOptions extends Omit<LoadPretrainedOptions, 'task' | 'architecture' | 'dtype'> {
  /**
   * The backend to run on ('cpu', 'webgpu', 'gpujs', ...; imported beforehand). It is made the
   * current backend (`await useBackend(name)`) before the model loads, as transformers.js'
   * `device`. Default: the current backend.
   */
  backend?: string;
  /**
   * 'fp32' (default): float32 weights. 'fp16' / 'bf16': float16 / bfloat16 weight matrices
   * (loadPretrained's `dtype`), widened inside the linear kernels. 'q8': int8 weights with a
   * float32 scale per output channel (nn.quantize), for every Linear and Embedding.
   */
  dtype?: PipelineDType;
}

/**
 * What {@link pipeline} returns for each task, as a type: `pipeline('fill-mask', dir)` resolves to
 * a {@link FillMaskPipeline}. A package that registers a task with {@link registerPipeline} adds it
 * here by declaration merging (@attnkit/diffusion adds 'text-to-image').
 */
export interface Pipelines {
  'text-generation': TextGenerationPipeline;
  'fill-mask': FillMaskPipeline;
  'feature-extraction': FeatureExtractionPipeline;
  'image-classification': ImageClassificationPipeline;
  'automatic-speech-recognition': AutomaticSpeechRecognitionPipeline;
}

/** A task name of {@link Pipelines}. */
export type PipelineTask = keyof Pipelines;

/** Builds the pipeline of one task from a source and the options. */
export type PipelineFactory<T extends PipelineTask> = (
  source: PretrainedSource,
  options: PipelineOptions,
) => Promise<Pipelines[T]>;

type Factories = { [T in PipelineTask]?: PipelineFactory<T> };

/** Tasks other packages serve: the package to import for each (named in errors until it is). */
const ELSEWHERE: Record<string, string> = { 'text-to-image': '@attnkit/diffusion' };

/** Tasks transformers.js has that attnkit does not yet, with the reason. */
const NOT_YET: Record<string, string> = {};

/** Loads the task's model with the pipeline options (backend, dtype, progress). */
async function loadFor<T extends PretrainedTask>(
  task: T,
  source: PretrainedSource,
  options: PipelineOptions,
): Promise<PretrainedTasks[T]> {
  const { backend, dtype, ...load } = options;
  if (backend !== undefined) await useBackend(backend);
  const half = dtype === 'fp16' ? 'float16' : dtype === 'bf16' ? 'bfloat16' : 'float32';
  const model = await loadPretrained(source, { ...load, task, architecture: undefined, dtype: half });
  if (dtype === 'q8') quantize(model, { dtype: 'int8' });
  return model;
}

/** Whether config.json names a BertForMaskedLM (false when it cannot be read: loading then says why). */
async function isMaskedLM(source: PretrainedSource): Promise<boolean> {
  try {
    const config = await readJson(openFiles(source, 'pipeline'), 'config.json', 'pipeline');
    return modelClassFor(config) === BertForMaskedLM;
  } catch {
    return false;
  }
}

/** Loads the source's tokenizer and builds the pipeline; frees the model if either fails. */
async function withTokenizer<M extends { dispose(): void }, P>(
  model: M,
  source: PretrainedSource,
  build: (model: M, tokenizer: PretrainedTokenizer) => P,
): Promise<P> {
  try {
    return build(model, await AutoTokenizer.fromPretrained(source));
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// each loads the model first: a checkpoint of another task is refused before anything else is read
const FACTORIES: Factories = {
  'text-generation': async (source, options) =>
    withTokenizer(await loadFor('text-generation', source, options), source, textGenerationPipeline),
  'fill-mask': async (source, options) =>
    withTokenizer(await loadFor('fill-mask', source, options), source, fillMaskPipeline),
  'feature-extraction': async (source, options) => {
    if (await isMaskedLM(source)) {
      // as transformers' AutoModel on a BertForMaskedLM checkpoint: its encoder (no pooler)
      return withTokenizer(await loadFor('fill-mask', source, options), source, (mlm, tokenizer) =>
        featureExtractionPipeline(mlm.bert, tokenizer, () => mlm.dispose()),
      );
    }
    const model = await loadFor('feature-extraction', source, options);
    if (model instanceof CLIPVisionModel || model instanceof CLIPVisionModelWithProjection) {
      const arch = model.architecture;
      model.dispose();
      throw new Error(
        `pipeline('feature-extraction') embeds texts; this checkpoint is an image encoder (${arch}): call the model with { pixelValues } instead`,
      );
    }
    return withTokenizer(model, source, (m, tokenizer) => featureExtractionPipeline(m, tokenizer));
  },
  'image-classification': async (source, options) => {
    const where = "pipeline('image-classification')";
    const json = await readJson(openFiles(source, where), 'preprocessor_config.json', where, {
      optional: true,
    });
    const processor = json ? imageProcessorFromJson(json, `${where}: preprocessor_config.json`) : null;
    return imageClassificationPipeline(await loadFor('image-classification', source, options), processor);
  },
  'automatic-speech-recognition': async (source, options) => {
    const where = "pipeline('automatic-speech-recognition')";
    const model = await loadFor('automatic-speech-recognition', source, options);
    try {
      const files = openFiles(source, where);
      const featureExtractor = WhisperFeatureExtractor.fromJson(
        await readJson(files, 'preprocessor_config.json', where),
      );
      const generation = await readJson(files, 'generation_config.json', where, { optional: true });
      const settings = whisperGenerationSettings(generation, model.config.extra);
      const tokenizer = await AutoTokenizer.fromPretrained(source);
      return automaticSpeechRecognitionPipeline(model, tokenizer, featureExtractor, settings);
    } catch (e) {
      model.dispose();
      throw e;
    }
  },
};

/**
 * Makes {@link pipeline} build `task` with `factory`. Packages that serve a task this one cannot
 * (it would need to import them) register it on import, and add it to {@link Pipelines} by
 * declaration merging.
 */
export function registerPipeline<T extends PipelineTask>(task: T, factory: PipelineFactory<T>): void {
  if (typeof task !== 'string' || task.length === 0)
    throw new TypeError(`registerPipeline: task must be a non-empty string, got ${describe(task)}`);
  if (typeof factory !== 'function')
    throw new TypeError(`registerPipeline('${task}'): factory must be a function, got ${describe(factory)}`);
  // (an indexed write on a mapped type with a generic key does not type-check; Object.assign does)
  Object.assign(FACTORIES, { [task]: factory });
}

/** The tasks {@link pipeline} can build now (those registered by imported packages included). */
export function pipelineTasks(): string[] {
  return Object.keys(FACTORIES);
}

const DTYPES: readonly string[] = ['fp32', 'fp16', 'bf16', 'q8'];

/**
 * Loads a ready-to-call pipeline for a task, as transformers.js' `pipeline(task, model, options)`:
 * 'text-generation' (text or chats, streaming), 'fill-mask', 'feature-extraction' (pooling,
 * normalize), 'image-classification', 'automatic-speech-recognition' (Whisper, 16 kHz audio up to
 * 30 s), and 'text-to-image' once @attnkit/diffusion is imported.
 * The source is a checkpoint folder (Node), a URL base or a map of files, holding config.json, the
 * weights and the tokenizer files (tokenizer.json, tokenizer_config.json, chat_template.jinja),
 * preprocessor_config.json (images, audio) and generation_config.json.
 *
 * @throws when the task is unknown (the message lists the tasks there are), or when the
 *   checkpoint's architecture does not serve the task
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { pipeline } from '@attnkit/transformer';
 * // model folders with their tokenizer files (here tiny random ones; Qwen2-0.5B-Instruct, bert-base-uncased load the same way)
 * const dir = 'packages/transformer/test/fixtures';
 * const gen = await pipeline('text-generation', `${dir}/pipe-gpt2`);
 * const out = await gen([{ role: 'user', content: 'Hi' }], { maxNewTokens: 8 });
 * const unmasker = await pipeline('fill-mask', `${dir}/pipe-bert-mlm`, { dtype: 'q8' });
 * const extractor = await pipeline('feature-extraction', `${dir}/pipe-bert`);
 * const emb = await extractor('Hello', { pooling: 'mean', normalize: true });
 * emb.shape; // => [1, 32]
 * ```
 */
export async function pipeline<T extends PipelineTask>(
  task: T,
  source: PretrainedSource,
  options: PipelineOptions = {},
): Promise<Pipelines[T]> {
  const factory = FACTORIES[task];
  if (!factory) {
    const name = String(task);
    const known = pipelineTasks().map((t) => `'${t}'`);
    const elsewhere = Object.entries(ELSEWHERE)
      .filter(([t]) => !(t in FACTORIES))
      .map(([t, pkg]) => `'${t}' (import '${pkg}' to register it)`);
    const list = [...known, ...elsewhere].join(', ');
    if (name in NOT_YET)
      throw new Error(`pipeline: the task '${name}' is not supported: ${NOT_YET[name]}. Tasks: ${list}`);
    if (name in ELSEWHERE)
      throw new Error(
        `pipeline: the task '${name}' is served by ${ELSEWHERE[name]}: import it first (import '${ELSEWHERE[name]}')`,
      );
    throw new TypeError(`pipeline: unknown task ${describe(task)}; tasks: ${list}`);
  }
  if (source === null || source === undefined)
    throw new TypeError(
      `pipeline('${task}'): the source must be a folder path, a URL base or a map of files, got ${describe(source)}`,
    );
  if (options === null || typeof options !== 'object')
    throw new TypeError(`pipeline('${task}'): options must be an object, got ${describe(options)}`);
  if (options.dtype !== undefined && !DTYPES.includes(options.dtype))
    throw new TypeError(
      `pipeline('${task}'): dtype must be one of ${DTYPES.map((d) => `'${d}'`).join(', ')}, got ${describe(options.dtype)}`,
    );
  if (options.backend !== undefined && (typeof options.backend !== 'string' || options.backend.length === 0))
    throw new TypeError(
      `pipeline('${task}'): backend must be a backend name such as 'cpu', got ${describe(options.backend)}`,
    );
  try {
    return await factory(source, options);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith('pipeline(')) throw e;
    throw new Error(`pipeline('${task}'): ${message}`, { cause: e });
  }
}
