import type { Tensor } from './tensor.js';

/** How a tensor was made: its inputs and the rule that maps the output gradient to theirs. */
export interface GradNode {
  /** Op name, for error messages and graph inspection. */
  readonly name: string;
  /** The op's tensor inputs; null for inputs that need no gradient. */
  readonly inputs: readonly (Tensor | null)[];
  /** Gradients w.r.t. each input (null where none), given the gradient of the output. */
  backward(grad: Tensor): readonly (Tensor | null | undefined)[];
}

let gradEnabled = true;

/** True while operations record the graph for {@link Tensor.backward}. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording gradients (like `torch.no_grad()`): ops inside make tensors with no
 * graph, which saves memory in inference and in optimizer updates.
 *
 * @example
 * ```ts
 * const model = new Linear(4, 2);
 * const y = noGrad(() => model.forward(randn([3, 4])));
 * y.requiresGrad; // => false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Sets whether gradients are recorded; returns the previous setting. */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

/**
 * Attaches a gradient rule to `out` when recording is on and some input requires a gradient.
 * Ops call this once after computing their output.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: readonly (Tensor | null)[],
  backward: (grad: Tensor) => readonly (Tensor | null | undefined)[],
): Tensor {
  if (!gradEnabled) return out;
  let needs = false;
  for (const t of inputs) if (t?.requiresGrad) needs = true;
  if (!needs) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs: inputs.map((t) => (t?.requiresGrad ? t : null)), backward };
  return out;
}
