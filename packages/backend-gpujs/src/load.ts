import type { GpuJsConstructor } from './gpujs-types.js';

type GpuJsModule = { GPU?: GpuJsConstructor; default?: { GPU?: GpuJsConstructor } };

const pick = (m: GpuJsModule): GpuJsConstructor | undefined => m.GPU ?? m.default?.GPU;

const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** What {@link loadGpuJs} found: the gpu.js class and where it came from. */
export interface LoadedGpuJs {
  GPU: GpuJsConstructor;
  /** `'bundled'`: the browser build shipped in this package; `'gpu.js'`: the user's gpu.js package. */
  source: 'bundled' | 'gpu.js';
}

/**
 * The install hint for gpu.js' headless-gl mode, which needs the user's own gpu.js with the native
 * `gl` module built.
 */
export const HEADLESS_GL_HINT =
  "mode 'headlessgl' needs the gpu.js package with its native `gl` module built: `npm install gpu.js@~2.16.0` " +
  '(gl compiles with node-gyp: a C++ compiler, Python and the X11 headers, e.g. `apt-get install build-essential ' +
  "libxi-dev libxext-dev libx11-dev`), then run under a display (e.g. `xvfb-run -a node app.js`); without it, use mode 'cpu' in Node, or WebGL2 in a browser";

/**
 * The user's own gpu.js package (Node only), or the reason it is unusable. The specifier is a
 * variable so that bundlers neither resolve nor warn about it: this package does not depend on
 * gpu.js (its `gl` dependency is native), it ships gpu.js' browser build instead.
 */
async function userGpuJs(): Promise<GpuJsConstructor | string> {
  const specifier = 'gpu.js';
  try {
    const GPU = pick((await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as GpuJsModule);
    return GPU ?? 'gpu.js has no GPU export';
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

/**
 * Loads gpu.js. The package ships gpu.js' browser build (vendor/gpu-browser.js, no native parts):
 * WebGL2 or WebGL in browsers, gpu.js' CPU mode in Node. In Node, when `headlessGL` is asked for
 * (mode 'headlessgl' or the default mode), a gpu.js package the user installed is tried first: with
 * its native `gl` module built it runs kernels on headless-gl.
 */
export async function loadGpuJs(
  options: { headlessGL?: 'prefer' | 'require' | 'no' } = {},
): Promise<LoadedGpuJs> {
  const want = options.headlessGL ?? 'prefer';
  if (isNode() && want !== 'no') {
    const GPU = await userGpuJs();
    if (typeof GPU !== 'string' && GPU.isHeadlessGLSupported) return { GPU, source: 'gpu.js' };
    if (want === 'require') {
      const why =
        typeof GPU === 'string'
          ? `gpu.js did not load: ${GPU}`
          : 'gpu.js loaded but headless-gl is not supported here (is `gl` built, and is there a display?)';
      throw new Error(`initGpuJs: ${HEADLESS_GL_HINT} (${why})`);
    }
  }
  try {
    const GPU = pick((await import('../vendor/gpu-browser.js')) as GpuJsModule);
    if (GPU) return { GPU, source: 'bundled' };
    throw new Error('no GPU export');
  } catch (e) {
    throw new Error(
      `initGpuJs: could not load the gpu.js build shipped in @attnkit/backend-gpujs (vendor/gpu-browser.js: ${(e as Error).message.split('\n')[0]}); reinstall the package, or pass { GPU } from a gpu.js you loaded yourself`,
    );
  }
}
