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

/** Bytes of B copied per GEMV chunk: fits L2 for the rows that re-read it, and bounds scratch for huge matrices (an LM head). */
const GEMV_CHUNK_BYTES = 1 << 18;
/** Products with fewer rows than this run as matrix-vector products (B copied once per chunk, no packing). */
const GEMV_MAX_ROWS = 8;

interface WasmGemm {
  block: (pa: number, pb: number, pc: number, mc: number, nc: number, kc: number, ldc: number) => void;
  gemvT: (pa: number, pw: number, py: number, k: number, n: number) => void;
  gemvN: (pa: number, pb: number, py: number, k: number, n: number) => void;
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
        wasm = {
          block: inst.exports.block as WasmGemm['block'],
          gemvT: inst.exports.gemv_t as WasmGemm['gemvT'],
          gemvN: inst.exports.gemv_n as WasmGemm['gemvN'],
          mem,
          f32: new Float32Array(mem.buffer),
        };
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
 * packing). Products of 8+ rows run on the WebAssembly SIMD microkernel (packed panels,
 * cache-blocked); fewer rows on SIMD matrix-vector kernels when B has a contiguous dim; tiny
 * products, and hosts without WebAssembly SIMD, on a register-blocked JS loop.
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
  const w = m * n * k >= WASM_MIN_WORK ? getWasm() : null;
  if (w && m < GEMV_MAX_ROWS && (sbk === 1 || sbn === 1) && n * k >= 4096) {
    gemv(w, A, ao, sam, sak, B, bo, sbk, sbn, C, co, m, k, n);
    return;
  }
  if (!w || m < MR) {
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

/**
 * Products with fewer than MR rows (decoding: one token times a weight matrix) are memory-bound:
 * B is copied in chunks with fast typed-array copies (no packing loop) and each row of A runs a
 * SIMD matrix-vector kernel: dot products when B's columns are contiguous (`x @ W.T`), row updates
 * when its rows are.
 */
function gemv(
  w: WasmGemm,
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
  const k4 = roundUp(k, 4);
  const n4 = roundUp(n, 4);
  const pa = 0;
  const pa4 = 0;
  // A's rows, zero-padded to k4.
  let mem = ensureBytes(w, k4 * 4 * m);
  for (let i = 0; i < m; i++) {
    const dst = pa4 + i * k4;
    const src = ao + i * sam;
    if (sak === 1) mem.set(A.subarray(src, src + k), dst);
    else for (let q = 0; q < k; q++) mem[dst + q] = A[src + q * sak];
    if (k4 > k) mem.fill(0, dst + k, dst + k4);
  }
  if (sbk === 1) {
    // B's columns are contiguous (rows of W in x @ W.T): chunks of whole W rows, dot products.
    const chunk = Math.max(4, Math.min(n4, Math.floor(GEMV_CHUNK_BYTES / 4 / k4 / 4) * 4));
    const py = k4 * 4 * m;
    const pb = py + chunk * 4 * m;
    mem = ensureBytes(w, pb + k4 * chunk * 4);
    const py4 = py >> 2;
    const pb4 = pb >> 2;
    for (let j0 = 0; j0 < n; j0 += chunk) {
      const nn = Math.min(chunk, n - j0);
      const nn4 = roundUp(nn, 4);
      for (let j = 0; j < nn; j++) {
        const src = bo + (j0 + j) * sbn;
        const dst = pb4 + j * k4;
        mem.set(B.subarray(src, src + k), dst);
        if (k4 > k) mem.fill(0, dst + k, dst + k4);
      }
      if (nn4 > nn) mem.fill(0, pb4 + nn * k4, pb4 + nn4 * k4);
      for (let i = 0; i < m; i++) {
        w.gemvT(pa + i * k4 * 4, pb, py + i * chunk * 4, k4, nn4);
        const y4 = py4 + i * chunk;
        const c = co + i * n + j0;
        for (let j = 0; j < nn; j++) C[c + j] += mem[y4 + j];
      }
    }
    return;
  }
  // B's rows are contiguous: chunks of whole B rows, y += a[q] * B[q, :] accumulated across chunks.
  const chunk = Math.max(4, Math.min(k4, Math.floor(GEMV_CHUNK_BYTES / 4 / n4 / 4) * 4));
  const py = k4 * 4 * m;
  const pb = py + n4 * 4 * m;
  mem = ensureBytes(w, pb + chunk * n4 * 4);
  const py4 = py >> 2;
  const pb4 = pb >> 2;
  mem.fill(0, py4, py4 + n4 * m);
  for (let q0 = 0; q0 < k; q0 += chunk) {
    const kk = Math.min(chunk, k - q0);
    const kk4 = roundUp(kk, 4);
    for (let q = 0; q < kk; q++) {
      const src = bo + (q0 + q) * sbk;
      const dst = pb4 + q * n4;
      mem.set(B.subarray(src, src + n), dst);
      if (n4 > n) mem.fill(0, dst + n, dst + n4);
    }
    if (kk4 > kk) mem.fill(0, pb4 + kk * n4, pb4 + kk4 * n4);
    for (let i = 0; i < m; i++) w.gemvN(pa + (i * k4 + q0) * 4, pb, py + i * n4 * 4, kk4, n4);
  }
  for (let i = 0; i < m; i++) {
    const y4 = py4 + i * n4;
    const c = co + i * n;
    for (let j = 0; j < n; j++) C[c + j] += mem[y4 + j];
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
    } else if (sbk === 1) {
      // B transposed (x @ W.T): read each column (a row of W) contiguously.
      for (let c = 0; c < cols; c++) {
        const s = off + (j + c) * sbn;
        for (let q = 0; q < kk; q++) mem[panel + q * NR + c] = B[s + q];
      }
      for (let c = cols; c < NR; c++) for (let q = 0; q < kk; q++) mem[panel + q * NR + c] = 0;
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
