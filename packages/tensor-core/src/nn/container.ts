import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/** A module with a `forward` from one tensor to one tensor, as Sequential chains them. */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

function checkModule(op: string, m: unknown, i: number): Module {
  if (!(m instanceof Module)) {
    throw new TypeError(`${op}: item ${i} is not a Module (got ${m === null ? 'null' : typeof m})`);
  }
  return m;
}

/**
 * Modules applied in order, as torch.nn.Sequential; parameters are named `0.weight`, `1.bias`, ...
 *
 * @example
 * ```ts
 * const mlp = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 2));
 * mlp.forward(randn([8, 2])).shape; // => [8, 2]
 * ```
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      this.registerModule(String(i), checkModule('Sequential', m, i));
    });
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    const j = i < 0 ? i + kids.length : i;
    if (!Number.isInteger(j) || j < 0 || j >= kids.length) {
      throw new RangeError(`Sequential.at: index ${i} is out of range for ${kids.length} modules`);
    }
    return kids[j];
  }

  /** Passes `x` through every module in order. */
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = (m as TensorModule).forward(y);
    return y;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
}

/**
 * A list of submodules, as torch.nn.ModuleList: registered (so their parameters are found and
 * named `0.…`, `1.…`) but not called by itself.
 *
 * @example
 * ```ts
 * const layers = Array.from({ length: 12 }, () => new Linear(16, 16));
 * const blocks = new ModuleList(layers); // registers them as blocks 0..11
 * let x = randn([2, 16]);
 * for (const layer of layers) x = layer.forward(x);
 * Object.keys(blocks.stateDict()).length; // => 24
 * ```
 */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** Adds a module at the end; returns this. */
  append(m: Module): this {
    const n = this.length;
    this.registerModule(String(n), checkModule('ModuleList.append', m, n));
    return this;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    const j = i < 0 ? i + kids.length : i;
    if (!Number.isInteger(j) || j < 0 || j >= kids.length) {
      throw new RangeError(`ModuleList.at: index ${i} is out of range for ${kids.length} modules`);
    }
    return kids[j];
  }

  override forward(): never {
    throw new Error('ModuleList.forward: a ModuleList is not callable; iterate over it instead');
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
}
