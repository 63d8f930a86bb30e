// gpu.js comes from the browser build this package ships (vendor/gpu-browser.js), so installing the
// package never builds the native `gl`; headless-gl is opt-in through the user's own gpu.js.
import { readFileSync } from 'node:fs';
import '@attnkit/backend-cpu';
import { GpuJsBackend, initGpuJs } from '@attnkit/backend-gpujs';
import { add, setBackend, tensor, useBackend } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { vendoredFiles } from '../scripts/vendor-gpujs.mjs';
import type { GpuJsConstructor } from '../src/gpujs-types.js';
import { loadGpuJs } from '../src/load.js';

describe('importing the package registers gpujs for initialisation on first use', () => {
  it("await useBackend('gpujs') loads gpu.js and runs ops on it", async () => {
    const backend = await useBackend('gpujs');
    expect(backend).toBeInstanceOf(GpuJsBackend);
    const y = add(tensor([1, 2]), tensor([10, 20]));
    expect(y.backend).toBe(backend);
    expect(Array.from(await y.data())).toEqual([11, 22]);
    setBackend('cpu');
  });
});

describe('the vendored gpu.js browser build', () => {
  it('is exactly the wrapped dist/gpu-browser.min.js of the gpu.js devDependency, with its licenses', () => {
    const files = vendoredFiles() as Record<string, string>;
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(new URL(`../vendor/${name}`, import.meta.url), 'utf8'), name).toBe(text);
    }
    for (const dep of ['gpu.js', 'acorn', 'gl-wiretap', 'gpu-mock.js'])
      expect(files['THIRD_PARTY_LICENSES.txt']).toMatch(new RegExp(`^${dep.replace('.', '\\.')} \\d`, 'm'));
  });

  it('loads in Node without the gl module and runs a kernel in CPU mode', async () => {
    const { GPU, source } = await loadGpuJs({ headlessGL: 'no' });
    expect(source).toBe('bundled');
    expect(GPU.isHeadlessGLSupported).toBeFalsy();
    const gpu = new GPU({ mode: 'cpu' });
    const kernel = gpu.createKernel('function (a) { return a[this.thread.x] * 2 + 1; }', {
      output: [3],
    });
    // Hand-derived: 2a + 1.
    expect(Array.from(kernel([1, 2, 3]) as Float32Array)).toEqual([3, 5, 7]);
    gpu.destroy();
  });

  it('initGpuJs() picks the bundled build in Node where gpu.js/gl is not built', async () => {
    const backend = await initGpuJs({ priority: -1 });
    expect(backend.mode).toBe('cpu');
  });
});

describe('initGpuJs: headless-gl is opt-in and its absence is explained', () => {
  it("mode 'headlessgl' without a gpu.js that has headless-gl names the install and the alternatives", async () => {
    const NoHeadless = class {
      mode = 'cpu';
      createKernel(): never {
        throw new Error('unused');
      }
      destroy(): void {}
    } as unknown as GpuJsConstructor;
    const err = await initGpuJs({ mode: 'headlessgl', GPU: NoHeadless }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^initGpuJs: mode 'headlessgl' needs the gpu\.js package/);
    expect((err as Error).message).toContain('npm install gpu.js@~2.16.0');
    expect((err as Error).message).toContain("use mode 'cpu'");
  });

  it("mode 'headlessgl' loading the user's gpu.js says why it is unusable", async () => {
    // In this workspace gpu.js is a devDependency whose `gl` is not built (pnpm skips build scripts).
    const err = await loadGpuJs({ headlessGL: 'require' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/needs the gpu\.js package with its native `gl` module built/);
  });

  it('rejects an unknown mode before loading anything', async () => {
    await expect(initGpuJs({ mode: 'webgpu' as 'cpu' })).rejects.toThrow(
      /initGpuJs: options\.mode must be one of webgl2, webgl, headlessgl, cpu; got "webgpu"/,
    );
  });
});
