// Hugging Face checkpoints in and out: a folder (Node), a URL base or a map of files holding
// config.json + model.safetensors (or shards listed in model.safetensors.index.json).
//
//   config.json ─▶ model class (model_type / architectures) ─▶ model with default weights
//   *.safetensors ─▶ names matched (with or without the class prefix, tied aliases) ─▶ loadStateDict
import type { Tensor } from '@attnkit/tensor-core';
import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
import { nodeFiles } from '@attnkit/tensor-core/platform';
import { describe, fmtShape } from './internal.js';
import type { PreTrainedModel } from './models/base.js';
import { BertForMaskedLM, BertModel } from './models/bert.js';
import { CLIPTextModel, CLIPTextModelWithProjection } from './models/clip.js';
import { EncoderDecoderModel } from './models/encoder-decoder.js';
import { GPT2LMHeadModel } from './models/gpt2.js';
import { LlamaForCausalLM } from './models/llama.js';
import { ViTForImageClassification } from './models/vit.js';

/** One file's contents as a browser or Node program has them. */
export type FileLike = Blob | ArrayBuffer | ArrayBufferView | Response;

/**
 * Where a checkpoint is: a folder path (Node), an http(s) URL base (files are fetched from
 * `base/config.json`, ...), or the files themselves by name (`{ 'config.json': file, ... }` or a Map).
 */
export type PretrainedSource = string | URL | Map<string, FileLike> | Record<string, FileLike>;

/** A model class that loadPretrained can build from a config.json object. */
export interface ModelClass {
  fromConfigJson(json: Record<string, unknown>): PreTrainedModel;
}

const ARCHITECTURES = new Map<string, ModelClass>([
  ['GPT2LMHeadModel', GPT2LMHeadModel],
  ['GPT2Model', GPT2LMHeadModel],
  ['LlamaForCausalLM', LlamaForCausalLM],
  ['LlamaModel', LlamaForCausalLM],
  ['MistralForCausalLM', LlamaForCausalLM],
  ['BertModel', BertModel],
  ['BertForMaskedLM', BertForMaskedLM],
  ['BertForPreTraining', BertForMaskedLM],
  ['ViTForImageClassification', ViTForImageClassification],
  ['EncoderDecoderTransformer', EncoderDecoderModel],
  ['CLIPTextModel', CLIPTextModel],
  ['CLIPTextModelWithProjection', CLIPTextModelWithProjection],
]);

const MODEL_TYPES = new Map<string, ModelClass>([
  ['gpt2', GPT2LMHeadModel],
  ['llama', LlamaForCausalLM],
  ['bert', BertModel],
  ['vit', ViTForImageClassification],
  ['attnkit-encoder-decoder', EncoderDecoderModel],
  ['clip_text_model', CLIPTextModel],
  // a whole CLIP checkpoint (CLIPModel): its text tower and text_projection; the vision tower is skipped
  ['clip', CLIPTextModelWithProjection],
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
}

/**
 * The model classes that serve each task (names as transformers.js' pipelines), as a type:
 * `loadPretrained(source, { task: 'text-generation' })` resolves to a causal language model that
 * `generate()` of `@attnkit/sampling` accepts as it is. Extend by declaration merging, as
 * {@link PretrainedArchitectures}, and register the class with `registerModelClass(..., { tasks })`.
 */
export interface PretrainedTasks {
  'text-generation': GPT2LMHeadModel | LlamaForCausalLM;
  'fill-mask': BertForMaskedLM;
  'feature-extraction': BertModel | CLIPTextModel | CLIPTextModelWithProjection;
  'image-classification': ViTForImageClassification;
  'text2text-generation': EncoderDecoderModel;
}

/** A task name of {@link PretrainedTasks}. */
export type PretrainedTask = keyof PretrainedTasks;

const TASKS = new Map<string, Set<ModelClass>>([
  ['text-generation', new Set<ModelClass>([GPT2LMHeadModel, LlamaForCausalLM])],
  ['fill-mask', new Set<ModelClass>([BertForMaskedLM])],
  ['feature-extraction', new Set<ModelClass>([BertModel, CLIPTextModel, CLIPTextModelWithProjection])],
  ['image-classification', new Set<ModelClass>([ViTForImageClassification])],
  ['text2text-generation', new Set<ModelClass>([EncoderDecoderModel])],
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
  if (modelType) MODEL_TYPES.set(modelType, cls);
  for (const task of options.tasks ?? []) {
    const set = TASKS.get(task) ?? new Set<ModelClass>();
    set.add(cls);
    TASKS.set(task, set);
  }
}

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /** Build this class instead of the one config.json names (e.g. 'BertModel' from an MLM checkpoint). */
  architecture?: string;
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

interface FileSource {
  /** The file's bytes, or null when it does not exist; `onBytes` follows a download as it streams. */
  read(
    name: string,
    onBytes?: (loaded: number, total: number | undefined) => void,
  ): Promise<Uint8Array | null>;
  where: string;
}

function isNode(): boolean {
  return (
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'
  );
}

async function fileBytes(f: FileLike): Promise<Uint8Array> {
  if (f instanceof Uint8Array) return f;
  if (ArrayBuffer.isView(f)) return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  if (f instanceof ArrayBuffer) return new Uint8Array(f);
  if (typeof Blob !== 'undefined' && f instanceof Blob) return new Uint8Array(await f.arrayBuffer());
  if (f && typeof (f as Response).arrayBuffer === 'function') {
    const r = f as Response;
    if (typeof r.ok === 'boolean' && !r.ok) throw new Error(`HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }
  throw new TypeError(`expected a File, Blob, ArrayBuffer, Uint8Array or Response, got ${describe(f)}`);
}

function openSource(source: PretrainedSource): FileSource {
  if (source instanceof Map || (source && typeof source === 'object' && !(source instanceof URL))) {
    const map = source instanceof Map ? source : new Map(Object.entries(source as Record<string, FileLike>));
    return {
      where: `<files: ${[...map.keys()].join(', ')}>`,
      async read(name) {
        const f = map.get(name);
        if (f === undefined || f === null) return null;
        try {
          return await fileBytes(f);
        } catch (e) {
          throw new Error(`${FN}: cannot read '${name}': ${(e as Error).message}`, { cause: e });
        }
      },
    };
  }
  const base = source instanceof URL ? source.href : source;
  if (typeof base !== 'string' || base.length === 0) {
    throw new TypeError(
      `${FN}: 'source' must be a folder path, a URL base or a map of file names to Files/ArrayBuffers, got ${describe(source)}`,
    );
  }
  if (/^(https?|blob|data):/i.test(base) || !isNode()) {
    // In a browser a relative folder ('models/gpt2') is relative to the page, as fetch() takes it.
    const page = (globalThis as { location?: { href?: string } }).location?.href;
    const withSlash = base.endsWith('/') ? base : `${base}/`;
    let root: string;
    try {
      root = new URL(withSlash, page).href;
    } catch {
      throw new TypeError(
        `${FN}: '${base}' is not a URL${page ? '' : ' (a relative folder needs a page to resolve against, or Node for a path)'}`,
      );
    }
    return {
      where: root,
      async read(name, onBytes) {
        const res = await fetch(new URL(name, root));
        if (res.status === 404) return null;
        if (!res.ok) throw new Error(`${FN}: fetching ${root}${name}: HTTP ${res.status} ${res.statusText}`);
        if (!onBytes || !res.body) return new Uint8Array(await res.arrayBuffer());
        return streamBytes(res, onBytes);
      },
    };
  }
  const dir = /^file:/i.test(base) ? new URL(base) : base;
  return {
    where: String(base),
    async read(name) {
      const fs = nodeFiles(FN);
      const root = dir instanceof URL ? fs.fileURLToPath(dir) : dir;
      try {
        return await fs.readFile(fs.join(root, name));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT') {
          if (name === 'config.json') {
            const kind = await fs.kind(root);
            if (!kind) throw new Error(`${FN}: the folder '${root}' does not exist`);
            if (kind !== 'folder') throw new Error(`${FN}: '${root}' is not a folder`);
          }
          return null;
        }
        throw new Error(`${FN}: cannot read ${fs.join(root, name)}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

/** A response body read chunk by chunk, reporting the bytes so far. */
async function streamBytes(
  res: Response,
  onBytes: (loaded: number, total: number | undefined) => void,
): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onBytes(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

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

function parseJson(bytes: Uint8Array, name: string, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${FN}(${where}): ${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${FN}(${where}): ${name} must hold a JSON object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/** The class config.json asks for. */
export function modelClassFor(config: Record<string, unknown>, architecture?: string): ModelClass {
  const archs = architecture
    ? [architecture]
    : Array.isArray(config.architectures)
      ? config.architectures
      : [];
  for (const a of archs) {
    const cls = ARCHITECTURES.get(String(a));
    if (cls) return cls;
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

/** Reads model.safetensors, or every shard of model.safetensors.index.json. */
async function readWeights(src: FileSource): Promise<Record<string, Tensor>> {
  const single = await src.read('model.safetensors');
  if (single) return readSafetensors(single);
  const indexBytes = await src.read('model.safetensors.index.json');
  if (!indexBytes) {
    throw new Error(
      `${FN}(${src.where}): found neither model.safetensors nor model.safetensors.index.json (only safetensors checkpoints are supported)`,
    );
  }
  const index = parseJson(indexBytes, 'model.safetensors.index.json', src.where);
  const map = index.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw new Error(`${FN}(${src.where}): model.safetensors.index.json has no "weight_map" object`);
  }
  const files = [...new Set(Object.values(map as Record<string, unknown>).map(String))];
  const out: Record<string, Tensor> = {};
  for (const file of files) {
    const bytes = await src.read(file);
    if (!bytes) {
      for (const t of Object.values(out)) t.dispose();
      throw new Error(
        `${FN}(${src.where}): the shard '${file}' listed in model.safetensors.index.json is missing`,
      );
    }
    const part = await readSafetensors(bytes);
    for (const [k, t] of Object.entries(part)) {
      if (k in out) t.dispose();
      else out[k] = t;
    }
  }
  const listed = Object.keys(map as Record<string, unknown>).filter((k) => !(k in out));
  if (listed.length) {
    for (const t of Object.values(out)) t.dispose();
    throw new Error(
      `${FN}(${src.where}): tensors listed in model.safetensors.index.json are not in their shards: ${listed.join(', ')}`,
    );
  }
  return out;
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
  const own = model.stateDict();
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
  model.loadStateDict(given);
  return { ignored };
}

/**
 * Loads a Hugging Face checkpoint: config.json picks the class (`architectures`, then
 * `model_type`: GPT-2, Llama, BERT, ...) and model.safetensors (or the shards of
 * model.safetensors.index.json) fills it. Parameter names may carry the class prefix or not; tied
 * heads may be stored or not; float16 and bfloat16 files load into float32 parameters. The model is
 * returned in eval mode.
 *
 * @throws one error listing every missing, unexpected and mis-shaped tensor; errors naming the
 *   missing or malformed file otherwise
 * @example
 * ```ts
 * import '@attnkit/backend-cpu';
 * import { generate } from '@attnkit/sampling';
 * const gpt2 = await loadPretrained('./models/gpt2');                       // a folder (Node)
 * const llama = await loadPretrained('https://example.com/tiny-llama/');    // a URL base
 * const bert = await loadPretrained({ 'config.json': f1, 'model.safetensors': f2 }); // Files
 * const lm = await loadPretrained('./models/gpt2', { task: 'text-generation' }); // typed: GPT2LMHeadModel | LlamaForCausalLM
 * const out = await generate(lm, [[464, 3290]], { maxNewTokens: 20 });           // no cast
 * const g = await loadPretrained('./models/gpt2', { architecture: 'GPT2LMHeadModel' }); // typed: GPT2LMHeadModel
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
  const src = reporting(openSource(source), options);
  const configBytes = await src.read('config.json');
  if (!configBytes) throw new Error(`${FN}(${src.where}): config.json is missing`);
  const config = parseJson(configBytes, 'config.json', src.where);
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
  try {
    model = cls.fromConfigJson(config);
  } catch (e) {
    throw new Error(`${FN}(${src.where}): config.json: ${(e as Error).message}`, { cause: e });
  }
  let weights: Record<string, Tensor> = {};
  try {
    weights = await readWeights(src);
    loadCheckpointInto(model, weights, src.where);
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
 * The files of a Hugging Face checkpoint for `model`: config.json and model.safetensors (float32;
 * tied aliases left out, as transformers saves them).
 */
export async function checkpointFiles(model: PreTrainedModel): Promise<Record<string, Uint8Array>> {
  if (!model || typeof (model as PreTrainedModel).configJson !== 'function') {
    throw new TypeError(`saveModel: 'model' must be a model of @attnkit/transformer, got ${describe(model)}`);
  }
  const state = model.stateDict();
  for (const [alias] of model.tiedWeights()) delete state[alias];
  const config = { ...model.configJson(), torch_dtype: 'float32' };
  return {
    'config.json': new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`),
    'model.safetensors': await writeSafetensors(state, { format: 'pt' }),
  };
}

/**
 * Saves `model` as a Hugging Face checkpoint folder (config.json + model.safetensors) that
 * {@link loadPretrained} and transformers' `from_pretrained` load. Node only; in a browser use
 * {@link checkpointFiles} for the bytes.
 *
 * @example
 * ```ts
 * await saveModel(model, './my-gpt');
 * const again = await loadPretrained('./my-gpt');
 * ```
 */
export async function saveModel(model: PreTrainedModel, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`saveModel: 'dir' must be a folder path, got ${describe(dir)}`);
  }
  if (!isNode()) throw new Error('saveModel: writing folders needs Node; use checkpointFiles() in a browser');
  const files = await checkpointFiles(model);
  const fs = nodeFiles('saveModel');
  await fs.mkdir(dir);
  for (const [name, bytes] of Object.entries(files)) await fs.writeFile(fs.join(dir, name), bytes);
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
 * const lm = await AutoModelForCausalLM.fromPretrained('./models/gpt2');
 * const out = await generate(lm, [[464, 3290]], { maxNewTokens: 20 });
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
