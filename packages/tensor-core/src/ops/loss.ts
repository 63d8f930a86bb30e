import { record } from '../autograd.js';
import { isFloat } from '../dtype.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { abs, add, clamp, log, mul, ne, neg, softplus, sub, where } from './elementwise.js';
import { sum } from './reduce.js';
import { logSoftmax } from './softmax.js';
import { assertTensor, backendOf, wrap } from './util.js';

// Loss functions with torch.nn.functional names, argument order and defaults. Class dimension 1
// for the classification losses ([N, C] or [N, C, d1, ...]); every loss is computed in float32
// from log-probabilities made with a max-subtracted log-sum-exp, so large logits do not overflow.

/** How per-element losses are combined: `'mean'` (default), `'sum'` or `'none'` (unreduced). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Target value whose entries add nothing to the loss or to the mean's denominator (-100). */
  ignoreIndex?: number;
  /** Mixes the one-hot target with a uniform distribution over classes: (1 - ε)·onehot + ε/C. */
  labelSmoothing?: number;
  /** 'mean' (over non-ignored targets, weighted when `weight` is given), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Per-class rescaling weight [C]. */
  weight?: Tensor | null;
}

/** Options of {@link nllLoss}. */
export interface NllLossOptions {
  ignoreIndex?: number;
  reduction?: Reduction;
  weight?: Tensor | null;
}

/** Options of the elementwise losses. */
export interface ReductionOptions {
  reduction?: Reduction;
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions {
  reduction?: Reduction;
  /** Rescaling weight broadcast over the loss. */
  weight?: Tensor | null;
  /** Weight of positive examples, broadcast along the last (class) dim: [C]. */
  posWeight?: Tensor | null;
}

/** Options of {@link binaryCrossEntropy}. */
export interface BceOptions {
  reduction?: Reduction;
  weight?: Tensor | null;
}

function checkReduction(op: string, r: unknown): Reduction {
  const v = r ?? 'mean';
  if (v !== 'mean' && v !== 'sum' && v !== 'none') {
    throw new TypeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
  }
  return v;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  const s = sum(loss);
  return reduction === 'sum' ? s : s.div(loss.size);
}

function assertFloat(op: string, t: Tensor, arg: string): void {
  if (!isFloat(t.dtype)) {
    throw new TypeError(`${op}: argument '${arg}' must be a float tensor, got ${t.dtype}`);
  }
}

/** Moves the class dim (1) last and flattens the rest: [N, C, d...] -> [M, C]. */
function classesLast(x: Tensor): Tensor {
  if (x.rank === 1) return x.reshape([1, x.shape[0]]);
  if (x.rank === 2) return x;
  const order = [0, ...x.shape.map((_, i) => i).slice(2), 1];
  return x.permute(order).reshape([-1, x.shape[1]]);
}

/** x[i, idx[i]] for x [M, C] and int32 idx [M] (all in range); differentiable in x. */
function pick(x: Tensor, idx: Tensor): Tensor {
  const b = x.backend;
  const [m, c] = x.shape;
  const i2 = idx.reshape([m, 1]);
  const y = wrap(b, b.gather(x, 1, i2), [m, 1], 'float32').reshape([m]);
  return record(y, 'pick', [x], (g) => {
    const zeros = wrap(b, b.fill([m, c], 0, 'float32'), [m, c], 'float32');
    return [wrap(b, b.scatterAdd(zeros, 1, i2, g.reshape([m, 1])), [m, c], 'float32')];
  });
}

/** Checks class targets where the backend can read synchronously (the CPU); GPU reads are never forced. */
function checkTargets(op: string, t: Tensor, classes: number, ignoreIndex: number): void {
  const b = t.backend;
  if (!b.readSync || t.size === 0) return;
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    const k = v[i];
    if (k !== ignoreIndex && (k < 0 || k >= classes)) {
      throw new RangeError(
        `${op}: target value ${k} (at flat position ${i}) is out of range for ${classes} classes; expected 0..${classes - 1} or ignoreIndex ${ignoreIndex}`,
      );
    }
  }
}

/** The shared core of crossEntropy and nllLoss, on log-probabilities [M, C]. */
function nllCore(
  op: string,
  logp: Tensor,
  target: Tensor,
  outShape: number[],
  weight: Tensor | null,
  ignoreIndex: number,
  labelSmoothing: number,
  reduction: Reduction,
): Tensor {
  const [m, c] = logp.shape;
  const t = target.reshape([m]);
  checkTargets(op, t, c, ignoreIndex);
  const valid = ne(t, ignoreIndex);
  const safe = where(valid, t, 0);
  const b = logp.backend;
  let wt: Tensor;
  if (weight) {
    const wsel = wrap(b, b.gather(weight.cast('float32'), 0, safe), [m], 'float32');
    wt = where(valid, wsel, 0);
  } else {
    wt = valid.cast('float32');
  }
  const nll = neg(mul(pick(logp, safe), wt));
  let smooth: Tensor | null = null;
  if (labelSmoothing > 0) {
    const weighted = weight ? mul(logp, weight.cast('float32').reshape([1, c])) : logp;
    smooth = where(valid, neg(sum(weighted, 1)), 0);
  }
  const combine = (a: Tensor, s: Tensor | null): Tensor =>
    s ? add(mul(a, 1 - labelSmoothing), mul(s, labelSmoothing / c)) : a;
  if (reduction === 'none') return combine(nll, smooth).reshape(outShape);
  if (reduction === 'sum') return combine(sum(nll), smooth ? sum(smooth) : null);
  const denom = sum(wt);
  return combine(sum(nll).div(denom), smooth ? sum(smooth).div(denom) : null);
}

function checkWeight(op: string, weight: Tensor | null | undefined, c: number): Tensor | null {
  if (weight == null) return null;
  assertTensor(weight, 'weight', op);
  if (weight.rank !== 1 || weight.shape[0] !== c) {
    throw new Error(`${op}: weight must have shape [${c}] (one per class), got ${fmt(weight.shape)}`);
  }
  return weight;
}

function checkClassTarget(op: string, input: Tensor, target: Tensor): number[] {
  const want = input.rank === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.rank !== want.length || target.shape.some((s, i) => s !== want[i])) {
    throw new Error(
      `${op}: target ${fmt(target.shape)} does not match input ${fmt(input.shape)}; class indices need shape ${fmt(want)} (the input without its class dim 1)`,
    );
  }
  return want;
}

/**
 * Cross-entropy between logits and targets, as torch.nn.functional.cross_entropy. `input` is
 * [N, C], [N, C, d1, ...] or [C]; `target` holds int32 class indices of shape [N, d1, ...] (entries
 * equal to `ignoreIndex` are skipped) or float class probabilities of the input's shape.
 * `labelSmoothing` ε mixes the target with the uniform distribution. The mean divides by the
 * number (or total weight) of non-ignored targets.
 *
 * @example
 * ```ts
 * const logits = randn([4, 10]);
 * const target = tensor([1, 0, 9, -100], [4], 'int32');
 * // a scalar; the last row (-100) is ignored
 * crossEntropy(logits, target, { labelSmoothing: 0.1 }).shape; // => []
 * ```
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  assertTensor(input, 'input', op);
  assertTensor(target, 'target', op);
  backendOf(op, input, target, options.weight);
  assertFloat(op, input, 'input');
  if (input.rank < 1) throw new Error(`${op}: expected input [N, C, ...] or [C], got a scalar`);
  const reduction = checkReduction(op, options.reduction);
  const ls = options.labelSmoothing ?? 0;
  if (typeof ls !== 'number' || !(ls >= 0 && ls <= 1)) {
    throw new RangeError(
      `${op}: labelSmoothing must be in [0, 1], got ${JSON.stringify(options.labelSmoothing)}`,
    );
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  const c = input.rank === 1 ? input.shape[0] : input.shape[1];
  const weight = checkWeight(op, options.weight, c);
  const x = classesLast(input.dtype === 'float32' ? input : input.cast('float32'));
  const logp = logSoftmax(x, 1);
  if (isFloat(target.dtype)) {
    // Class probabilities.
    if (target.rank !== input.rank || target.shape.some((s, i) => s !== input.shape[i])) {
      throw new Error(
        `${op}: probability target ${fmt(target.shape)} must have the input's shape ${fmt(input.shape)}`,
      );
    }
    let p = classesLast(target.dtype === 'float32' ? target : target.cast('float32'));
    if (ls > 0) p = add(mul(p, 1 - ls), ls / c);
    let prod = mul(logp, p);
    if (weight) prod = mul(prod, weight.cast('float32').reshape([1, c]));
    const per = neg(sum(prod, 1));
    const outShape = input.rank === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
    if (reduction === 'none') return per.reshape(outShape);
    const s = sum(per);
    return reduction === 'sum' ? s : s.div(per.size);
  }
  if (target.dtype !== 'int32') {
    throw new TypeError(
      `${op}: target must hold int32 class indices or float probabilities, got ${target.dtype}`,
    );
  }
  const outShape = checkClassTarget(op, input, target);
  return nllCore(op, logp, target, outShape, weight, ignoreIndex, ls, reduction);
}

/**
 * Negative log-likelihood of log-probabilities, as torch.nn.functional.nll_loss: `input`
 * [N, C, ...] or [C] (usually from logSoftmax over dim 1), `target` int32 [N, ...].
 */
export function nllLoss(input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  const op = 'nllLoss';
  assertTensor(input, 'input', op);
  assertTensor(target, 'target', op);
  backendOf(op, input, target, options.weight);
  assertFloat(op, input, 'input');
  if (input.rank < 1) throw new Error(`${op}: expected input [N, C, ...] or [C], got a scalar`);
  if (target.dtype !== 'int32')
    throw new TypeError(`${op}: target must hold int32 class indices, got ${target.dtype}`);
  const reduction = checkReduction(op, options.reduction);
  const c = input.rank === 1 ? input.shape[0] : input.shape[1];
  const weight = checkWeight(op, options.weight, c);
  const outShape = checkClassTarget(op, input, target);
  const x = classesLast(input.dtype === 'float32' ? input : input.cast('float32'));
  return nllCore(op, x, target, outShape, weight, options.ignoreIndex ?? -100, 0, reduction);
}

function pairwise(op: string, input: Tensor, target: Tensor): void {
  assertTensor(input, 'input', op);
  assertTensor(target, 'target', op);
  assertFloat(op, input, 'input');
  assertFloat(op, target, 'target');
  if (input.rank !== target.rank || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new Error(
      `${op}: input ${fmt(input.shape)} and target ${fmt(target.shape)} must have the same shape`,
    );
  }
}

/**
 * Mean squared error, as torch.nn.functional.mse_loss: (input - target)² reduced.
 *
 * @example
 * ```ts
 * mseLoss(tensor([1, 2]), tensor([0, 0])); // => 2.5
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const op = 'mseLoss';
  pairwise(op, input, target);
  const reduction = checkReduction(op, options.reduction);
  const d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

/** Mean absolute error, as torch.nn.functional.l1_loss: |input - target| reduced. */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  const op = 'l1Loss';
  pairwise(op, input, target);
  const reduction = checkReduction(op, options.reduction);
  return reduce(abs(sub(input, target)), reduction);
}

function checkBroadcastWeight(
  op: string,
  name: string,
  w: Tensor | null | undefined,
  shape: readonly number[],
): Tensor | null {
  if (w == null) return null;
  assertTensor(w, name, op);
  const n = Math.max(w.rank, shape.length);
  for (let i = 0; i < n; i++) {
    const a = w.shape[w.rank - n + i] ?? 1;
    const s = shape[shape.length - n + i] ?? 1;
    if (a !== 1 && a !== s) {
      throw new Error(`${op}: ${name} ${fmt(w.shape)} does not broadcast to the input ${fmt(shape)}`);
    }
  }
  if (w.rank > shape.length)
    throw new Error(`${op}: ${name} ${fmt(w.shape)} has more dims than the input ${fmt(shape)}`);
  return w;
}

/**
 * Binary cross-entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits:
 * `(1 - y)·x + (1 + (posWeight - 1)·y)·log(1 + e^-x)`, computed stably (softplus) for any x.
 *
 * @example
 * ```ts
 * const logits = tensor([0, 2]);
 * const labels = tensor([1, 0]);
 * // mean of 3·log(1 + e⁰) and log(1 + e²)
 * binaryCrossEntropyWithLogits(logits, labels, { posWeight: tensor([3]) }); // => 2.1032
 * ```
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: BceWithLogitsOptions = {},
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  pairwise(op, input, target);
  backendOf(op, input, target, options.weight, options.posWeight);
  const reduction = checkReduction(op, options.reduction);
  const weight = checkBroadcastWeight(op, 'weight', options.weight, input.shape);
  const posWeight = checkBroadcastWeight(op, 'posWeight', options.posWeight, input.shape);
  const sp = softplus(neg(input));
  const lw = posWeight ? add(mul(sub(posWeight, 1), target), 1) : null;
  let loss = add(mul(sub(1, target), input), lw ? mul(lw, sp) : sp);
  if (weight) loss = mul(loss, weight);
  return reduce(loss, reduction);
}

/**
 * Binary cross-entropy on probabilities, as torch.nn.functional.binary_cross_entropy (logs
 * clamped at -100 as torch). Prefer {@link binaryCrossEntropyWithLogits}, which is stable.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  pairwise(op, input, target);
  const reduction = checkReduction(op, options.reduction);
  const weight = checkBroadcastWeight(op, 'weight', options.weight, input.shape);
  const lp = clamp(log(input), -100);
  const lq = clamp(log(sub(1, input)), -100);
  let loss = neg(add(mul(target, lp), mul(sub(1, target), lq)));
  if (weight) loss = mul(loss, weight);
  return reduce(loss, reduction);
}
