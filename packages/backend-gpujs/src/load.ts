import type { GpuJsConstructor } from './gpujs-types.js';

type GpuJsModule = { GPU?: GpuJsConstructor; default?: { GPU?: GpuJsConstructor } };

const pick = (m: GpuJsModule): GpuJsConstructor | undefined => m.GPU ?? m.default?.GPU;

/**
 * Loads gpu.js. In browsers (and bundles) `gpu.js` resolves to its browser build. In Node the
 * package's main entry needs the native `gl` module (headless-gl); when that is missing or failed to
 * build (pnpm and `--ignore-scripts` installs skip its build, and it needs X11 headers), the browser
 * build is loaded instead: it has no native parts and runs gpu.js' CPU mode in Node.
 */
export async function loadGpuJs(): Promise<GpuJsConstructor> {
  const errors: string[] = [];
  try {
    const GPU = pick((await import('gpu.js')) as unknown as GpuJsModule);
    if (GPU) return GPU;
    errors.push('gpu.js: no GPU export');
  } catch (e) {
    errors.push(`gpu.js: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    // @ts-expect-error: the browser build ships no type declarations
    const GPU = pick((await import('gpu.js/dist/gpu-browser.js')) as GpuJsModule);
    if (GPU) return GPU;
    errors.push('gpu.js/dist/gpu-browser.js: no GPU export');
  } catch (e) {
    errors.push(`gpu.js/dist/gpu-browser.js: ${(e as Error).message.split('\n')[0]}`);
  }
  throw new Error(
    `initGpuJs: could not load gpu.js (${errors.join('; ')}); install it with \`npm install gpu.js@~2.16.0\` or pass { GPU } from a gpu.js you loaded yourself`,
  );
}
