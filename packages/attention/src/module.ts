// A minimal parameter container for the attention modules: named parameters with torch's names,
// stateDict/loadStateDict, train/eval and dispose. It has the shape of an nn.Module so that the
// modules can move onto tensor-core's `nn.Module` when that lands without changing their API.
import { keep, type Tensor } from '@attnkit/tensor-core';
import { fmtShape } from './internal.js';

/** Options of {@link AttentionModule.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Refuse missing and unexpected keys (default true), as torch's `strict`. */
  strict?: boolean;
}

/** Result of {@link AttentionModule.loadStateDict}: what was not used and what was not found. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base of the attention modules: parameters registered under torch's names (nested modules with a
 * dot prefix), with `stateDict()` / `loadStateDict()` as in torch, `train()` / `eval()` and
 * `dispose()`.
 */
export abstract class AttentionModule {
  /** Dropout and other training-only behaviour are on when true (torch's default). */
  training = true;
  /** Label used by {@link captureAttention} records (e.g. `layers.3.attn`). */
  name: string | undefined;
  private readonly params = new Map<string, Tensor | null>();
  private readonly children = new Map<string, AttentionModule>();

  /** Registers (or replaces) a parameter under `name`; null registers an absent optional one. */
  protected registerParameter(name: string, value: Tensor | null): Tensor | null {
    const old = this.params.get(name);
    if (old && old !== value) old.dispose();
    if (value) {
      keep(value);
      value.requiresGrad_(true);
    }
    this.params.set(name, value);
    return value;
  }

  /** Registers a child module whose parameters appear under `prefix.`. */
  protected registerModule<M extends AttentionModule>(prefix: string, module: M): M {
    this.children.set(prefix, module);
    return module;
  }

  /** The parameter called `name` (throws when absent). */
  protected param(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`${this.constructor.name}: parameter '${name}' is not set`);
    return p;
  }

  /** The parameter called `name`, or null when this module was built without it. */
  protected optionalParam(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  /** `[name, tensor]` for every parameter, nested ones as `child.name`. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) if (p) out.push([n, p]);
    for (const [prefix, m] of this.children) {
      for (const [n, p] of m.namedParameters()) out.push([`${prefix}.${n}`, p]);
    }
    return out;
  }

  /** Every parameter tensor (for an optimizer). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters by torch name (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values from a state dict (name -> tensor) into the parameters; shapes must match.
   * Subclasses may first rewrite alternative layouts (see {@link MultiHeadAttention}).
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const who = `${this.constructor.name}.loadStateDict`;
    if (!stateDict || typeof stateDict !== 'object') {
      throw new TypeError(`${who}: expected an object of name -> Tensor, got ${String(stateDict)}`);
    }
    const sd = this.normalizeStateDict({ ...stateDict });
    const own = this.namedParameters();
    const ownNames = new Set(own.map(([n]) => n));
    const missingKeys = own.map(([n]) => n).filter((n) => !(n in sd));
    const unexpectedKeys = Object.keys(sd).filter((n) => !ownNames.has(n));
    if ((options.strict ?? true) && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(
        `${who}: state dict does not match: missing [${missingKeys.join(', ')}], unexpected [${unexpectedKeys.join(', ')}]`,
      );
    }
    for (const [n, p] of own) {
      const src = sd[n];
      if (src === undefined) continue;
      if (!src || (src as { isTensor?: boolean }).isTensor !== true || src.isDisposed) {
        throw new TypeError(`${who}: '${n}' must be a live Tensor`);
      }
      if (src.shape.length !== p.shape.length || src.shape.some((s, i) => s !== p.shape[i])) {
        throw new Error(`${who}: '${n}' has shape ${fmtShape(src.shape)}, expected ${fmtShape(p.shape)}`);
      }
      if (src.backend !== p.backend)
        throw new Error(`${who}: '${n}' lives on another backend than the module`);
      if (src.dtype === 'bool' || src.dtype === 'int32') {
        throw new TypeError(`${who}: '${n}' has dtype ${src.dtype}, expected a float tensor`);
      }
      p.backend.write(p, src); // in place: float16 sources are converted by the backend
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Rewrites other checkpoint layouts into this module's names; identity by default. */
  protected normalizeStateDict(sd: Record<string, Tensor>): Record<string, Tensor> {
    return sd;
  }

  /** Training mode (dropout on). Returns this. */
  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }
  /** Evaluation mode (dropout off). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const [n, p] of this.params) {
      p?.dispose();
      this.params.set(n, null);
    }
    for (const m of this.children.values()) m.dispose();
  }
}
