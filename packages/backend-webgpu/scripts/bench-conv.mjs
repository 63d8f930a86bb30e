// Micro-benchmark of backend-webgpu's conv2d: ms per call (median, readback included) for a few
// U-Net-like convolutions, beside a matmul with the same FLOPs on the same adapter.
//
//   pnpm --filter @attnkit/tensor-core --filter @attnkit/backend-webgpu build
//   node packages/backend-webgpu/scripts/bench-conv.mjs            # GPU if Dawn finds one
//   ATTNKIT_SWIFTSHADER=1 node packages/backend-webgpu/scripts/bench-conv.mjs   # SwiftShader
//
// ATTNKIT_BENCH_REPS (default 5) sets the timed runs per case; ATTNKIT_BENCH_CASES picks cases by
// name (comma-separated, e.g. `3x3-64-32`).
import { existsSync } from 'node:fs';
import { conv2d, Generator, matmul, randn, setBackend } from '@attnkit/tensor-core';
import { initWebGPU } from '../dist/index.js';

const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.ATTNKIT_SWIFTSHADER && !process.env.VK_ICD_FILENAMES && existsSync(icd)) {
  process.env.VK_ICD_FILENAMES = icd;
}

/** [name, N, C, H, W, O, k, stride, padding, groups] */
const cases = [
  ['3x3-64-32', 1, 64, 32, 32, 64, 3, 1, 1, 1],
  ['3x3-128-16', 1, 128, 16, 16, 128, 3, 1, 1, 1],
  ['3x3-32-64', 1, 32, 64, 64, 32, 3, 1, 1, 1],
  ['3x3-3to32-32', 1, 3, 32, 32, 32, 3, 1, 1, 1],
  ['1x1-128-16', 2, 128, 16, 16, 256, 1, 1, 0, 1],
  ['3x3s2-64-32', 1, 64, 32, 32, 64, 3, 2, 1, 1],
  ['3x3g32-64-32', 1, 64, 32, 32, 64, 3, 1, 1, 32],
];
const pick = process.env.ATTNKIT_BENCH_CASES?.split(',');
const reps = Number(process.env.ATTNKIT_BENCH_REPS ?? 5);

const backend = await initWebGPU();
setBackend('webgpu');
console.log(`adapter: ${backend.adapterName}`);

async function time(fn) {
  await (await fn()).data(); // warm-up (shader compile)
  const ts = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const y = fn();
    await y.data();
    ts.push(performance.now() - t0);
    y.dispose();
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

const gen = new Generator(0);
console.log('| case | x | w | conv ms | GFLOP/s | matmul (same FLOPs) ms |');
console.log('|---|---|---|---|---|---|');
for (const [name, n, c, h, w, o, k, s, p, g] of cases) {
  if (pick && !pick.includes(name)) continue;
  const x = randn([n, c, h, w], { generator: gen });
  const wt = randn([o, c / g, k, k], { generator: gen });
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const flops = 2 * n * o * oh * ow * (c / g) * k * k;
  const ms = await time(() => conv2d(x, wt, null, { stride: s, padding: p, groups: g }));
  // the same GEMM: [o, (c/g)·k·k] @ [(c/g)·k·k, n·oh·ow] per group, as one batched product
  const a = randn([g, o / g, (c / g) * k * k], { generator: gen });
  const b = randn([g, (c / g) * k * k, n * oh * ow], { generator: gen });
  const mm = await time(() => matmul(a, b));
  console.log(
    `| ${name} | ${[n, c, h, w].join('×')} | ${[o, c / g, k, k].join('×')} | ${ms.toFixed(1)} | ${(flops / ms / 1e6).toFixed(3)} | ${mm.toFixed(1)} |`,
  );
  for (const t of [x, wt, a, b]) t.dispose();
}
backend.dispose?.();
process.exit(0);
