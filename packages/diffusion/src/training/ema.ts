/**
 * Exponential moving average of model weights (diffusers' `training_utils.EMAModel`): sampling
 * from the averaged weights gives smoother, better samples than the last training step.
 */
import { noGrad, opScope, type Tensor } from '@attnkit/tensor-core';
import { Parameter } from '@attnkit/tensor-core/nn';

/** Options of {@link EMAModel} (diffusers' names, camelCase, and defaults). */
export interface EMAOptions {
  /** Largest decay. Default 0.9999. */
  decay?: number;
  /** Smallest decay. Default 0. */
  minDecay?: number;
  /** Steps before averaging starts (the EMA copies the weights until then). Default 0. */
  updateAfterStep?: number;
  /** Use `1 − (1 + step/invGamma)^(−power)` instead of `(1 + step)/(10 + step)`. Default false. */
  useEmaWarmup?: boolean;
  /** Warmup inverse multiplicative factor. Default 1. */
  invGamma?: number;
  /** Warmup exponential factor. Default 2/3. */
  power?: number;
}

/**
 * Keeps a shadow copy of parameters and moves it toward them each {@link EMAModel.step}:
 * `shadow −= (1 − decay) · (shadow − param)`, with diffusers' decay warmup.
 *
 * @example
 * ```ts
 * import { AdamW } from '@attnkit/tensor-core/optim';
 * const model = new MLPDenoiser({ dim: 2, hidden: 16 });
 * const opt = new AdamW(model.parameters(), { lr: 1e-3 });
 * const ema = new EMAModel(model.parameters(), { decay: 0.999 });
 * for (let step = 0; step < 10; step++) {
 *   opt.step(); // after loss.backward()
 *   ema.step(model.parameters());
 * }
 * ema.copyTo(model.parameters()); // sample with the averaged weights
 * ```
 */
export class EMAModel {
  readonly shadowParams: Parameter[];
  readonly decay: number;
  readonly minDecay: number;
  readonly updateAfterStep: number;
  readonly useEmaWarmup: boolean;
  readonly invGamma: number;
  readonly power: number;
  /** Number of `step` calls so far. */
  optimizationStep = 0;
  private stored: Parameter[] | null = null;

  constructor(parameters: readonly Tensor[], options: EMAOptions = {}) {
    if (!Array.isArray(parameters) || parameters.length === 0) {
      throw new Error('EMAModel: expected a non-empty array of parameters (model.parameters())');
    }
    this.decay = options.decay ?? 0.9999;
    this.minDecay = options.minDecay ?? 0;
    this.updateAfterStep = options.updateAfterStep ?? 0;
    this.useEmaWarmup = options.useEmaWarmup ?? false;
    this.invGamma = options.invGamma ?? 1;
    this.power = options.power ?? 2 / 3;
    if (!(this.decay >= 0 && this.decay <= 1))
      throw new RangeError(`EMAModel: decay must be in [0, 1], got ${this.decay}`);
    this.shadowParams = noGrad(() => parameters.map((p) => new Parameter(p.contiguous().mul(1), false)));
  }

  /** The decay used at optimization step `step` (diffusers' `get_decay`). */
  getDecay(step: number): number {
    const s = Math.max(0, step - this.updateAfterStep - 1);
    if (s <= 0) return 0;
    const cur = this.useEmaWarmup ? 1 - (1 + s / this.invGamma) ** -this.power : (1 + s) / (10 + s);
    return Math.max(Math.min(cur, this.decay), this.minDecay);
  }

  /** Moves the shadow weights toward `parameters` (call after each optimizer step). */
  step(parameters: readonly Tensor[]): void {
    this.checkLength('step', parameters);
    this.optimizationStep++;
    const d = this.getDecay(this.optimizationStep);
    noGrad(() => {
      this.shadowParams.forEach((s, i) => {
        const p = parameters[i];
        // the update's intermediates live in a scope
        if (p.requiresGrad) opScope(() => s.copy_(s.sub(s.sub(p).mul(1 - d))));
        else s.copy_(p);
      });
    });
  }

  /** Writes the averaged weights into `parameters` (in place). */
  copyTo(parameters: readonly Parameter[]): void {
    this.checkLength('copyTo', parameters);
    parameters.forEach((p, i) => {
      p.copy_(this.shadowParams[i]);
    });
  }

  /** Saves `parameters` so {@link EMAModel.restore} can put them back after sampling with EMA weights. */
  store(parameters: readonly Parameter[]): void {
    this.stored?.forEach((t) => {
      t.dispose();
    });
    this.stored = noGrad(() => parameters.map((p) => new Parameter(p.contiguous().mul(1), false)));
  }

  /** Restores the weights saved by {@link EMAModel.store}. */
  restore(parameters: readonly Parameter[]): void {
    if (!this.stored) throw new Error('EMAModel.restore: nothing stored; call store(parameters) first');
    this.checkLength('restore', parameters);
    parameters.forEach((p, i) => {
      p.copy_((this.stored as Parameter[])[i]);
    });
    for (const t of this.stored) t.dispose();
    this.stored = null;
  }

  /** Frees the shadow (and stored) weights. */
  dispose(): void {
    for (const t of this.shadowParams) t.dispose();
    this.stored?.forEach((t) => {
      t.dispose();
    });
    this.stored = null;
  }

  private checkLength(op: string, parameters: readonly Tensor[]): void {
    if (parameters.length !== this.shadowParams.length) {
      throw new Error(
        `EMAModel.${op}: got ${parameters.length} parameters, but the EMA tracks ${this.shadowParams.length}`,
      );
    }
  }
}
