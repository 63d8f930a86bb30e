import './setup.js';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { type DType, fromValues, matmul, setBackend, type Tensor } from '@attnkit/tensor-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { chooseMatmulTiles, type MatmulTiles, matmulTilings } from '../src/kernels/matmul.js';

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

// Every tiling the matmul kernel can pick, forced through the tuning hook (the adapter at hand
// picks only one), against a float64 reference: operands in each layout (row-major, transposed
// views), sizes off every tile edge, a broadcast batch, float16 operands, K shorter than a slice.

beforeAll(async () => {
  await initWebGPU();
  setBackend('webgpu');
});

const hook = globalThis as { __attnkitMatmulTiles?: MatmulTiles };
afterEach(() => {
  hook.__attnkitMatmulTiles = undefined;
});

/** Deterministic values in [-1, 1), multiples of 2^-8 (exact in float16 and float32). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s >>> 8) / 8388608 - 1) * 256) / 256;
  });
}

/** An operand of logical shape [...batch, r, c]; transposed: built as [..., c, r] and viewed through .T. */
function operand(
  v: number[],
  batch: number[],
  r: number,
  c: number,
  transposed: boolean,
  dtype: DType,
): Tensor {
  if (!transposed) return fromValues(v, [...batch, r, c], dtype);
  const t: number[] = new Array(v.length);
  const nb = v.length / (r * c);
  for (let z = 0; z < nb; z++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < c; j++) t[z * r * c + j * r + i] = v[z * r * c + i * c + j];
  return fromValues(t, [...batch, c, r], dtype).transpose(-1, -2);
}

interface Case {
  name: string;
  B: number;
  M: number;
  K: number;
  N: number;
  aT?: boolean;
  bT?: boolean;
  /** B has no batch dim (broadcast over A's batch, stride 0). */
  bShared?: boolean;
  dtype?: DType;
}

const cases: Case[] = [
  { name: 'row-major, off-grid M/N/K, N % 4 != 0', B: 2, M: 70, K: 45, N: 130 },
  { name: 'A transposed (column-major)', B: 1, M: 133, K: 37, N: 68, aT: true },
  { name: 'B transposed (x @ W.T)', B: 2, M: 65, K: 40, N: 129, bT: true, bShared: true },
  { name: 'both transposed, K shorter than a slice', B: 1, M: 140, K: 5, N: 36, aT: true, bT: true },
  { name: 'float16 operands, broadcast B', B: 3, M: 33, K: 70, N: 100, dtype: 'float16', bShared: true },
  { name: 'vec4 loads: row-major, dims multiples of 4, K off the slice', B: 2, M: 68, K: 44, N: 132 },
  { name: 'vec4 loads: both transposed', B: 1, M: 132, K: 20, N: 72, aT: true, bT: true },
  {
    name: 'vec4 loads: A transposed, B transposed and broadcast',
    B: 2,
    M: 36,
    K: 52,
    N: 260,
    aT: true,
    bT: true,
    bShared: true,
  },
];

async function check(c: Case): Promise<void> {
  const { B, M, K, N } = c;
  const dtype = c.dtype ?? 'float32';
  const av = values(B * M * K, 11 + M);
  const nbB = c.bShared ? 1 : B;
  const bv = values(nbB * K * N, 23 + N);
  const a = operand(av, [B], M, K, c.aT === true, dtype);
  const b = operand(bv, c.bShared ? [] : [B], K, N, c.bT === true, dtype);
  const y = matmul(a, b);
  expect(y.shape).toEqual([B, M, N]);
  const got = await y.data();
  for (let z = 0; z < B; z++) {
    const zb = c.bShared ? 0 : z;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += av[(z * M + i) * K + k] * bv[(zb * K + k) * N + j];
        const g = got[(z * M + i) * N + j];
        if (!(Math.abs(g - s) <= 1e-5 + 1e-5 * Math.abs(s))) {
          throw new Error(`${c.name}: out[${z}, ${i}, ${j}] = ${g}, expected ${s}`);
        }
      }
  }
  for (const t of [a, b, y]) t.dispose();
}

describe('webgpu matmul: every tiling', () => {
  for (const [tiling, tiles] of Object.entries(matmulTilings)) {
    it(`${tiling} tiles (${tiles.BM}x${tiles.BN}, K slice ${tiles.BK}, ${tiles.TM}x${tiles.TN} per invocation)`, async () => {
      hook.__attnkitMatmulTiles = tiles;
      for (const c of cases) await check(c);
    });
  }
  it('an uneven tiling (128x64 tiles, 8x4 per invocation, K slice 12)', async () => {
    hook.__attnkitMatmulTiles = { BM: 128, BN: 64, BK: 12, TM: 8, TN: 4 };
    for (const c of cases) await check(c);
  });
});

describe('webgpu matmul: sliced operands (offsets aligned to 4 elements and not)', () => {
  for (const [tiling, tiles] of Object.entries(matmulTilings)) {
    it(`${tiling} tiles`, async () => {
      hook.__attnkitMatmulTiles = tiles;
      const [B, R, C] = [2, 40, 48];
      const base = values(B * R * C, 5);
      const bv = values(44 * 36, 6);
      const x = fromValues(base, [B, R, C], 'float32');
      const w = fromValues(bv, [44, 36], 'float32');
      // [rows r0..r0+36) x [cols c0..c0+44) of each batch: offset r0*C + c0
      for (const [r0, c0] of [
        [1, 4],
        [0, 1],
        [2, 3],
      ]) {
        const a = x.sliceDim(1, r0, r0 + 36).sliceDim(2, c0, c0 + 44);
        const y = matmul(a, w);
        const got = await y.data();
        for (let z = 0; z < B; z++)
          for (let i = 0; i < 36; i++)
            for (let j = 0; j < 36; j++) {
              let s = 0;
              for (let kk = 0; kk < 44; kk++) s += base[(z * R + r0 + i) * C + c0 + kk] * bv[kk * 36 + j];
              const g = got[(z * 36 + i) * 36 + j];
              if (!(Math.abs(g - s) <= 1e-5 + 1e-5 * Math.abs(s)))
                throw new Error(`slice (${r0}, ${c0}): out[${z}, ${i}, ${j}] = ${g}, expected ${s}`);
            }
        y.dispose();
      }
      x.dispose();
      w.dispose();
    });
  }
});

describe('webgpu matmul: tiling choice', () => {
  it('software adapters get the long-loop tiling; GPUs get large tiles only when they fill the device', () => {
    expect(chooseMatmulTiles(1, 1024, 1024, true)).toBe(matmulTilings.software);
    expect(chooseMatmulTiles(1, 2048, 2048, false)).toBe(matmulTilings.large);
    expect(chooseMatmulTiles(4, 1024, 1024, false)).toBe(matmulTilings.large);
    expect(chooseMatmulTiles(1, 1024, 1024, false)).toBe(matmulTilings.medium);
    expect(chooseMatmulTiles(1, 512, 512, false)).toBe(matmulTilings.medium);
    expect(chooseMatmulTiles(1, 256, 256, false)).toBe(matmulTilings.small);
    expect(chooseMatmulTiles(12, 64, 64, false)).toBe(matmulTilings.small);
  });
  it('rejects an invalid tiling with a message naming the kernel', async () => {
    hook.__attnkitMatmulTiles = { BM: 64, BN: 64, BK: 8, TM: 3, TN: 4 };
    const a = fromValues(values(16, 1), [4, 4], 'float32');
    expect(() => matmul(a, a)).toThrow(/matmulKernel: tiles .* are invalid/);
    a.dispose();
  });
});
