// Activation functions by the names Hugging Face configs use (transformers' ACT2FN keys in
// `hidden_act` / `activation_function`, diffusers' `act_fn`), each mapped to the one function it
// computes. The functions themselves are tensor ops: tensor-core/nn's `activationByName` applies
// this table, so every model package reads activations through the same names.

/** The functions the Hugging Face names denote (several names share one function). */
export type CanonicalActivation =
  | 'relu'
  | 'relu6'
  | 'relu2'
  | 'leaky_relu'
  | 'gelu'
  | 'gelu_tanh'
  | 'gelu_10'
  | 'quick_gelu'
  | 'silu'
  | 'mish'
  | 'tanh'
  | 'sigmoid'
  | 'identity';

/**
 * Hugging Face activation names → the function each computes. `gelu` is the exact (erf) GELU;
 * `gelu_new`, `gelu_fast`, `gelu_pytorch_tanh`, `gelu_python_tanh` and `gelu_accurate` are all
 * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` written differently; `gelu_10` is GELU clipped to
 * [-10, 10]; `quick_gelu` is `x·σ(1.702·x)`; `silu`/`swish` are `x·σ(x)`; `relu2` is `relu(x)²`;
 * `leaky_relu` has torch's default slope 0.01; `linear` is the identity.
 */
export const ACTIVATIONS: Readonly<Record<string, CanonicalActivation>> = Object.freeze({
  relu: 'relu',
  relu6: 'relu6',
  relu2: 'relu2',
  leaky_relu: 'leaky_relu',
  gelu: 'gelu',
  gelu_python: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_python_tanh: 'gelu_tanh',
  gelu_accurate: 'gelu_tanh',
  gelu_10: 'gelu_10',
  quick_gelu: 'quick_gelu',
  silu: 'silu',
  swish: 'silu',
  mish: 'mish',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  linear: 'identity',
});

/** Whether `name` is an activation name attnkit implements. */
export function isActivationName(name: unknown): name is string {
  return typeof name === 'string' && Object.hasOwn(ACTIVATIONS, name);
}

/**
 * The function a Hugging Face activation name denotes. `who` names the caller in the error.
 *
 * @throws Error naming the activation and listing the known names
 * @example
 * ```ts
 * canonicalActivation('gelu_new'); // 'gelu_tanh'
 * ```
 */
export function canonicalActivation(name: unknown, who = 'activation'): CanonicalActivation {
  if (!isActivationName(name)) {
    throw new Error(
      `${who}: unknown activation ${typeof name === 'string' ? `'${name}'` : String(name)} (known: ${Object.keys(ACTIVATIONS).join(', ')})`,
    );
  }
  return ACTIVATIONS[name];
}
