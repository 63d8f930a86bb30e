import { add, div, maximum, mul, sqrt, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { type BaseOptions, Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

/** Hyperparameters of {@link Adam} and {@link AdamW} (torch's names, camelCase). */
export interface AdamOptions extends BaseOptions {
  /** Decay rates of the first and second moment estimates, [0.9, 0.999] by default. */
  betas?: [number, number];
  /** Added to the denominator for stability (1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (0). AdamW: decoupled decay factor (0.01). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad). */
  amsgrad?: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  constructor(
    params: ParamsInput<AdamOptions>,
    options: AdamOptions,
    defaultDecay: number,
    private readonly decoupled: boolean,
    name: string,
  ) {
    super(
      params,
      { betas: [0.9, 0.999], eps: 1e-8, weightDecay: defaultDecay, amsgrad: false, ...options },
      name,
    );
  }

  protected override validate(group: ParamGroup<AdamOptions>, name: string): void {
    super.validate(group, name);
    const [b1, b2] = group.betas ?? [0.9, 0.999];
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) {
      throw new RangeError(`${name}: betas must be in [0, 1), got ${JSON.stringify(group.betas)}`);
    }
    if (!((group.eps ?? 0) >= 0)) throw new RangeError(`${name}: eps must be >= 0, got ${group.eps}`);
    if (!((group.weightDecay ?? 0) >= 0)) {
      throw new RangeError(`${name}: weightDecay must be >= 0, got ${group.weightDecay}`);
    }
  }

  protected update(
    p: Tensor,
    grad: Tensor,
    group: ParamGroup<AdamOptions>,
    state: Record<string, Tensor>,
    t: number,
  ): Tensor {
    const { lr, eps = 1e-8, weightDecay = 0, amsgrad = false } = group;
    const [b1, b2] = group.betas ?? [0.9, 0.999];
    let param = p;
    let g = grad;
    if (weightDecay !== 0) {
      if (this.decoupled) param = mul(p, 1 - lr * weightDecay);
      else g = add(g, mul(p, weightDecay));
    }
    if (!state.expAvg) {
      state.expAvg = this.zeroState(p);
      state.expAvgSq = this.zeroState(p);
      if (amsgrad) state.maxExpAvgSq = this.zeroState(p);
    }
    const m = state.expAvg;
    const v = state.expAvgSq;
    this.setState(m, add(mul(m, b1), mul(g, 1 - b1)));
    this.setState(v, add(mul(v, b2), mul(mul(g, g), 1 - b2)));
    let second = v;
    if (amsgrad) {
      this.setState(state.maxExpAvgSq, maximum(state.maxExpAvgSq, v));
      second = state.maxExpAvgSq;
    }
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const denom = add(div(sqrt(second), Math.sqrt(bc2)), eps);
    return sub(param, mul(div(m, denom), lr / bc1));
  }
}

/**
 * Adam, as torch.optim.Adam: moment estimates with bias correction; `weightDecay` is an L2
 * penalty added to the gradient (use {@link AdamW} for decoupled decay).
 *
 * @example
 * ```ts
 * const model = new Linear(4, 1);
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * mseLoss(model.forward(randn([8, 4])), zeros([8, 1])).backward();
 * opt.step();
 * ```
 */
export class Adam extends AdamBase {
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions) {
    super(params, options, 0, false, 'Adam');
  }
}

/**
 * AdamW, as torch.optim.AdamW: Adam with decoupled weight decay (`p *= 1 - lr·weightDecay` before
 * the Adam step); weightDecay 0.01 by default.
 *
 * @example
 * ```ts
 * const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 1));
 * const params = model.namedParameters();
 * const opt = new AdamW([
 *   { params: params.filter(([n]) => !n.endsWith('bias')).map(([, p]) => p) },
 *   { params: params.filter(([n]) => n.endsWith('bias')).map(([, p]) => p), weightDecay: 0 },
 * ], { lr: 3e-4, weightDecay: 0.1 });
 * ```
 */
export class AdamW extends AdamBase {
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions) {
    super(params, options, 0.01, true, 'AdamW');
  }
}
