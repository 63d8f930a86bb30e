// Every package installs on its own: pack each package under packages/ with pnpm (which rewrites
// `workspace:*` to real versions), install each tarball with plain npm (install scripts included,
// as a user runs it) into its own fresh project outside the workspace, together with the tarballs
// of the attnkit packages it depends on (and nothing else), then import it with plain Node, and
// require() it from CommonJS. This proves `exports`, `files` and `dependencies`: a missing dist
// file, an undeclared dependency, a wrong exports map or a dependency that needs a native build
// fails here.
//
// Needs built packages (the root `test` script runs `turbo run build` first).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folders, manifests, node, npmProject, packAll, root, run } from './packed.js';

/**
 * Named exports each package must offer once installed (the core of its public API). Extend as
 * packages grow; every other export is checked against the workspace build below.
 */
const REQUIRED_EXPORTS: Record<string, string[]> = {
  hub: ['openFiles', 'readJson', 'readWeightFiles', 'resolveConfig', 'standardRope', 'ACTIVATIONS'],
  tokenizer: ['getEncoding', 'encodingForModel', 'Encoding'],
  'tensor-core': ['tensor', 'matmul', 'softmax', 'registerBackend', 'setBackend', 'tidy', 'memory'],
  'backend-cpu': ['CpuBackend'],
  'backend-gpujs': ['initGpuJs', 'GpuJsBackend'],
  'backend-webgpu': ['initWebGPU', 'WebGPUBackend'],
  attention: ['scaledDotProductAttention', 'MultiHeadAttention'],
  sampling: ['generate'],
  transformer: ['GPT2LMHeadModel', 'loadPretrained'],
  diffusion: ['DDPMScheduler', 'DDIMScheduler'],
};

const work = mkdtempSync(join(tmpdir(), 'attnkit-pack-'));
let tarballs = new Map<string, string>();

beforeAll(async () => {
  tarballs = await packAll(join(work, 'tarballs'), 'pack-install');
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
}, 120_000); // many small files on a busy machine

const projects = new Map<string, Promise<string>>();

/** Installs package `folder` and its attnkit dependencies from tarballs into a fresh project (once). */
function freshProject(folder: string): Promise<string> {
  let p = projects.get(folder);
  if (!p) {
    p = npmProject(join(work, `project-${folder}`), [manifests.get(folder)!.name], tarballs);
    projects.set(folder, p);
  }
  return p;
}

/** The export names of a module specifier, seen from `dir` through import(). */
async function exportNames(dir: string, specifier: string): Promise<string[]> {
  const out = await node(
    dir,
    `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`,
  );
  return JSON.parse(out) as string[];
}

/** The export names of a module specifier, seen from a CommonJS file in `dir` through require(). */
async function requiredNames(dir: string, specifier: string): Promise<string[]> {
  const file = join(dir, 'require-check.cjs');
  writeFileSync(
    file,
    `const m = require(${JSON.stringify(specifier)});\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`,
  );
  const { stdout } = await run(process.execPath, [file], { cwd: dir });
  return JSON.parse(stdout) as string[];
}

describe.each(folders)('@attnkit/%s packed and installed with npm', (folder) => {
  it('imports and requires with plain Node, every subpath export, with the exports of the workspace build', async () => {
    const m = manifests.get(folder)!;
    const dir = await freshProject(folder);
    // Nothing from the workspace leaks in: the installed copy lives in the fresh project.
    expect(existsSync(join(dir, 'node_modules', ...m.name.split('/'), 'package.json'))).toBe(true);
    const subpaths = Object.keys(m.exports ?? { '.': null });
    for (const sub of subpaths) {
      const specifier = sub === '.' ? m.name : `${m.name}/${sub.slice(2)}`;
      const installed = await exportNames(dir, specifier);
      // Reference: the same entry point of the package's own build in the workspace.
      const distFile = sub === '.' ? 'dist/index.js' : `dist/${sub.slice(2)}/index.js`;
      const built = await exportNames(root, join(root, 'packages', folder, distFile));
      expect(installed, specifier).toEqual(built);
      // CommonJS: require() gets the same module (require(esm), Node >= 20.19).
      expect(await requiredNames(dir, specifier), `require(${specifier})`).toEqual(built);
    }
    const main = await exportNames(dir, m.name);
    for (const name of REQUIRED_EXPORTS[folder] ?? [])
      expect(main, `${m.name} exports ${name}`).toContain(name);
  }, 300_000);
});

describe('installed packages work together', () => {
  it('backend-cpu registers into the tensor-core the user imports, and computes', async () => {
    const dir = await freshProject('backend-cpu');
    const out = await node(
      dir,
      `await import('@attnkit/backend-cpu');
       const { tensor, matmul } = await import('@attnkit/tensor-core');
       const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
       console.log(JSON.stringify({ shape: y.shape, values: Array.from(await y.data()) }));`,
    );
    // Hand-derived: 1*3 + 2*4 = 11.
    expect(JSON.parse(out)).toEqual({ shape: [1, 1], values: [11] });
  }, 60_000);

  it('backend-gpujs installs without gpu.js and its native gl, and computes with its bundled gpu.js', async () => {
    const dir = await freshProject('backend-gpujs');
    expect(existsSync(join(dir, 'node_modules', 'gl')), 'gl is not installed').toBe(false);
    expect(existsSync(join(dir, 'node_modules', 'gpu.js')), 'gpu.js is not installed').toBe(false);
    const out = await node(
      dir,
      `const { initGpuJs } = await import('@attnkit/backend-gpujs');
       const { tensor, matmul, setBackend } = await import('@attnkit/tensor-core');
       const backend = await initGpuJs();
       await setBackend('gpujs');
       const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
       console.log(JSON.stringify({ mode: backend.mode, on: y.backend.name, values: Array.from(await y.data()) }));`,
    );
    expect(JSON.parse(out)).toEqual({ mode: 'cpu', on: 'gpujs', values: [11] });
    // headless-gl is opt-in, and its absence is explained.
    const err = await node(
      dir,
      `const { initGpuJs } = await import('@attnkit/backend-gpujs');
       await initGpuJs({ mode: 'headlessgl' }).catch((e) => console.log(e.message));`,
    );
    expect(err).toMatch(
      /^initGpuJs: mode 'headlessgl' needs the gpu\.js package.*npm install gpu\.js@~2\.16\.0/,
    );
  }, 300_000);

  it('the tokenizer loads its rank data from its declared dependencies', async () => {
    const dir = await freshProject('tokenizer');
    const out = await node(
      dir,
      `const { getEncoding } = await import('@attnkit/tokenizer');
       const enc = await getEncoding('r50k_base');
       console.log(JSON.stringify(enc.encode('hello world')));`,
    );
    // Reference: tiktoken / js-tiktoken 1.0.21, r50k_base.encode('hello world').
    expect(JSON.parse(out)).toEqual([31373, 995]);
  }, 60_000);
});
