/** Activation functions by diffusers' `act_fn` names: tensor-core/nn's `activationByName` (one table for every package). */
import type { Tensor } from '@attnkit/tensor-core';
import { activationByName } from '@attnkit/tensor-core/nn';

/** Applies the activation diffusers names `name` (`silu`/`swish`, `gelu`, `relu`, `mish`, …). @internal */
export function activation(name: string, x: Tensor): Tensor {
  return activationByName(name, 'activation')(x);
}

/** Checks an activation name at construction time. @internal */
export function checkActivation(owner: string, name: string): string {
  activationByName(name, owner);
  return name;
}
