/** Activation functions by diffusers' `act_fn` names. */
import { gelu, relu, silu, type Tensor } from '@attnkit/tensor-core';

const ACTS: Record<string, (x: Tensor) => Tensor> = {
  silu,
  swish: silu,
  gelu: (x) => gelu(x),
  relu,
};

/** Applies the activation diffusers names `name` (`silu`/`swish`, `gelu`, `relu`). @internal */
export function activation(name: string, x: Tensor): Tensor {
  const f = ACTS[name];
  if (!f)
    throw new Error(
      `activation: unknown act_fn ${JSON.stringify(name)}; expected one of ${Object.keys(ACTS).join(', ')}`,
    );
  return f(x);
}

/** Checks an activation name at construction time. @internal */
export function checkActivation(owner: string, name: string): string {
  if (!(name in ACTS)) {
    throw new Error(
      `${owner}: unknown actFn ${JSON.stringify(name)}; expected one of ${Object.keys(ACTS).join(', ')}`,
    );
  }
  return name;
}
