import { type GemmExports, gemmModule } from '../pool.js';
import { matmulJs } from './matmul-js.js';

/** Below this many multiply-adds the JS loop runs. */
const WASM_MIN_WORK = 8 * 8 * 8;
/** Products with fewer rows than this run as matrix-vector products. */
const GEMV_MAX_ROWS = 8;
/** Floats of each operand block copied into WebAssembly memory per pass (bounds the scratch for huge operands). */
const BLOCK_FLOATS = 1 << 22;

interface Scratch {
  ex: GemmExports;
  mem: WebAssembly.Memory;
  f32: Float32Array;
  ws: number;
}

let wasm: Scratch | null | undefined;

/**
 * gemm.wat's kernels over a private, unshared memory used as scratch (operands are copied in):
 * the single-threaded path for arrays outside the heap (hosts without SharedArrayBuffer, and the
 * attention and conv2d kernels' tiles). Null where WebAssembly SIMD is unavailable.
 */
function getWasm(): Scratch | null {
  if (wasm !== undefined) return wasm;
  wasm = null;
  try {
    const mod = gemmModule(false);
    if (mod) {
      const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      const ex = new WebAssembly.Instance(mod, { env: { mem } }).exports as unknown as GemmExports;
      wasm = { ex, mem, f32: new Float32Array(mem.buffer), ws: ex.gemm_ws_bytes() };
    }
  } catch {
    wasm = null;
  }
  return wasm;
}

/** True when matmul runs on the WebAssembly SIMD kernels (for reports and benchmarks). */
export function wasmGemmAvailable(): boolean {
  return getWasm() !== null;
}

/** Bytes of WebAssembly memory the single-threaded path holds as scratch (it grows to the largest block seen). */
export function gemmScratchBytes(): number {
  return wasm ? wasm.mem.buffer.byteLength : 0;
}

function ensureBytes(w: Scratch, bytes: number): Float32Array {
  const have = w.mem.buffer.byteLength;
  if (have < bytes) w.mem.grow(Math.ceil((bytes - have) / 65536));
  if (w.f32.buffer !== w.mem.buffer) w.f32 = new Float32Array(w.mem.buffer);
  return w.f32;
}

/** Copies the rows × cols block at `off` (strides s0, s1) of `src` into `dst` from `at`, row-major. */
function copyIn(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  s0: number,
  s1: number,
  rows: number,
  cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const o = off + i * s0;
    const d = at + i * cols;
    if (s1 === 1) dst.set(src.subarray(o, o + cols), d);
    else for (let j = 0; j < cols; j++) dst[d + j] = src[o + j * s1];
  }
}

/**
 * Single-threaded float32 GEMM on strided operands, accumulating: C[co + i*n + j] += sum_k
 * A[ao + i*sam + k*sak] · B[bo + k*sbk + j*sbn]. Blocks of A and B (at most BLOCK_FLOATS each) are
 * copied into WebAssembly memory and multiplied by gemm.wat's kernels: `gemm` (packed panels,
 * 4×8 register tiles), or for fewer than 8 rows `gemv_t` (B's columns contiguous, `x @ W.T`).
 * Tiny products, and hosts without WebAssembly SIMD, run a register-blocked JS loop.
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
  if (!w) {
    matmulJs(A, ao, sam, sak, B, bo, sbk, sbn, C, co, m, k, n);
    return;
  }
  const gemv = m < GEMV_MAX_ROWS && sbk === 1;
  const mb = Math.max(1, Math.min(m, Math.floor(BLOCK_FLOATS / k)));
  const nb = Math.max(8, Math.min(n, Math.floor(BLOCK_FLOATS / k / 8) * 8));
  const pa = w.ws;
  const pb = pa + mb * k * 4;
  const pc = pb + nb * k * 4;
  let mem = ensureBytes(w, pc + mb * nb * 4);
  for (let i0 = 0; i0 < m; i0 += mb) {
    const mm = Math.min(mb, m - i0);
    copyIn(mem, pa >>> 2, A, ao + i0 * sam, sam, sak, mm, k);
    for (let j0 = 0; j0 < n; j0 += nb) {
      const nn = Math.min(nb, n - j0);
      if (gemv) {
        // B's columns are rows of W: copy them as [nn, k] and take dot products
        copyIn(mem, pb >>> 2, B, bo + j0 * sbn, sbn, 1, nn, k);
        w.ex.gemv_t(pa, k, pb, k, pc, nn, mm, k, nn, 0);
      } else {
        copyIn(mem, pb >>> 2, B, bo + j0 * sbn, sbk, sbn, k, nn);
        w.ex.gemm(pa, k, 1, pb, nn, 1, pc, nn, mm, k, nn, 0, 0); // workspace at address 0
      }
      if (mem.buffer !== w.mem.buffer) mem = ensureBytes(w, 0);
      const c4 = pc >>> 2;
      for (let i = 0; i < mm; i++) {
        const src = c4 + i * nn;
        const dst = co + (i0 + i) * n + j0;
        for (let j = 0; j < nn; j++) C[dst + j] += mem[src + j];
      }
    }
  }
}
