import { noGrad } from '../autograd.js';
import { zerosLike } from '../creation.js';
import { keep, tidy } from '../memory.js';
import { assign } from '../nn/module.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Hyperparameters every optimizer has. */
export interface BaseOptions {
  /** Learning rate. */
  lr: number;
}

/** A group of parameters with its own hyperparameters (torch's param_groups entry). */
export type ParamGroup<O extends BaseOptions> = O & {
  /** The tensors this group updates. */
  params: Tensor[];
  /** Learning rate the schedulers scale (set when a scheduler is attached). */
  initialLr?: number;
};

/** What {@link Optimizer.stateDict} returns. */
export interface OptimizerStateDict {
  /** Per parameter, in group order: steps taken and state tensors by name. */
  state: { step: number; tensors: Record<string, Tensor> }[];
  /** Each group's hyperparameters, its parameters as indices into `state`. */
  paramGroups: ({ params: number[] } & Record<string, unknown>)[];
}

/** What an optimizer is built from: tensors, or groups of tensors with per-group options. */
export type ParamsInput<O extends BaseOptions> =
  | Iterable<Tensor>
  | Iterable<{ params: Iterable<Tensor> } & Partial<O>>;

/**
 * Base class of the optimizers (torch.optim.Optimizer): parameter groups with per-group
 * hyperparameters, per-parameter state, {@link Optimizer.step} and {@link Optimizer.zeroGrad}.
 * Updates are written into each parameter's storage in place (no graph), so parameters keep their
 * identity and memory stays flat over a training run; per-step temporaries are freed at once.
 */
export abstract class Optimizer<O extends BaseOptions> {
  /** The parameter groups, each with its hyperparameters (change `lr` here or with the `lr` setter). */
  readonly paramGroups: ParamGroup<O>[];
  /** Per-parameter state tensors (momentum buffers, moments), created on the first step. */
  protected readonly state = new Map<Tensor, Record<string, Tensor>>();
  /** Steps taken per parameter. */
  protected readonly steps = new Map<Tensor, number>();

  constructor(params: ParamsInput<O>, defaults: O, name: string) {
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const isGroup = (v: unknown) =>
      !!v && typeof v === 'object' && (v as { isTensor?: boolean }).isTensor !== true && 'params' in v;
    const groups = list.every(isGroup)
      ? (list as ({ params: Iterable<Tensor> } & Partial<O>)[])
      : [{ params: list as Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      const ps = [...g.params];
      ps.forEach((p, i) => {
        if (!p || (p as { isTensor?: boolean }).isTensor !== true) {
          throw new TypeError(`${name}: parameter ${i} of group ${gi} is not a Tensor`);
        }
        if (p.dtype !== 'float32') {
          throw new TypeError(
            `${name}: parameter ${i} of group ${gi} is ${p.dtype} ${fmt(p.shape)}; only float32 tensors can be optimized`,
          );
        }
        if (p.gradFn) {
          throw new Error(
            `${name}: parameter ${i} of group ${gi} ${fmt(p.shape)} is not a leaf (it was computed by an op); optimize the leaves`,
          );
        }
        if (seen.has(p)) throw new Error(`${name}: a parameter appears in more than one place`);
        seen.add(p);
      });
      const merged = { ...defaults, ...g, params: ps } as ParamGroup<O>;
      this.validate(merged, name);
      return merged;
    });
  }

  /** Checks a group's hyperparameters; subclasses extend it. */
  protected validate(group: ParamGroup<O>, name: string): void {
    if (typeof group.lr !== 'number' || !(group.lr >= 0)) {
      throw new RangeError(`${name}: lr must be a number >= 0, got ${JSON.stringify(group.lr)}`);
    }
  }

  /** The first group's learning rate. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }
  /** Sets the learning rate of every group. */
  set lr(value: number) {
    if (typeof value !== 'number' || !(value >= 0)) {
      throw new RangeError(`lr must be a number >= 0, got ${JSON.stringify(value)}`);
    }
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Every parameter of every group. */
  params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Frees and clears the gradients of every parameter (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Applies one update to every parameter that has a gradient. Runs without recording gradients
   * and frees its temporaries before returning.
   */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (!g) continue;
          if (p.isDisposed) throw new Error('step: a parameter was disposed');
          tidy(() => {
            const t = (this.steps.get(p) ?? 0) + 1;
            this.steps.set(p, t);
            let st = this.state.get(p);
            if (!st) {
              st = {};
              this.state.set(p, st);
            }
            const next = this.update(p, g, group, st, t);
            p.backend.write(p, next);
          });
        }
      }
    });
  }

  /** @internal A zero state tensor like `p`, kept out of every tidy scope. */
  protected zeroState(p: Tensor): Tensor {
    return keep(zerosLike(p, 'float32'));
  }

  /** @internal Writes `value` into the state tensor `t` in place. */
  protected setState(t: Tensor, value: Tensor): void {
    t.backend.write(t, value);
  }

  /**
   * Computes the new value of parameter `p` (step `t`, 1-based) from its gradient; updates `state`
   * in place. Runs under noGrad inside a tidy scope.
   */
  protected abstract update(
    p: Tensor,
    grad: Tensor,
    group: ParamGroup<O>,
    state: Record<string, Tensor>,
    t: number,
  ): Tensor;

  /**
   * The optimizer's state for checkpointing, as torch's state_dict: per parameter (in group order)
   * its step count and state tensors (the live tensors, not copies), and each group's
   * hyperparameters with its parameters as indices.
   */
  stateDict(): OptimizerStateDict {
    const params = this.params();
    return {
      state: params.map((p) => ({ step: this.steps.get(p) ?? 0, tensors: { ...(this.state.get(p) ?? {}) } })),
      paramGroups: this.paramGroups.map(({ params: ps, ...rest }) => ({
        ...(rest as Record<string, unknown>),
        params: ps.map((p) => params.indexOf(p)),
      })),
    };
  }

  /**
   * Restores a {@link Optimizer.stateDict} (from an optimizer over parameters of the same shapes,
   * in the same order): step counts, state tensors (copied) and group hyperparameters.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = 'Optimizer.loadStateDict';
    const params = this.params();
    if (!sd || !Array.isArray(sd.state) || !Array.isArray(sd.paramGroups)) {
      throw new TypeError(`${op}: expected { state, paramGroups } as stateDict() returns`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length || sd.state.length !== params.length) {
      throw new Error(
        `${op}: the state has ${sd.paramGroups.length} groups and ${sd.state.length} parameters; this optimizer has ${this.paramGroups.length} and ${params.length}`,
      );
    }
    sd.state.forEach((entry, i) => {
      for (const [k, t] of Object.entries(entry.tensors)) {
        const p = params[i];
        if (t.rank !== p.rank || t.shape.some((d, j) => d !== p.shape[j])) {
          throw new Error(
            `${op}: state '${k}' of parameter ${i} has shape ${fmt(t.shape)}, the parameter ${fmt(p.shape)}`,
          );
        }
      }
    });
    this.dispose();
    noGrad(() => {
      sd.state.forEach((entry, i) => {
        const p = params[i];
        if (entry.step > 0) this.steps.set(p, entry.step);
        const st: Record<string, Tensor> = {};
        for (const [k, t] of Object.entries(entry.tensors)) {
          st[k] = this.zeroState(p);
          assign(st[k], t, op);
        }
        if (Object.keys(st).length) this.state.set(p, st);
      });
    });
    sd.paramGroups.forEach(({ params: _ps, ...rest }, gi) => {
      Object.assign(this.paramGroups[gi], rest);
    });
  }

  /** Frees the optimizer's state tensors (parameters are untouched). */
  dispose(): void {
    for (const st of this.state.values()) for (const t of Object.values(st)) t.dispose();
    this.state.clear();
    this.steps.clear();
  }
}
