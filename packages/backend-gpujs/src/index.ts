/**
 * @attnkit/backend-gpujs: the whole attnkit Backend interface as gpu.js kernels. In browsers the
 * kernels run as WebGL2 (or WebGL) shaders and results stay on the device as textures; in Node they
 * run in gpu.js' CPU mode (kernels compiled to JavaScript), or on headless-gl when you installed
 * gpu.js with its native `gl` module yourself. The package ships gpu.js' browser build (MIT, no
 * native parts), so installing it never compiles anything. Loading gpu.js is asynchronous, so
 * importing the package registers `gpujs` for initialisation on first use: `await
 * useBackend('gpujs')` loads gpu.js and makes it current; {@link initGpuJs} does the same with
 * options (mode, priority). It registers with priority 0, so it never becomes the default by itself.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-gpujs';
 * import { matmul, randn, useBackend } from '@attnkit/tensor-core';
 * const backend = await useBackend('gpujs');   // loads gpu.js, makes 'gpujs' current
 * const y = matmul(randn([128, 128]), randn([128, 128]));
 * console.log(backend.name, (await y.data()).length);
 * ```
 * @packageDocumentation
 */
import { registerBackend } from '@attnkit/tensor-core';
import { GpuJsBackend, type GpuJsBackendOptions } from './gpujs-backend.js';
import type { GpuJsConstructor, GpuJsInstance } from './gpujs-types.js';
import { HEADLESS_GL_HINT, loadGpuJs } from './load.js';

export { GpuJsBackend, type GpuJsBackendOptions, GpuJsStorage } from './gpujs-backend.js';
export type {
  GpuJsConstructor,
  GpuJsInstance,
  GpuJsKernel,
  GpuJsKernelSettings,
  GpuJsTexture,
} from './gpujs-types.js';

/** gpu.js modes this backend accepts. */
export type GpuJsMode = 'webgl2' | 'webgl' | 'headlessgl' | 'cpu';

/** Options of {@link initGpuJs}. */
export interface InitGpuJsOptions extends GpuJsBackendOptions {
  /**
   * gpu.js mode. Default: the best the environment supports, in the order webgl2, webgl,
   * headlessgl, cpu.
   */
  mode?: GpuJsMode;
  /**
   * A gpu.js `GPU` class you loaded yourself (e.g. from a script tag). Default: the gpu.js browser
   * build shipped in this package (no native parts), or in Node, for headless-gl, a `gpu.js`
   * package you installed yourself with its native `gl` module built.
   */
  GPU?: GpuJsConstructor;
  /** A ready gpu.js instance to run on (its mode is used as it is). */
  gpu?: GpuJsInstance;
  /** Registry priority (default 0: never the default; the CPU backend has 1). */
  priority?: number;
}

/** Picks the best mode the loaded gpu.js supports here. */
export function bestGpuJsMode(GPU: GpuJsConstructor): GpuJsMode {
  if (GPU.isWebGL2Supported) return 'webgl2';
  if (GPU.isWebGLSupported) return 'webgl';
  if (GPU.isHeadlessGLSupported) return 'headlessgl';
  return 'cpu';
}

/**
 * Loads gpu.js and creates a {@link GpuJsBackend}, without registering it. Rejects with a clear
 * error when gpu.js cannot be loaded or the requested mode is not supported.
 */
export async function createGpuJsBackend(options: InitGpuJsOptions = {}): Promise<GpuJsBackend> {
  let gpu = options.gpu;
  if (!gpu) {
    const modes: GpuJsMode[] = ['webgl2', 'webgl', 'headlessgl', 'cpu'];
    if (options.mode !== undefined && !modes.includes(options.mode)) {
      throw new TypeError(
        `initGpuJs: options.mode must be one of ${modes.join(', ')}; got ${JSON.stringify(options.mode)}`,
      );
    }
    const headlessGL =
      options.mode === 'headlessgl' ? 'require' : options.mode === undefined ? 'prefer' : 'no';
    const GPU = options.GPU ?? (await loadGpuJs({ headlessGL })).GPU;
    const mode = options.mode ?? bestGpuJsMode(GPU);
    if (mode === 'headlessgl' && !GPU.isHeadlessGLSupported) {
      throw new Error(`initGpuJs: ${HEADLESS_GL_HINT} (the gpu.js given in options.GPU has no headless-gl)`);
    }
    try {
      gpu = new GPU({ mode });
    } catch (e) {
      throw new Error(
        `initGpuJs: gpu.js cannot run in mode '${mode}' here (${(e as Error).message}); supported here: ${bestGpuJsMode(GPU)}`,
      );
    }
  }
  return new GpuJsBackend(gpu, options);
}

/**
 * Loads gpu.js, creates a {@link GpuJsBackend} and registers it as `gpujs` (priority 0 unless
 * given), replacing the entry that importing the package registered. Rejects with a clear error
 * when gpu.js cannot be loaded or the requested mode is not supported.
 *
 * @example
 * ```ts
 * await initGpuJs({ mode: 'cpu' }); // force gpu.js' CPU mode
 * setBackend('gpujs');
 * ```
 */
export async function initGpuJs(options: InitGpuJsOptions = {}): Promise<GpuJsBackend> {
  const backend = await createGpuJsBackend(options);
  registerBackend('gpujs', () => backend, options.priority ?? 0);
  return backend;
}

// Importing the package registers 'gpujs' for initialisation on first use, with default options:
// `await useBackend('gpujs')` (tensor-core) loads gpu.js then. initGpuJs(options) replaces this
// entry with a backend made with its options.
registerBackend('gpujs', () => createGpuJsBackend(), 0);
