export { makeMoons, makeRings, makeSwissRoll, type ToyDataOptions } from './datasets.js';
export { EMAModel, type EMAOptions } from './ema.js';
export { energyDistance } from './metrics.js';
export { MLPDenoiser, type MLPDenoiserOptions } from './mlp-denoiser.js';
export {
  type Denoiser,
  type DenoiserObjective,
  denoiserProgressLine,
  type TrainDenoiserOptions,
  type TrainDenoiserResult,
  trainDenoiser,
} from './train-denoiser.js';
