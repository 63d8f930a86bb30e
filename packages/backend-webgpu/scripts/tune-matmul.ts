// Matmul tiling sweep for backend-webgpu on the adapter at hand: for each candidate tiling (forced
// through the kernel's `__attnkitMatmulTiles` hook), a correctness check against float64 on
// off-grid and transposed operands, then GFLOP/s on a few product shapes (median of 5; each
// timed call chains `reps` products and reads the last result). Bundle and run:
//   node packages/backend-webgpu/scripts/bundle.mjs packages/backend-webgpu/scripts/tune-matmul.ts
//   node .bench-out/webgpu/webgpu-tune-matmul.mjs
// ATTNKIT_TUNE_SHAPES="b:m:k:n,..." replaces the shapes; ATTNKIT_TUNE_SOFTWARE=1 uses fewer reps.
import { initWebGPU } from '@attnkit/backend-webgpu';
import { fromValues, Generator, matmul, randn, setBackend, type Tensor } from '@attnkit/tensor-core';
import { chooseMatmulTiles, type MatmulTiles } from '../src/kernels/matmul.js';

const candidates: Record<string, MatmulTiles> = {
  auto: undefined as unknown as MatmulTiles,
  '64x64/16 8x8': { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 },
  '128x128/8 8x8': { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  '128x128/16 8x8': { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  '128x64/8 8x4': { BM: 128, BN: 64, BK: 8, TM: 8, TN: 4 },
  '128x64/16 8x8': { BM: 128, BN: 64, BK: 16, TM: 8, TN: 8 },
  '64x128/8 8x8': { BM: 64, BN: 128, BK: 8, TM: 8, TN: 8 },
  '64x64/16 4x4': { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  '64x64/32 4x4': { BM: 64, BN: 64, BK: 32, TM: 4, TN: 4 },
  '64x64/16 8x4': { BM: 64, BN: 64, BK: 16, TM: 8, TN: 4 },
  '64x32/16 4x4': { BM: 64, BN: 32, BK: 16, TM: 4, TN: 4 },
  '32x32/16 4x4': { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
  '32x32/32 4x4': { BM: 32, BN: 32, BK: 32, TM: 4, TN: 4 },
};
const only = process.env.ATTNKIT_TUNE_CONFIGS?.split(',');
const shapes = (
  process.env.ATTNKIT_TUNE_SHAPES ??
  '1:256:256:256,1:512:512:512,1:1024:1024:1024,1:2048:2048:2048,1:4096:4096:4096,1:2048:768:3072,12:512:64:512'
)
  .split(',')
  .map((s) => s.split(':').map(Number));
const software = process.env.ATTNKIT_TUNE_SOFTWARE === '1';
const hook = globalThis as { __attnkitMatmulTiles?: MatmulTiles };

const backend = await initWebGPU();
setBackend('webgpu');
console.log(`adapter: ${backend.adapterName}`);

function vals(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s >>> 8) / 8388608 - 1) * 256) / 256;
  });
}
async function correct(): Promise<string> {
  // off-grid sizes (scalar loads) and multiples of 4 (vec4 loads), in every operand layout
  for (const [M, K, N] of [
    [133, 45, 130],
    [132, 44, 128],
  ]) {
    const av = vals(M * K, 1);
    const bv = vals(N * K, 2);
    const a = fromValues(av, [M, K], 'float32');
    const bT = fromValues(bv, [N, K], 'float32');
    const aCol = a.T.contiguous().T;
    const bRow = bT.T.contiguous();
    for (const [name, y] of [
      ['A @ B^T', matmul(a, bT.T)],
      ['A(col-major) @ B^T', matmul(aCol, bT.T)],
      ['A(col-major) @ B', matmul(aCol, bRow)],
      ['A @ B', matmul(a, bRow)],
    ] as [string, Tensor][]) {
      const got = await y.data();
      let worst = 0;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += av[i * K + k] * bv[j * K + k];
          worst = Math.max(worst, Math.abs(got[i * N + j] - s));
        }
      if (worst > 1e-4) return `WRONG (${M}x${K}x${N} ${name}: max error ${worst})`;
      y.dispose();
    }
    for (const t of [a, bT, aCol, bRow]) t.dispose();
  }
  return 'ok';
}

const gen = new Generator(0);
const rows: string[] = [];
for (const [name, tiles] of Object.entries(candidates)) {
  if (only && !only.includes(name)) continue;
  hook.__attnkitMatmulTiles = tiles;
  const ok = await correct();
  const cells: string[] = [];
  for (const [nb, m, k, n] of shapes) {
    const a = randn(nb > 1 ? [nb, m, k] : [m, k], { generator: gen });
    const b = randn(nb > 1 ? [nb, k, n] : [k, n], { generator: gen });
    const flops = 2 * nb * m * k * n;
    const reps = software ? 1 : Math.max(3, Math.min(200, Math.ceil(4e10 / flops)));
    const once = async () => {
      let y: Tensor | null = null;
      for (let r = 0; r < reps; r++) {
        y?.dispose();
        y = matmul(a, b);
      }
      // one element read back: the timing is the products, not a large readback
      const probe = (y as Tensor).flatten().sliceDim(0, 0, 1);
      await probe.data();
      probe.dispose();
      y?.dispose();
    };
    await once();
    const ts: number[] = [];
    for (let r = 0; r < (software ? 3 : 5); r++) {
      const t0 = performance.now();
      await once();
      ts.push(performance.now() - t0);
    }
    ts.sort((x, y) => x - y);
    const g = (flops * reps) / (ts[Math.floor(ts.length / 2)] / 1e3) / 1e9;
    const t = tiles ?? chooseMatmulTiles(nb, m, n, software);
    cells.push(`${g.toFixed(g < 10 ? 2 : 0)}${tiles ? '' : ` (${t.BM}x${t.BN}/${t.BK} ${t.TM}x${t.TN})`}`);
    a.dispose();
    b.dispose();
  }
  rows.push(`| ${name} | ${ok} | ${cells.join(' | ')} |`);
  console.log(rows[rows.length - 1]);
}
console.log(`\n| tiles | check | ${shapes.map((s) => s.join(':')).join(' | ')} |`);
console.log(`|---|---|${shapes.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
process.exit(0);
