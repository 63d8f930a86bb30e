// Lints every package under packages/ as it would be published: publint (exports, files, fields;
// --strict turns its warnings into errors) and arethetypeswrong (types resolve for every entry
// point under node16 ESM/CJS and bundler resolution). Run after `pnpm build`:
//   node scripts/check-packages.mjs [folder ...]
//
// arethetypeswrong: `--profile node16` leaves out node10 resolution (no `exports` support: the
// subpath exports cannot resolve there, by design), and the rule cjs-resolves-to-esm is ignored
// because the packages are ESM loaded from CommonJS through require(esm): Node >= 20.19 (the
// packages' `engines`) does it natively, and TypeScript >= 5.8 types it under `module: nodenext`.
// tests/consumer.test.ts checks exactly that path (a .cts file compiled with nodenext and run).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const wanted = process.argv.slice(2);
const folders = readdirSync(join(root, 'packages')).filter(
  (d) => existsSync(join(root, 'packages', d, 'package.json')) && (!wanted.length || wanted.includes(d)),
);
const out = mkdtempSync(join(tmpdir(), 'attnkit-check-'));
const failed = [];
try {
  for (const folder of folders) {
    const dir = join(root, 'packages', folder);
    console.log(`\n== @attnkit/${folder}`);
    try {
      execFileSync(bin('publint'), ['--strict', '--pack', 'npm'], { cwd: dir, stdio: 'inherit' });
      const tgz = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', out], {
        cwd: dir,
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .pop();
      execFileSync(
        bin('attw'),
        [
          join(out, tgz),
          '--profile',
          'node16',
          '--ignore-rules',
          'cjs-resolves-to-esm',
          '--format',
          'table-flipped',
        ],
        { stdio: 'inherit' },
      );
    } catch {
      failed.push(folder);
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failed.length) {
  console.error(`\ncheck-packages: failed for ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\ncheck-packages: publint and arethetypeswrong pass for ${folders.length} packages`);
