// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") as Hugging Face
// PEFT's LoraConfig / get_peft_model: chosen linear layers get a trainable low-rank update while
// every other weight is frozen, and adapters are saved and loaded alone in PEFT's layout.
//
//   y = base_layer(x) + lora_B(lora_A(dropout(x))) · alpha / r      (alpha / √r with useRslora)
//   lora_A: [r, in] kaiming-uniform as nn.Linear;  lora_B: [out, r] zero, so training starts at the base
//   merge: W += (alpha / r) · B A  (transposed for GPT-2's Conv1D, whose weight is [in, out])
//
// Files (PEFT's save_pretrained): adapter_config.json and adapter_model.safetensors with keys
// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`.
import { type FilesSource, openFiles, writeFolder } from '@attnkit/hub';
import { add, dropout, type LinearActivation, mul, noGrad, type Tensor, tidy } from '@attnkit/tensor-core';
import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
import { activationByName, freeze, Linear, Module } from '@attnkit/tensor-core/nn';
import { describe } from '../internal.js';
import { Conv1D } from '../models/gpt2.js';

/** Options of {@link applyLora}, with PEFT LoraConfig's meaning (camel-cased). */
export interface LoraConfig {
  /** Rank of the update (PEFT's `r`; 8 by default). */
  r?: number;
  /** Scale numerator: the update is multiplied by loraAlpha / r (PEFT's `lora_alpha`; 8 by default). */
  loraAlpha?: number;
  /** Dropout probability on the adapter's input path during training (0 by default). */
  loraDropout?: number;
  /**
   * The layers to adapt, by module name: a list of names, each matching a module whose dotted name
   * equals it or ends with `.<name>` (`['c_attn', 'c_proj']`, `['q_proj', 'v_proj']`); a string,
   * a regular expression the whole name must match (PEFT's `target_modules` string); or a RegExp
   * tested against the name. Every match must be a Linear (or GPT-2's Conv1D).
   */
  targetModules: string[] | string | RegExp;
  /** Rank-stabilised scaling alpha / √r instead of alpha / r (PEFT's `use_rslora`; false). */
  useRslora?: boolean;
}

type BaseLayer = Linear | Conv1D;

/**
 * A Linear (or Conv1D) with a LoRA adapter, as PEFT's `lora.Linear`: the frozen `base_layer` plus
 * `lora_A` ([r, in]) and `lora_B` ([out, r]), both bias-free Linears. Made by {@link applyLora}.
 */
export class LoraLinear extends Module {
  /** The adapted layer (frozen by applyLora). */
  base_layer: BaseLayer;
  /** in → r, kaiming-uniform initialised as nn.Linear. */
  lora_A: Linear;
  /** r → out, initialised to zero so the adapted model starts equal to the base. */
  lora_B: Linear;
  readonly r: number;
  readonly loraAlpha: number;
  readonly loraDropout: number;
  /** alpha / r (alpha / √r with rsLoRA). */
  readonly scaling: number;
  /** Whether the update is currently added into base_layer's weight (see {@link mergeLora}). */
  merged = false;

  constructor(base: BaseLayer, config: Required<Omit<LoraConfig, 'targetModules'>>) {
    super();
    const [inF, outF] = base instanceof Linear ? [base.inFeatures, base.outFeatures] : conv1dSizes(base);
    this.base_layer = base;
    this.r = config.r;
    this.loraAlpha = config.loraAlpha;
    this.loraDropout = config.loraDropout;
    this.scaling = config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r;
    this.lora_A = new Linear(inF, config.r, { bias: false });
    this.lora_B = new Linear(config.r, outF, { bias: false });
    noGrad(() => this.lora_B.weight.copy_(0));
  }

  /** Whether the base is GPT-2's Conv1D (weight stored [in, out], PEFT's fan_in_fan_out). */
  get fanInFanOut(): boolean {
    return this.base_layer instanceof Conv1D;
  }

  /** x [..., in] → [..., out]; `activation` (Conv1D's fused epilogue) is applied after the update. */
  override forward(x: Tensor, activation: LinearActivation | null = null): Tensor {
    if (this.merged) {
      return this.base_layer instanceof Conv1D
        ? this.base_layer.forward(x, activation)
        : act(this.base_layer.forward(x), activation);
    }
    const y = this.base_layer.forward(x);
    const h = this.loraDropout > 0 ? dropout(x, this.loraDropout, this.training) : x;
    const delta = this.lora_B.forward(this.lora_A.forward(h));
    return act(add(y, mul(delta, this.scaling)), activation);
  }

  /** Adds the update into the base weight (inference without the extra matmuls); returns this. */
  merge(): this {
    if (!this.merged) this.shiftBase(1);
    this.merged = true;
    return this;
  }

  /** Subtracts a merged update from the base weight again; returns this. */
  unmerge(): this {
    if (this.merged) this.shiftBase(-1);
    this.merged = false;
    return this;
  }

  private shiftBase(sign: number): void {
    const w = this.base_layer.weight;
    tidy(() =>
      noGrad(() => {
        const delta = this.lora_B.weight.matmul(this.lora_A.weight).mul(sign * this.scaling); // [out, in]
        w.copy_(add(w, this.fanInFanOut ? delta.T : delta));
      }),
    );
  }

  override extraRepr(): string {
    return `r=${this.r}, lora_alpha=${this.loraAlpha}, lora_dropout=${this.loraDropout}, scaling=${this.scaling}${this.merged ? ', merged' : ''}`;
  }
}

function conv1dSizes(c: Conv1D): [number, number] {
  const [nx, nf] = c.weight.shape;
  return [nx, nf];
}

function act(y: Tensor, activation: LinearActivation | null): Tensor {
  if (!activation) return y;
  // the kernel epilogue's names; 'gelu_tanh' is Hugging Face's 'gelu_pytorch_tanh'
  return activationByName(
    activation === 'gelu_tanh' ? 'gelu_pytorch_tanh' : activation,
    'LoraLinear.forward',
  )(y);
}

/** The resolved configuration applyLora used on a model (what saveLoraAdapter writes). */
const CONFIGS = new WeakMap<Module, ResolvedLora>();

interface ResolvedLora extends Required<Omit<LoraConfig, 'targetModules'>> {
  targetModules: string[] | string;
}

/** Replaces modules in place: `fn` returns a replacement, or null to descend into the module. */
function replaceModules(model: Module, fn: (m: Module, name: string) => Module | null): void {
  const visit = (parent: Module, prefix: string) => {
    const fields = parent as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(parent)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (v instanceof Module) {
        const r = fn(v, name);
        if (r) fields[key] = r;
        else visit(v, name);
      } else if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (!(item instanceof Module)) return;
          const r = fn(item, `${name}.${i}`);
          if (r) v[i] = r;
          else visit(item, `${name}.${i}`);
        });
      }
    }
  };
  visit(model, '');
}

function targetMatcher(targets: LoraConfig['targetModules'], op: string): (name: string) => boolean {
  if (targets instanceof RegExp) {
    return (name) => {
      targets.lastIndex = 0;
      return targets.test(name);
    };
  }
  if (typeof targets === 'string' && targets.length > 0) {
    const re = new RegExp(`^(?:${targets})$`);
    return (name) => re.test(name);
  }
  if (Array.isArray(targets) && targets.length > 0 && targets.every((t) => typeof t === 'string' && t)) {
    return (name) => targets.some((t) => name === t || name.endsWith(`.${t}`));
  }
  throw new TypeError(
    `${op}: targetModules must be a non-empty list of module names, a regular-expression string or a RegExp, got ${describe(targets)}`,
  );
}

function resolveConfig(config: LoraConfig, op: string): ResolvedLora {
  if (!config || typeof config !== 'object') {
    throw new TypeError(`${op}: expected a config { r, loraAlpha, loraDropout, targetModules }`);
  }
  const r = config.r ?? 8;
  if (!Number.isInteger(r) || r < 1) throw new RangeError(`${op}: r must be a positive integer, got ${r}`);
  const loraAlpha = config.loraAlpha ?? 8;
  if (typeof loraAlpha !== 'number' || !Number.isFinite(loraAlpha)) {
    throw new RangeError(`${op}: loraAlpha must be a finite number, got ${describe(loraAlpha)}`);
  }
  const loraDropout = config.loraDropout ?? 0;
  if (typeof loraDropout !== 'number' || !(loraDropout >= 0 && loraDropout < 1)) {
    throw new RangeError(`${op}: loraDropout must be in [0, 1), got ${describe(loraDropout)}`);
  }
  const useRslora = config.useRslora ?? false;
  if (typeof useRslora !== 'boolean') throw new TypeError(`${op}: useRslora must be a boolean`);
  targetMatcher(config.targetModules, op);
  const t = config.targetModules;
  return {
    r,
    loraAlpha,
    loraDropout,
    useRslora,
    targetModules: t instanceof RegExp ? t.source : Array.isArray(t) ? [...t] : t,
  };
}

/** Names of the layers LoRA can adapt (Linear and Conv1D), for messages. */
function linearNames(model: Module): string[] {
  return model
    .namedModules()
    .filter(([, m]) => m instanceof Linear || m instanceof Conv1D)
    .map(([n]) => n);
}

/**
 * Adds LoRA adapters to `model` in place, as PEFT's `get_peft_model(model, LoraConfig(...))`: every
 * Linear (or GPT-2 Conv1D) whose name matches `targetModules` becomes a {@link LoraLinear}, and
 * every other parameter is frozen, so train() updates only `lora_A` and `lora_B`. Returns the
 * model. Save the adapter alone with {@link saveLoraAdapter}; fold it in with {@link mergeLora}.
 *
 * @throws Error when the targets match no module (listing the model's Linear layers), when a
 *   match is not a Linear/Conv1D, or when the model already has adapters
 * @example
 * ```ts
 * import { countParameters } from '@attnkit/tensor-core/nn';
 * const model = new GPT2LMHeadModel({ nLayer: 2, nEmbd: 64, nHead: 4, vocabSize: 100, nPositions: 64 });
 * applyLora(model, { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['c_attn'] });
 * countParameters(model); // => { trainable: 4096, total: 114688, fraction: 0.0357 }
 * ```
 */
export function applyLora<M extends Module>(model: M, config: LoraConfig): M {
  const op = 'applyLora';
  if (!(model instanceof Module)) throw new TypeError(`${op}: expected a Module, got ${describe(model)}`);
  const resolved = resolveConfig(config, op);
  if (CONFIGS.has(model) || model.modules().some((m) => m instanceof LoraLinear)) {
    throw new Error(
      `${op}: the model already has LoRA adapters (call unloadLora or mergeAndUnloadLora first)`,
    );
  }
  const match = targetMatcher(config.targetModules, op);
  const hits = model.namedModules().filter(([n]) => n !== '' && match(n));
  const wrong = hits.filter(([, m]) => !(m instanceof Linear || m instanceof Conv1D));
  if (wrong.length) {
    throw new Error(
      `${op}: targetModules ${describe(config.targetModules)} match modules LoRA cannot adapt: ${wrong
        .map(([n, m]) => `${n} (${m.constructor.name})`)
        .join(', ')}; only Linear and Conv1D layers can be targeted`,
    );
  }
  if (!hits.length) {
    const names = linearNames(model);
    const leaves = [...new Set(names.map((n) => n.slice(n.lastIndexOf('.') + 1)))];
    throw new Error(
      `${op}: targetModules ${describe(config.targetModules)} match no module of ${model.constructor.name}; its Linear layers are ${
        names.length ? `${names.join(', ')} (names ending in ${leaves.join(', ')})` : 'none'
      }`,
    );
  }
  const targets = new Set(hits.map(([, m]) => m));
  freeze(model);
  replaceModules(model, (m) => {
    if (!targets.has(m)) return null;
    const wrapped = new LoraLinear(m as BaseLayer, resolved);
    wrapped.train(model.training);
    return wrapped;
  });
  CONFIGS.set(model, resolved);
  return model;
}

/** The LoRA layers of a model with their module names. */
export function loraLayers(model: Module): [string, LoraLinear][] {
  return model.namedModules().filter((e): e is [string, LoraLinear] => e[1] instanceof LoraLinear);
}

function requireLora(model: Module, op: string): [string, LoraLinear][] {
  if (!(model instanceof Module)) throw new TypeError(`${op}: expected a Module, got ${describe(model)}`);
  const layers = loraLayers(model);
  if (!layers.length)
    throw new Error(`${op}: the model has no LoRA adapters (see applyLora / loadLoraAdapter)`);
  return layers;
}

/** Adds every adapter's update into its base weight (PEFT's merge_adapter); returns the model. */
export function mergeLora<M extends Module>(model: M): M {
  for (const [, l] of requireLora(model, 'mergeLora')) l.merge();
  return model;
}

/** Takes merged updates out of the base weights again (PEFT's unmerge_adapter); returns the model. */
export function unmergeLora<M extends Module>(model: M): M {
  for (const [, l] of requireLora(model, 'unmergeLora')) l.unmerge();
  return model;
}

function unwrap<M extends Module>(model: M, op: string, merge: boolean): M {
  requireLora(model, op);
  replaceModules(model, (m) => {
    if (!(m instanceof LoraLinear)) return null;
    if (merge) m.merge();
    else m.unmerge();
    m.lora_A.dispose();
    m.lora_B.dispose();
    return m.base_layer;
  });
  CONFIGS.delete(model);
  return model;
}

/**
 * Merges the adapters into the base weights and puts the plain layers back (PEFT's
 * merge_and_unload): the model has its original structure and can be saved with saveModel. The
 * base parameters stay frozen (see unfreeze). Returns the model.
 */
export function mergeAndUnloadLora<M extends Module>(model: M): M {
  return unwrap(model, 'mergeAndUnloadLora', true);
}

/** Removes the adapters without merging (PEFT's unload): the base model as it was. Returns the model. */
export function unloadLora<M extends Module>(model: M): M {
  return unwrap(model, 'unloadLora', false);
}

const PREFIX = 'base_model.model.';

function taskType(model: Module): string | null {
  const arch = (model as { architecture?: unknown }).architecture;
  if (typeof arch !== 'string') return null;
  if (/ForCausalLM$|LMHeadModel$/.test(arch)) return 'CAUSAL_LM';
  if (/ForSeq2SeqLM$|ForConditionalGeneration$/.test(arch)) return 'SEQ_2_SEQ_LM';
  return null;
}

/**
 * The files of the model's adapter in PEFT's layout: adapter_config.json and
 * adapter_model.safetensors (only lora_A / lora_B, keys `base_model.model.<module>.lora_A.weight`),
 * which PEFT's `PeftModel.from_pretrained(base, dir)` loads. Unmerged values are written.
 */
export async function loraAdapterFiles(model: Module): Promise<Record<string, Uint8Array>> {
  const op = 'saveLoraAdapter';
  const layers = requireLora(model, op);
  const config = CONFIGS.get(model);
  if (!config) throw new Error(`${op}: the model's adapters were not added by applyLora/loadLoraAdapter`);
  const tensors: Record<string, Tensor> = {};
  for (const [name, l] of layers) {
    tensors[`${PREFIX}${name}.lora_A.weight`] = l.lora_A.weight;
    tensors[`${PREFIX}${name}.lora_B.weight`] = l.lora_B.weight;
  }
  const json = {
    alpha_pattern: {},
    base_model_name_or_path: null,
    bias: 'none',
    fan_in_fan_out: layers.some(([, l]) => l.fanInFanOut),
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: config.targetModules,
    task_type: taskType(model),
    use_dora: false,
    use_rslora: config.useRslora,
  };
  return {
    'adapter_config.json': new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`),
    'adapter_model.safetensors': await writeSafetensors(tensors, { format: 'pt' }),
  };
}

/**
 * Saves the model's LoRA adapter alone into `dir` (adapter_config.json +
 * adapter_model.safetensors), as PEFT's `model.save_pretrained(dir)`. Node only; in a browser use
 * {@link loraAdapterFiles}.
 */
export async function saveLoraAdapter(model: Module, dir: string): Promise<void> {
  const files = await loraAdapterFiles(model);
  await writeFolder(dir, files, 'saveLoraAdapter');
}

/** adapter_config.json keys that only describe where the adapter came from or how it was initialised. */
const METADATA_KEYS = new Set([
  'base_model_name_or_path',
  'revision',
  'task_type',
  'inference_mode',
  'peft_version',
  'auto_mapping',
  'init_lora_weights',
  'loftq_config',
  'eva_config',
  'corda_config',
  'lora_ga_config',
  'megatron_core',
  'qalora_group_size',
  // which way PEFT stores weights: decided per layer type here, as PEFT itself corrects it per layer
  'fan_in_fan_out',
]);
const IMPLEMENTED_KEYS = new Set([
  'peft_type',
  'r',
  'lora_alpha',
  'lora_dropout',
  'target_modules',
  'use_rslora',
]);

function isOff(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** Checks a PEFT adapter_config.json and turns it into a {@link LoraConfig}. */
export function loraConfigFromJson(json: Record<string, unknown>, where = 'adapter_config.json'): LoraConfig {
  const op = 'loadLoraAdapter';
  if (!json || typeof json !== 'object') throw new TypeError(`${op}: ${where} is not a JSON object`);
  if (json.peft_type !== 'LORA') {
    throw new Error(
      `${op}: ${where} has peft_type ${describe(json.peft_type)}; only 'LORA' adapters load here`,
    );
  }
  const refused: string[] = [];
  for (const [k, v] of Object.entries(json)) {
    if (IMPLEMENTED_KEYS.has(k) || METADATA_KEYS.has(k)) continue;
    if (k === 'bias' && v === 'none') continue;
    if (!isOff(v)) refused.push(`${k} = ${JSON.stringify(v)}`);
  }
  if (refused.length) {
    throw new Error(
      `${op}: ${where} sets ${refused.join(', ')}, which attnkit's LoRA does not implement (expected null, false or empty; bias 'none')`,
    );
  }
  const targets = json.target_modules;
  if (!(typeof targets === 'string' || Array.isArray(targets))) {
    throw new Error(
      `${op}: ${where} needs target_modules (a list of names or a regex string), got ${describe(targets)}`,
    );
  }
  return {
    r: json.r as number,
    loraAlpha: json.lora_alpha as number,
    loraDropout: (json.lora_dropout as number | undefined) ?? 0,
    targetModules: targets as string[] | string,
    useRslora: (json.use_rslora as boolean | undefined) ?? false,
  };
}

/**
 * Loads a PEFT LoRA adapter (a folder, URL base or files with adapter_config.json and
 * adapter_model.safetensors, as PEFT's save_pretrained writes) onto `model` in place, as
 * `PeftModel.from_pretrained(model, dir)`: applies LoRA with the saved config and loads lora_A and
 * lora_B. Every adapted layer must have both tensors in the file and the file nothing else.
 * Config keys attnkit does not implement (DoRA, rank patterns, modules_to_save, …) are refused.
 *
 * @example
 * ```ts
 * // a base model and a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)
 * const model = await loadPretrained('packages/transformer/test/fixtures/lora-gpt2/base');
 * await loadLoraAdapter(model, 'packages/transformer/test/fixtures/lora-gpt2/adapter');
 * ```
 */
export async function loadLoraAdapter<M extends Module>(model: M, source: FilesSource): Promise<M> {
  const op = 'loadLoraAdapter';
  if (!(model instanceof Module)) throw new TypeError(`${op}: expected a Module, got ${describe(model)}`);
  const src = openFiles(source, op);
  const cfgBytes = await src.read('adapter_config.json');
  if (!cfgBytes) throw new Error(`${op}: ${src.where} has no adapter_config.json`);
  const json = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  const config = loraConfigFromJson(json, `${src.where}/adapter_config.json`);
  const weightBytes = await src.read('adapter_model.safetensors');
  if (!weightBytes) {
    const bin = await src.has('adapter_model.bin');
    throw new Error(
      `${op}: ${src.where} has no adapter_model.safetensors${bin ? ' (adapter_model.bin, a pickle, is not read; save with safe_serialization)' : ''}`,
    );
  }
  const weights = await readSafetensors(weightBytes);
  try {
    const state: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(weights)) {
      // PEFT writes no adapter name; older files may carry '.default'
      const key = (k.startsWith(PREFIX) ? k.slice(PREFIX.length) : k).replace(
        /\.(lora_[AB])\.default\./,
        '.$1.',
      );
      state[key] = v;
    }
    const before = model.parameters().map((p) => [p, p.requiresGrad] as const);
    applyLora(model, config);
    try {
      const own: Record<string, Tensor> = {};
      for (const [name, l] of loraLayers(model)) {
        own[`${name}.lora_A.weight`] = l.lora_A.weight;
        own[`${name}.lora_B.weight`] = l.lora_B.weight;
      }
      const missing = Object.keys(own).filter((k) => !(k in state));
      const unexpected = Object.keys(state).filter((k) => !(k in own));
      const misshaped = Object.keys(own)
        .filter((k) => k in state && state[k].shape.join() !== own[k].shape.join())
        .map((k) => `${k}: file [${state[k].shape}] vs model [${own[k].shape}]`);
      const problems = [
        missing.length ? `missing: ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
        misshaped.length ? `shape mismatches: ${misshaped.join('; ')}` : '',
      ].filter(Boolean);
      if (problems.length) {
        throw new Error(`${op}: the adapter's tensors do not fit the model:\n  ${problems.join('\n  ')}`);
      }
      for (const [k, t] of Object.entries(own)) t.copy_(state[k]);
    } catch (e) {
      unloadLora(model);
      for (const [p, g] of before) p.requiresGrad = g;
      throw e;
    }
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
  return model;
}
