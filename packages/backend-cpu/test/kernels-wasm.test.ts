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
