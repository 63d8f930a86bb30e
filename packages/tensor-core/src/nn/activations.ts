// Activation functions by their Hugging Face names (`hidden_act`, `activation_function`, `act_fn`):
// @attnkit/hub maps each name to the function it denotes; here each function is written with
// tensor-core's ops. Every model package takes its activations from here.
import { type CanonicalActivation, canonicalActivation } from '@attnkit/hub';
import { clamp, gelu, maximum, mul, relu, sigmoid, silu, softplus, tanh } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';

const FUNCTIONS: Record<CanonicalActivation, (x: Tensor) => Tensor> = {
  relu,
  relu6: (x) => clamp(x, 0, 6),
  relu2: (x) => {
    const r = relu(x);
    return mul(r, r);
  },
  leaky_relu: (x) => maximum(x, mul(x, 0.01)), // torch's default negative slope
  gelu: (x) => gelu(x),
  gelu_tanh: (x) => gelu(x, { approximate: 'tanh' }),
  gelu_10: (x) => clamp(gelu(x), -10, 10),
  quick_gelu: (x) => mul(x, sigmoid(mul(x, 1.702))),
  silu,
  mish: (x) => mul(x, tanh(softplus(x))),
  tanh,
  sigmoid,
  identity: (x) => x,
};

/**
 * The activation function a Hugging Face config names (`gelu` exact, `gelu_new` GPT-2's tanh
 * approximation, `silu`/`swish` Llama's, `quick_gelu` CLIP's, …; the names are @attnkit/hub's
 * `ACTIVATIONS`). `who` names the caller in the error for an unknown name.
 *
 * @throws Error naming the activation and listing the known names
 * @example
 * ```ts
 * const act = activationByName('gelu_new');
 * act(tensor([-1, 0, 1])); // => [-0.1588, 0, 0.8412]
 * ```
 */
export function activationByName(name: string, who = 'activationByName'): (x: Tensor) => Tensor {
  return FUNCTIONS[canonicalActivation(name, who)];
}
