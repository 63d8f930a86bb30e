// matmul on the CPU backend (WebAssembly SIMD microkernel for most shapes, JS for single rows)
// against a float64 reference computed here from the host values, over random shapes, transposed,
// sliced and broadcast operands, and the blocking boundaries of the kernel (KC=256, MC=128, NC=512).
import '@attnkit/backend-cpu';
import { matmul, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { rng } from './random.js';

/** mulberry32: a seeded PRNG independent of the code under test. */

/** A float32 host array of `n` values in [-1, 1). */
function hostValues(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

/** Layouts an operand [batch, rows, cols] can arrive in, with how to read element (b, i, j) from the host array. */
type Layout = 'plain' | 'transposed' | 'sliced';

interface Operand {
  t: Tensor;
  at: (b: number, i: number, j: number) => number;
}

function operand(batch: number, rows: number, cols: number, layout: Layout, r: () => number): Operand {
  if (layout === 'plain') {
    const h = hostValues(batch * rows * cols, r);
    return { t: tensor(h, [batch, rows, cols]), at: (b, i, j) => h[(b * rows + i) * cols + j] };
  }
  if (layout === 'transposed') {
    // host [batch, cols, rows], viewed through transpose(-1, -2)
    const h = hostValues(batch * rows * cols, r);
    return {
      t: tensor(h, [batch, cols, rows]).transpose(-1, -2),
      at: (b, i, j) => h[(b * cols + j) * rows + i],
    };
  }
  // host [batch, 2*rows, cols+3]; view rows 0,2,4,... and columns 1..cols
  const W = cols + 3;
  const h = hostValues(batch * 2 * rows * W, r);
  return {
    t: tensor(h, [batch, 2 * rows, W])
      .sliceDim(1, 0, 2 * rows, 2)
      .sliceDim(2, 1, cols + 1),
    at: (b, i, j) => h[(b * 2 * rows + 2 * i) * W + j + 1],
  };
}

/**
 * Checks y[b, i, j] against the float64 sum over k, within the worst-case float32 summation bound
 * k·2^-24·Σ|a·b| (a dropped or misplaced term is far larger than that).
 */
function check(
  y: Tensor,
  batchA: number,
  batchB: number,
  m: number,
  k: number,
  n: number,
  A: Operand,
  B: Operand,
  label: string,
): void {
  const batch = Math.max(batchA, batchB);
  expect(y.shape, label).toEqual([batch, m, n]);
  const got = y.dataSync();
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const ba = batchA === 1 ? 0 : b;
    const bb = batchB === 1 ? 0 : b;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let mag = 0;
        for (let q = 0; q < k; q++) {
          const p = A.at(ba, i, q) * B.at(bb, q, j);
          s += p;
          mag += Math.abs(p);
        }
        const err = Math.abs(got[(b * m + i) * n + j] - s);
        const tol = (k + 2) * 2 ** -24 * mag + 1e-30;
        if (err > tol) {
          throw new Error(
            `${label}: y[${b},${i},${j}] = ${got[(b * m + i) * n + j]}, expected ${s} (tol ${tol})`,
          );
        }
        worst = Math.max(worst, err / (tol || 1));
      }
    }
  }
  expect(worst, label).toBeLessThanOrEqual(1);
}

const LAYOUTS: Layout[] = ['plain', 'transposed', 'sliced'];

describe('cpu matmul vs a float64 reference', () => {
  it('random shapes and layouts (seeded)', () => {
    const r = rng(20251122);
    for (let c = 0; c < 60; c++) {
      const size = () => 1 + Math.floor(r() ** 2 * 70);
      const [m, k, n] = [size(), size(), size()];
      const la = LAYOUTS[Math.floor(r() * 3)];
      const lb = LAYOUTS[Math.floor(r() * 3)];
      const batchA = r() < 0.3 ? 1 : 2;
      const batchB = r() < 0.3 ? 1 : batchA === 1 ? 3 : 2;
      const A = operand(batchA, m, k, la, r);
      const B = operand(batchB, k, n, lb, r);
      check(
        matmul(A.t, B.t),
        batchA,
        batchB,
        m,
        k,
        n,
        A,
        B,
        `case ${c}: [${batchA},${m},${k}] ${la} @ [${batchB},${k},${n}] ${lb}`,
      );
    }
  });

  it('shapes across the blocking boundaries (KC=256, MC=128, NR=8, MR=4)', () => {
    const r = rng(7);
    const shapes: [number, number, number][] = [
      [129, 257, 9],
      [128, 256, 8],
      [131, 513, 17],
      [5, 300, 130],
      [4, 8, 8],
      [3, 5, 7],
      [2, 1, 2],
      [257, 3, 2049],
    ];
    for (const [m, k, n] of shapes) {
      for (const [la, lb] of [
        ['plain', 'plain'],
        ['transposed', 'sliced'],
      ] as [Layout, Layout][]) {
        const A = operand(1, m, k, la, r);
        const B = operand(1, k, n, lb, r);
        check(matmul(A.t, B.t), 1, 1, m, k, n, A, B, `[${m},${k}] ${la} @ [${k},${n}] ${lb}`);
      }
    }
  });

  it('row and column passes of the C buffer (m, n above 2048)', () => {
    const r = rng(11);
    const A = operand(1, 2051, 2, 'plain', r);
    const B = operand(1, 2, 2053, 'transposed', r);
    check(matmul(A.t, B.t), 1, 1, 2051, 2, 2053, A, B, '[2051,2] @ [2,2053]');
  });

  it('few rows (x @ W and x @ W.T, as in decoding: the matrix-vector path) and single columns', () => {
    const r = rng(3);
    for (const [m, k, n] of [
      [1, 300, 77],
      [1, 1, 5],
      [64, 40, 1],
      [3, 1001, 77], // B row chunks of the x @ W path
      [5, 300, 500], // W row chunks of the x @ W.T path
      [7, 13, 999],
      [2, 64, 64],
    ]) {
      for (const lb of LAYOUTS) {
        const A = operand(2, m, k, 'plain', r);
        const B = operand(1, k, n, lb, r);
        check(matmul(A.t, B.t), 2, 1, m, k, n, A, B, `[2,${m},${k}] @ [${k},${n}] ${lb}`);
      }
    }
  });

  it('B contiguous (packed in blocks of 8 rows), stored transposed (4×4 transposes) and strided (one float at a time) give the same bits', () => {
    // packing moves data only: the same packed panels, so the same sums in the same order; k of
    // 4q + 1..3 and 8q + 1..7 (the packings' row tails), n not a multiple of 8 (the padded panel)
    const r = rng(11);
    for (const [m, k, n] of [
      [9, 7, 21],
      [130, 259, 37],
      [64, 768, 203],
      [5, 1, 16],
      [33, 514, 2057],
    ]) {
      const a = tensor(hostValues(m * k, r), [m, k]);
      const w = hostValues(n * k, r); // W [n, k]
      const wt = new Float32Array(k * n); // W.T [k, n], contiguous
      for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) wt[q * n + j] = w[j * k + q];
      const viaT = matmul(a, tensor(w, [n, k]).transpose(0, 1)).dataSync();
      const plain = matmul(a, tensor(wt, [k, n])).dataSync();
      // W.T inside a [k, 2n] host array, every other column: column stride 2
      const wide = new Float32Array(k * 2 * n);
      for (let q = 0; q < k; q++) for (let j = 0; j < n; j++) wide[q * 2 * n + 2 * j] = wt[q * n + j];
      const strided = tensor(wide, [k, 2 * n]).sliceDim(1, 0, 2 * n, 2);
      const viaStrided = matmul(a, strided).dataSync();
      let first = 'none';
      for (let i = 0; i < plain.length && first === 'none'; i++)
        if (!Object.is(viaT[i], plain[i]) || !Object.is(viaStrided[i], plain[i]))
          first = `[${m}, ${k}, ${n}] index ${i}: ${viaT[i]} (W.T), ${viaStrided[i]} (strided) vs ${plain[i]}`;
      expect(first).toBe('none');
    }
  });

  it('broadcasts batch dims given as stride-0 expands, and 1-D operands', () => {
    const r = rng(5);
    const A = operand(1, 6, 20, 'plain', r);
    const B = operand(4, 20, 9, 'transposed', r);
    const y = matmul(A.t.expand([4, 6, 20]), B.t);
    check(y, 1, 4, 6, 20, 9, A, B, 'expanded A');
    const v = hostValues(20, r);
    const W = operand(1, 20, 9, 'plain', r);
    const yv = matmul(tensor(v), W.t.reshape([20, 9]));
    expect(yv.shape).toEqual([9]);
    const got = yv.dataSync();
    for (let j = 0; j < 9; j++) {
      let s = 0;
      for (let q = 0; q < 20; q++) s += v[q] * W.at(0, q, j);
      expect(Math.abs(got[j] - s)).toBeLessThan(1e-5);
    }
  });

  it('zero-size dims: k = 0 gives zeros, m = 0 or n = 0 gives empty', () => {
    expect(Array.from(matmul(tensor([], [3, 0]), tensor([], [0, 2])).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(matmul(tensor([], [0, 4]), tensor(new Float32Array(8), [4, 2])).shape).toEqual([0, 2]);
    expect(matmul(tensor(new Float32Array(8), [2, 4]), tensor([], [4, 0])).shape).toEqual([2, 0]);
  });

  it('propagates NaN and Infinity like a plain sum', () => {
    const a = tensor([
      [1, Number.NaN, 0, 0, 0, 0, 0, 0],
      [Number.POSITIVE_INFINITY, 1, 0, 0, 0, 0, 0, 0],
    ]);
    const b = tensor(new Float32Array(8 * 9).fill(1), [8, 9]);
    const y = matmul(a, b).dataSync();
    for (let j = 0; j < 9; j++) {
      expect(y[j]).toBeNaN();
      expect(y[9 + j]).toBe(Number.POSITIVE_INFINITY);
    }
  });
});

describe('memory report', () => {
  it('reports the matmul packing scratch as backend overhead', async () => {
    const { findBackend, memory: report } = await import('@attnkit/tensor-core');
    const cpu = findBackend('cpu');
    matmul(tensor(new Float32Array(64 * 64), [64, 64]), tensor(new Float32Array(64 * 64), [64, 64]));
    const info = report(cpu ? [cpu] : []);
    // A 64x64 product packs a 64x64 panel of B and a C buffer: at least one 64 KiB page.
    expect(info.cpu.overheadBytes).toBeGreaterThanOrEqual(65536);
  });
});

describe('the single-threaded kernel over unshared scratch (no SharedArrayBuffer; attention and conv2d tiles)', () => {
  it('accumulates C += A·B for strided operands, gemm and matrix-vector shapes, vs float64', async () => {
    const { matmulKernel, wasmGemmAvailable } = await import('../src/kernels/matmul.js');
    expect(wasmGemmAvailable()).toBe(true);
    const r = rng(17);
    for (const [m, k, n, transB] of [
      [37, 70, 45, false],
      [5, 300, 129, true], // matrix-vector: B's columns contiguous
      [3, 20, 11, false],
      [130, 9, 260, true],
    ] as [number, number, number, boolean][]) {
      const A = hostValues(m * k * 2, r); // rows of A at stride 2k (every other row)
      const B = hostValues(k * n, r);
      const C0 = hostValues(m * n, r);
      const C = C0.slice();
      const [sbk, sbn] = transB ? [1, k] : [n, 1];
      matmulKernel(A, 0, 2 * k, 1, B, 0, sbk, sbn, C, 0, m, k, n);
      let worst = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = C0[i * n + j];
          let mag = Math.abs(s);
          for (let q = 0; q < k; q++) {
            const p = A[i * 2 * k + q] * B[q * sbk + j * sbn];
            s += p;
            mag += Math.abs(p);
          }
          worst = Math.max(worst, Math.abs(C[i * n + j] - s) / ((k + 3) * 2 ** -24 * mag));
        }
      }
      expect(worst, `[${m}, ${k}] @ [${k}, ${n}]`).toBeLessThanOrEqual(1);
    }
  });
});
