// Scaffolds packages/<name> with the files every attnkit package carries.
// Usage: node scripts/new-package.mjs <name> "<description>" [dep ...]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...]');
  process.exit(1);
}
const dir = join('packages', name);
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const write = (file, text) => {
  if (!existsSync(join(dir, file))) writeFileSync(join(dir, file), text);
};
const pkg = {
  name: `@attnkit/${name}`,
  version: '0.0.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
  main: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', 'src', 'README.md'],
  engines: { node: '>=20.19' },
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    test: `vitest run --root ../.. --project ${name}`,
  },
  dependencies: Object.fromEntries(deps.map((d) => [`@attnkit/${d}`, 'workspace:*'])),
  repository: { type: 'git', url: 'https://example.invalid/attnkit.git', directory: `packages/${name}` },
  keywords: ['attnkit', 'transformers', 'machine-learning'],
};
write('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
write(
  'tsconfig.json',
  `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['src', 'test'] }, null, 2)}\n`,
);
write(
  'tsconfig.build.json',
  `${JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }, null, 2)}\n`,
);
write(
  'typedoc.json',
  `${JSON.stringify({ $schema: 'https://typedoc.org/schema.json', entryPoints: ['src/index.ts'], readme: 'README.md', tsconfig: 'tsconfig.build.json' }, null, 2)}\n`,
);
console.log(`scaffolded ${dir}`);
