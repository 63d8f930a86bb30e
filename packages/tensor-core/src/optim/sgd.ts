import { add, mul, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { type BaseOptions, Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

/** Hyperparameters of {@link SGD} (torch's names, camelCase). */
export interface SGDOptions extends BaseOptions {
  /** Momentum factor (0: plain SGD). */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer. */
  dampening?: number;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
 * decay, exactly as torch.optim.SGD:
 * `d = g + wd·p; buf = μ·buf + (1 - dampening)·d (buf = d on the first step);
 * d = nesterov ? d + μ·buf : buf; p -= lr·d`.
 *
 * @example
 * ```ts
 * const model = new Linear(4, 1);
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const loss = mseLoss(model.forward(randn([8, 4])), zeros([8, 1]));
 * loss.backward(); opt.step(); opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: SGDOptions) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options }, 'SGD');
  }

  protected override validate(group: ParamGroup<SGDOptions>, name: string): void {
    super.validate(group, name);
    const m = group.momentum ?? 0;
    const wd = group.weightDecay ?? 0;
    if (!(m >= 0)) throw new RangeError(`${name}: momentum must be >= 0, got ${m}`);
    if (!(wd >= 0)) throw new RangeError(`${name}: weightDecay must be >= 0, got ${wd}`);
    if (group.nesterov && (m <= 0 || (group.dampening ?? 0) !== 0)) {
      throw new Error(
        `${name}: nesterov momentum needs momentum > 0 and dampening 0, got momentum ${m}, dampening ${group.dampening}`,
      );
    }
  }

  protected update(
    p: Tensor,
    grad: Tensor,
    group: ParamGroup<SGDOptions>,
    state: Record<string, Tensor>,
    t: number,
  ): Tensor {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = group;
    let d = weightDecay !== 0 ? add(grad, mul(p, weightDecay)) : grad;
    if (momentum !== 0) {
      if (!state.momentumBuffer) state.momentumBuffer = this.zeroState(p);
      const buf = state.momentumBuffer;
      const next = t === 1 ? d : add(mul(buf, momentum), mul(d, 1 - dampening));
      this.setState(buf, next);
      d = nesterov ? add(d, mul(buf, momentum)) : buf;
    }
    return sub(p, mul(d, lr));
  }
}
