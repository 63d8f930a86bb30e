// Types of the vendored gpu.js browser build (vendor/gpu-browser.js): the part this package uses.
import type { GpuJsConstructor } from '../src/gpujs-types.js';

export declare const GPU: GpuJsConstructor;
declare const gpujs: { GPU: GpuJsConstructor };
export default gpujs;
