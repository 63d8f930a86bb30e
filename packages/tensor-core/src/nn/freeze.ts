// Freezing for fine-tuning: turn gradients off (or on) for the parameters whose dotted names match
// a pattern, and count what is left to train (PEFT's print_trainable_parameters).
import { Module, type Parameter } from './module.js';

/**
 * Which parameters a freeze call touches, by dotted name (`transformer.h.0.attn.c_attn.weight`):
 * a RegExp tested against the name, a string that is a name prefix (`'transformer.h.0.'`, or a
 * module name such as `'transformer.wte'`, which covers its parameters), or a predicate.
 */
export type ParameterPattern = RegExp | string | ((name: string, param: Parameter) => boolean);

function matcher(op: string, pattern: ParameterPattern | undefined): (name: string, p: Parameter) => boolean {
  if (pattern === undefined) return () => true;
  if (pattern instanceof RegExp) {
    return (name) => {
      pattern.lastIndex = 0;
      return pattern.test(name);
    };
  }
  if (typeof pattern === 'string' && pattern.length > 0) {
    const prefix = pattern.endsWith('.') ? pattern : `${pattern}.`;
    return (name) => name === pattern || name.startsWith(prefix);
  }
  if (typeof pattern === 'function') return pattern;
  throw new TypeError(
    `${op}: pattern must be a RegExp, a non-empty name prefix or a (name, param) => boolean function, got ${JSON.stringify(pattern)}`,
  );
}

function setRequiresGrad(op: string, model: Module, pattern: ParameterPattern | undefined, value: boolean) {
  if (!(model instanceof Module)) throw new TypeError(`${op}: expected a Module`);
  const match = matcher(op, pattern);
  const named = model.namedParameters();
  const hit = named.filter(([n, p]) => match(n, p));
  if (pattern !== undefined && hit.length === 0) {
    const sample = named.slice(0, 8).map(([n]) => n);
    throw new Error(
      `${op}: pattern ${String(pattern)} matches no parameter of ${model.constructor.name}; its parameters are named like ${sample.join(', ')}${named.length > 8 ? `, … (${named.length} in all)` : ''}`,
    );
  }
  for (const [, p] of hit) p.requiresGrad = value;
  return hit.map(([n]) => n);
}

/**
 * Freezes parameters (turns `requiresGrad` off, so no gradient is computed for them and train()'s
 * optimizer leaves them alone): all of them without a pattern, as torch's
 * `model.requires_grad_(False)`, or those whose names match. Returns the names frozen.
 *
 * @throws Error when a pattern matches no parameter (listing how the parameters are named)
 * @example
 * ```ts
 * const model = new Sequential(new Linear(4, 4), new ReLU(), new Linear(4, 2));
 * freeze(model);                  // everything
 * unfreeze(model, /^2\./);        // then train only the last layer
 * model.parameters().filter((p) => p.requiresGrad).length; // => 2
 * ```
 */
export function freeze(model: Module, pattern?: ParameterPattern): string[] {
  return setRequiresGrad('freeze', model, pattern, false);
}

/** Turns `requiresGrad` back on for every parameter, or those whose names match; returns their names. */
export function unfreeze(model: Module, pattern?: ParameterPattern): string[] {
  return setRequiresGrad('unfreeze', model, pattern, true);
}

/** Trainable and total parameter counts (each shared parameter once), as PEFT's print_trainable_parameters. */
export function countParameters(model: Module): { trainable: number; total: number; fraction: number } {
  if (!(model instanceof Module)) throw new TypeError('countParameters: expected a Module');
  let trainable = 0;
  let total = 0;
  for (const p of model.parameters()) {
    total += p.size;
    if (p.requiresGrad) trainable += p.size;
  }
  return { trainable, total, fraction: total ? trainable / total : 0 };
}
