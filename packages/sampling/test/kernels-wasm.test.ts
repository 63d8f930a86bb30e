// The sampling kernels: kernels.wat is assembled by the repository's one WebAssembly toolchain
// script (scripts/build-wasm.mjs, shared with backend-cpu), and the committed bytes must be exactly
// what it gives; the kernels agree with the JavaScript loops bit for bit.
import { fileURLToPath } from 'node:url';
import { Generator } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { assemble } from '../../../scripts/build-wasm.mjs';
import { divideByTemperature, HISTOGRAM_BUCKETS, histogram, loadRow } from '../src/processors/kernels.js';
import { KERNELS_WASM } from '../src/processors/kernels-wasm.js';

describe('the temperature kernel', () => {
  it('the committed WebAssembly is what kernels.wat assembles to', async () => {
    const wat = fileURLToPath(new URL('../src/processors/kernels.wat', import.meta.url));
    const { bytes, unshared } = (await assemble(wat)) as { bytes: Uint8Array; unshared: Uint8Array | null };
    expect(Buffer.from(bytes).toString('base64')).toBe(KERNELS_WASM);
    expect(unshared).toBeNull(); // the sampling kernels own their memory (no shared import)
  });

  it('long rows (SIMD) give fl32(x / fl32(t)) bit for bit and the max, NaN ignored', () => {
    const g = new Generator(5);
    for (const n of [1024, 1027, 200_001]) {
      const x = Float32Array.from({ length: n }, () => g.normal() * 7);
      x[3] = Number.NaN;
      x[n - 1] = Number.NEGATIVE_INFINITY;
      const t = 0.37;
      const want = Float32Array.from(x, (v) => v / Math.fround(t));
      let wantMax = Number.NEGATIVE_INFINITY;
      for (const v of want) if (v > wantMax) wantMax = v;
      const m = divideByTemperature(x, t);
      expect(Object.is(x[3], Number.NaN) || Number.isNaN(x[3])).toBe(true);
      x[3] = 0;
      want[3] = 0;
      expect(Array.from(x)).toEqual(Array.from(want));
      expect(m).toBe(wantMax);
    }
  });

  it('short rows (plain loop) agree with long rows', () => {
    const g = new Generator(6);
    const x = Float32Array.from({ length: 1024 }, () => g.normal() * 3);
    const short = x.slice(0, 1000);
    divideByTemperature(x, 1.9);
    expect(divideByTemperature(short, 1.9)).toBe(Math.max(...x.subarray(0, 1000)));
    expect(Array.from(short)).toEqual(Array.from(x.subarray(0, 1000)));
  });

  it('an empty row or a row of -inf has max -inf', () => {
    expect(divideByTemperature(new Float32Array(0), 2)).toBe(Number.NEGATIVE_INFINITY);
    expect(divideByTemperature(new Float32Array(2048).fill(Number.NEGATIVE_INFINITY), 2)).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
});

describe('the top-p histogram in WebAssembly equals the JavaScript loop bit for bit', () => {
  for (const n of [1024, 4099, 200_001]) {
    it(`${n} scores`, () => {
      const g = new Generator(n);
      const x = Float32Array.from({ length: n }, () => g.normal() * 9);
      x[7] = Number.NEGATIVE_INFINITY;
      x[8] = Number.NaN;
      x[9] = -1e30; // far below: no bucket
      let m = Number.NEGATIVE_INFINITY;
      for (const v of x) if (v > m) m = v;
      const cut = 64 * 7.5;
      const a = new Float64Array(HISTOGRAM_BUCKETS);
      const b = new Float64Array(HISTOGRAM_BUCKETS);
      const cands = new Int32Array(n);
      const nc = histogram(x, m, a, b, cut, cands);
      const row = loadRow(x);
      expect(row).not.toBeNull();
      const ncW = row!.histogram(m, cut);
      expect(ncW).toBe(nc);
      expect(nc).toBeGreaterThan(0);
      expect(Array.from(row!.cands.subarray(0, ncW))).toEqual(Array.from(cands.subarray(0, nc)));
      expect(Array.from(row!.sumsA)).toEqual(Array.from(a));
      expect(Array.from(row!.sumsB)).toEqual(Array.from(b));
      // and the sums are the masses: bucket k holds sum exp(-(t - k)/64) over its tokens
      let want = 0;
      for (const v of x) if ((m - v) * 64 < 4095) want += Math.exp(v - m);
      let got = 0;
      for (let k = 0; k < 4095; k++) got += Math.exp(-k / 64) * (a[k] + b[k]);
      expect(Math.abs(got - want) / want).toBeLessThan(1e-9);
    });
  }
});
