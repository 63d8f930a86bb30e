import './setup.js';
import {
  createWebGPUBackend,
  type GpuStorage,
  initWebGPU,
  type WebGPUBackend,
} from '@attnkit/backend-webgpu';
import {
  conv2d,
  cumsum,
  fromFloat16Bits,
  fromValues,
  layerNorm,
  matmul,
  rmsNorm,
  scatterAdd,
  setBackend,
  softmax,
  sort,
  type Tensor,
  toFloat16Bits,
} from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

// Kernel paths the shared conformance cases are too small to reach (global-memory sort, tiles at
// the edges, atomics under contention, float16 packing), each checked against a float64 reference.

let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await initWebGPU();
  setBackend('webgpu');
});

/** Deterministic values in [-1, 1) (an LCG; the reference sees the same numbers). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 8388608 - 1;
  });
}
const f32 = (v: number) => Math.fround(v);

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!ok) throw new Error(`element ${i}: got ${got[i]}, expected ${want[i]}`);
  }
}

describe('webgpu: matmul tiles', () => {
  it('batched, broadcast and transposed operands at sizes off the tile grid', async () => {
    const [B, M, K, N] = [3, 70, 45, 130];
    const av = values(B * M * K, 1).map(f32);
    const bv = values(N * K, 2).map(f32);
    const a = fromValues(av, [B, M, K], 'float32');
    const bT = fromValues(bv, [N, K], 'float32'); // used as bT.T: a strided [K, N] view
    const y = matmul(a, bT.T);
    const want = new Float64Array(B * M * N);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += av[(b * M + i) * K + k] * bv[j * K + k];
          want[(b * M + i) * N + j] = s;
        }
    expect(y.shape).toEqual([B, M, N]);
    expectClose(await y.data(), want);
    for (const t of [a, bT, y]) t.dispose();
  });
});

describe('webgpu: sort', () => {
  for (const descending of [false, true]) {
    it(`rows longer than workgroup memory holds (global bitonic network), descending=${descending}`, async () => {
      const len = 5000;
      const raw = values(2 * len, 7).map((v, i) => (i % 97 === 0 ? Number.NaN : Math.round(v * 50) / 10));
      const x = fromValues(raw, [2, len], 'float32');
      const { values: v, indices } = sort(x, -1, descending);
      const gotV = await v.data();
      const gotI = await indices.data();
      for (let r = 0; r < 2; r++) {
        const row = raw.slice(r * len, (r + 1) * len).map(f32);
        const order = row.map((_, i) => i);
        const nanRank = (a: number) => (Number.isNaN(a) ? (descending ? -1 : 1) : 0);
        order.sort((p, q) => {
          const c = nanRank(row[p]) - nanRank(row[q]);
          if (c !== 0) return c;
          if (!Number.isNaN(row[p]) && row[p] !== row[q])
            return descending ? row[q] - row[p] : row[p] - row[q];
          return p - q;
        });
        for (let i = 0; i < len; i++) {
          expect(gotI[r * len + i]).toBe(order[i]);
          const w = row[order[i]];
          if (Number.isNaN(w)) expect(Number.isNaN(gotV[r * len + i])).toBe(true);
          else expect(gotV[r * len + i]).toBe(w);
        }
      }
      for (const t of [x, v, indices]) t.dispose();
    });
  }
});

describe('webgpu: scatterAdd and cumsum', () => {
  it('float32 scatterAdd with heavy index collisions (atomic compare-and-swap)', async () => {
    const n = 4096;
    const src = values(n, 3).map(f32);
    const idx = Array.from({ length: n }, (_, i) => (i * 7) % 5);
    const target = fromValues([0, 0, 0, 0, 0], [5], 'float32');
    const s = fromValues(src, [n], 'float32');
    const index = fromValues(idx, [n], 'int32');
    const want = new Float64Array(5);
    for (let i = 0; i < n; i++) want[idx[i]] += src[i];
    // dim 0 over a 1-D target: every element of src lands in one of 5 slots.
    const y = scatterAdd(target.expand([5]).contiguous(), 0, index, s);
    expectClose(await y.data(), want, 1e-4, 1e-3);
    for (const t of [target, s, index, y]) t.dispose();
  });

  it('cumsum along a long middle dim of a strided view', async () => {
    const [A, L, C] = [3, 1500, 4];
    const raw = values(A * L * C, 5).map(f32);
    const x = fromValues(raw, [A, C, L], 'float32').transpose(1, 2); // [A, L, C], strided
    const y = cumsum(x, 1);
    const want = new Float64Array(A * L * C);
    for (let a = 0; a < A; a++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let l = 0; l < L; l++) {
          s += raw[(a * C + c) * L + l];
          want[(a * L + l) * C + c] = s;
        }
      }
    expectClose(await y.data(), want, 1e-4, 1e-3);
    for (const t of [x, y]) t.dispose();
  });
});

describe('webgpu: fused rows', () => {
  it('softmax, layerNorm and rmsNorm over 3000-wide rows', async () => {
    const [R, D] = [5, 3000];
    const raw = values(R * D, 11).map((v) => f32(v * 8));
    const w = values(D, 12).map(f32);
    const b = values(D, 13).map(f32);
    const x = fromValues(raw, [R, D], 'float32');
    const wt = fromValues(w, [D], 'float32');
    const bt = fromValues(b, [D], 'float32');
    const sm: number[] = [];
    const ln: number[] = [];
    const rms: number[] = [];
    for (let r = 0; r < R; r++) {
      const row = raw.slice(r * D, (r + 1) * D);
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const z = e.reduce((p, q) => p + q, 0);
      sm.push(...e.map((v) => v / z));
      const mean = row.reduce((p, q) => p + q, 0) / D;
      const variance = row.reduce((p, q) => p + (q - mean) ** 2, 0) / D;
      ln.push(...row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * w[i] + b[i]));
      const ms = row.reduce((p, q) => p + q * q, 0) / D;
      rms.push(...row.map((v, i) => (v / Math.sqrt(ms + 1e-6)) * w[i]));
    }
    const ys: Tensor[] = [softmax(x, -1), layerNorm(x, [D], wt, bt, 1e-5), rmsNorm(x, [D], wt, 1e-6)];
    expectClose(await ys[0].data(), sm, 1e-3, 1e-7);
    expectClose(await ys[1].data(), ln, 1e-3, 1e-4);
    expectClose(await ys[2].data(), rms, 1e-3, 1e-4);
    for (const t of [x, wt, bt, ...ys]) t.dispose();
  });
});

describe('webgpu: float16 storage', () => {
  it('encodes and decodes float16 in the shaders (round to nearest even, odd lengths)', async () => {
    const raw = [
      0,
      -0,
      1,
      -2.5,
      65504,
      70000,
      1e-7,
      6.1e-5,
      Math.PI,
      -1 / 3,
      2049,
      Number.POSITIVE_INFINITY,
      0.1,
    ];
    const x = fromValues(raw, [raw.length], 'float32');
    const h = x.cast('float16');
    const back = h.cast('float32');
    const got = await back.data();
    raw.forEach((v, i) => {
      expect(got[i]).toBe(fromFloat16Bits(toFloat16Bits(v)));
    });
    for (const t of [x, h, back]) t.dispose();
  });

  it('writes into every other element of a float16 storage without touching its neighbours', async () => {
    const n = 9;
    const bits = Uint16Array.from({ length: n }, (_, i) => toFloat16Bits(i + 0.5));
    const dst = backend.upload(bits, 'float16');
    const src = backend.upload(Float32Array.from([10, 20, 30, 40]), 'float32');
    backend.write(
      { storage: dst, dtype: 'float16', shape: [4], strides: [2], offset: 1 },
      { storage: src, dtype: 'float32', shape: [4], strides: [1], offset: 0 },
    );
    const got = (await backend.read(dst, 'float16')) as Uint16Array;
    const want = Array.from(bits);
    [10, 20, 30, 40].forEach((v, k) => {
      want[1 + 2 * k] = toFloat16Bits(v);
    });
    expect(Array.from(got)).toEqual(want);
    backend.free(dst);
    backend.free(src);
  });
});

describe('webgpu: memory and errors', () => {
  it('reports pooled bytes, and refuses allocations beyond the device limits with a clear error', async () => {
    const be = await createWebGPUBackend();
    const s = be.fill([1000], 1.5, 'float32') as GpuStorage;
    expect(Array.from(await be.read(s, 'float32')).every((v) => v === 1.5)).toBe(true);
    const before = be.memoryOverhead();
    be.free(s);
    await be.sync();
    expect(be.memoryOverhead()).toBeGreaterThanOrEqual(before + 4000);
    expect(() => be.fill([2 ** 38], 0, 'float32')).toThrow(/cannot allocate .* bytes/);
    be.dispose();
    expect(() => be.fill([4], 0, 'float32')).toThrow(/disposed/);
  });

  it('turns a lost device into an error naming the loss on the next op', async () => {
    const be = await createWebGPUBackend();
    be.device.destroy();
    await be.device.lost;
    expect(() => be.fill([4], 0, 'float32')).toThrow(/device was lost/);
  });

  it('surfaces a GPU validation error at the next read, naming the ops of the batch', async () => {
    const be = await createWebGPUBackend();
    const s = be.fill([8], 2, 'float32') as GpuStorage;
    // Destroying a buffer behind the backend's back makes the next dispatch on it invalid.
    s.buffer.destroy();
    const y = be.unary(
      'exp',
      { storage: s, dtype: 'float32', shape: [8], strides: [1], offset: 0 },
      'float32',
    );
    await expect(be.read(y, 'float32')).rejects.toThrow(/GPUValidationError.*exp/);
    be.dispose();
  });
});

describe('sin and cos to float32 accuracy (rotary tables need more than WGSL built-ins promise)', () => {
  it('within 2e-7 absolute of float64 Math.sin / Math.cos on |x| <= 2048', async () => {
    const n = 20_000;
    const xs = Float32Array.from(values(n, 9), (v, i) => (i < n / 2 ? v * 4 : v * 2048));
    const x = fromValues(xs, [n], 'float32');
    const [s, c] = await Promise.all([x.sin().data(), x.cos().data()]);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(s[i] - Math.sin(xs[i])), Math.abs(c[i] - Math.cos(xs[i])));
    }
    expect(worst).toBeLessThanOrEqual(2e-7);
  });
});

describe('conv2d as an implicit GEMM (tiles at the edges, groups, stride, dilation, strided input)', () => {
  /** float64 reference: torch's conv2d, written out. */
  function conv2dRef(
    x: number[],
    [N, C, H, W]: number[],
    w: number[],
    [O, Cg, KH, KW]: number[],
    [sh, sw]: number[],
    [ph, pw]: number[],
    [dh, dw]: number[],
    groups: number,
  ): { out: Float64Array; shape: number[] } {
    const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
    const out = new Float64Array(N * O * OH * OW);
    const og = O / groups;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            let acc = 0;
            const g = Math.floor(o / og);
            for (let c = 0; c < Cg; c++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const ih = oh * sh - ph + kh * dh;
                  const iw = ow * sw - pw + kw * dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  acc += x[((n * C + g * Cg + c) * H + ih) * W + iw] * w[((o * Cg + c) * KH + kh) * KW + kw];
                }
            out[((n * O + o) * OH + oh) * OW + ow] = acc;
          }
    return { out, shape: [N, O, OH, OW] };
  }

  const cases: [string, number[], number[], number[], number[], number[], number][] = [
    // name, x shape, w shape, stride, padding, dilation, groups
    ['3x3 64->64 at 16x16 (full tiles)', [1, 64, 16, 16], [64, 64, 3, 3], [1, 1], [1, 1], [1, 1], 1],
    ['3x3 5->37 at 9x7, batch 3 (partial tiles)', [3, 5, 9, 7], [37, 5, 3, 3], [1, 1], [1, 1], [1, 1], 1],
    ['stride 2, 4x4 kernel, padding 2', [2, 6, 11, 10], [8, 6, 4, 4], [2, 2], [2, 2], [1, 1], 1],
    ['dilation (2, 1), asymmetric stride', [1, 4, 12, 13], [9, 4, 3, 3], [1, 2], [2, 1], [2, 1], 1],
    ['groups 4 (8 outputs per group)', [2, 16, 8, 8], [32, 4, 3, 3], [1, 1], [1, 1], [1, 1], 4],
    ['1x1 over 70 channels', [1, 70, 5, 9], [40, 70, 1, 1], [1, 1], [0, 0], [1, 1], 1],
  ];
  for (const [name, xs, ws, stride, padding, dilation, groups] of cases) {
    it(name, async () => {
      const xv = values(
        xs.reduce((a, b) => a * b, 1),
        21,
      );
      const wv = values(
        ws.reduce((a, b) => a * b, 1),
        22,
      );
      const ref = conv2dRef(xv, xs, wv, ws, stride, padding, dilation, groups);
      const x = fromValues(xv, xs, 'float32');
      const w = fromValues(wv, ws, 'float32');
      const y = conv2d(x, w, undefined, {
        stride: stride as [number, number],
        padding: padding as [number, number],
        dilation: dilation as [number, number],
        groups,
      });
      expect(y.shape).toEqual(ref.shape);
      const got = await y.data();
      // float32 accumulation over up to 576 products of values in [-1, 1): |err| <= 1e-4 (1 + |ref|)
      let worst = 0;
      for (let i = 0; i < got.length; i++)
        worst = Math.max(worst, Math.abs(got[i] - ref.out[i]) / (1 + Math.abs(ref.out[i])));
      expect(worst).toBeLessThanOrEqual(1e-4);
    });
  }

  it('reads a non-contiguous (channels-last, permuted) input through its strides', async () => {
    const [N, C, H, W] = [2, 6, 5, 7];
    const nhwc = values(N * H * W * C, 23);
    const nchw: number[] = new Array(N * C * H * W);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++)
            nchw[((n * C + c) * H + h) * W + w] = nhwc[((n * H + h) * W + w) * C + c];
    const wv = values(12 * C * 3 * 3, 24);
    const ref = conv2dRef(nchw, [N, C, H, W], wv, [12, C, 3, 3], [1, 1], [1, 1], [1, 1], 1);
    const x = fromValues(nhwc, [N, H, W, C], 'float32').permute([0, 3, 1, 2]);
    const y = conv2d(x, fromValues(wv, [12, C, 3, 3], 'float32'), undefined, { padding: [1, 1] });
    const got = await y.data();
    for (let i = 0; i < got.length; i++)
      expect(Math.abs(got[i] - ref.out[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(ref.out[i])));
  });
});

describe('webgpu: matrix-vector products (a few rows, the decoding case)', () => {
  const cases: [string, number, number, number, number, boolean][] = [
    // name, batch, M, K, N, B transposed (columns contiguous along K, as x @ W.T)
    ['1 row, B row-major, N off the 64-column slice', 1, 1, 200, 333, false],
    ['1 row, B transposed (x @ W.T)', 1, 1, 130, 77, true],
    ['3 rows, batch 5 with B broadcast, transposed', 5, 3, 96, 70, true],
    ['4 rows, batch 2, B row-major', 2, 4, 64, 257, false],
  ];
  for (const [name, B, M, K, N, transposed] of cases) {
    it(name, async () => {
      const av = values(B * M * K, 31).map(f32);
      const bv = values(K * N, 32).map(f32);
      const a = fromValues(av, [B, M, K], 'float32');
      // B is one [K, N] matrix shared by the batch (broadcast, stride 0); transposed: a [N, K] buffer
      const b = transposed ? fromValues(bv, [N, K], 'float32').T : fromValues(bv, [K, N], 'float32');
      const y = matmul(a, b);
      const want = new Float64Array(B * M * N);
      for (let z = 0; z < B; z++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++)
              s += av[(z * M + i) * K + k] * (transposed ? bv[j * K + k] : bv[k * N + j]);
            want[(z * M + i) * N + j] = s;
          }
      expect(y.shape).toEqual([B, M, N]);
      expectClose(await y.data(), want);
      for (const t of [a, b, y]) t.dispose();
    });
  }

  it('a strided (sliced) row of A', async () => {
    const av = values(6 * 128, 33).map(f32);
    const bv = values(128 * 96, 34).map(f32);
    const rows = fromValues(av, [6, 128], 'float32');
    const a = rows.sliceDim(0, 4, 5); // row 4 only, offset view
    const y = matmul(a, fromValues(bv, [128, 96], 'float32'));
    const want = new Float64Array(96);
    for (let j = 0; j < 96; j++) for (let k = 0; k < 128; k++) want[j] += av[4 * 128 + k] * bv[k * 96 + j];
    expectClose(await y.data(), want);
  });
});

describe('conv2d implicit GEMM: 64- and 32-wide channel tiles, strided operands, the transposed and gradient paths', () => {
  // Deterministic values in [-1, 1) (an LCG; the references see the same numbers).
  function vals(n: number, seed: number): number[] {
    let s = seed >>> 0 || 1;
    return Array.from({ length: n }, () => {
      s = (Math.imul(s, 22695477) + 1) >>> 0;
      return (s >>> 8) / 8388608 - 1;
    });
  }
  const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
  interface Geom {
    xs: number[];
    ws: number[];
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    groups: number;
  }
  /**
   * float64 torch conv2d over contiguous x and w, visiting every (output, tap) pair once; `visit`
   * gets flat indices of x, w and out. Returns the output shape.
   */
  function eachTap(g: Geom, visit: (xi: number, wi: number, oi: number) => void): number[] {
    const [N, C, H, W] = g.xs;
    const [O, Cg, KH, KW] = g.ws;
    const [sh, sw] = g.stride;
    const [ph, pw] = g.padding;
    const [dh, dw] = g.dilation;
    const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
    const og = O / g.groups;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++)
            for (let c = 0; c < Cg; c++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const ih = oh * sh - ph + kh * dh;
                  const iw = ow * sw - pw + kw * dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const ci = Math.floor(o / og) * Cg + c;
                  visit(
                    ((n * C + ci) * H + ih) * W + iw,
                    ((o * Cg + c) * KH + kh) * KW + kw,
                    ((n * O + o) * OH + oh) * OW + ow,
                  );
                }
    return [N, O, OH, OW];
  }
  /** Reference output and, per element, the sum of |terms| (float32 rounding scales with it). */
  function reference(g: Geom, x: number[], w: number[]): { out: number[]; mag: number[]; shape: number[] } {
    const out: number[] = [];
    const mag: number[] = [];
    const shape = eachTap(g, (xi, wi, oi) => {
      out[oi] = (out[oi] ?? 0) + x[xi] * w[wi];
      mag[oi] = (mag[oi] ?? 0) + Math.abs(x[xi] * w[wi]);
    });
    const n = prod(shape);
    for (let i = 0; i < n; i++) {
      out[i] ??= 0;
      mag[i] ??= 0;
    }
    return { out, mag, shape };
  }
  /** float32 accumulation: |got - ref| <= 1e-6 + 1e-5 * Σ|terms| everywhere. */
  function expectConvClose(got: ArrayLike<number>, ref: { out: number[]; mag: number[] }): void {
    expect(got.length).toBe(ref.out.length);
    for (let i = 0; i < got.length; i++) {
      const err = Math.abs(got[i] - ref.out[i]);
      if (!(err <= 1e-6 + 1e-5 * ref.mag[i]))
        throw new Error(`element ${i}: got ${got[i]}, expected ${ref.out[i]} (Σ|terms| ${ref.mag[i]})`);
    }
  }

  const g = (
    xs: number[],
    ws: number[],
    stride: [number, number] = [1, 1],
    padding: [number, number] = [0, 0],
    dilation: [number, number] = [1, 1],
    groups = 1,
  ): Geom => ({ xs, ws, stride, padding, dilation, groups });
  const cases: [string, Geom][] = [
    [
      '100 output channels (a 64 tile and a partial one), 198 pixels, K = 63 (partial K tile)',
      g([2, 7, 9, 11], [100, 7, 3, 3], [1, 1], [1, 1]),
    ],
    [
      'exactly 64 output channels and 64 pixels (one full tile)',
      g([1, 16, 8, 8], [64, 16, 3, 3], [1, 1], [1, 1]),
    ],
    [
      'groups 3 with 5 outputs each, 2x3 kernel, padding (1, 0)',
      g([1, 21, 10, 9], [15, 7, 2, 3], [1, 1], [1, 0], [1, 1], 3),
    ],
    [
      'groups 2 with 4 outputs each (16-wide channel tile)',
      g([2, 6, 7, 5], [8, 3, 3, 3], [1, 1], [1, 1], [1, 1], 2),
    ],
    [
      '3 output channels, K = 288 (the U-Net output conv; 16-wide tile)',
      g([1, 32, 12, 10], [3, 32, 3, 3], [1, 1], [1, 1]),
    ],
    ['groups 4 with 3 outputs each, K = 18', g([1, 8, 6, 6], [12, 2, 3, 3], [1, 1], [1, 1], [1, 1], 4)],
    [
      '2 outputs per group, K = 9 (depthwise-like: direct kernel)',
      g([1, 4, 6, 6], [8, 1, 3, 3], [1, 1], [1, 1], [1, 1], 4),
    ],
    ['2 outputs per group, K = 18 (GEMM)', g([2, 4, 5, 6], [4, 2, 3, 3], [1, 1], [1, 1], [1, 1], 2)],
    [
      'depthwise (1 output per group, direct kernel)',
      g([1, 5, 7, 6], [5, 1, 3, 3], [1, 1], [1, 1], [1, 1], 5),
    ],
    [
      'large channel count: 3x3 192->80 at 6x6 (K = 1728)',
      g([1, 192, 6, 6], [80, 192, 3, 3], [1, 1], [1, 1]),
    ],
    ['stride 2, dilation 2, padding 3, 5x5 kernel', g([1, 8, 17, 15], [40, 8, 5, 5], [2, 2], [3, 3], [2, 2])],
    ['1x1, stride 2, batch 4 (one pixel tile spans images)', g([4, 33, 7, 7], [65, 33, 1, 1], [2, 2])],
    [
      'kernel nearly as large as the input (the weight-gradient shape: long K, few pixels)',
      g([2, 16, 12, 12], [48, 16, 10, 10], [1, 1], [1, 1]),
    ],
    ['a 1x1 output (single pixel), 33 channels', g([1, 9, 3, 3], [33, 9, 3, 3])],
  ];
  for (const [name, geom] of cases) {
    it(name, async () => {
      const xv = vals(prod(geom.xs), 31);
      const wv = vals(prod(geom.ws), 32);
      const ref = reference(geom, xv, wv);
      const y = conv2d(fromValues(xv, geom.xs, 'float32'), fromValues(wv, geom.ws, 'float32'), null, {
        stride: geom.stride,
        padding: geom.padding,
        dilation: geom.dilation,
        groups: geom.groups,
      });
      expect(y.shape).toEqual(ref.shape);
      expectConvClose(await y.data(), ref);
    });
  }

  it('gives the same result with every tile shape (forced), including tiles the picker does not use', async () => {
    const tiles = [
      { BM: 64, BN: 64, BK: 16 },
      { BM: 32, BN: 128, BK: 16 },
      { BM: 16, BN: 256, BK: 8 },
      { BM: 64, BN: 128, BK: 16 },
      { BM: 16, BN: 64, BK: 16 },
      { BM: 64, BN: 64, BK: 16, TM: 16, TN: 8 },
      { BM: 64, BN: 128, BK: 16, TM: 8, TN: 16 },
      { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
    ];
    const geoms = [
      g([2, 7, 9, 11], [70, 7, 3, 3], [1, 1], [1, 1]),
      g([1, 12, 13, 9], [18, 4, 2, 3], [2, 1], [1, 2], [2, 1], 3),
      g([3, 20, 5, 5], [5, 20, 1, 1]),
    ];
    const hook = globalThis as { __attnkitConvTile?: unknown };
    try {
      for (const tile of tiles) {
        hook.__attnkitConvTile = tile;
        for (const [i, geom] of geoms.entries()) {
          const xv = vals(prod(geom.xs), 40 + i);
          const wv = vals(prod(geom.ws), 50 + i);
          const y = conv2d(fromValues(xv, geom.xs, 'float32'), fromValues(wv, geom.ws, 'float32'), null, {
            stride: geom.stride,
            padding: geom.padding,
            dilation: geom.dilation,
            groups: geom.groups,
          });
          try {
            expectConvClose(await y.data(), reference(geom, xv, wv));
          } catch (e) {
            throw new Error(`tile ${JSON.stringify(tile)}, geometry ${i}: ${(e as Error).message}`);
          }
        }
      }
    } finally {
      hook.__attnkitConvTile = undefined;
    }
  });

  it('splits a dispatch of more than 65535 pixel tiles (forced 16-pixel tiles over a 1024x1040 image)', async () => {
    const geom = g([1, 1, 1024, 1040], [3, 1, 3, 3], [1, 1], [1, 1]);
    // 1024·1040 = 1,064,960 pixels = 66,560 tiles of 16: past maxComputeWorkgroupsPerDimension
    expect(Math.ceil((1024 * 1040) / 16)).toBeGreaterThan(
      backend.device.limits.maxComputeWorkgroupsPerDimension,
    );
    const xv = vals(prod(geom.xs), 60);
    const wv = vals(prod(geom.ws), 61);
    const hook = globalThis as { __attnkitConvTile?: unknown };
    hook.__attnkitConvTile = { BM: 16, BN: 16, BK: 16 };
    try {
      const y = conv2d(fromValues(xv, geom.xs, 'float32'), fromValues(wv, geom.ws, 'float32'), null, {
        padding: 1,
      });
      expectConvClose(await y.data(), reference(geom, xv, wv));
    } finally {
      hook.__attnkitConvTile = undefined;
    }
  });

  it('reads a permuted weight and an offset, sliced input through their strides', async () => {
    const geom = g([2, 12, 9, 10], [40, 12, 3, 3], [1, 1], [1, 1]);
    const [N, C, H, W] = geom.xs;
    const [O, Cg, KH, KW] = geom.ws;
    // x is channels 3..14 and columns 2..11 of a [2, 16, 9, 13] tensor
    const big = vals(N * 16 * H * 13, 33);
    const xv: number[] = [];
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) xv.push(big[((n * 16 + c + 3) * H + h) * 13 + w + 2]);
    // the weight is stored [KH, KW, Cg, O] and permuted to [O, Cg, KH, KW]
    const stored = vals(KH * KW * Cg * O, 34);
    const wv: number[] = [];
    for (let o = 0; o < O; o++)
      for (let c = 0; c < Cg; c++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) wv.push(stored[((kh * KW + kw) * Cg + c) * O + o]);
    const ref = reference(geom, xv, wv);
    const x = fromValues(big, [N, 16, H, 13], 'float32').narrow(1, 3, C).narrow(3, 2, W);
    const w = fromValues(stored, [KH, KW, Cg, O], 'float32').permute([3, 2, 0, 1]);
    expect(x.isContiguous).toBe(false);
    expect(w.isContiguous).toBe(false);
    const y = conv2d(x, w, null, { padding: 1 });
    expectConvClose(await y.data(), ref);
  });

  it('convTranspose2d (stride 2, padding 1, output padding 1, groups 2) against a float64 scatter', async () => {
    const [N, Ci, H, W] = [1, 40, 5, 6];
    const [Og, KH, KW, G] = [36, 4, 3, 2];
    const [s, p, op] = [2, 1, 1];
    const OH = (H - 1) * s - 2 * p + KH + op;
    const OW = (W - 1) * s - 2 * p + KW + op;
    const xv = vals(N * Ci * H * W, 35);
    const wv = vals(Ci * Og * KH * KW, 36);
    const out = new Array<number>(N * G * Og * OH * OW).fill(0);
    const mag = new Array<number>(out.length).fill(0);
    const cig = Ci / G;
    for (let n = 0; n < N; n++)
      for (let ci = 0; ci < Ci; ci++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++)
            for (let o = 0; o < Og; o++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const oh = h * s - p + kh;
                  const ow = w * s - p + kw;
                  if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                  const oc = Math.floor(ci / cig) * Og + o;
                  const t = xv[((n * Ci + ci) * H + h) * W + w] * wv[((ci * Og + o) * KH + kh) * KW + kw];
                  const oi = ((n * G * Og + oc) * OH + oh) * OW + ow;
                  out[oi] += t;
                  mag[oi] += Math.abs(t);
                }
    // imported here so this block stays self-contained (the file's imports are shared)
    const { convTranspose2d } = await import('@attnkit/tensor-core');
    const y = convTranspose2d(
      fromValues(xv, [N, Ci, H, W], 'float32'),
      fromValues(wv, [Ci, Og, KH, KW], 'float32'),
      null,
      { stride: s, padding: p, outputPadding: op, groups: G },
    );
    expect(y.shape).toEqual([N, G * Og, OH, OW]);
    expectConvClose(await y.data(), { out, mag });
  });

  it('conv2d gradients (input and weight; stride 2, groups 2) against float64', async () => {
    const geom = g([2, 10, 9, 8], [12, 5, 3, 3], [2, 2], [1, 1], [1, 1], 2);
    const xv = vals(prod(geom.xs), 37);
    const wv = vals(prod(geom.ws), 38);
    const shape = eachTap(geom, () => {});
    const gy = vals(prod(shape), 39);
    // L = Σ y·gy: dL/dx[xi] = Σ gy[oi]·w[wi], dL/dw[wi] = Σ gy[oi]·x[xi]
    const dx = { out: new Array<number>(xv.length).fill(0), mag: new Array<number>(xv.length).fill(0) };
    const dw = { out: new Array<number>(wv.length).fill(0), mag: new Array<number>(wv.length).fill(0) };
    eachTap(geom, (xi, wi, oi) => {
      dx.out[xi] += gy[oi] * wv[wi];
      dx.mag[xi] += Math.abs(gy[oi] * wv[wi]);
      dw.out[wi] += gy[oi] * xv[xi];
      dw.mag[wi] += Math.abs(gy[oi] * xv[xi]);
    });
    const x = fromValues(xv, geom.xs, 'float32').requiresGrad_();
    const w = fromValues(wv, geom.ws, 'float32').requiresGrad_();
    const y = conv2d(x, w, null, { stride: 2, padding: 1, groups: 2 });
    expect(y.shape).toEqual(shape);
    y.backward(fromValues(gy, shape, 'float32'));
    expectConvClose(await (x.grad as Tensor).data(), dx);
    expectConvClose(await (w.grad as Tensor).data(), dw);
  });
});
