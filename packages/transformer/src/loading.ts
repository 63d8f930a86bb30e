// Hugging Face checkpoints in and out: a folder (Node), a URL base or a map of files holding
// config.json + model.safetensors (or shards listed in model.safetensors.index.json).
//
//   config.json ─▶ model class (model_type / architectures) ─▶ model with default weights
//   *.safetensors ─▶ names matched (with or without the class prefix, tied aliases) ─▶ loadStateDict
import {
  ConfigError,
  canReadFolders,
  type FileSource,
  type FilesSource,
  type FileLike as HubFileLike,
  openFiles,
  readJson,
  readWeightFiles,
  writeFolder,
} from '@attnkit/hub';
import { type Tensor, tidy } from '@attnkit/tensor-core';
import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
import {
  Embedding,
  Embedding16,
  Linear,
  Linear16,
  Parameter,
  QuantizedEmbedding,
  QuantizedLinear,
  quantize,
  withPlaceholderParameters,
} from '@attnkit/tensor-core/nn';
import { generationConfigFromJson, generationConfigToJson } from './generation-config.js';
import { configJsonText, describe, fmtShape } from './internal.js';
import { BartForConditionalGeneration, BartModel } from './models/bart.js';
import type { PreTrainedModel } from './models/base.js';
import { BertForMaskedLM, BertModel } from './models/bert.js';
import { CLIPTextModel, CLIPTextModelWithProjection } from './models/clip.js';
import { CLIPModel, CLIPVisionModel, CLIPVisionModelWithProjection } from './models/clip-vision.js';
import { EncoderDecoderModel } from './models/encoder-decoder.js';
import { GPT2LMHeadModel } from './models/gpt2.js';
import { LlamaForCausalLM } from './models/llama.js';
import { MistralForCausalLM } from './models/mistral.js';
import { MixtralForCausalLM } from './models/mixtral.js';
import { Qwen2ForCausalLM } from './models/qwen2.js';
import { T5EncoderModel, T5ForConditionalGeneration } from './models/t5.js';
import { ViTForImageClassification, ViTModel } from './models/vit.js';
import { WhisperForConditionalGeneration } from './models/whisper.js';
import { LoraLinear } from './training/lora.js';

/** One file's contents as a browser or Node program has them (@attnkit/hub's `FileLike`). */
export type FileLike = HubFileLike;

/**
 * Where a checkpoint is: a folder path (Node), an http(s) URL base (files are fetched from
 * `base/config.json`, ...), or the files themselves by name (`{ 'config.json': file, ... }` or a Map).
 * The same as @attnkit/hub's `FilesSource`.
 */
export type PretrainedSource = FilesSource;

/** A model class that loadPretrained can build from a config.json object. */
export interface ModelClass {
  fromConfigJson(json: Record<string, unknown>): PreTrainedModel;
  /**
   * The parameter count the config.json describes, within a few percent, without allocating
   * (checked against {@link LoadPretrainedOptions.maxParameters}).
   */
  approxParameters?(json: Record<string, unknown>): number;
}

const ARCHITECTURES = new Map<string, ModelClass>([
  ['GPT2LMHeadModel', GPT2LMHeadModel],
  ['GPT2Model', GPT2LMHeadModel],
  ['LlamaForCausalLM', LlamaForCausalLM],
  ['LlamaModel', LlamaForCausalLM],
  ['MistralForCausalLM', MistralForCausalLM],
  ['MixtralForCausalLM', MixtralForCausalLM],
  ['Qwen2ForCausalLM', Qwen2ForCausalLM],
  ['BertModel', BertModel],
  ['BertForMaskedLM', BertForMaskedLM],
  ['BertForPreTraining', BertForMaskedLM],
  ['ViTForImageClassification', ViTForImageClassification],
  ['ViTModel', ViTModel],
  ['EncoderDecoderTransformer', EncoderDecoderModel],
  ['CLIPTextModel', CLIPTextModel],
  ['CLIPTextModelWithProjection', CLIPTextModelWithProjection],
  ['CLIPVisionModel', CLIPVisionModel],
  ['CLIPVisionModelWithProjection', CLIPVisionModelWithProjection],
  ['CLIPModel', CLIPModel],
  ['T5ForConditionalGeneration', T5ForConditionalGeneration],
  ['T5WithLMHeadModel', T5ForConditionalGeneration],
  ['T5EncoderModel', T5EncoderModel],
  ['BartForConditionalGeneration', BartForConditionalGeneration],
  ['BartModel', BartModel],
  ['WhisperForConditionalGeneration', WhisperForConditionalGeneration],
]);

const MODEL_TYPES = new Map<string, ModelClass>([
  ['gpt2', GPT2LMHeadModel],
  ['llama', LlamaForCausalLM],
  ['mistral', MistralForCausalLM],
  ['mixtral', MixtralForCausalLM],
  ['qwen2', Qwen2ForCausalLM],
  ['bert', BertModel],
  ['vit', ViTForImageClassification],
  ['attnkit-encoder-decoder', EncoderDecoderModel],
  ['clip_text_model', CLIPTextModel],
  ['clip_vision_model', CLIPVisionModel],
  // a whole CLIP checkpoint; { architecture: 'CLIPTextModelWithProjection' } (or the vision classes) loads one tower
  ['clip', CLIPModel],
  ['t5', T5ForConditionalGeneration],
  ['bart', BartForConditionalGeneration],
  ['whisper', WhisperForConditionalGeneration],
]);

/**
 * The class `loadPretrained` builds for each architecture name, as a type: with
 * `{ architecture: 'GPT2LMHeadModel' }` it resolves to a `GPT2LMHeadModel`, no cast needed. A
 * package that registers a class with {@link registerModelClass} adds it here by declaration
 * merging (`declare module '@attnkit/transformer' { interface PretrainedArchitectures { ... } }`).
 */
export interface PretrainedArchitectures {
  GPT2LMHeadModel: GPT2LMHeadModel;
  GPT2Model: GPT2LMHeadModel;
  LlamaForCausalLM: LlamaForCausalLM;
  LlamaModel: LlamaForCausalLM;
  MistralForCausalLM: LlamaForCausalLM;
  BertModel: BertModel;
  BertForMaskedLM: BertForMaskedLM;
  BertForPreTraining: BertForMaskedLM;
  ViTForImageClassification: ViTForImageClassification;
  EncoderDecoderTransformer: EncoderDecoderModel;
  CLIPTextModel: CLIPTextModel;
  CLIPTextModelWithProjection: CLIPTextModelWithProjection;
  CLIPVisionModel: CLIPVisionModel;
  CLIPVisionModelWithProjection: CLIPVisionModelWithProjection;
  CLIPModel: CLIPModel;
  T5ForConditionalGeneration: T5ForConditionalGeneration;
  T5EncoderModel: T5EncoderModel;
  BartForConditionalGeneration: BartForConditionalGeneration;
  BartModel: BartModel;
  WhisperForConditionalGeneration: WhisperForConditionalGeneration;
}

/**
 * The model classes that serve each task (names as transformers.js' pipelines), as a type:
 * `loadPretrained(source, { task: 'text-generation' })` resolves to a causal language model that
 * `generate()` of `@attnkit/sampling` accepts as it is. Extend by declaration merging, as
 * {@link PretrainedArchitectures}, and register the class with `registerModelClass(..., { tasks })`.
 */
export interface PretrainedTasks {
  'text-generation':
    | GPT2LMHeadModel
    | LlamaForCausalLM
    | MistralForCausalLM
    | MixtralForCausalLM
    | Qwen2ForCausalLM;
  'fill-mask': BertForMaskedLM;
  'feature-extraction':
    | BertModel
    | CLIPTextModel
    | CLIPTextModelWithProjection
    | CLIPVisionModel
    | CLIPVisionModelWithProjection
    | T5EncoderModel;
  'image-classification': ViTForImageClassification;
  'zero-shot-image-classification': CLIPModel;
  'automatic-speech-recognition': WhisperForConditionalGeneration;
  'text2text-generation': EncoderDecoderModel | T5ForConditionalGeneration | BartForConditionalGeneration;
}

/** A task name of {@link PretrainedTasks}. */
export type PretrainedTask = keyof PretrainedTasks;

const TASKS = new Map<string, Set<ModelClass>>([
  [
    'text-generation',
    new Set<ModelClass>([
      GPT2LMHeadModel,
      LlamaForCausalLM,
      MistralForCausalLM,
      MixtralForCausalLM,
      Qwen2ForCausalLM,
    ]),
  ],
  ['fill-mask', new Set<ModelClass>([BertForMaskedLM])],
  [
    'feature-extraction',
    new Set<ModelClass>([
      BertModel,
      CLIPTextModel,
      CLIPTextModelWithProjection,
      CLIPVisionModel,
      CLIPVisionModelWithProjection,
      T5EncoderModel,
    ]),
  ],
  ['image-classification', new Set<ModelClass>([ViTForImageClassification])],
  ['zero-shot-image-classification', new Set<ModelClass>([CLIPModel])],
  ['automatic-speech-recognition', new Set<ModelClass>([WhisperForConditionalGeneration])],
  [
    'text2text-generation',
    new Set<ModelClass>([EncoderDecoderModel, T5ForConditionalGeneration, BartForConditionalGeneration]),
  ],
]);

/**
 * Makes `loadPretrained` build `cls` for config.json files whose `architectures` names
 * `architecture` (and, with `modelType`, for that `model_type` when no architecture matches).
 * `options.tasks` lists the tasks the class serves (see {@link PretrainedTasks}).
 */
export function registerModelClass(
  architecture: string,
  cls: ModelClass,
  modelType?: string,
  options: { tasks?: readonly string[] } = {},
): void {
  ARCHITECTURES.set(architecture, cls);
  if (modelType) {
    MODEL_TYPES.set(modelType, cls);
    if (!FAMILIES.has(cls)) FAMILIES.set(cls, modelType);
  }
  for (const task of options.tasks ?? []) {
    const set = TASKS.get(task) ?? new Set<ModelClass>();
    set.add(cls);
    TASKS.set(task, set);
  }
}

/**
 * The family (model_type) of each class, to refuse a config whose `architectures` and `model_type`
 * disagree (a `gpt2` config naming LlamaForCausalLM would otherwise build Llama defaults).
 */
const FAMILIES = new Map<ModelClass, string>([
  [GPT2LMHeadModel, 'gpt2'],
  [LlamaForCausalLM, 'llama'],
  [BertModel, 'bert'],
  [BertForMaskedLM, 'bert'],
  [ViTForImageClassification, 'vit'],
  [EncoderDecoderModel, 'attnkit-encoder-decoder'],
  [CLIPTextModel, 'clip'],
  [CLIPTextModelWithProjection, 'clip'],
  [CLIPVisionModel, 'clip'],
  [CLIPVisionModelWithProjection, 'clip'],
  [CLIPModel, 'clip'],
  [T5ForConditionalGeneration, 't5'],
  [T5EncoderModel, 't5'],
  [BartForConditionalGeneration, 'bart'],
  [BartModel, 'bart'],
  [WhisperForConditionalGeneration, 'whisper'],
]);

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /** Build this class instead of the one config.json names (e.g. 'BertModel' from an MLM checkpoint). */
  architecture?: string;
  /**
   * Refuse, before allocating anything, a config.json that describes more parameters than this
   * (counted within a few percent). Default: no limit beyond the per-key bounds.
   */
  maxParameters?: number;
  /**
   * The task the model is for (see {@link PretrainedTasks}): the result is typed for it, and a
   * checkpoint whose class does not serve it is refused (e.g. a BertModel for 'text-generation').
   */
  task?: string;
  /**
   * Called as files load, with transformers.js' progress_callback events: `initiate` (a file is
   * requested), `progress` (bytes of a download so far, when the server says the size), `done`
   * (a file's bytes are read), then `ready` (the model is built and filled).
   */
  onProgress?: (event: LoadProgress) => void;
  /** Draw a progress line on this stream (e.g. process.stderr); off by default. */
  progressBar?: { write(s: string): unknown; isTTY?: boolean } | null;
  /**
   * The dtype of the weight matrices in memory (transformers' `dtype` / `torch_dtype`,
   * transformers.js' `dtype`): 'float32' (the default) widens 16-bit files; 'float16' or
   * 'bfloat16' keeps every Linear, Conv1D, embedding and head matrix in that dtype (2 bytes a
   * weight; biases and norms stay float32) and runs them with the 16-bit linear kernels, as
   * nn's `quantize` does; 'auto' keeps the file's dtype (F16 → float16, BF16 → bfloat16, F32 →
   * float32). A 16-bit model is for inference: its forward refuses training mode (load float32
   * to train, as transformers keeps float32 master weights). With 'float16', 'bfloat16' or 'auto'
   * the float32 model is never built: parameters start as placeholders sharing one scratch
   * storage and each checkpoint tensor becomes its layer's weight (freed as the layer is made), so
   * the peak is about the 16-bit model plus one float32 matrix.
   */
  dtype?: 'float32' | 'float16' | 'bfloat16' | 'auto';
}

const LOAD_DTYPES = ['float32', 'float16', 'bfloat16', 'auto'] as const;

/** The 16-bit dtype of a checkpoint's floating-point matrices, 'float32' when it has none, for dtype 'auto'. */
function fileDtype(weights: Record<string, Tensor>, where: string): 'float32' | 'float16' | 'bfloat16' {
  const halves = new Set<string>();
  for (const t of Object.values(weights)) {
    if (t.dtype === 'float16' || t.dtype === 'bfloat16') halves.add(t.dtype);
  }
  if (halves.size > 1) {
    throw new Error(
      `${FN}(${where}): dtype 'auto': the checkpoint mixes float16 and bfloat16 tensors; pass dtype 'float16', 'bfloat16' or 'float32'`,
    );
  }
  return halves.size ? (halves.values().next().value as 'float16' | 'bfloat16') : 'float32';
}

/** A progress event of {@link loadPretrained} (the shape of transformers.js' progress_callback). */
export interface LoadProgress {
  status: 'initiate' | 'progress' | 'done' | 'ready';
  /** Where the model is loaded from. */
  name: string;
  /** The file this event is about (absent for `ready`). */
  file?: string;
  /** Bytes read so far (`progress`) or in all (`done`). */
  loaded?: number;
  /** The file's size when known (`progress`). */
  total?: number;
  /** loaded / total in percent (`progress` with a known total). */
  progress?: number;
  /** The class built (`ready`). */
  model?: string;
}

const FN = 'loadPretrained';

/** One line of the loading progress bar: `loadPretrained model.safetensors [#####.....] 1.2/2.8 MB`. */
export function loadProgressLine(e: LoadProgress, width = 20): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (e.status === 'ready') return `${FN} ${e.name}: ${e.model} ready`;
  if (e.status === 'initiate') return `${FN} ${e.file} ...`;
  if (e.status === 'done') return `${FN} ${e.file} ${mb(e.loaded ?? 0)} MB`;
  if (e.total) {
    const done = Math.round(((e.loaded ?? 0) / e.total) * width);
    return `${FN} ${e.file} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mb(e.loaded ?? 0)}/${mb(e.total)} MB`;
  }
  return `${FN} ${e.file} ${mb(e.loaded ?? 0)} MB`;
}

/** The source with progress events around every read. */
function reporting(src: FileSource, options: LoadPretrainedOptions): FileSource {
  const bar = options.progressBar ?? null;
  const cb = options.onProgress;
  if (!bar && !cb) return src;
  const emit = (e: LoadProgress): void => {
    cb?.(e);
    if (bar && (bar.isTTY || e.status !== 'progress')) {
      const line = loadProgressLine(e);
      bar.write(bar.isTTY ? `\r\x1b[K${line}${e.status === 'ready' ? '\n' : ''}` : `${line}\n`);
    }
  };
  return {
    ...src,
    where: src.where,
    async read(file) {
      emit({ status: 'initiate', name: src.where, file });
      const bytes = await src.read(file, (loaded, total) =>
        emit({
          status: 'progress',
          name: src.where,
          file,
          loaded,
          total,
          progress: total ? (100 * loaded) / total : undefined,
        }),
      );
      if (bytes) emit({ status: 'done', name: src.where, file, loaded: bytes.byteLength });
      return bytes;
    },
    ready(model: string) {
      emit({ status: 'ready', name: src.where, model });
    },
  } as FileSource & { ready(model: string): void };
}

/** The class config.json asks for. */
export function modelClassFor(config: Record<string, unknown>, architecture?: string): ModelClass {
  const archs = architecture
    ? [architecture]
    : Array.isArray(config.architectures)
      ? config.architectures
      : [];
  const typed = typeof config.model_type === 'string' ? MODEL_TYPES.get(config.model_type) : undefined;
  for (const a of archs) {
    const cls = ARCHITECTURES.get(String(a));
    if (!cls) continue;
    const family = FAMILIES.get(cls);
    const typedFamily = typed ? FAMILIES.get(typed) : undefined;
    if (family && typedFamily && family !== typedFamily) {
      throw new ConfigError(
        `${FN}: config.json names the architecture '${a}' (a ${family} model) but model_type '${String(
          config.model_type,
        )}' (a ${typedFamily} model); they must agree, as transformers would read the config as '${String(config.model_type)}'`,
        architecture ? 'model_type' : 'architectures',
      );
    }
    return cls;
  }
  if (architecture) {
    throw new Error(
      `${FN}: unknown architecture '${architecture}' (known: ${[...ARCHITECTURES.keys()].join(', ')})`,
    );
  }
  const cls = MODEL_TYPES.get(String(config.model_type));
  if (cls) return cls;
  throw new Error(
    `${FN}: config.json names model_type ${describe(config.model_type)} and architectures ${JSON.stringify(
      config.architectures ?? null,
    )}, which attnkit does not implement (model types: ${[...MODEL_TYPES.keys()].join(', ')}; architectures: ${[
      ...ARCHITECTURES.keys(),
    ].join(', ')})`,
  );
}

/**
 * Copies checkpoint tensors into `model`, matching Hugging Face names with or without the class
 * prefix (`transformer.`, `model.`, `bert.`), filling tied aliases from their source, skipping the
 * keys the class ignores. Throws one error listing every missing, unexpected and mis-shaped tensor.
 * Returns the checkpoint keys that were skipped as ignorable.
 */
export function loadCheckpointInto(
  model: PreTrainedModel,
  weights: Record<string, Tensor>,
  where = '<weights>',
): { ignored: string[] } {
  return matchInto(model, weights, where);
}

/** {@link loadCheckpointInto}, with `fill` doing the copy of the matched tensors (by the model's names). */
function matchInto(
  model: PreTrainedModel,
  weights: Record<string, Tensor>,
  where: string,
  fill?: (given: Record<string, Tensor>) => void,
): { ignored: string[] } {
  const own = model.stateDict();
  const original = weights;
  weights = model.remapCheckpoint(weights);
  const given = new Set(Object.values(original));
  const created = Object.values(weights).filter((t) => !given.has(t));
  try {
    return matchCheckpoint(model, own, weights, where, fill);
  } finally {
    for (const t of created) t.dispose();
  }
}

function matchCheckpoint(
  model: PreTrainedModel,
  own: Record<string, Tensor>,
  weights: Record<string, Tensor>,
  where: string,
  fill?: (given: Record<string, Tensor>) => void,
): { ignored: string[] } {
  const prefix = model.basePrefix();
  const ignore = model.ignoredKeys();
  const given: Record<string, Tensor> = {};
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const [name, t] of Object.entries(weights)) {
    let key: string | null = null;
    if (name in own) key = name;
    else if (prefix && `${prefix}${name}` in own) key = `${prefix}${name}`;
    else if (prefix && name.startsWith(prefix) && name.slice(prefix.length) in own)
      key = name.slice(prefix.length);
    if (key === null) {
      if (ignore.some((r) => r.test(name))) ignored.push(name);
      else unexpected.push(name);
      continue;
    }
    given[key] = t;
  }
  for (const [alias, source] of model.tiedWeights()) {
    if (!(alias in own) || !(source in own)) continue;
    // one tensor under two names: the source wins when both are stored (as transformers ties after loading)
    if (source in given) given[alias] = given[source];
    else if (alias in given) given[source] = given[alias];
  }
  const missing = Object.keys(own).filter((k) => !(k in given));
  const misshaped: string[] = [];
  for (const [k, t] of Object.entries(given)) {
    const want = own[k].shape;
    if (t.rank !== want.length || t.shape.some((s, i) => s !== want[i])) {
      misshaped.push(`${k}: checkpoint ${fmtShape(t.shape)}, model ${fmtShape(want)}`);
    }
  }
  if (missing.length || unexpected.length || misshaped.length) {
    const lines: string[] = [];
    if (missing.length) lines.push(`missing tensors (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length) lines.push(`unexpected tensors (${unexpected.length}): ${unexpected.join(', ')}`);
    if (misshaped.length) lines.push(`mis-shaped tensors (${misshaped.length}): ${misshaped.join('; ')}`);
    throw new Error(
      `${FN}(${where}): the checkpoint does not match ${model.architecture}:\n  ${lines.join('\n  ')}`,
    );
  }
  if (fill) fill(given);
  else model.loadStateDict(given);
  return { ignored };
}

/**
 * Fills a model built with placeholder parameters (withPlaceholderParameters) from the matched
 * checkpoint tensors `given` without a float32 copy of its matrices: with a 16-bit `target`, every
 * Linear / Conv1D / embedding / head becomes a Linear16 / Embedding16 holding the checkpoint's
 * 16-bit tensor (cast when the dtypes differ); every other parameter (biases, norms, and all of
 * them for a float32 target) gets its own float32 storage from the checkpoint; buffers are copied.
 */
function fillPlaceholders(
  model: PreTrainedModel,
  given: Record<string, Tensor>,
  placeholders: Set<Parameter>,
  target: 'float32' | 'float16' | 'bfloat16',
): void {
  const own = model.stateDict();
  const sources = new Map<Tensor, Tensor>();
  const rest: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(given)) {
    const mine = own[k];
    if (!placeholders.has(mine as Parameter)) rest[k] = t;
    else if (!sources.has(mine)) sources.set(mine, t.detach());
  }
  if (Object.keys(rest).length) model.loadStateDict(rest, { strict: false });
  // from here the views in `sources` hold the checkpoint's storages: each is freed once its layer
  // is made (the 16-bit weight keeps it when the dtypes and layouts agree)
  for (const t of Object.values(given)) t.dispose();
  if (target !== 'float32') {
    // a matrix that only layers quantize replaces hold (as their `weight`) is read once: its
    // checkpoint tensor is freed as the layer is made; one that another module also holds (BERT's
    // tied MLM decoder) stays for the float32 parameter that module keeps
    const consume = new Set<Tensor>(sources.keys());
    for (const m of model.modules()) {
      const convertible =
        m instanceof Linear ||
        m instanceof Embedding ||
        typeof (m as { toQuantized?: unknown }).toQuantized === 'function';
      for (const [key, v] of Object.entries(m)) {
        const held = Array.isArray(v) ? v : [v];
        for (const t of held) {
          if (t instanceof Parameter && (!convertible || key !== 'weight')) consume.delete(t);
        }
      }
    }
    quantize(model.eval(), { dtype: target, weightSources: sources, consumeSources: consume });
  }
  const made = new Map<Parameter, Parameter>();
  const real = (p: Parameter): Parameter => {
    let q = made.get(p);
    if (!q) {
      const t = sources.get(p);
      if (!t || t.isDisposed)
        throw new Error(`${FN}: internal error: a parameter ${fmtShape(p.shape)} got no checkpoint tensor`);
      q = new Parameter(t.detach(), p.requiresGrad); // shares a float32 tensor's storage; widens a 16-bit one
      made.set(p, q);
    }
    return q;
  };
  for (const m of model.modules()) {
    const fields = m as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(m)) {
      if (v instanceof Parameter && placeholders.has(v)) fields[key] = real(v);
      else if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (item instanceof Parameter && placeholders.has(item)) v[i] = real(item);
        });
      }
    }
  }
  for (const t of sources.values()) t.dispose();
  const left = model.namedParameters().filter(([, p]) => p.isDisposed);
  if (left.length) {
    throw new Error(`${FN}: internal error: parameters left unfilled: ${left.map(([n]) => n).join(', ')}`);
  }
}

/**
 * Loads a Hugging Face checkpoint: config.json picks the class (`architectures`, then
 * `model_type`: GPT-2, Llama, BERT, ...) and model.safetensors (or the shards of
 * model.safetensors.index.json) fills it. Parameter names may carry the class prefix or not; tied
 * heads may be stored or not; float16 and bfloat16 files load into float32 parameters unless
 * `dtype` keeps them 16-bit (`{ dtype: 'auto' }` keeps the file's dtype). The model is returned in
 * eval mode.
 *
 * @throws one error listing every missing, unexpected and mis-shaped tensor; errors naming the
 *   missing or malformed file otherwise
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * import { readFileSync } from 'node:fs';
 * const dir = 'packages/transformer/test/fixtures'; // tiny random checkpoints that transformers saved
 * const gpt2 = await loadPretrained(`${dir}/gpt2-tiny`);                    // a folder (Node)
 * // a URL base works the same: loadPretrained('https://huggingface.co/<repo>/resolve/main/')
 * const f1 = readFileSync(`${dir}/bert-tiny/config.json`);
 * const f2 = readFileSync(`${dir}/bert-tiny/model.safetensors`);
 * const bert = await loadPretrained({ 'config.json': f1, 'model.safetensors': f2 }); // Files (or bytes)
 * bert.constructor.name; // => 'BertModel'
 * const lm = await loadPretrained(`${dir}/gpt2-tiny`, { task: 'text-generation' }); // typed: GPT2LMHeadModel | LlamaForCausalLM | …
 * const out = await generate(lm, [[4, 6, 8]], { maxNewTokens: 20 });           // no cast
 * const g = await loadPretrained(`${dir}/gpt2-tiny`, { architecture: 'GPT2LMHeadModel' }); // typed: GPT2LMHeadModel
 * const bf = await loadPretrained(`${dir}/gpt2-bf16-sharded`, { task: 'text-generation', dtype: 'auto' });
 * bf.stateDict()['lm_head.weight'].dtype; // => 'bfloat16'
 * ```
 */
export async function loadPretrained<A extends keyof PretrainedArchitectures>(
  source: PretrainedSource,
  options: LoadPretrainedOptions & { architecture: A },
): Promise<PretrainedArchitectures[A]>;
export async function loadPretrained<T extends PretrainedTask>(
  source: PretrainedSource,
  options: LoadPretrainedOptions & { task: T; architecture?: undefined },
): Promise<PretrainedTasks[T]>;
export async function loadPretrained(
  source: PretrainedSource,
  options?: LoadPretrainedOptions,
): Promise<PreTrainedModel>;
export async function loadPretrained(
  source: PretrainedSource,
  options: LoadPretrainedOptions = {},
): Promise<PreTrainedModel> {
  if (source === null || source === undefined) {
    throw new TypeError(
      `${FN}: 'source' must be a folder path, a URL base or a map of files, got ${describe(source)}`,
    );
  }
  const max = options.maxParameters;
  if (max !== undefined && (typeof max !== 'number' || !(max > 0))) {
    throw new TypeError(`${FN}: 'maxParameters' must be a positive number, got ${describe(max)}`);
  }
  if (options.dtype !== undefined && !LOAD_DTYPES.includes(options.dtype)) {
    throw new TypeError(
      `${FN}: 'dtype' must be one of ${LOAD_DTYPES.map((d) => `'${d}'`).join(', ')}, got ${describe(options.dtype)}`,
    );
  }
  const wanted = options.dtype ?? 'float32';
  const src = reporting(openFiles(source, FN), options);
  const config = await readJson(src, 'config.json', FN);
  const cls = modelClassFor(config, options.architecture);
  if (options.task !== undefined) {
    const serving = TASKS.get(options.task);
    if (!serving) {
      throw new TypeError(
        `${FN}: options.task must be one of ${[...TASKS.keys()].join(', ')}; got ${describe(options.task)}`,
      );
    }
    if (!serving.has(cls)) {
      const names = [...ARCHITECTURES].filter(([, c]) => serving.has(c)).map(([n]) => n);
      throw new Error(
        `${FN}(${src.where}): the checkpoint's class ${(cls as { name?: string }).name ?? '?'} does not serve the task '${options.task}' (classes for it: ${names.join(', ')}); pass { architecture } to build another class from this config`,
      );
    }
  }
  let model: PreTrainedModel;
  let placeholders: Set<Parameter> | null = null;
  try {
    const n = options.maxParameters !== undefined ? cls.approxParameters?.(config) : undefined;
    if (n !== undefined && n > (options.maxParameters as number)) {
      throw new ConfigError(
        `${FN}: the config describes about ${n.toExponential(2)} parameters, above maxParameters ${options.maxParameters}; refused before allocating`,
      );
    }
    if (wanted === 'float32') model = cls.fromConfigJson(config);
    else {
      // 16-bit (or 'auto'): build with placeholder parameters, so that the float32 model never exists
      const built = withPlaceholderParameters(() => cls.fromConfigJson(config));
      model = built.result;
      placeholders = built.placeholders;
      // only their identities and shapes are needed from here: free the scratch storages now
      for (const p of placeholders) p.dispose();
    }
  } catch (e) {
    throw new ConfigError(
      `${FN}(${src.where}): config.json: ${(e as Error).message}`,
      (e as ConfigError).key ?? null,
      {
        cause: e,
      },
    );
  }
  let weights: Record<string, Tensor> = {};
  try {
    // optional: a server that answers other than 404 for a missing file counts as "none"
    const gen = await readJson(src, 'generation_config.json', FN, { optional: true }).catch(() => null);
    model.generationConfig = gen ? generationConfigFromJson(gen) : model.defaultGenerationConfig();
    // 16-bit tensors stay 16-bit on the host until they are copied into the parameters
    const read = wanted === 'float32' ? {} : { bfloat16: 'keep' as const };
    weights = await readWeightFiles(src, FN, (bytes) => readSafetensors(bytes, read));
    if (placeholders) {
      const target = wanted === 'auto' ? fileDtype(weights, src.where) : wanted;
      const ph = placeholders;
      matchInto(model, weights, src.where, (given) => fillPlaceholders(model, given, ph, target));
    } else loadCheckpointInto(model, weights, src.where);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
  (src as { ready?: (model: string) => void }).ready?.(model.architecture);
  return model.eval();
}

/**
 * The 16-bit dtype of a model's Linear16 / Embedding16 layers, or 'float32' when it has none.
 * @throws for a model that mixes float16 and bfloat16 layers, or holds int8 layers
 */
function modelDtype(model: PreTrainedModel): 'float32' | 'float16' | 'bfloat16' {
  const halves = new Set<'float16' | 'bfloat16'>();
  for (const m of model.modules()) {
    if (m instanceof Linear16 || m instanceof Embedding16)
      halves.add(m.weight.dtype as 'float16' | 'bfloat16');
    else if (m instanceof QuantizedLinear || m instanceof QuantizedEmbedding) {
      throw new Error(
        `saveModel: the model has int8 layers (${m.constructor.name}, from quantize), which a Hugging Face checkpoint cannot hold; save the float32 (or float16 / bfloat16) model`,
      );
    }
  }
  if (halves.size > 1) {
    throw new Error(
      'saveModel: the model mixes float16 and bfloat16 layers; a Hugging Face checkpoint has one dtype (quantize it to one of them)',
    );
  }
  return halves.size ? [...halves][0] : 'float32';
}

/**
 * The files of a Hugging Face checkpoint for `model`: config.json and model.safetensors (tied
 * aliases left out, as transformers saves them). A float32 model is saved F32; a model with
 * float16 / bfloat16 layers (loaded with that `dtype`, or from nn's `quantize`) is saved as
 * transformers saves a model cast to that dtype: every floating-point tensor F16 / BF16 (biases
 * and norms rounded to nearest even), GPT-2's Conv1D weights [in, out] again, and `dtype` /
 * `torch_dtype` in config.json naming it.
 */
export async function checkpointFiles(model: PreTrainedModel): Promise<Record<string, Uint8Array>> {
  if (!model || typeof (model as PreTrainedModel).configJson !== 'function') {
    throw new TypeError(`saveModel: 'model' must be a model of @attnkit/transformer, got ${describe(model)}`);
  }
  if (model.modules().some((m) => m instanceof LoraLinear)) {
    throw new Error(
      'saveModel: the model has LoRA adapters, which a Hugging Face checkpoint cannot hold; save the adapter alone with saveLoraAdapter, or fold it in with mergeAndUnloadLora first',
    );
  }
  const dtype = modelDtype(model);
  const state = model.stateDict();
  for (const [alias] of model.tiedWeights()) delete state[alias];
  const made: Tensor[] = [];
  const dtypes: Record<string, 'F16' | 'BF16'> = {};
  if (dtype !== 'float32') {
    for (const [name, m] of model.namedModules()) {
      const key = name ? `${name}.weight` : 'weight';
      // the [out, in] matrix of a layer that stores [in, out] (GPT-2's Conv1D) goes back to [in, out]
      if (m instanceof Linear16 && m.transposed && key in state) {
        const w = state[key];
        const t = tidy(() => w.T.contiguous());
        made.push(t);
        state[key] = t;
      }
    }
    for (const [k, t] of Object.entries(state)) {
      if (t.dtype === 'float32') dtypes[k] = dtype === 'float16' ? 'F16' : 'BF16';
    }
  }
  try {
    const config = { ...model.configJson(), torch_dtype: dtype, dtype };
    const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
    const files: Record<string, Uint8Array> = {
      'config.json': new TextEncoder().encode(configJsonText(config)),
      'model.safetensors': await writeSafetensors(state, { format: 'pt' }, { dtypes }),
    };
    if (model.generationConfig)
      files['generation_config.json'] = json(generationConfigToJson(model.generationConfig));
    return files;
  } finally {
    for (const t of made) t.dispose();
  }
}

/**
 * Saves `model` as a Hugging Face checkpoint folder (config.json + model.safetensors) that
 * {@link loadPretrained} and transformers' `from_pretrained` load. Node only; in a browser use
 * {@link checkpointFiles} for the bytes.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const model = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100 });
 * const dir = join(mkdtempSync(join(tmpdir(), 'attnkit-')), 'my-gpt');
 * await saveModel(model, dir);
 * const again = await loadPretrained(dir);
 * again.constructor.name; // => 'GPT2LMHeadModel'
 * ```
 */
export async function saveModel(model: PreTrainedModel, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`saveModel: 'dir' must be a folder path, got ${describe(dir)}`);
  }
  if (!canReadFolders())
    throw new Error('saveModel: writing folders needs Node; use checkpointFiles() in a browser');
  await writeFolder(dir, await checkpointFiles(model), 'saveModel');
}

/**
 * `fromPretrained` for one task, as transformers.js' AutoModelFor... classes: loads with
 * {@link loadPretrained} and `{ task }`, so the result is typed for the task and a checkpoint of
 * another kind is refused.
 */
function autoModel<T extends PretrainedTask>(task: T, name: string) {
  return {
    /** Loads a checkpoint for this task; see {@link loadPretrained}. */
    fromPretrained(
      source: PretrainedSource,
      options: Omit<LoadPretrainedOptions, 'task' | 'architecture'> = {},
    ): Promise<PretrainedTasks[T]> {
      return loadPretrained(source, { ...options, task, architecture: undefined });
    },
    /** The task this class loads for. */
    task,
    /** The class name, as transformers.js names it. */
    name,
  };
}

/**
 * Causal language models (GPT-2, Llama, Mistral), typed for `generate()`.
 *
 * @example
 * ```ts
 * import { generate } from '@attnkit/sampling';
 * const lm = await AutoModelForCausalLM.fromPretrained('packages/transformer/test/fixtures/llama-tiny');
 * const out = await generate(lm, [[4, 6, 8]], { maxNewTokens: 20 });
 * lm.constructor.name; // => 'LlamaForCausalLM'
 * ```
 */
export const AutoModelForCausalLM = autoModel('text-generation', 'AutoModelForCausalLM');
/** Masked language models (BERT with its MLM head). */
export const AutoModelForMaskedLM = autoModel('fill-mask', 'AutoModelForMaskedLM');
/** Image classifiers (ViT). */
export const AutoModelForImageClassification = autoModel(
  'image-classification',
  'AutoModelForImageClassification',
);
/** Encoder-decoder (sequence-to-sequence) models. */
export const AutoModelForSeq2SeqLM = autoModel('text2text-generation', 'AutoModelForSeq2SeqLM');
/**
 * Any architecture loadPretrained knows, typed as the base class (as transformers.js' AutoModel);
 * pass `{ architecture }` to {@link loadPretrained} for a precise type.
 */
export const AutoModel = {
  fromPretrained: (source: PretrainedSource, options?: LoadPretrainedOptions): Promise<PreTrainedModel> =>
    loadPretrained(source, options),
  name: 'AutoModel',
};
