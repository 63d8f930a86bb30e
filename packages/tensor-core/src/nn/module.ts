import { noGrad } from '../autograd.js';
import type { Backend } from '../backend.js';
import { isFloat, isHalf } from '../dtype.js';
import { keep, type StorageRef } from '../memory.js';
import { copyInto, toBackend } from '../ops/transfer.js';
import { loadBackend } from '../registry.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';

let placeholderScope: { scratch: Tensor | null; placeholders: Set<Parameter> } | null = null;

/**
 * @internal Runs `fn` (a model constructor) with every {@link Parameter} created inside it a
 * placeholder: parameters share one scratch storage (the largest one created so far), so building
 * a model holds about its largest parameters instead of all of them; their values are garbage.
 * Returns the placeholders, which the caller must replace (module fields pointing at them) before
 * the model is used: loadPretrained's 16-bit path, which fills them from a checkpoint.
 */
export function withPlaceholderParameters<T>(fn: () => T): { result: T; placeholders: Set<Parameter> } {
  if (placeholderScope) throw new Error('withPlaceholderParameters: already inside one');
  const scope = { scratch: null as Tensor | null, placeholders: new Set<Parameter>() };
  placeholderScope = scope;
  try {
    return { result: fn(), placeholders: scope.placeholders };
  } finally {
    placeholderScope = null;
  }
}

/**
 * A tensor that is a module's learnable weight, as torch.nn.Parameter: `requiresGrad` is on, and
 * it lives outside every `tidy` scope (it is freed by `dispose()` or `Module.dispose()`).
 * Optimizers update it in place, so the same object stays valid for the whole training run.
 *
 * `new Parameter(t)` adopts `t`'s values: `t` itself is disposed (use the parameter instead).
 *
 * @example
 * ```ts
 * const w = new Parameter(randn([4, 3]));
 * w.requiresGrad; // true
 * ```
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!data || (data as { isTensor?: boolean }).isTensor !== true) {
      throw new TypeError(`Parameter: expected a Tensor, got ${data === null ? 'null' : typeof data}`);
    }
    if (data.isDisposed) throw new Error('Parameter: the tensor was disposed');
    if (!isFloat(data.dtype)) {
      throw new TypeError(
        `Parameter: parameters must be float tensors, got ${data.dtype} ${fmt(data.shape)}`,
      );
    }
    const scope = placeholderScope;
    if (scope?.scratch && !scope.scratch.isDisposed && scope.scratch.size >= data.size) {
      // a placeholder: the scope's scratch storage (see withPlaceholderParameters)
      super((scope.scratch as unknown as { ref: StorageRef }).ref, [...data.shape], 'float32');
      if (!data.isDisposed) data.dispose();
      this.requiresGrad = requiresGrad;
      keep(this);
      scope.placeholders.add(this);
      return;
    }
    // Own, contiguous storage, so in-place updates never touch another tensor's elements.
    const own = noGrad(() => {
      if (data.isContiguous && data.offset === 0 && data.dtype === 'float32') return data.detach();
      const copy = data.contiguous('float32');
      const out = copy.detach();
      if (copy !== data) copy.dispose(); // the storage stays with `out` (it leaked before)
      return out;
    });
    const ref = (own as unknown as { ref: StorageRef }).ref;
    super(ref, [...data.shape], 'float32');
    own.dispose();
    if (!data.isDisposed) data.dispose();
    this.requiresGrad = requiresGrad;
    keep(this);
    if (scope) {
      // the largest parameter so far becomes the scratch storage later ones share
      scope.scratch = this;
      scope.placeholders.add(this);
    }
  }

  /**
   * Copies `src` (same shape, or broadcastable to it; any dtype) into this parameter's storage in
   * place, without recording a gradient. Returns this parameter.
   */
  override copy_(src: Tensor | number): this {
    assign(this, src, 'Parameter.copy_');
    return this;
  }
}

/** @internal Writes `src` into `dst`'s elements in place (no graph); see {@link copyInto}. */
export function assign(dst: Tensor, src: Tensor | number, op: string): void {
  copyInto(dst, src, op);
}

/** What {@link Module.loadStateDict} did not match (only reported when `strict` is false). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Require the keys to match exactly (default true). Shape mismatches are errors either way.
   */
  strict?: boolean;
}

const BUFFERS = Symbol('buffers');
const NON_PERSISTENT = Symbol('nonPersistent');

/**
 * Base class of every layer and model, as torch.nn.Module. Parameters, buffers and submodules are
 * found from the object's own fields (in definition order): a {@link Parameter} field is a
 * parameter, a Module field a submodule, an array of either is numbered (`layers.0`, `layers.1`),
 * and a plain Tensor field is a buffer once {@link Module.registerBuffer} names it. So
 * `this.fc = new Linear(4, 2)` is all a model needs; names follow the field names, as in torch.
 *
 * @example
 * ```ts
 * class Mlp extends Module {
 *   fc1 = new Linear(2, 16);
 *   fc2 = new Linear(16, 2);
 *   override forward(x: Tensor): Tensor {
 *     return this.fc2.forward(relu(this.fc1.forward(x)));
 *   }
 * }
 * const model = new Mlp();
 * Object.keys(model.stateDict()); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export class Module {
  /** True in training mode (dropout active); switch with {@link Module.train} / {@link Module.eval}. */
  training = true;

  constructor() {
    Object.defineProperty(this, BUFFERS, { value: new Set<string>(), enumerable: false });
    Object.defineProperty(this, NON_PERSISTENT, { value: new Set<string>(), enumerable: false });
  }

  /** The computation; subclasses override it. */
  forward(..._args: never[]): unknown {
    throw new Error(`${this.constructor.name}.forward: not implemented`);
  }

  // ---- registration ----

  /** Adds (or replaces) a parameter under `name` (also reachable as the field `this[name]`); null removes it. */
  registerParameter(name: string, param: Parameter | null): void {
    checkName('registerParameter', name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(
        `registerParameter('${name}'): expected a Parameter or null, got ${describe(param)}`,
      );
    }
    (this as unknown as Record<string, unknown>)[name] = param;
  }

  /**
   * Adds a buffer: state that is not trained but belongs to the model (running statistics, masks,
   * rotary tables). Persistent buffers are part of {@link Module.stateDict}.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    checkName('registerBuffer', name);
    if (tensor !== null && (tensor as { isTensor?: boolean })?.isTensor !== true) {
      throw new TypeError(`registerBuffer('${name}'): expected a Tensor or null, got ${describe(tensor)}`);
    }
    if (tensor) keep(tensor);
    this.bufferNames().add(name);
    if (persistent) this.nonPersistent().delete(name);
    else this.nonPersistent().add(name);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Adds (or replaces) a submodule under `name`. */
  registerModule(name: string, module: Module | null): void {
    checkName('registerModule', name);
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(`registerModule('${name}'): expected a Module or null, got ${describe(module)}`);
    }
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  private bufferNames(): Set<string> {
    return (this as unknown as Record<symbol, Set<string>>)[BUFFERS];
  }
  private nonPersistent(): Set<string> {
    return (this as unknown as Record<symbol, Set<string>>)[NON_PERSISTENT];
  }

  /** Own entries: [name, value, kind] for parameters, buffers and submodules, in field order. */
  private ownEntries(): [string, Parameter | Tensor | Module, 'param' | 'buffer' | 'module'][] {
    const out: [string, Parameter | Tensor | Module, 'param' | 'buffer' | 'module'][] = [];
    const buffers = this.bufferNames();
    for (const [key, v] of Object.entries(this)) {
      if (v instanceof Parameter) out.push([key, v, 'param']);
      else if (v instanceof Module) out.push([key, v, 'module']);
      else if (buffers.has(key) && v && (v as { isTensor?: boolean }).isTensor === true) {
        out.push([key, v as Tensor, 'buffer']);
      } else if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (item instanceof Parameter) out.push([`${key}.${i}`, item, 'param']);
          else if (item instanceof Module) out.push([`${key}.${i}`, item, 'module']);
        });
      }
    }
    return out;
  }

  // ---- traversal ----

  /** Direct submodules with their names. */
  namedChildren(): [string, Module][] {
    return this.ownEntries()
      .filter((e) => e[2] === 'module')
      .map(([n, m]) => [n, m as Module]);
  }
  /** Direct submodules. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every submodule (each once), with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.namedChildren()) walk(c, p ? `${p}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }
  /** This module and every submodule. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name; a parameter shared by two modules is listed once. */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [n, v, kind] of m.ownEntries()) {
        if (kind !== 'param' || seen.has(v as Tensor)) continue;
        seen.add(v as Tensor);
        out.push([p ? `${p}.${n}` : n, v as Parameter]);
      }
    }
    return out;
  }
  /** Every parameter (each once), e.g. for an optimizer. */
  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  /** Every buffer with its dotted name. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [n, v, kind] of m.ownEntries()) {
        if (kind !== 'buffer' || seen.has(v as Tensor)) continue;
        seen.add(v as Tensor);
        out.push([p ? `${p}.${n}` : n, v as Tensor]);
      }
    }
    return out;
  }
  /** Every buffer. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  /** Number of scalar parameters (each shared parameter once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Calls `fn` on every submodule and then on this one (as torch's apply); returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- state ----

  /**
   * Parameters and persistent buffers by dotted name, as torch's state_dict: the module's own
   * tensors (not copies), so do not dispose them. Pass it to {@link Module.loadStateDict} or to
   * writeSafetensors. A shared parameter appears under each of its names.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const walk = (m: Module, p: string, path: Set<Module>) => {
      if (path.has(m)) return;
      path.add(m);
      const np = m.nonPersistent();
      const entries = m.ownEntries();
      for (const [n, v, kind] of entries) if (kind === 'param') out[p + n] = v as Tensor;
      for (const [n, v, kind] of entries) if (kind === 'buffer' && !np.has(n)) out[p + n] = v as Tensor;
      for (const [n, v, kind] of entries) if (kind === 'module') walk(v as Module, `${p}${n}.`, path);
      path.delete(m);
    };
    walk(this, '', new Set());
    return out;
  }

  /**
   * Copies values from `stateDict` (name → tensor, e.g. from readSafetensors) into this module's
   * parameters and buffers in place (dtypes are converted; float16 checkpoints load into float32
   * parameters). With `strict` (the default) the keys must match exactly; every missing,
   * unexpected and mis-shaped key is listed in one error. Shape mismatches are errors even when
   * not strict. Nothing is written when it throws.
   *
   * @example
   * ```ts
   * import { readSafetensors, writeSafetensors } from '@attnkit/tensor-core/io';
   * const model = new Linear(3, 2);
   * model.loadStateDict(await readSafetensors(await writeSafetensors(new Linear(3, 2).stateDict())));
   * const partial = { weight: randn([2, 3]) };
   * const { missingKeys } = model.loadStateDict(partial, { strict: false });
   * missingKeys; // => ['bias']
   * ```
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = 'loadStateDict';
    if (!stateDict || typeof stateDict !== 'object') {
      throw new TypeError(`${op}: expected an object of name -> Tensor, got ${describe(stateDict)}`);
    }
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const given: Record<string, Tensor> =
      (stateDict as unknown) instanceof Map
        ? Object.fromEntries(stateDict as unknown as Map<string, Tensor>)
        : stateDict;
    const missing = Object.keys(own).filter((k) => !(k in given));
    const unexpected = Object.keys(given).filter((k) => !(k in own));
    const misshaped: string[] = [];
    const notTensors: string[] = [];
    for (const [k, dst] of Object.entries(own)) {
      if (!(k in given)) continue;
      const src = given[k];
      if (!src || (src as { isTensor?: boolean }).isTensor !== true || src.isDisposed) {
        notTensors.push(`${k} (${src?.isDisposed ? 'disposed' : describe(src)})`);
        continue;
      }
      if (src.rank !== dst.rank || src.shape.some((s: number, i: number) => s !== dst.shape[i])) {
        misshaped.push(`${k}: checkpoint ${fmt(src.shape)} vs model ${fmt(dst.shape)}`);
      }
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
    if (strict && unexpected.length) {
      problems.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
    }
    if (misshaped.length) problems.push(`shape mismatches (${misshaped.length}): ${misshaped.join('; ')}`);
    if (notTensors.length) problems.push(`values that are not live tensors: ${notTensors.join(', ')}`);
    if (problems.length) {
      throw new Error(
        `${op}: cannot load the state dict into ${this.constructor.name}:\n  ${problems.join('\n  ')}${
          strict && (missing.length || unexpected.length)
            ? '\n  (pass { strict: false } to load the matching keys only)'
            : ''
        }`,
      );
    }
    for (const [k, dst] of Object.entries(own)) {
      if (k in given) assign(dst, given[k], op);
    }
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  // ---- modes, gradients, placement ----

  /** Sets training mode on this module and every submodule; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (dropout off), as torch's eval(); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Frees and clears every parameter's gradient (as torch's zero_grad with set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Turns gradients on or off for every parameter (freezing); returns this. */
  requiresGrad_(value = true): this {
    for (const p of this.parameters()) p.requiresGrad = value;
    return this;
  }

  /**
   * Moves every parameter and buffer to another backend (by name or instance); returns this.
   * Parameters are replaced by new Parameter objects on the target, so create optimizers after
   * moving. Reads are awaited, so it works from asynchronous (GPU) backends too, and a backend
   * registered for asynchronous initialisation (WebGPU) is initialised by the call. Await it: the
   * parameters move when the returned promise settles.
   *
   * @example
   * ```ts
   * import '@attnkit/backend-webgpu';
   * const model = new Linear(3, 2);
   * await model.to('webgpu');
   * model.weight.backend.name; // => 'webgpu'
   * ```
   */
  async to(backend: string | Backend): Promise<this> {
    const target = typeof backend === 'string' ? await loadBackend(backend, 'Module.to') : backend;
    const moved = new Map<Tensor, Tensor>();
    const move = async (t: Tensor): Promise<Tensor> => {
      const done = moved.get(t);
      if (done) return done;
      if (!(t instanceof Parameter) && isHalf(t.dtype)) {
        // a 16-bit buffer (Linear16's weight) keeps its dtype: its raw bits move
        const out = keep(await toBackend(t, target));
        moved.set(t, out);
        return out;
      }
      const src = isHalf(t.dtype) ? noGrad(() => t.cast('float32')) : t;
      const host = await src.data();
      let out = Tensor.fromStorage(target, target.upload(host, src.dtype), [...t.shape], src.dtype);
      if (src !== t) src.dispose();
      if (t instanceof Parameter) out = new Parameter(out, t.requiresGrad);
      else keep(out);
      moved.set(t, out);
      return out;
    };
    for (const m of this.modules()) {
      const fields = m as unknown as Record<string, unknown>;
      for (const [key, v] of Object.entries(m)) {
        const isTensor = v && (v as { isTensor?: boolean }).isTensor === true;
        if (isTensor && (v instanceof Parameter || m.bufferNames().has(key))) {
          const t = v as Tensor;
          if (t.backend !== target) fields[key] = await move(t);
        } else if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (v[i] instanceof Parameter && v[i].backend !== target) v[i] = await move(v[i]);
          }
        }
      }
    }
    for (const [old] of moved) {
      old.grad?.dispose();
      old.dispose();
    }
    return this;
  }

  /** Frees every parameter, buffer and gradient of this module and its submodules. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
    for (const b of this.buffers()) b.dispose();
  }

  /** Extra text for `Module.toString()`, e.g. `in_features=4, out_features=2`. */
  extraRepr(): string {
    return '';
  }

  /** A torch-style tree of the module, e.g. `Linear(in_features=4, out_features=2, bias=true)`. */
  toString(): string {
    const kids = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (!kids.length) return `${head})`;
    const lines = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}

function checkName(op: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
    throw new TypeError(`${op}: name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') {
    if ((v as { isTensor?: boolean }).isTensor === true) return `Tensor ${fmt((v as Tensor).shape)}`;
    return (v as object).constructor?.name ?? 'object';
  }
  return typeof v;
}
