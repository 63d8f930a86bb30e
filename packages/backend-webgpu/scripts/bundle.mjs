// Bundles a Node entry (the WebGPU bench, or the conformance runner) into one self-contained .mjs
// under <repo>/.bench-out/, with every dependency inlined except the native `webgpu` package, which
// is copied beside it (.bench-out/webgpu/node_modules/webgpu, this platform's binary only). The folder can
// then be copied to a GPU machine with Node ≥ 20 and run there:
//   node packages/backend-webgpu/scripts/bundle.mjs bench        -> .bench-out/webgpu/webgpu-bench.mjs
//   node packages/backend-webgpu/scripts/bundle.mjs conformance  -> .bench-out/webgpu/webgpu-conformance.mjs
//   node .bench-out/webgpu/webgpu-bench.mjs
import { cpSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const out = join(root, '.bench-out/webgpu');
const entries = {
  bench: join(root, 'apps/bench/src/webgpu.ts'),
  conformance: join(here, 'conformance.ts'),
};
const arg = process.argv[2] ?? 'bench';
// A path to any other .ts entry also works (bundled as webgpu-<basename>.mjs).
const which = arg.endsWith('.ts') ? arg.replace(/^.*\//, '').replace(/\.ts$/, '') : arg;
const entry = entries[arg] ?? (arg.endsWith('.ts') ? arg : undefined);
if (!entry)
  throw new Error(`bundle.mjs: unknown target '${which}' (expected ${Object.keys(entries).join(' or ')})`);

await build({
  configFile: false,
  logLevel: 'warn',
  resolve: {
    alias: [
      { find: /^@attnkit\/([a-z0-9-]+)$/, replacement: `${root}/packages/$1/src/index.ts` },
      { find: /^@attnkit\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}/packages/$1/src/$2/index.ts` },
    ],
  },
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    ssr: entry,
    outDir: out,
    emptyOutDir: false,
    minify: false,
    rollupOptions: {
      external: ['webgpu'],
      output: {
        entryFileNames: `webgpu-${which}.mjs`,
        inlineDynamicImports: true,
        // CommonJS dependencies (tfjs) call require().
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    },
  },
});

// The native Dawn binding cannot be bundled: copy the package with this platform's binary only.
const pkg = realpathSync(join(here, '../node_modules/webgpu'));
const dest = join(out, 'node_modules/webgpu');
mkdirSync(dest, { recursive: true });
for (const f of ['index.js', 'package.json', 'LICENSE.md'])
  if (existsSync(join(pkg, f))) cpSync(join(pkg, f), join(dest, f));
const plat = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
cpSync(join(pkg, 'dist', plat), join(dest, 'dist', plat), { recursive: true });
// webgpu's index.js imports nothing else at runtime except node builtins; `debug` is only for its build scripts.
console.log(`wrote ${join(out, `webgpu-${which}.mjs`)} and ${dest}`);
