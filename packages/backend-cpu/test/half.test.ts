// float16 and bfloat16 weights: the conversions against PyTorch (fixture from
// scripts/reference/half_floats.py), the WebAssembly widening (widen_h, gemv_h) on every float16
// bit pattern, and linear() with a 16-bit weight on the CPU kernels (gemv_h for few rows, widen_h
// + GEMM for more) against a float64 product with the widened weights, on 1 and several threads.
import { readFileSync } from 'node:fs';
import { CpuBackend } from '@attnkit/backend-cpu';
import {
  fromBfloat16Bits,
  fromFloat16Bits,
  type LinearActivation,
  linear,
  registerBackend,
  setBackend,
  tensor,
  toBfloat16Bits,
  toFloat16Bits,
} from '@attnkit/tensor-core';
import { Linear16 } from '@attnkit/tensor-core/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores, type GemmExports, gemmModule } from '../src/pool.js';
import { rng, values } from './random.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/half-floats.json', import.meta.url), 'utf8')) as {
  f32: number[];
  bf16: number[];
  f16: number[];
  bf16_f32: number[];
  f16_f32: number[];
  f16_all_fnv: number;
};

const asF32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const bitsOf = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

/** gemm.wat instantiated on an ordinary memory, with a bump allocator. */
function wasm() {
  const mem = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
  const mod = gemmModule(false) as WebAssembly.Module;
  const ex = new WebAssembly.Instance(mod, { env: { mem } }).exports as unknown as GemmExports;
  let top = 1024;
  const alloc = (bytes: number) => {
    const p = top;
    top += Math.ceil(bytes / 16) * 16;
    if (top > mem.buffer.byteLength) mem.grow(Math.ceil((top - mem.buffer.byteLength) / 65536));
    return p;
  };
  return { mem, ex, alloc };
}

/** Widens 16-bit patterns with widen_h: `cols` per row (vector and scalar parts), rows of them. */
function widen(bits: Uint16Array, kind: 0 | 1): Uint32Array {
  const { mem, ex, alloc } = wasm();
  const w = alloc(bits.length * 2);
  const out = alloc(bits.length * 4);
  new Uint16Array(mem.buffer, w, bits.length).set(bits);
  ex.widen_h(w, bits.length, kind, out, 1, bits.length);
  return new Uint32Array(mem.buffer, out, bits.length).slice();
}

describe('16-bit float conversions', () => {
  it("float32 -> bfloat16 and -> float16 round to nearest even as torch's .to(bfloat16) / .half()", () => {
    const bad: string[] = [];
    fx.f32.forEach((b, i) => {
      const v = asF32(b);
      // a NaN's bits are the converter's choice (torch's vectorised bfloat16 NaN is 0xffff): NaNs
      // are compared as NaNs
      const bb = toBfloat16Bits(v);
      if (Number.isNaN(v) ? !Number.isNaN(fromBfloat16Bits(bb)) : bb !== fx.bf16[i])
        bad.push(`bf16 ${v}: ${bb} vs ${fx.bf16[i]}`);
      const h = toFloat16Bits(v);
      if (Number.isNaN(v) ? !Number.isNaN(fromFloat16Bits(h)) : h !== fx.f16[i])
        bad.push(`f16 ${v}: ${h} vs ${fx.f16[i]}`);
    });
    expect(bad).toEqual([]);
  });

  it("widen_h decodes torch's bfloat16 and float16 values exactly, in the vector and the scalar loop", () => {
    for (const [kind, bits, want] of [
      [1, fx.bf16, fx.bf16_f32],
      [0, fx.f16, fx.f16_f32],
    ] as const) {
      for (const len of [bits.length, 7]) {
        const got = widen(Uint16Array.from(bits.slice(0, len)), kind);
        expect([...got]).toEqual(want.slice(0, len));
      }
    }
    // the host decoders agree too
    expect(fx.bf16.map((b) => bitsOf(fromBfloat16Bits(b)))).toEqual(fx.bf16_f32);
  });

  it("widen_h decodes every float16 bit pattern (subnormals, inf, NaN payloads) as torch's .float()", () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const cols of [65536, 65535]) {
      const got = widen(all.subarray(0, cols), 0);
      let h = 0x811c9dc5;
      for (const w of got) {
        for (let k = 0; k < 4; k++) {
          h ^= (w >>> (8 * k)) & 0xff;
          h = Math.imul(h, 0x01000193) >>> 0;
        }
      }
      if (cols === 65536) expect(h).toBe(fx.f16_all_fnv);
      // pattern by pattern against the host decoder, for a readable failure
      for (let i = 0; i < cols; i++) {
        const want = fromFloat16Bits(i);
        if (Number.isNaN(want)) {
          // made quiet, payload kept (torch: 0x7c01 -> 0x7fc02000)
          expect(got[i] & 0x7fffffff).toBe(0x7fc00000 | ((i & 0x3ff) << 13));
          expect(got[i] >>> 31).toBe(i >>> 15);
        } else if (got[i] !== bitsOf(want)) {
          expect([i, asF32(got[i])]).toEqual([i, want]);
        }
      }
    }
    // bfloat16: the top half of a float32, every pattern
    const gotB = widen(all, 1);
    for (let i = 0; i < 65536; i++)
      if (gotB[i] !== (i << 16) >>> 0) expect([i, gotB[i]]).toEqual([i, i << 16]);
  });

  it('gemv_h is the float32 dot product of the widened row, odd lengths included', () => {
    const { mem, ex, alloc } = wasm();
    const [m, k, n] = [3, 37, 5];
    const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i) * 2);
    const wb = Uint16Array.from({ length: n * k }, (_, i) => toFloat16Bits(Math.cos(i * 1.7) * 3));
    const b = Float32Array.from({ length: n }, (_, i) => i - 2);
    const px = alloc(x.byteLength);
    const pw = alloc(wb.byteLength);
    const py = alloc(m * n * 4);
    const pb = alloc(b.byteLength);
    new Float32Array(mem.buffer, px, x.length).set(x);
    new Uint16Array(mem.buffer, pw, wb.length).set(wb);
    new Float32Array(mem.buffer, pb, n).set(b);
    ex.gemv_h(px, k, pw, k, k, 0, py, n, m, n, pb);
    const y = new Float32Array(mem.buffer, py, m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = b[j];
        let mag = Math.abs(b[j]);
        for (let q = 0; q < k; q++) {
          const p = x[i * k + q] * fromFloat16Bits(wb[j * k + q]);
          s += p;
          mag += Math.abs(p);
        }
        expect(Math.abs(y[i * n + j] - s)).toBeLessThanOrEqual((k + 2) * 2 ** -24 * mag);
      }
    }
  });
});

const multi = new CpuBackend({ threads: Math.min(3, availableCores()) });
const single = new CpuBackend({ threads: 1 });
registerBackend('cpu-half-threads', () => multi);
registerBackend('cpu-half-single', () => single);
beforeAll(async () => {
  await multi.ready();
});
afterAll(() => setBackend('cpu'));

describe('linear() with a float16 / bfloat16 weight on the CPU kernels', () => {
  // [m, k, n]: the host path (small), gemv_h (m < 8) with vector and scalar parts, and widen_h + GEMM
  const cases: [number, number, number][] = [
    [2, 13, 7],
    [1, 768, 600],
    [3, 200, 333],
    [2, 72, 513],
    [20, 96, 130],
    [9, 771, 64],
  ];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const dec = dtype === 'float16' ? fromFloat16Bits : fromBfloat16Bits;
    const enc = dtype === 'float16' ? toFloat16Bits : toBfloat16Bits;
    for (const [m, k, n] of cases) {
      for (const act of [null, 'gelu_tanh'] as (LinearActivation | null)[]) {
        it(`${dtype} [${m}, ${k}] x [${n}, ${k}] (${act ?? 'no activation'}): float64 of the widened weight, threads = 1 thread`, () => {
          const r = rng(m * 31 + k + n + (dtype === 'float16' ? 0 : 7));
          const x = values(m * k, r);
          const w = values(n * k, r);
          // subnormal float16 weights and signed zeros in every row
          for (let j = 0; j < n; j++) {
            w[j * k] = (r() - 0.5) * 2 ** -15;
            w[j * k + (k >> 1)] = -0;
          }
          const b = values(n, r);
          const wide = Float64Array.from(w, (v) => dec(enc(v)));
          const run = (name: string) => {
            setBackend(name);
            const wt = tensor(w, [n, k], dtype);
            expect(wt.dtype).toBe(dtype);
            return linear(tensor(x, [m, k]), wt, tensor(b, [n]), {
              activation: act,
            }).dataSync() as Float32Array;
          };
          const one = run('cpu-half-single');
          const many = run('cpu-half-threads');
          expect(many).toEqual(one);
          let worst = 0;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = b[j];
              let mag = Math.abs(b[j]);
              for (let q = 0; q < k; q++) {
                const p = x[i * k + q] * wide[j * k + q];
                s += p;
                mag += Math.abs(p);
              }
              const want = act
                ? 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3)))
                : s;
              // float32 accumulation of k products: (k + 3) roundings of at most 2^-24 · Σ|terms|
              const tol = 1.13 * (k + 3) * 2 ** -24 * mag + 4e-7 * Math.max(1, Math.abs(want));
              worst = Math.max(worst, Math.abs(one[i * n + j] - want) / tol);
            }
          }
          expect(worst).toBeLessThanOrEqual(1);
        });
      }
    }
  }

  it('float16 inf and NaN weights give inf and NaN outputs (gemv_h and widen_h + GEMM)', () => {
    for (const m of [1, 9]) {
      // m·n·k above the size that runs on the host: the WebAssembly kernels, with infinities and a
      // NaN in the first and second blocks of 16 and in the scalar tail (k = 6·16 + 8)
      const [k, n] = [104, 6];
      const x = new Float32Array(m * k).fill(0.5);
      const w = new Float32Array(n * k).fill(0.25);
      w[1 * k + 3] = Number.POSITIVE_INFINITY;
      w[2 * k + 103] = Number.NEGATIVE_INFINITY;
      w[4 * k + 17] = Number.NaN;
      w[5 * k] = 70000; // overflows float16 to inf
      setBackend('cpu-half-single');
      const y = linear(tensor(x, [m, k]), tensor(w, [n, k], 'float16')).dataSync();
      for (let i = 0; i < m; i++) {
        expect([...y.slice(i * n, i * n + n)]).toEqual([
          13,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          13,
          Number.NaN,
          Number.POSITIVE_INFINITY,
        ]);
      }
    }
  });

  it('Linear16 refuses a weight that is not a 16-bit matrix, and forward in training mode', () => {
    setBackend('cpu-half-single');
    expect(() => new Linear16(tensor(new Float32Array(6), [2, 3]), null)).toThrow(
      /Linear16: weight must be a float16 or bfloat16 matrix \[out, in\], got float32 \[2, 3\]/,
    );
    const layer = new Linear16(tensor(new Float32Array(6), [2, 3], 'bfloat16'), null);
    layer.train();
    expect(() => layer.forward(tensor(new Float32Array(3), [1, 3]))).toThrow(
      /bfloat16 weights are for inference .*call model.eval\(\)/,
    );
  });
});
