// Packing the workspace's packages as they are published and installing them with plain npm into
// fresh projects outside the workspace: shared by the pack-install and consumer tests.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const root = fileURLToPath(new URL('..', import.meta.url));

export interface Manifest {
  name: string;
  version: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Package folder under packages/ -> its package.json. */
export const manifests = new Map<string, Manifest>(
  readdirSync(join(root, 'packages'))
    .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
    .map((d) => [d, JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as Manifest]),
);
export const folders = [...manifests.keys()];

/** pnpm: the one running this test (`pnpm test`), else the pinned version through npx. */
function pnpmCommand(): [string, string[]] {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by pnpm itself for scripts; not a build input
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath) && existsSync(execPath)) return [process.execPath, [execPath]];
  return ['npx', ['-y', 'pnpm@10.34.9']];
}

/**
 * Packs every package with pnpm (which rewrites `workspace:*` to real versions) into `dir`; returns
 * package name -> tarball path. Needs built packages (the root `test` script builds first).
 */
export async function packAll(dir: string, who: string): Promise<Map<string, string>> {
  const unbuilt = folders.filter((d) => !existsSync(join(root, 'packages', d, 'dist', 'index.js')));
  if (unbuilt.length) {
    throw new Error(`${who}: packages not built (${unbuilt.join(', ')}); run \`pnpm build\` first`);
  }
  mkdirSync(dir, { recursive: true });
  const [cmd, pre] = pnpmCommand();
  await run(cmd, [...pre, '-r', '--filter', './packages/*', 'pack', '--pack-destination', dir], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  const files = readdirSync(dir);
  const tarballs = new Map<string, string>();
  for (const m of manifests.values()) {
    const file = `${m.name.replace('@', '').replace('/', '-')}-${m.version}.tgz`;
    if (!files.includes(file))
      throw new Error(`${who}: pnpm pack wrote no ${file} (got ${files.join(', ')})`);
    tarballs.set(m.name, join(dir, file));
  }
  return tarballs;
}

/** The attnkit packages `name` needs at run time, itself included (transitively). */
export function closure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const m = [...manifests.values()].find((x) => x.name === name);
  if (!m) throw new Error(`closure: ${name} is not a package of this workspace`);
  for (const dep of Object.keys(m.dependencies ?? {})) if (dep.startsWith('@attnkit/')) closure(dep, seen);
  return seen;
}

/**
 * A fresh project in `dir` with `names` (and their attnkit dependencies) installed from their
 * tarballs by plain `npm install`, as a user runs it: install scripts of every dependency run, so
 * a dependency that needs a compiler, X11 headers or a download beyond the registry fails here.
 */
export async function npmProject(
  dir: string,
  names: string[],
  tarballs: Map<string, string>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const all = new Set<string>();
  for (const n of names) closure(n, all);
  const deps = Object.fromEntries([...all].map((n) => [n, `file:${tarballs.get(n)}`]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'attnkit-consumer',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: deps,
      ...extra,
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: dir,
    maxBuffer: 64 << 20,
  });
  return dir;
}

/** Runs an ES module snippet with plain Node in `dir`; returns its stdout. */
export async function node(dir: string, code: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: dir });
  return stdout.trim();
}
