/**
 * @attnkit/hub: reading Hugging Face checkpoint folders, shared by every attnkit package that
 * loads one (models, pipelines, tokenizers). No dependencies; runs in Node and in browsers.
 *
 * - files: {@link openFiles} opens a folder (Node), a URL base or a map of Files by name;
 *   {@link readJson} reads config.json-like files; {@link readWeightFiles} reads one safetensors
 *   file or the shards of its `.index.json`.
 * - configs: {@link resolveConfig} reads a config.json through a {@link FieldTable} (defaults,
 *   transformers 4 and 5 spellings, bounds from {@link LIMITS}, refused keys);
 *   {@link standardRope} reads rotary parameters in either spelling.
 * - activations: {@link ACTIVATIONS} maps Hugging Face names to the function each denotes
 *   (tensor-core/nn's `activationByName` applies it).
 * - messages: {@link describe}, {@link fmtShape}, {@link check}, {@link ConfigError}.
 *
 * @example
 * ```ts
 * import { openFiles, readJson, resolveConfig, sizeField, LIMITS } from '@attnkit/hub';
 * const src = openFiles('packages/transformer/test/fixtures/llama-tiny', 'loadMyModel');
 * const json = await readJson(src, 'config.json', 'loadMyModel');
 * const config = resolveConfig<{ hiddenSize: number }>('MyConfig', {
 *   hiddenSize: sizeField('hidden_size', 4096, LIMITS.hidden),
 * }, json, true, { refuse: { sliding_window: { why: 'sliding-window attention' } } });
 * config.hiddenSize; // => 32
 * ```
 * @packageDocumentation
 */
export {
  ACTIVATIONS,
  type CanonicalActivation,
  canonicalActivation,
  isActivationName,
} from './activations.js';
export {
  COMMON_REFUSED,
  camelToSnake,
  checkProduct,
  configToJson,
  type FieldKind,
  type FieldSpec,
  type FieldTable,
  LIMITS,
  type RefusedKey,
  type RefusedKeys,
  type ResolveConfigOptions,
  refuseKeys,
  resolveConfig,
  sizeField,
  snakeToCamel,
} from './config.js';
export {
  canReadFolders,
  type FileLike,
  type FileSource,
  type FilesSource,
  fileBytes,
  isFilesSource,
  openFiles,
  readFile,
  readText,
  writeFile,
  writeFolder,
} from './files.js';
export { parseJsonObject, readJson } from './json.js';
export { ConfigError, check, describe, fmtShape } from './messages.js';
export { ROPE_KEYS, type RopeParameters, type StandardRopeOptions, standardRope } from './rope.js';
export { readWeightFiles, type WeightFileOptions, type WeightLike } from './shards.js';
