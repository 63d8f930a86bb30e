// Every package installs on its own: pack each package under packages/ with pnpm (which rewrites
// `workspace:*` to real versions), install each tarball with npm into its own fresh project outside
// the workspace, together with the tarballs of the attnkit packages it depends on (and nothing
// else), then import it with plain Node. This proves `exports`, `files` and `dependencies`: a
// missing dist file, an undeclared dependency or a wrong exports map fails here.
//
// Needs built packages (the root `test` script runs `turbo run build` first).
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const folders = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);

interface Manifest {
  name: string;
  version: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
}
const manifests = new Map<string, Manifest>(
  folders.map((d) => [
    d,
    JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as Manifest,
  ]),
);

/**
 * Named exports each package must offer once installed (the core of its public API). Extend as
 * packages grow; every other export is checked against the workspace build below.
 */
const REQUIRED_EXPORTS: Record<string, string[]> = {
  hub: ['openFiles', 'readJson', 'readWeightFiles', 'resolveConfig', 'standardRope', 'ACTIVATIONS'],
  tokenizer: ['getEncoding', 'encodingForModel', 'Encoding'],
  'tensor-core': ['tensor', 'matmul', 'softmax', 'registerBackend', 'setBackend', 'tidy', 'memory'],
  'backend-cpu': ['CpuBackend'],
  attention: ['scaledDotProductAttention', 'MultiHeadAttention'],
  sampling: ['generate'],
  transformer: ['GPT2LMHeadModel'],
  diffusion: ['DDPMScheduler', 'DDIMScheduler'],
};

/** pnpm: the one running this test (`pnpm test`), else the pinned version through npx. */
function pnpmCommand(): [string, string[]] {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by pnpm itself for scripts; not a build input
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath) && existsSync(execPath)) return [process.execPath, [execPath]];
  return ['npx', ['-y', 'pnpm@10.34.9']];
}

const work = mkdtempSync(join(tmpdir(), 'attnkit-pack-'));
const tarballDir = join(work, 'tarballs');
const tarballs = new Map<string, string>(); // package name -> tarball path

beforeAll(async () => {
  const unbuilt = folders.filter((d) => !existsSync(join(root, 'packages', d, 'dist', 'index.js')));
  if (unbuilt.length) {
    throw new Error(`pack-install: packages not built (${unbuilt.join(', ')}); run \`pnpm build\` first`);
  }
  mkdirSync(tarballDir);
  const [cmd, pre] = pnpmCommand();
  await run(cmd, [...pre, '-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballDir], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  const files = readdirSync(tarballDir);
  for (const m of manifests.values()) {
    const file = `${m.name.replace('@', '').replace('/', '-')}-${m.version}.tgz`;
    if (!files.includes(file))
      throw new Error(`pack-install: pnpm pack wrote no ${file} (got ${files.join(', ')})`);
    tarballs.set(m.name, join(tarballDir, file));
  }
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The attnkit packages `name` needs at run time, itself included (transitively). */
function closure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const m = [...manifests.values()].find((x) => x.name === name);
  if (!m) throw new Error(`pack-install: ${name} is not a package of this workspace`);
  for (const dep of Object.keys(m.dependencies ?? {})) if (dep.startsWith('@attnkit/')) closure(dep, seen);
  return seen;
}

const projects = new Map<string, Promise<string>>();

/** Installs package `folder` and its attnkit dependencies from tarballs into a fresh project (once). */
function freshProject(folder: string): Promise<string> {
  let p = projects.get(folder);
  if (!p) {
    p = install(folder);
    projects.set(folder, p);
  }
  return p;
}

async function install(folder: string): Promise<string> {
  const name = manifests.get(folder)!.name;
  const dir = join(work, `project-${folder}`);
  mkdirSync(dir);
  const deps = Object.fromEntries([...closure(name)].map((n) => [n, `file:${tarballs.get(n)}`]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: `pack-check-${folder}`,
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: deps,
    }),
  );
  // --ignore-scripts: attnkit packages have no install scripts; third-party ones (gpu.js's `gl`
  // compiles with node-gyp, which downloads headers) need a network this test must not depend on.
  // pnpm 10 skips dependency build scripts by default too, so the workspace runs the same way.
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'],
    {
      cwd: dir,
      maxBuffer: 64 << 20,
    },
  );
  return dir;
}

/** Runs an ES module snippet with plain Node in `dir`; returns its stdout. */
async function node(dir: string, code: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: dir });
  return stdout.trim();
}

/** The export names of a module specifier, seen from `dir`. */
async function exportNames(dir: string, specifier: string): Promise<string[]> {
  const out = await node(
    dir,
    `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`,
  );
  return JSON.parse(out) as string[];
}

describe.each(folders)('@attnkit/%s packed and installed with npm', (folder) => {
  it('imports with plain Node, every subpath export, with the exports of the workspace build', async () => {
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
