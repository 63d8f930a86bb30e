import { DDIMScheduler } from './ddim.js';
import { DDPMScheduler } from './ddpm.js';
import { DPMSolverMultistepScheduler } from './dpm-solver-multistep.js';
import { EulerDiscreteScheduler } from './euler-discrete.js';
import type { Scheduler } from './scheduler.js';

const CLASSES = {
  DDPMScheduler,
  DDIMScheduler,
  EulerDiscreteScheduler,
  DPMSolverMultistepScheduler,
} as const;

/**
 * Makes the scheduler a diffusers `scheduler_config.json` names in `_class_name` (or the class given
 * by `className`, to load one scheduler's config into another, as `DDIMScheduler.from_config(...)`).
 *
 * @example
 * ```ts
 * // a pipeline's scheduler/scheduler_config.json, here SD 1.x's (PNDMScheduler is not implemented)
 * const json = { _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012,
 *   num_train_timesteps: 1000, set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, clip_sample: false };
 * const scheduler = schedulerFromConfig(json, 'DDIMScheduler');
 * scheduler.constructor.name; // => 'DDIMScheduler'
 * ```
 */
export function schedulerFromConfig(config: unknown, className?: keyof typeof CLASSES): Scheduler {
  let obj = config;
  if (typeof obj === 'string') {
    try {
      obj = JSON.parse(obj);
    } catch (e) {
      throw new Error(
        `schedulerFromConfig: the config text is not valid JSON (${(e as Error).message}); expected the text of a diffusers scheduler_config.json or its parsed object`,
      );
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(
      `schedulerFromConfig: expected a scheduler_config.json object or its JSON text, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`,
    );
  }
  const name = className ?? (obj as { _class_name?: unknown } | null)?._class_name;
  if (typeof name !== 'string' || !(name in CLASSES)) {
    throw new Error(
      `schedulerFromConfig: unknown scheduler class ${JSON.stringify(name ?? null)}; expected one of ${Object.keys(CLASSES).join(', ')} (pass className to choose one)`,
    );
  }
  return CLASSES[name as keyof typeof CLASSES].fromConfig(obj);
}
