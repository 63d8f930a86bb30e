// Hugging Face checkpoints in and out: a folder (Node), a URL base or a map of files holding
// config.json + model.safetensors (or shards listed in model.safetensors.index.json).
//
//   config.json ─▶ model class (model_type / architectures) ─▶ model with default weights
//   *.safetensors ─▶ names matched (with or without the class prefix, tied aliases) ─▶ loadStateDict
import type { Tensor } from '@attnkit/tensor-core';
import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
import { generationConfigFromJson, generationConfigToJson } from './generation-config.js';
import { configJsonText, describe, fmtShape } from './internal.js';
import type { PreTrainedModel } from './models/base.js';
import { BertForMaskedLM, BertModel } from './models/bert.js';
import { CLIPTextModel, CLIPTextModelWithProjection } from './models/clip.js';
import { EncoderDecoderModel } from './models/encoder-decoder.js';
import { GPT2LMHeadModel } from './models/gpt2.js';
import { LlamaForCausalLM } from './models/llama.js';
import { MistralForCausalLM } from './models/mistral.js';
import { MixtralForCausalLM } from './models/mixtral.js';
import { Qwen2ForCausalLM } from './models/qwen2.js';
import { ViTForImageClassification, ViTModel } from './models/vit.js';

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
  // a whole CLIP checkpoint (CLIPModel): its text tower and text_projection; the vision tower is skipped
  ['clip', CLIPTextModelWithProjection],
]);

/**
 * Makes `loadPretrained` build `cls` for config.json files whose `architectures` names
 * `architecture` (and, with `modelType`, for that `model_type` when no architecture matches).
 */
export function registerModelClass(architecture: string, cls: ModelClass, modelType?: string): void {
  ARCHITECTURES.set(architecture, cls);
  if (modelType) MODEL_TYPES.set(modelType, cls);
}

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /** Build this class instead of the one config.json names (e.g. 'BertModel' from an MLM checkpoint). */
  architecture?: string;
}

const FN = 'loadPretrained';

interface FileSource {
  /** The file's bytes, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
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
    const root = base.endsWith('/') ? base : `${base}/`;
    return {
      where: root,
      async read(name) {
        const res = await fetch(new URL(name, root));
        if (res.status === 404) return null;
        if (!res.ok) throw new Error(`${FN}: fetching ${root}${name}: HTTP ${res.status} ${res.statusText}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }
  const dir = /^file:/i.test(base) ? new URL(base) : base;
  return {
    where: String(base),
    async read(name) {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      const { fileURLToPath } = await import('node:url');
      const root = dir instanceof URL ? fileURLToPath(dir) : dir;
      try {
        const buf = await fs.readFile(path.join(root, name));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT') {
          if (name === 'config.json') {
            const st = await fs.stat(root).catch(() => null);
            if (!st) throw new Error(`${FN}: the folder '${root}' does not exist`);
            if (!st.isDirectory()) throw new Error(`${FN}: '${root}' is not a folder`);
          }
          return null;
        }
        throw new Error(`${FN}: cannot read ${path.join(root, name)}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
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
  const original = weights;
  weights = model.remapCheckpoint(weights);
  const given = new Set(Object.values(original));
  const created = Object.values(weights).filter((t) => !given.has(t));
  try {
    return matchCheckpoint(model, own, weights, where);
  } finally {
    for (const t of created) t.dispose();
  }
}

function matchCheckpoint(
  model: PreTrainedModel,
  own: Record<string, Tensor>,
  weights: Record<string, Tensor>,
  where: string,
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
 * const out = await generate(gpt2 as GPT2LMHeadModel, [[464, 3290]], { maxNewTokens: 20 });
 * ```
 */
export async function loadPretrained(
  source: PretrainedSource,
  options: LoadPretrainedOptions = {},
): Promise<PreTrainedModel> {
  if (source === null || source === undefined) {
    throw new TypeError(
      `${FN}: 'source' must be a folder path, a URL base or a map of files, got ${describe(source)}`,
    );
  }
  const src = openSource(source);
  const configBytes = await src.read('config.json');
  if (!configBytes) throw new Error(`${FN}(${src.where}): config.json is missing`);
  const config = parseJson(configBytes, 'config.json', src.where);
  const cls = modelClassFor(config, options.architecture);
  let model: PreTrainedModel;
  try {
    model = cls.fromConfigJson(config);
  } catch (e) {
    throw new Error(`${FN}(${src.where}): config.json: ${(e as Error).message}`, { cause: e });
  }
  let weights: Record<string, Tensor> = {};
  try {
    // optional: a server that answers other than 404 for a missing file counts as "none"
    const gen = await src.read('generation_config.json').catch(() => null);
    model.generationConfig = gen
      ? generationConfigFromJson(parseJson(gen, 'generation_config.json', src.where))
      : null;
    weights = await readWeights(src);
    loadCheckpointInto(model, weights, src.where);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
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
  const config = { ...model.configJson(), torch_dtype: 'float32', dtype: 'float32' };
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  const files: Record<string, Uint8Array> = {
    'config.json': new TextEncoder().encode(configJsonText(config)),
    'model.safetensors': await writeSafetensors(state, { format: 'pt' }),
  };
  if (model.generationConfig)
    files['generation_config.json'] = json(generationConfigToJson(model.generationConfig));
  return files;
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
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await fs.writeFile(path.join(dir, name), bytes);
}
