import { KERNELS_WASM } from './kernels-wasm.js';

/** Rows at least this long go through WebAssembly (below, the copies cost more than they save). */
const WASM_MIN = 1024;
/** Buckets of the top-p histogram (warpers.ts). */
export const HISTOGRAM_BUCKETS = 4096;

interface Exports {
  memory: WebAssembly.Memory;
  divide_max(p: number, n: number, t: number): number;
  histogram(p: number, n: number, m: number, cut: number, sa: number, sb: number, cands: number): number;
}

let exportsOrNull: Exports | null | undefined;

/** The SIMD module (kernels.wat), or null where WebAssembly or its SIMD proposal is missing. */
function wasm(): Exports | null {
  if (exportsOrNull !== undefined) return exportsOrNull;
  exportsOrNull = null;
  try {
    if (typeof WebAssembly === 'object' && typeof atob === 'function') {
      const bytes = Uint8Array.from(atob(KERNELS_WASM), (c) => c.charCodeAt(0));
      if (WebAssembly.validate(bytes)) {
        exportsOrNull = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Exports;
      }
    }
  } catch {
    exportsOrNull = null;
  }
  return exportsOrNull;
}

/**
 * A row of scores copied into the WebAssembly memory, with room for the histogram's two bucket
 * arrays and the candidate list. Its contents are valid until the next {@link loadRow}.
 */
export interface LoadedRow {
  n: number;
  /** The row, in WebAssembly memory. */
  scores: Float32Array;
  sumsA: Float64Array;
  sumsB: Float64Array;
  cands: Int32Array;
  /** Divides the loaded row by fl32(t) in place; returns the largest quotient (NaN ignored). */
  divideMax(t: number): number;
  /** The top-p histogram of the loaded row below `m` (see warpers.ts); returns the candidate count. */
  histogram(m: number, cut: number): number;
}

/** The views of the last row length (rebuilt only when the length or the memory changes). */
let lastRow: LoadedRow | null = null;

/** Copies `scores` into WebAssembly memory, or returns null (short row, or no WebAssembly SIMD). */
export function loadRow(scores: Float32Array): LoadedRow | null {
  const n = scores.length;
  const w = n >= WASM_MIN ? wasm() : null;
  if (!w) return null;
  const pScores = 0;
  const pA = align(n * 4);
  const pB = pA + HISTOGRAM_BUCKETS * 8;
  const pC = pB + HISTOGRAM_BUCKETS * 8;
  const bytes = pC + n * 4;
  const have = w.memory.buffer.byteLength;
  if (have < bytes) w.memory.grow(Math.ceil((bytes - have) / 65536));
  const buf = w.memory.buffer;
  if (lastRow?.n !== n || lastRow.scores.buffer !== buf) {
    const sumsA = new Float64Array(buf, pA, HISTOGRAM_BUCKETS);
    const sumsB = new Float64Array(buf, pB, HISTOGRAM_BUCKETS);
    lastRow = {
      n,
      scores: new Float32Array(buf, pScores, n),
      sumsA,
      sumsB,
      cands: new Int32Array(buf, pC, n),
      divideMax: (t) => w.divide_max(pScores, n, t),
      histogram: (m, cut) => {
        sumsA.fill(0);
        sumsB.fill(0);
        return w.histogram(pScores, n, m, cut, pA, pB, pC);
      },
    };
  }
  lastRow.scores.set(scores);
  return lastRow;
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * Divides `scores` in place by the temperature as torch does (float32 division by the temperature
 * cast to float32: fl32(x / fl32(t)), which a float64 division of the two float32 values followed
 * by rounding to float32 reproduces exactly) and returns the largest quotient, NaN ignored.
 * Long rows run four divisions at a time in WebAssembly SIMD (kernels.wat), same bits; pass the
 * row already loaded with {@link loadRow} to keep it there for the next kernel.
 */
export function divideByTemperature(
  scores: Float32Array,
  temperature: number,
  loaded?: LoadedRow | null,
): number {
  const t = Math.fround(temperature);
  const row = loaded === undefined ? loadRow(scores) : loaded;
  if (row) {
    const m = row.divideMax(t);
    scores.set(row.scores);
    return m;
  }
  const n = scores.length;
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = scores[i] / t;
    scores[i] = v;
    if (v > m) m = v;
  }
  // the row holds float32 values: its max is the float32 rounding of the largest quotient
  return Math.fround(m);
}

/**
 * The top-p histogram in JavaScript (kernels.wat's `histogram` does the same operations in the same
 * order per array): adds each token's exp(-t/64) / exp(-k/64) = exp((k - t)/64) (a cubic in
 * r = (k - t)/64 ∈ (-1/64, 0], relative error < 2e-9) into its bucket k = floor(t),
 * t = 64·(m - score), when t < 4095; alternate tokens go to two arrays so consecutive tokens in one
 * bucket do not wait on each other. Tokens with t < cut are written to `cands` in index order;
 * returns their count.
 */
export function histogram(
  x: Float32Array,
  m: number,
  a: Float64Array,
  b: Float64Array,
  cut: number,
  cands: Int32Array,
): number {
  a.fill(0);
  b.fill(0);
  // literals, not the module's constants: V8 then folds them into the loop (measured 0.8 -> 0.55 ms
  // at 200,000 tokens)
  const steps = 64;
  const last = 4095;
  const inv = 0.015625;
  const n = x.length;
  let nc = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const t0 = (m - x[i]) * steps;
    const t1 = (m - x[i + 1]) * steps;
    if (t0 < last) {
      const k = t0 | 0;
      const r = (k - t0) * inv;
      a[k] += 1 + r * (1 + r * (0.5 + r * 0.16666666666666666));
      if (t0 < cut) cands[nc++] = i;
    }
    if (t1 < last) {
      const k = t1 | 0;
      const r = (k - t1) * inv;
      b[k] += 1 + r * (1 + r * (0.5 + r * 0.16666666666666666));
      if (t1 < cut) cands[nc++] = i + 1;
    }
  }
  if (i < n) {
    const t = (m - x[i]) * steps;
    if (t < last) {
      const k = t | 0;
      const r = (k - t) * inv;
      a[k] += 1 + r * (1 + r * (0.5 + r * 0.16666666666666666));
      if (t < cut) cands[nc++] = i;
    }
  }
  return nc;
}
