export {
  alphasCumprodOf,
  betasForAlphaBar,
  makeBetas,
  rescaleZeroTerminalSnr,
} from './betas.js';
export type { BaseSchedulerConfig, BetaSchedule, PredictionType, TimestepSpacing } from './config.js';
export { MAX_TRAIN_TIMESTEPS } from './config.js';
export { DDIM_DEFAULTS, DDIMScheduler, type DDIMSchedulerConfig } from './ddim.js';
export { DDPM_DEFAULTS, DDPMScheduler, type DDPMSchedulerConfig, type DDPMVarianceType } from './ddpm.js';
export {
  DPM_DEFAULTS,
  DPMSolverMultistepScheduler,
  type DPMSolverMultistepSchedulerConfig,
} from './dpm-solver-multistep.js';
export {
  EULER_DEFAULTS,
  EulerDiscreteScheduler,
  type EulerDiscreteSchedulerConfig,
  type EulerStepOptions,
} from './euler-discrete.js';
export { schedulerFromConfig } from './from-config.js';
export {
  Scheduler,
  type SchedulerOutput,
  type SchedulerStepOptions,
  type TimestepsLike,
} from './scheduler.js';
