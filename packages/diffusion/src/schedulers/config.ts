/**
 * Scheduler configuration: diffusers' field names in camelCase, their defaults, validation, and the
 * snake_case ⇄ camelCase mapping used to read a diffusers `scheduler_config.json`.
 */

import { camelToSnake, describe, snakeToCamel } from '@attnkit/hub';

/** How the betas are laid out over the training timesteps (diffusers' `beta_schedule`). */
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
/** What the network predicts (diffusers' `prediction_type`). */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
/** How `setTimesteps(n)` spaces the inference timesteps (diffusers' `timestep_spacing`). */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** Fields shared by every scheduler, with diffusers' defaults noted per field. */
export interface BaseSchedulerConfig {
  /** Number of diffusion steps used to train the model. Default 1000. */
  numTrainTimesteps: number;
  /** First beta. Default 0.0001. */
  betaStart: number;
  /** Last beta. Default 0.02. */
  betaEnd: number;
  /** Beta schedule. Default `'linear'`. */
  betaSchedule: BetaSchedule;
  /** Explicit betas (length `numTrainTimesteps`) overriding the schedule. Default null. */
  trainedBetas: readonly number[] | null;
  /** What the model predicts. Default `'epsilon'`. */
  predictionType: PredictionType;
  /** Spacing of inference timesteps. Default `'leading'` (DDPM, DDIM) or `'linspace'` (Euler, DPM-Solver). */
  timestepSpacing: TimestepSpacing;
  /** Offset added to the inference timesteps (`'leading'` spacing). Default 0. */
  stepsOffset: number;
  /** Rescale betas to zero terminal SNR (Lin et al. 2023). Default false. */
  rescaleBetasZeroSnr: boolean;
}

type Spec = Record<string, unknown>;

// snake_case ⇄ camelCase and value descriptions come from @attnkit/hub (one copy for every package).
export { camelToSnake, snakeToCamel };

/** Allowed string values of enum fields (shared names across schedulers). */
const ENUMS: Record<string, readonly (string | null)[]> = {
  betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionType: ['epsilon', 'v_prediction', 'sample'],
  timestepSpacing: ['leading', 'trailing', 'linspace'],
};

/**
 * Fields diffusers accepts that this port does not implement, with the value that is supported.
 * Setting another value throws rather than silently computing something else.
 */
export type Unsupported = Record<string, { supported: readonly unknown[]; why: string }>;

/**
 * Largest `numTrainTimesteps` a scheduler accepts: its tables (betas, alphas, cumulative products,
 * sigmas) hold a float64 per train timestep, so a corrupt or hostile config must not size them.
 * Released checkpoints use 1000 (a few use 2000-4000).
 */
export const MAX_TRAIN_TIMESTEPS = 100_000;

/**
 * Merges `user` over `defaults` and validates every field: unknown keys, wrong types, enum values,
 * ranges. `owner` names the scheduler class in messages.
 * @internal
 */
export function resolveConfig<C extends object>(
  owner: string,
  defaults: C,
  user: Partial<C> | undefined,
  enums: Record<string, readonly (string | null)[]> = {},
  unsupported: Unsupported = {},
): C {
  if (user !== undefined && (user === null || typeof user !== 'object' || Array.isArray(user))) {
    throw new TypeError(`${owner}: config must be an object of camelCase fields, got ${describe(user)}`);
  }
  const out = { ...defaults } as Spec;
  const allEnums = { ...ENUMS, ...enums };
  for (const [key, value] of Object.entries(user ?? {})) {
    if (value === undefined) continue;
    if (!(key in out)) {
      const hint = key.includes('_')
        ? ` (use camelCase '${snakeToCamel(key)}', or ${owner}.fromConfig for snake_case)`
        : '';
      throw new Error(
        `${owner}: unknown config field '${key}'${hint}; known fields: ${Object.keys(out).join(', ')}`,
      );
    }
    const def = (defaults as Spec)[key];
    if (key in allEnums) {
      if (!allEnums[key].includes(value as string)) {
        throw new Error(
          `${owner}: config.${key} must be one of ${allEnums[key].map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(value) ?? describe(value)}`,
        );
      }
    } else if (key === 'trainedBetas') {
      if (value !== null && !(Array.isArray(value) || ArrayBuffer.isView(value))) {
        throw new TypeError(
          `${owner}: config.trainedBetas must be an array of numbers or null, got ${describe(value)}`,
        );
      }
    } else if (def !== null && typeof def !== typeof value) {
      throw new TypeError(`${owner}: config.${key} must be a ${typeof def}, got ${describe(value)}`);
    }
    out[key] = value;
  }
  for (const [key, { supported, why }] of Object.entries(unsupported)) {
    if (!supported.includes(out[key])) {
      throw new Error(
        `${owner}: config.${key} = ${describe(out[key])} is not supported (${why}); supported: ${supported.map(describe).join(', ')}`,
      );
    }
  }
  const c = out as unknown as BaseSchedulerConfig;
  if (
    !Number.isInteger(c.numTrainTimesteps) ||
    c.numTrainTimesteps < 1 ||
    c.numTrainTimesteps > MAX_TRAIN_TIMESTEPS
  ) {
    throw new RangeError(
      `${owner}: config.numTrainTimesteps must be an integer in [1, ${MAX_TRAIN_TIMESTEPS}], got ${c.numTrainTimesteps} (checkpoints use 1000; each train timestep holds float64 tables of betas and alphas)`,
    );
  }
  if (!Number.isInteger(c.stepsOffset) || c.stepsOffset < 0) {
    throw new RangeError(`${owner}: config.stepsOffset must be a non-negative integer, got ${c.stepsOffset}`);
  }
  for (const k of ['betaStart', 'betaEnd'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0 || c[k] >= 1) {
      throw new RangeError(`${owner}: config.${k} must be a number in [0, 1), got ${c[k]}`);
    }
  }
  if (c.trainedBetas) {
    const tb = Array.from(c.trainedBetas);
    if (tb.length !== c.numTrainTimesteps) {
      throw new Error(
        `${owner}: config.trainedBetas has ${tb.length} values but numTrainTimesteps is ${c.numTrainTimesteps}`,
      );
    }
    const bad = tb.findIndex((b) => !(typeof b === 'number' && b >= 0 && b < 1));
    if (bad >= 0) throw new RangeError(`${owner}: config.trainedBetas[${bad}] = ${tb[bad]} is not in [0, 1)`);
    out.trainedBetas = Object.freeze(tb);
  }
  return Object.freeze(out) as unknown as C;
}

/**
 * Reads a diffusers `scheduler_config.json` (an object or its JSON text): snake_case keys become
 * camelCase; keys that start with `_` (`_class_name`, `_diffusers_version`) and fields this
 * scheduler does not have are ignored, as diffusers' `from_config` ignores them (so a PNDM config of a
 * Stable Diffusion checkpoint loads into DDIM). `null` means the default.
 * @internal
 */
export function configFromJson(owner: string, defaults: object, json: unknown): Record<string, unknown> {
  let obj = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new Error(`${owner}.fromConfig: the config text is not valid JSON (${(e as Error).message})`);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(`${owner}.fromConfig: expected a config object or JSON text, got ${describe(obj)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k.startsWith('_')) continue;
    const camel = snakeToCamel(k);
    if (!(camel in defaults) || v === null) continue;
    out[camel] = v;
  }
  return out;
}

/** The config as diffusers writes it (snake_case keys), for saving next to a model. */
export function configToJson(className: string, config: object): Record<string, unknown> {
  const out: Record<string, unknown> = { _class_name: className };
  for (const [k, v] of Object.entries(config)) {
    out[camelToSnake(k)] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  return out;
}
