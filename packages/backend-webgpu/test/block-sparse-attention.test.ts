import './setup.js';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { attention, fromValues, setBackend } from '@attnkit/tensor-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setSparseMetaWords } from '../src/kernels/attention.js';

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

// blockSparseAttention: the flash kernel walking only the visible key blocks, against a float64
// dense attention under the layout's mask written here; and the same values when a layout too large
// for one dispatch's parameter words is split into runs of query blocks.

beforeAll(async () => {
  await initWebGPU();
  setBackend('webgpu');
});

/** Deterministic values in [-1, 1) (an LCG; the reference sees the same numbers). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

/** Float64 softmax(q kᵀ · scale, masked) v per head, [H, L, D] row-major; a row with no key is zeros. */
function reference(
  q: number[],
  k: number[],
  v: number[],
  h: number,
  l: number,
  d: number,
  see: (i: number, j: number) => boolean,
) {
  const out = new Float64Array(h * l * d);
  const scale = 1 / Math.sqrt(d);
  for (let hh = 0; hh < h; hh++) {
    for (let i = 0; i < l; i++) {
      const s: number[] = [];
      for (let j = 0; j < l; j++) {
        if (!see(i, j)) continue;
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[(hh * l + i) * d + c] * k[(hh * l + j) * d + c];
        s.push(dot * scale, j);
      }
      let m = Number.NEGATIVE_INFINITY;
      for (let e = 0; e < s.length; e += 2) m = Math.max(m, s[e]);
      let z = 0;
      for (let e = 0; e < s.length; e += 2) z += Math.exp(s[e] - m);
      for (let e = 0; e < s.length; e += 2) {
        const p = Math.exp(s[e] - m) / z;
        for (let c = 0; c < d; c++) out[(hh * l + i) * d + c] += p * v[(hh * l + s[e + 1]) * d + c];
      }
    }
  }
  return out;
}

describe('webgpu blockSparseAttention', () => {
  afterEach(() => {
    setSparseMetaWords(8192);
  });
  const [h, bs, nb, d] = [2, 16, 6, 8];
  const l = bs * nb;
  // scattered blocks, each row with its diagonal block (so causal leaves a key in every row)
  const visible = [
    [0, 3],
    [1, 4, 5],
    [0, 2],
    [1, 3, 5],
    [0, 4],
    [2, 3, 5],
  ];
  const q = values(h * l * d, 1);
  const k = values(h * l * d, 2);
  const v = values(h * l * d, 3);
  for (const causal of [false, true]) {
    for (const words of [8192, 6]) {
      it(`matches float64 dense attention under the layout (causal ${causal}, ${words} layout words per dispatch)`, async () => {
        setSparseMetaWords(words);
        const t = (x: number[]) => fromValues(Float32Array.from(x), [1, h, l, d], 'float32');
        const out = attention(t(q), t(k), t(v), {
          blockSparse: { blockSize: bs, visible },
          causal,
          implementation: 'fused',
        });
        const got = await out.data();
        const want = reference(
          q,
          k,
          v,
          h,
          l,
          d,
          (i, j) => visible[Math.floor(i / bs)].includes(Math.floor(j / bs)) && (!causal || j <= i),
        );
        let worst = 0;
        for (let i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-4 + 1e-3 * Math.abs(want[i])));
        }
        expect(worst).toBeLessThanOrEqual(1);
      });
    }
  }
});
