#!/usr/bin/env node
// Runs every test file of the vitest projects alone, one vitest process per file, and lists the
// files that fail alone (a test that passes only after another file filled some global state).
// CI shuffles the order inside one run (.ci/run); this is the other half of "every test passes
// alone and in any order". Slow (one process per file): run by hand, after `pnpm build`.
//
//   node scripts/each-test-alone.mjs [filter]     e.g. `node scripts/each-test-alone.mjs tokenizer`
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv[2] ?? '';

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts') && !name.endsWith('.browser.test.ts')) out.push(p);
  }
  return out;
}

const runs = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', pkg, 'test');
  try {
    for (const f of testFiles(dir))
      runs.push([pkg, join('packages', pkg), relative(join(root, 'packages', pkg), f)]);
  } catch {
    // a package without tests
  }
}
for (const f of testFiles(join(root, 'tests'))) runs.push(['repo', '.', relative(root, f)]);

const failed = [];
for (const [project, cwd, file] of runs) {
  if (filter && !`${project}/${file}`.includes(filter)) continue;
  const t0 = Date.now();
  const r = spawnSync('npx', ['vitest', 'run', '--project', project, file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, VITEST_SEQUENCE_SEED: '' },
  });
  const ok = r.status === 0;
  const line = `${ok ? 'pass' : 'FAIL'}  ${project}  ${join(cwd, file)}  ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  console.log(line);
  if (!ok) {
    failed.push(line);
    console.log(
      (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => /FAIL|Error|×/.test(l))
        .slice(0, 12)
        .join('\n'),
    );
  }
}
console.log(
  `\n${failed.length ? `${failed.length} file(s) fail alone:\n${failed.join('\n')}` : 'every file passes alone'}`,
);
process.exit(failed.length ? 1 : 0);
