import { matmulJs } from './matmul-js.js';
import { assembleGemm } from './wasm-gemm.js';

/** Register tile of the WebAssembly microkernel: MR rows × NR columns of C in f32x4 accumulators. */
const MR = 4;
const NR = 8;
/** Unrolling of the microkernel's k loop (panels are zero-padded to a multiple of it); 2 and 4 measured slower here. */
const KU = 1;
/** Cache blocking: KC (depth of a panel), MC (rows of A per packed block), NC (columns of B per packed block). */
const KC = 256;
const MC = 128;
const NC = 2048;
/** Bytes of the C buffer per pass; row chunks are sized to fit. */
const C_BYTES = 1 << 24;
/** Below this many multiply-adds (or for a single row, which is memory-bound) the JS loop runs. */
const WASM_MIN_WORK = 8 * 8 * 8;

interface WasmGemm {
  block: (pa: number, pb: number, pc: number, mc: number, nc: number, kc: number, ldc: number) => void;
  mem: WebAssembly.Memory;
  f32: Float32Array;
}

let wasm: WasmGemm | null | undefined;

/** The assembled module, or null where WebAssembly SIMD is unavailable (then JS runs everything). */
function getWasm(): WasmGemm | null {
  if (wasm !== undefined) return wasm;
  wasm = null;
  try {
    if (typeof WebAssembly === 'object') {
      const bytes = assembleGemm(MR, NR, KU);
      if (WebAssembly.validate(bytes)) {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        const mem = inst.exports.mem as WebAssembly.Memory;
        wasm = { block: inst.exports.block as WasmGemm['block'], mem, f32: new Float32Array(mem.buffer) };
      }
    }
  } catch {
    wasm = null;
  }
  return wasm;
}

/** True when matmul runs on the WebAssembly SIMD microkernel (for reports and benchmarks). */
export function wasmGemmAvailable(): boolean {
  return getWasm() !== null;
}

/** Bytes of WebAssembly memory the GEMM holds as packing scratch (it grows to the largest product seen). */
export function gemmScratchBytes(): number {
  return wasm ? wasm.mem.buffer.byteLength : 0;
}

function ensureBytes(w: WasmGemm, bytes: number): Float32Array {
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  if (w.f32.buffer !== w.mem.buffer) w.f32 = new Float32Array(w.mem.buffer);
  return w.f32;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Single-threaded float32 GEMM on strided operands, accumulating: C[co + i*n + j] += sum_k
 * A[ao + i*sam + k*sak] · B[bo + k*sbk + j*sbn]. Any strides (transposed operands cost only the
 * packing). Large products run on the WebAssembly SIMD microkernel (packed panels, cache-blocked);
 * small ones, and hosts without WebAssembly SIMD, on a register-blocked JS loop.
 */
export function matmulKernel(
  A: Float32Array,
  ao: number,
  sam: number,
  sak: number,
  B: Float32Array,
  bo: number,
  sbk: number,
  sbn: number,
  C: Float32Array,
  co: number,
  m: number,
  k: number,
  n: number,
): void {
  if (m === 0 || n === 0 || k === 0) return;
  const w = m * n * k >= WASM_MIN_WORK && m >= 2 ? getWasm() : null;
  if (!w) {
    matmulJs(A, ao, sam, sak, B, bo, sbk, sbn, C, co, m, k, n);
    return;
  }
  const ncMax = Math.min(NC, roundUp(n, NR));
  const kcMax = roundUp(Math.min(KC, k), KU);
  const aBytes = MC * kcMax * 4;
  const bBytes = kcMax * ncMax * 4;
  const rowsPerPass = Math.max(MR, Math.floor(C_BYTES / 4 / ncMax / MR) * MR);
  const mPassMax = Math.min(rowsPerPass, roundUp(m, MR));
  const cBytes = mPassMax * ncMax * 4;
  const pa = 0;
  const pb = aBytes;
  const pc = aBytes + bBytes;
  const mem = ensureBytes(w, pc + cBytes);
  const pa4 = pa >> 2;
  const pb4 = pb >> 2;
  const pc4 = pc >> 2;
  for (let i0 = 0; i0 < m; i0 += rowsPerPass) {
    const mp = Math.min(rowsPerPass, m - i0);
    const mpPad = roundUp(mp, MR);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nn = Math.min(NC, n - j0);
      const nnPad = roundUp(nn, NR);
      mem.fill(0, pc4, pc4 + mpPad * nnPad);
      for (let p0 = 0; p0 < k; p0 += KC) {
        const kk = Math.min(KC, k - p0);
        const kkPad = roundUp(kk, KU);
        packB(mem, pb4, B, bo + p0 * sbk + j0 * sbn, sbk, sbn, kk, kkPad, nn, nnPad);
        for (let ic = 0; ic < mp; ic += MC) {
          const mm = Math.min(MC, mp - ic);
          const mmPad = roundUp(mm, MR);
          packA(mem, pa4, A, ao + (i0 + ic) * sam + p0 * sak, sam, sak, mm, kk, kkPad, mmPad);
          w.block(pa, pb, pc + ic * nnPad * 4, mmPad, nnPad, kkPad, nnPad);
        }
      }
      // Accumulate the pass into C.
      for (let i = 0; i < mp; i++) {
        const src = pc4 + i * nnPad;
        const dst = co + (i0 + i) * n + j0;
        for (let j = 0; j < nn; j++) C[dst + j] += mem[src + j];
      }
    }
  }
}

/** Packs kk×nn of B (from `off`, strides sbk/sbn) into NR-column panels, zero-padded to kkPad×nnPad. */
function packB(
  mem: Float32Array,
  dst: number,
  B: Float32Array,
  off: number,
  sbk: number,
  sbn: number,
  kk: number,
  kkPad: number,
  nn: number,
  nnPad: number,
): void {
  for (let j = 0; j < nnPad; j += NR) {
    const panel = dst + j * kkPad;
    const cols = Math.min(NR, nn - j);
    if (kkPad > kk) mem.fill(0, panel + kk * NR, panel + kkPad * NR);
    if (cols === NR && sbn === 1) {
      for (let q = 0; q < kk; q++) {
        const s = off + q * sbk + j;
        const d = panel + q * NR;
        mem[d] = B[s];
        mem[d + 1] = B[s + 1];
        mem[d + 2] = B[s + 2];
        mem[d + 3] = B[s + 3];
        mem[d + 4] = B[s + 4];
        mem[d + 5] = B[s + 5];
        mem[d + 6] = B[s + 6];
        mem[d + 7] = B[s + 7];
      }
    } else {
      for (let q = 0; q < kk; q++) {
        const s = off + q * sbk + j * sbn;
        const d = panel + q * NR;
        let c = 0;
        for (; c < cols; c++) mem[d + c] = B[s + c * sbn];
        for (; c < NR; c++) mem[d + c] = 0;
      }
    }
  }
}

/** Packs mm×kk of A (from `off`, strides sam/sak) into MR-row panels, zero-padded to mmPad×kkPad. */
function packA(
  mem: Float32Array,
  dst: number,
  A: Float32Array,
  off: number,
  sam: number,
  sak: number,
  mm: number,
  kk: number,
  kkPad: number,
  mmPad: number,
): void {
  for (let i = 0; i < mmPad; i += MR) {
    const panel = dst + i * kkPad;
    const rows = Math.min(MR, mm - i);
    if (kkPad > kk) mem.fill(0, panel + kk * MR, panel + kkPad * MR);
    const s0 = off + i * sam;
    if (rows === MR && sak === 1) {
      for (let r = 0; r < MR; r++) {
        const s = s0 + r * sam;
        for (let q = 0; q < kk; q++) mem[panel + q * MR + r] = A[s + q];
      }
    } else if (rows === MR) {
      for (let q = 0; q < kk; q++) {
        const d = panel + q * MR;
        const o = s0 + q * sak;
        for (let r = 0; r < MR; r++) mem[d + r] = A[o + r * sam];
      }
    } else {
      for (let q = 0; q < kk; q++) {
        const d = panel + q * MR;
        let r = 0;
        for (; r < rows; r++) mem[d + r] = A[s0 + r * sam + q * sak];
        for (; r < MR; r++) mem[d + r] = 0;
      }
    }
  }
}
