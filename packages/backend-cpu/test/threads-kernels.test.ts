// Attention and conv2d across the worker pool: the threaded results equal the single-threaded ones
// bit for bit (attention splits into whole units of (batch, head, query block); conv2d's GEMMs split
// output rectangles, each summed in the same order, its im2col splits rows of the column matrix and
// its direct loop for small groups (depthwise) whole output planes), and both equal float64
// references.
import { CpuBackend } from '@attnkit/backend-cpu';
import { attention, conv2d, registerBackend, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores } from '../src/pool.js';
import { rng, values } from './random.js';

const THREADS = Math.min(3, availableCores());
const multi = new CpuBackend({ threads: THREADS });
const single = new CpuBackend({ threads: 1 });
registerBackend('cpu-threads-k', () => multi);
registerBackend('cpu-single-k', () => single);

beforeAll(async () => {
  await multi.ready();
});
afterAll(() => setBackend('cpu'));

/**
 * The first index where two outputs differ (bit for bit, NaN equal to NaN) with both values, or
 * 'none': a short failure message where toEqual would format a diff of every element (minutes for
 * these sizes).
 */
function firstMismatch(a: Float32Array, b: Float32Array): string {
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} (threads) vs ${b[i]} (1 thread)`;
  return 'none';
}

type Make = (t: (v: Float32Array | Uint8Array, s: number[], dtype?: 'bool') => Tensor) => Tensor;
function on(name: string, f: Make): Float32Array {
  setBackend(name);
  return f((v, s, dtype) => (dtype ? tensor(v, s, { dtype }) : tensor(v, s))).dataSync() as Float32Array;
}

interface AttnCase {
  name: string;
  B: number;
  H: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  D: number;
  causal: boolean;
  /** 'pad': bool mask [B, 1, 1, Lk] hiding the last keys of batch 1; 'bias': float mask [Lq, Lk]. */
  mask: null | 'pad' | 'bias';
}

const attnCases: AttnCase[] = [
  {
    name: 'prefill, causal, query and key tiles',
    B: 2,
    H: 4,
    Hkv: 4,
    Lq: 150,
    Lk: 150,
    D: 64,
    causal: true,
    mask: null,
  },
  {
    name: 'decode (one query over a cache)',
    B: 1,
    H: 12,
    Hkv: 12,
    Lq: 1,
    Lk: 300,
    D: 64,
    causal: true,
    mask: null,
  },
  {
    name: 'decode with grouped heads, odd key count and head width (attn_row and its scalar tails)',
    B: 2,
    H: 4,
    Hkv: 2,
    Lq: 1,
    Lk: 37,
    D: 18,
    causal: true,
    mask: null,
  },
  {
    name: 'grouped heads, bool padding mask',
    B: 2,
    H: 8,
    Hkv: 2,
    Lq: 70,
    Lk: 200,
    D: 32,
    causal: false,
    mask: 'pad',
  },
  {
    name: 'float mask, Lq < Lk causal',
    B: 1,
    H: 6,
    Hkv: 6,
    Lq: 90,
    Lk: 260,
    D: 48,
    causal: true,
    mask: 'bias',
  },
];

describe('threaded attention', () => {
  for (const c of attnCases) {
    it(`${c.name}: ${THREADS} threads equal 1 thread bit for bit, and float64`, () => {
      const { B, H, Hkv, Lq, Lk, D } = c;
      const r = rng(B * 1000 + H * 100 + Lq + Lk);
      const q = values(B * H * Lq * D, r);
      const k = values(B * Hkv * Lk * D, r);
      const v = values(B * Hkv * Lk * D, r);
      const pad = Uint8Array.from({ length: B * Lk }, (_, i) => (i >= Lk + Lk - 37 ? 0 : 1));
      const bias = Float32Array.from({ length: Lq * Lk }, () => (r() < 0.1 ? -Infinity : r() * 2 - 1));
      const make: Make = (t) =>
        attention(t(q, [B, H, Lq, D]), t(k, [B, Hkv, Lk, D]), t(v, [B, Hkv, Lk, D]), {
          causal: c.causal,
          mask:
            c.mask === 'pad' ? t(pad, [B, 1, 1, Lk], 'bool') : c.mask === 'bias' ? t(bias, [Lq, Lk]) : null,
        });
      const y1 = on('cpu-single-k', make);
      const yt = on('cpu-threads-k', make);
      expect(yt.length).toBe(y1.length);
      expect(firstMismatch(yt, y1)).toBe('none');
      // float64 reference, with a bound from the float32 dot products (scores) and the P·V sums
      const scale = 1 / Math.sqrt(D);
      const eps = 2 ** -24;
      let worst = 0;
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const hk = Math.floor(h / (H / Hkv));
          for (let i = 0; i < Lq; i += 3) {
            const s = new Float64Array(Lk).fill(-Infinity);
            let sErr = 0;
            for (let j = 0; j < Lk; j++) {
              if (c.causal && j > i + Lk - Lq) continue;
              if (c.mask === 'pad' && !pad[b * Lk + j]) continue;
              let dot = 0;
              let mag = 0;
              for (let d = 0; d < D; d++) {
                const p = q[((b * H + h) * Lq + i) * D + d] * k[((b * Hkv + hk) * Lk + j) * D + d];
                dot += p;
                mag += Math.abs(p);
              }
              s[j] = dot * scale + (c.mask === 'bias' ? bias[i * Lk + j] : 0);
              sErr = Math.max(sErr, (D + 4) * eps * mag * scale + 4 * eps * Math.abs(s[j]));
            }
            const mx = Math.max(...s);
            const p = Array.from(s, (x) => (x === -Infinity ? 0 : Math.exp(x - mx)));
            const sum = p.reduce((a, x) => a + x, 0);
            for (let e = 0; e < D; e++) {
              let want = 0;
              let vmax = 0;
              for (let j = 0; j < Lk; j++) {
                const vv = v[((b * Hkv + hk) * Lk + j) * D + e];
                want += (p[j] / sum) * vv;
                if (p[j]) vmax = Math.max(vmax, Math.abs(vv));
              }
              // a score error δ moves the softmax weights by at most 2δ (relative), the float32
              // P·V sum and normalisation add (Lk + 4) ulps of the largest |v|
              const tol = (2 * sErr + (Lk + 4) * eps) * vmax + 1e-30;
              const got = yt[((b * H + h) * Lq + i) * D + e];
              worst = Math.max(worst, Math.abs(got - want) / tol);
            }
          }
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }

  it('decode (one query): a NaN in the query of a head gives that head NaN, infinite scores as the tiled loop', () => {
    const [H, Lk, D] = [3, 9, 8];
    const r = rng(7);
    const q = values(H * D, r);
    const k = values(H * Lk * D, r);
    const v = values(H * Lk * D, r);
    q[D + 2] = Number.NaN; // head 1
    q[2 * D] = Number.POSITIVE_INFINITY; // head 2: scores +inf or -inf
    k.fill(0, 2 * Lk * D, 3 * Lk * D);
    for (let j = 0; j < Lk; j++) k[(2 * Lk + j) * D] = -1; // every score of head 2 is -inf
    const make: Make = (t) => attention(t(q, [1, H, 1, D]), t(k, [1, H, Lk, D]), t(v, [1, H, Lk, D]));
    const y = on('cpu-single-k', make);
    expect(Array.from(y.subarray(D, 2 * D)).every(Number.isNaN)).toBe(true);
    expect(Array.from(y.subarray(2 * D))).toEqual(new Array(D).fill(0));
    expect(Array.from(y.subarray(0, D)).every(Number.isFinite)).toBe(true);
  });
});

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  o: number;
  kh: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
}

const convCases: ConvCase[] = [
  { name: '3x3, padding 1', x: [2, 16, 20, 20], o: 32, kh: 3, stride: 1, padding: 1, dilation: 1, groups: 1 },
  {
    name: '2 groups, stride 2, dilation 2',
    x: [1, 24, 33, 29],
    o: 40,
    kh: 3,
    stride: 2,
    padding: 2,
    dilation: 2,
    groups: 2,
  },
  {
    name: 'im2col split across threads (288 rows of 4096 columns)',
    x: [1, 32, 64, 64],
    o: 32,
    kh: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
  },
  {
    name: 'depthwise (the direct loop split by image and channel)',
    x: [2, 32, 48, 48],
    o: 32,
    kh: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 32,
  },
  {
    name: 'depthwise, channel multiplier 2, stride 2, dilation 2',
    x: [2, 24, 61, 57],
    o: 48,
    kh: 5,
    stride: 2,
    padding: 3,
    dilation: 2,
    groups: 24,
  },
  {
    name: 'bands of output rows (large image)',
    x: [1, 16, 200, 200],
    o: 16,
    kh: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
  },
];

describe('threaded conv2d', () => {
  for (const c of convCases) {
    it(`${c.name}: ${THREADS} threads equal 1 thread bit for bit, and float64`, () => {
      const [N, C, Hh, W] = c.x;
      const Cg = C / c.groups;
      const Og = c.o / c.groups;
      const r = rng(N * 31 + C * 7 + Hh);
      const x = values(N * C * Hh * W, r);
      const w = values(c.o * Cg * c.kh * c.kh, r);
      const make: Make = (t) =>
        conv2d(t(x, c.x), t(w, [c.o, Cg, c.kh, c.kh]), null, {
          stride: c.stride,
          padding: c.padding,
          dilation: c.dilation,
          groups: c.groups,
        });
      const y1 = on('cpu-single-k', make);
      const yt = on('cpu-threads-k', make);
      expect(yt.length).toBe(y1.length);
      expect(firstMismatch(yt, y1)).toBe('none');
      const OH = Math.floor((Hh + 2 * c.padding - c.dilation * (c.kh - 1) - 1) / c.stride) + 1;
      const OW = Math.floor((W + 2 * c.padding - c.dilation * (c.kh - 1) - 1) / c.stride) + 1;
      expect(yt.length).toBe(N * c.o * OH * OW);
      let worst = 0;
      const K = Cg * c.kh * c.kh;
      for (let idx = 0; idx < yt.length; idx += 97) {
        const ow = idx % OW;
        const oh = Math.floor(idx / OW) % OH;
        const o = Math.floor(idx / (OW * OH)) % c.o;
        const n = Math.floor(idx / (OW * OH * c.o));
        const g = Math.floor(o / Og);
        let s = 0;
        let mag = 0;
        for (let ci = 0; ci < Cg; ci++) {
          for (let a = 0; a < c.kh; a++) {
            for (let e = 0; e < c.kh; e++) {
              const ih = oh * c.stride - c.padding + a * c.dilation;
              const iw = ow * c.stride - c.padding + e * c.dilation;
              if (ih < 0 || ih >= Hh || iw < 0 || iw >= W) continue;
              const p =
                x[((n * C + g * Cg + ci) * Hh + ih) * W + iw] * w[((o * Cg + ci) * c.kh + a) * c.kh + e];
              s += p;
              mag += Math.abs(p);
            }
          }
        }
        worst = Math.max(worst, Math.abs(yt[idx] - s) / ((K + 2) * 2 ** -24 * mag + 1e-30));
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }
});
