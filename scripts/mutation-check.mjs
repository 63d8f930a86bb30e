#!/usr/bin/env node
// Mutation check of the backend conformance suite: applies small, realistic bugs to kernels and
// gradients one at a time, runs the conformance cases of the ops each one touches on every backend
// (cpu, gpu.js, WebGPU through Dawn), and requires every mutant to fail there. A mutant that passes
// means the suite's tolerances (or its cases) cannot see that bug: the script exits 1 and says which.
//
//   node scripts/mutation-check.mjs            # all mutants, all backends
//   node scripts/mutation-check.mjs --list     # print the mutants
//
// Each mutant edits a source file in place (tests run from sources) and restores it afterwards,
// also on Ctrl-C. Cost: one short vitest run per mutant and backend (about 13 runs, 2-4 minutes on
// two cores). CI runs it from .ci/run.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const ALL = ['cpu', 'gpujs', 'webgpu'];
const PROJECT = { cpu: 'backend-cpu', gpujs: 'backend-gpujs', webgpu: 'backend-webgpu' };

/**
 * A mutant: edits (file, exact text, replacement; the text must occur exactly once), the ops whose
 * conformance cases must catch it, and the backends it applies to (an edit may be backend-specific).
 */
const mutants = [
  {
    name: 'matmul gradient scaled by 1.02',
    ops: ['matmul'],
    edits: {
      [ALL]: [
        [
          'packages/tensor-core/src/ops/matmul.ts',
          'reduceToShape(matmul(g2, b2.transpose(-1, -2)), a2.shape)',
          'reduceToShape(matmul(g2, b2.transpose(-1, -2)).mul(1.02), a2.shape)',
        ],
      ],
    },
  },
  {
    name: "sigmoid's backward y(1 - y) scaled by 1.02 (its saturated gradients have the loosest bound)",
    ops: ['sigmoid'],
    edits: {
      [ALL]: [
        [
          'packages/tensor-core/src/ops/elementwise.ts',
          "unaryOp('sigmoid', 'sigmoid', x, (_x, y, g) => mul(g, mul(y, sub(1, y))))",
          "unaryOp('sigmoid', 'sigmoid', x, (_x, y, g) => mul(g, mul(mul(y, sub(1, y)), 1.02)))",
        ],
      ],
    },
  },
  {
    name: "layerNorm forward drops the 1/sigma rescale (each backend's kernel; gpu.js uses tensor-core's composition)",
    ops: ['layerNorm'],
    edits: {
      cpu: [
        [
          'packages/backend-cpu/src/kernels/norm.ts',
          'let y = (src[base + i] - mean) * rstd;',
          'let y = src[base + i] - mean;',
        ],
      ],
      webgpu: [
        [
          'packages/backend-webgpu/src/kernels/norm.ts',
          'var y = (X(j) - mean) * rstd;',
          'var y = X(j) - mean;',
        ],
      ],
      gpujs: [['packages/tensor-core/src/ops/norm.ts', 'let o = mul(d, rsqrt(add(v, eps)));', 'let o = d;']],
    },
  },
  {
    name: 'off-by-one in the triangular mask (tril/triu keep one diagonal too many)',
    ops: ['tril', 'triu'],
    edits: {
      [ALL]: [
        [
          'packages/tensor-core/src/ops/shape-ops.ts',
          "return op === 'tril' ? le(diff, diagonal) : ge(diff, diagonal);",
          "return op === 'tril' ? le(diff, diagonal + 1) : ge(diff, diagonal - 1);",
        ],
      ],
    },
  },
  {
    name: 'permute swaps the strides of its first two output dims',
    ops: ['permute', 'contiguous', 'mul'],
    edits: {
      [ALL]: [
        [
          'packages/tensor-core/src/tensor.ts',
          'axes.map((a) => this.strides[a]),',
          'axes.map((a, i) => this.strides[axes.length > 1 && i < 2 ? axes[1 - i] : a]),',
        ],
      ],
    },
  },
];

/** The edits of a mutant for one backend. */
function editsFor(m, backend) {
  for (const [key, list] of Object.entries(m.edits)) {
    if (key.split(',').includes(backend)) return list;
  }
  return null;
}

if (process.argv.includes('--list')) {
  for (const m of mutants) console.log(`${m.name}  [${m.ops.join(', ')}]`);
  process.exit(0);
}

const originals = new Map();
function restore() {
  for (const [file, text] of originals) writeFileSync(file, text);
  originals.clear();
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    restore();
    process.exit(130);
  });
}

function apply(edits) {
  for (const [rel, from, to] of edits) {
    const file = join(root, rel);
    const text = originals.get(file) ?? readFileSync(file, 'utf8');
    if (!originals.has(file)) originals.set(file, text);
    const current = readFileSync(file, 'utf8');
    const at = current.indexOf(from);
    if (at < 0 || current.indexOf(from, at + 1) >= 0) {
      throw new Error(
        `mutation-check: '${from}' must occur exactly once in ${rel} (the code moved: update the mutant)`,
      );
    }
    writeFileSync(file, current.replace(from, to));
  }
}

/** Runs the conformance cases of `ops` on `backend`; returns { failed, passed, output }. */
function runSubset(backend, ops) {
  const pattern = `^${backend}: (${ops.join('|')}) `;
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--project', PROJECT[backend], 'test/conformance.test.ts', '-t', pattern],
    { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
  );
  const output = `${r.stdout}\n${r.stderr}`;
  const tests = output.match(/Tests\s+(.*)/)?.[1] ?? '';
  const failed = Number(tests.match(/(\d+) failed/)?.[1] ?? 0);
  const passed = Number(tests.match(/(\d+) passed/)?.[1] ?? 0);
  return { failed, passed, output, status: r.status };
}

const survivors = [];
const t0 = Date.now();
for (const m of mutants) {
  for (const backend of ALL) {
    const edits = editsFor(m, backend);
    if (!edits) continue;
    let res;
    try {
      apply(edits);
      res = runSubset(backend, m.ops);
    } finally {
      restore();
    }
    // Killed: at least one conformance case failed on a value or gradient mismatch (not a crash
    // before any test ran, which would prove nothing about the tolerances).
    const killed = res.failed > 0 && /allowed error|expected/.test(res.output);
    console.log(
      `${killed ? 'killed  ' : 'SURVIVED'} ${backend.padEnd(6)} ${m.name}: ${res.failed} of ${res.failed + res.passed} cases failed`,
    );
    if (!killed) {
      survivors.push(`${backend}: ${m.name}`);
      if (res.failed + res.passed === 0) console.log(res.output.slice(-2000));
    }
  }
}
console.log(`mutation check: ${survivors.length} survivors, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (survivors.length) {
  console.log(`the conformance suite cannot see:\n  ${survivors.join('\n  ')}`);
  process.exit(1);
}
