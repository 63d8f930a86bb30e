// Micro-benchmark of backend-webgpu's conv2d: ms per call (median, readback included) for
// U-Net-like convolutions, the implicit GEMM the backend uses beside the direct kernel (one
// invocation per output element; every conv ran that way before the GEMM) and beside a batched
// matmul with the same FLOPs, interleaved round by round on the same adapter.
//
//   pnpm --filter @attnkit/tensor-core --filter @attnkit/backend-webgpu build
//   node packages/backend-webgpu/scripts/bench-conv.mjs                         # GPU if Dawn finds one
//   ATTNKIT_SWIFTSHADER=1 node packages/backend-webgpu/scripts/bench-conv.mjs   # SwiftShader
//
// ATTNKIT_BENCH_REPS (default 5) sets the timed rounds per case; ATTNKIT_BENCH_CASES picks cases by
// name (comma-separated, e.g. `3x3-64-32`); ATTNKIT_BENCH_DIRECT=0 skips the direct kernel.
import { existsSync } from 'node:fs';
import { conv2d, Generator, matmul, randn, setBackend } from '@attnkit/tensor-core';
import { initWebGPU } from '../dist/index.js';
import { conv2dDirect } from '../dist/kernels/conv.js';

const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.ATTNKIT_SWIFTSHADER && !process.env.VK_ICD_FILENAMES && existsSync(icd)) {
  process.env.VK_ICD_FILENAMES = icd;
}

/** [name, N, C, H, W, O, k, stride, padding, groups] */
const cases = [
  ['3x3-64-32', 1, 64, 32, 32, 64, 3, 1, 1, 1],
  ['3x3-128-16', 1, 128, 16, 16, 128, 3, 1, 1, 1],
  ['3x3-32-32', 1, 32, 32, 32, 32, 3, 1, 1, 1],
  ['3x3-32to3-32', 1, 32, 32, 32, 3, 3, 1, 1, 1],
  ['3x3-3to32-32', 1, 3, 32, 32, 32, 3, 1, 1, 1],
  ['1x1-128-16', 2, 128, 16, 16, 256, 1, 1, 0, 1],
  ['3x3s2-64-32', 1, 64, 32, 32, 64, 3, 2, 1, 1],
  ['3x3-64-8', 1, 64, 8, 8, 64, 3, 1, 1, 1],
];
const pick = process.env.ATTNKIT_BENCH_CASES?.split(',');
const reps = Number(process.env.ATTNKIT_BENCH_REPS ?? 5);
const withDirect = process.env.ATTNKIT_BENCH_DIRECT !== '0';

const backend = await initWebGPU();
setBackend('webgpu');
console.log(`adapter: ${backend.adapterName}`);
const gemmConv = backend.conv2d;
// the backend's private kernel context (a script may reach in; the package API does not)
const directConv = (x, w, p) => conv2dDirect(backend.ctx, x, w, p);

/** Median ms of each variant, one call of each per round (warm-up round untimed). */
async function race(variants) {
  const ts = variants.map(() => []);
  for (let r = -1; r < reps; r++) {
    for (const [i, run] of variants.entries()) {
      const t0 = performance.now();
      const y = run();
      await y.data();
      if (r >= 0) ts[i].push(performance.now() - t0);
      y.dispose();
    }
  }
  return ts.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

const gen = new Generator(0);
console.log(
  `| case | x | w | direct ms | implicit GEMM ms | speed-up | GEMM GFLOP/s | matmul, same FLOPs, ms |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, n, c, h, w, o, k, s, p, g] of cases) {
  if (pick && !pick.includes(name)) continue;
  const x = randn([n, c, h, w], { generator: gen });
  const wt = randn([o, c / g, k, k], { generator: gen });
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const flops = 2 * n * o * oh * ow * (c / g) * k * k;
  // the same GEMM: [o/g, (c/g)·k·k] @ [(c/g)·k·k, n·oh·ow] per group, as one batched product
  const a = randn([g, o / g, (c / g) * k * k], { generator: gen });
  const b = randn([g, (c / g) * k * k, n * oh * ow], { generator: gen });
  const conv = (impl) => () => {
    backend.conv2d = impl;
    try {
      return conv2d(x, wt, null, { stride: s, padding: p, groups: g });
    } finally {
      backend.conv2d = gemmConv;
    }
  };
  const variants = [conv(gemmConv), () => matmul(a, b)];
  if (withDirect) variants.push(conv(directConv));
  const [gemm, mm, direct] = await race(variants);
  const d = direct === undefined ? '-' : direct.toFixed(1);
  const up = direct === undefined ? '-' : `${(direct / gemm).toFixed(1)}x`;
  console.log(
    `| ${name} | ${[n, c, h, w].join('×')} | ${[o, c / g, k, k].join('×')} | ${d} | ${gemm.toFixed(1)} | ${up} | ${(flops / gemm / 1e6).toFixed(2)} | ${mm.toFixed(1)} |`,
  );
  for (const t of [x, wt, a, b]) t.dispose();
}
process.exit(0);
