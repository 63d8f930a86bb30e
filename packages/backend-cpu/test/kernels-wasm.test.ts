// The WebAssembly that backend-cpu ships is assembled from src/kernels/gemm.wat by wabt through
// the repository's one toolchain script (scripts/build-wasm.mjs): the committed bytes must be
// exactly what the .wat gives, for the shared-memory module and its unshared variant.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { assemble } from '../../../scripts/build-wasm.mjs';
import { GEMM_WASM, GEMM_WASM_UNSHARED } from '../src/kernels/gemm-wasm.js';

describe('gemm.wat', () => {
  it('the committed bytes are what gemm.wat assembles to (shared and unshared memory)', async () => {
    const wat = fileURLToPath(new URL('../src/kernels/gemm.wat', import.meta.url));
    const { bytes, unshared } = (await assemble(wat)) as { bytes: Uint8Array; unshared: Uint8Array };
    expect(Buffer.from(bytes).toString('base64')).toBe(GEMM_WASM);
    expect(Buffer.from(unshared).toString('base64')).toBe(GEMM_WASM_UNSHARED);
    expect(WebAssembly.validate(Buffer.from(GEMM_WASM_UNSHARED, 'base64'))).toBe(true);
  });
});

describe('gemm.wat gelu_tanh (the linear epilogue of GPT-2 MLPs)', () => {
  const mem = new WebAssembly.Memory({ initial: 256, maximum: 65536 });
  const kernels = new WebAssembly.Instance(
    new WebAssembly.Module(Buffer.from(GEMM_WASM_UNSHARED, 'base64')),
    {
      env: { mem },
    },
  ).exports as unknown as { gelu_tanh: (c: number, ldc: number, m: number, n: number) => void };
  /**
   * float64 reference: transformers' gelu_new, 0.5·x·(1 + tanh u), written as x / (1 + exp(-2u))
   * (the same function) because 1 + tanh u cancels to 0 in float64 too once u < -19.
   */
  const geluTanh64 = (x: number) => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  it('its float64 reference is transformers formula where that one does not cancel', () => {
    for (const x of [-5, -1.5, -0.3, 0, 0.7, 2, 6])
      expect(geluTanh64(x)).toBeCloseTo(
        0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
        12,
      );
  });
  /**
   * Allowed error: float32 rounding of u = √(2/π)·(x + 0.044715·x³), a few ulps of |u|, moves
   * sigmoid(2u) by that times its relative slope 2|u|·(1 - sigmoid(2u)); plus 4 ulps of the result
   * itself. Results under 2e-37 (x below about -10) may flush to zero.
   */
  const tolerance = (x: number, want: number) => {
    const u = Math.abs(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3));
    const s = 1 / (1 + Math.exp(-2 * u * Math.sign(x)));
    return Math.abs(want) * (4 * 2 ** -24 + 3 * 2 ** -24 * 2 * u * (1 - s)) + 2e-37;
  };

  it('matches float64 over [-20, 20] (and ±0, ±inf, NaN, huge), rows of odd length, leaving the row padding alone', () => {
    const [m, n, ldc] = [7, 1001, 1003]; // n not a multiple of 4: the scalar tail runs
    const f = new Float32Array(mem.buffer, 64, m * ldc);
    const x = new Float32Array(m * ldc);
    for (let i = 0; i < x.length; i++) x[i] = -20 + (40 * i) / x.length;
    x.set([0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38, 1e-30, -1e-30], 0);
    f.set(x);
    kernels.gelu_tanh(64, ldc, m, n);
    let worst = 0;
    let where = '';
    for (let i = 0; i < m; i++)
      for (let j = 0; j < ldc; j++) {
        const at = i * ldc + j;
        const got = f[at];
        if (j >= n) {
          if (!Object.is(got, x[at])) worst = Infinity; // padding past n: untouched
          continue;
        }
        const want = Math.fround(geluTanh64(x[at]));
        if (Number.isNaN(want) || !Number.isFinite(want)) {
          expect(got, `x = ${x[at]}`).toBe(want);
          continue;
        }
        const e = Math.abs(got - want) / tolerance(x[at], want);
        if (e > worst) {
          worst = e;
          where = `x = ${x[at]}: ${got} vs ${want}`;
        }
      }
    expect(worst, where).toBeLessThanOrEqual(1);
  });
});
