// Heaps past 2 GiB: the shared WebAssembly memory may grow to 4 GiB, but the worker pool hands
// addresses to its threads through an Int32Array, where an address of 2^31 or more reads back
// negative. A GPT-2-124M bench holding a float32, an int8 and a bfloat16 copy of the model crossed
// that line and every threaded attention failed in the workers. Here a 2.2 GB filler pushes the
// operands above 2^31, and the threaded kernels that read addresses in JavaScript (attention, the
// linear epilogue's activations, conv2d's im2col) must still equal the single-threaded results bit
// for bit, and a float64 reference.
import { CpuBackend, type CpuStorage } from '@attnkit/backend-cpu';
import {
  attention,
  conv2d,
  linear,
  linearInt8,
  registerBackend,
  setBackend,
  type Tensor,
  tensor,
  zeros,
} from '@attnkit/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores } from '../src/pool.js';
import { rng, values } from './random.js';

const THREADS = Math.min(2, availableCores());
const multi = new CpuBackend({ threads: THREADS });
const single = new CpuBackend({ threads: 1 });
registerBackend('cpu-2gib-threads', () => multi);
registerBackend('cpu-2gib-single', () => single);
const TWO_GIB = 2 ** 31;

let filler: Tensor | undefined;
beforeAll(async () => {
  await multi.ready();
  setBackend('cpu-2gib-threads');
  // 2.2 GB of zeros in the heap: everything allocated after it lies above 2^31
  filler = zeros([550_000_000]);
});
afterAll(() => {
  filler?.dispose();
  setBackend('cpu');
});

/** Heap address of a tensor's storage (-1 off the heap). */
const address = (t: Tensor) => (t.storage as CpuStorage).ptr;

function firstMismatch(a: Float32Array, b: Float32Array): string {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return 'none';
}

/** Runs `f` on the threaded and the single-threaded backend; checks the operands lie above 2 GiB. */
function both(f: () => Tensor): [Float32Array, Float32Array] {
  const out: Float32Array[] = [];
  for (const name of ['cpu-2gib-threads', 'cpu-2gib-single']) {
    setBackend(name);
    const t = f();
    expect(address(t)).toBeGreaterThanOrEqual(TWO_GIB);
    out.push(t.dataSync() as Float32Array);
    t.dispose();
  }
  return [out[0], out[1]];
}

describe('backend-cpu: threaded kernels with operands above 2 GiB', () => {
  it('attention (12 heads, 128 causal queries) equals one thread and a float64 reference', () => {
    const [B, H, L, D] = [1, 12, 128, 64];
    const r = rng(1);
    const q = values(B * H * L * D, r);
    const k = values(B * H * L * D, r);
    const v = values(B * H * L * D, r);
    const [a, b] = both(() =>
      attention(tensor(q, [B, H, L, D]), tensor(k, [B, H, L, D]), tensor(v, [B, H, L, D]), { causal: true }),
    );
    expect(firstMismatch(a, b)).toBe('none');
    // float64 reference for one head's last query row (sees every key)
    const h = 7;
    const i = L - 1;
    const base = h * L * D;
    const s = Array.from({ length: L }, (_, j) => {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[base + i * D + d] * k[base + j * D + d];
      return dot / Math.sqrt(D);
    });
    const mx = Math.max(...s);
    const e = s.map((x) => Math.exp(x - mx));
    const z = e.reduce((x, y) => x + y, 0);
    for (let d = 0; d < D; d++) {
      let o = 0;
      for (let j = 0; j < L; j++) o += (e[j] / z) * v[base + j * D + d];
      expect(a[base + i * D + d]).toBeCloseTo(o, 5);
    }
  });

  it('linear with each JavaScript-side activation (gelu, silu) equals one thread and a float64 reference', () => {
    const [m, k, n] = [128, 256, 768];
    const r = rng(2);
    const x = values(m * k, r);
    const w = values(n * k, r);
    const bias = values(n, r);
    for (const activation of ['gelu', 'silu'] as const) {
      const [a, b] = both(() =>
        linear(tensor(x, [m, k]), tensor(w, [n, k]), tensor(bias, [n]), { activation }),
      );
      expect(firstMismatch(a, b), activation).toBe('none');
      for (const [i, j] of [
        [0, 0],
        [m - 1, n - 1],
        [64, 500],
      ]) {
        let s = bias[j];
        for (let c = 0; c < k; c++) s += x[i * k + c] * w[j * k + c];
        const ref = activation === 'silu' ? s / (1 + Math.exp(-s)) : 0.5 * s * (1 + erf(s / Math.SQRT2));
        expect(a[i * n + j], `${activation} [${i}, ${j}]`).toBeCloseTo(ref, 3);
      }
    }
  });

  it('decode rows (gemv_cols chunks): float32 and int8 linear with a JavaScript-side activation equal one thread and float64', () => {
    const [k, n] = [256, 1200]; // 307k multiply-adds: split across threads
    const r = rng(4);
    const x = values(k, r);
    const w = values(n * k, r);
    const bias = values(n, r);
    const q8 = Int8Array.from({ length: n * k }, () => Math.round(r() * 254) - 127);
    const sc = Float32Array.from({ length: n }, () => r() * 0.01 + 1e-3);
    const [a, b] = both(() =>
      linear(tensor(x, [1, k]), tensor(w, [n, k]), tensor(bias, [n]), { activation: 'gelu' }),
    );
    expect(firstMismatch(a, b), 'float32').toBe('none');
    const [c, d] = both(() =>
      linearInt8(
        tensor(x, [1, k]),
        { q: tensor(q8, [n, k], 'int8'), scales: tensor(sc, [n, 1]), groupSize: k },
        tensor(bias, [n]),
        { activation: 'silu' },
      ),
    );
    expect(firstMismatch(c, d), 'int8').toBe('none');
    for (const j of [0, 599, n - 1]) {
      let s = bias[j];
      let s8 = bias[j];
      for (let i = 0; i < k; i++) {
        s += x[i] * w[j * k + i];
        s8 += x[i] * q8[j * k + i] * sc[j];
      }
      expect(a[j], `float32 ${j}`).toBeCloseTo(0.5 * s * (1 + erf(s / Math.SQRT2)), 4);
      expect(c[j], `int8 ${j}`).toBeCloseTo(s8 / (1 + Math.exp(-s8)), 4);
    }
  });

  it('conv2d (im2col across threads) equals one thread', () => {
    const [N, C, Hh, W, O, K] = [1, 32, 64, 64, 32, 3];
    const r = rng(3);
    const x = values(N * C * Hh * W, r);
    const w = values(O * C * K * K, r);
    const [a, b] = both(() =>
      conv2d(tensor(x, [N, C, Hh, W]), tensor(w, [O, C, K, K]), null, { padding: 1 }),
    );
    expect(firstMismatch(a, b)).toBe('none');
    // one output in float64
    let s = 0;
    for (let c = 0; c < C; c++)
      for (let u = 0; u < K; u++)
        for (let v = 0; v < K; v++)
          s += x[(c * Hh + 10 + u - 1) * W + 20 + v - 1] * w[((5 * C + c) * K + u) * K + v];
    expect(a[(5 * Hh + 10) * W + 20]).toBeCloseTo(s, 4);
  });
});

/** erf to about 1e-12 (Abramowitz–Stegun 7.1.26 is too coarse for a reference): a series / continued fraction. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    // Maclaurin series
    let sum = t;
    let term = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // continued fraction for erfc
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}
