/**
 * Fused attention over the heap, split across threads: the work is cut into units of one
 * (batch, head) pair and one block of ATTN_BQ queries, and thread t of T runs units t, t + T, ...
 * (interleaved, and the blocks of every other (batch, head) in reverse order, so the causal mask's
 * longer late blocks are shared out evenly).
 *
 * {@link attentionUnits} is the kernel one thread runs. It is self-contained (no imports, no
 * module constants): the worker pool inlines its source text into the worker program. It runs the
 * same FlashAttention loop as attention.ts (online softmax over key tiles of ATTN_BK), with the
 * tile products on gemm.wat's kernels reading q, k and v in place in the shared memory; a unit of
 * one query row without a mask (decoding) runs gemm.wat's `attn_row` instead. A unit's
 * result depends only on its own inputs and the code, never on the split, so any thread count
 * gives the single-threaded result bit for bit.
 */
import type { GemmExports } from '../pool.js';

/** Queries per unit (rows of the score tile). */
export const ATTN_BQ = 64;
/** Keys per tile (columns of the score tile). */
export const ATTN_BK = 128;
/** Float64 words of the parameter block {@link attentionUnits} reads. */
export const ATTN_PARAMS = 32;

/** Bytes of per-thread scratch {@link attentionUnits} needs for value width `dv`. */
export function attentionScratchBytes(dv: number): number {
  return (ATTN_BQ * ATTN_BK + 2 * ATTN_BQ * dv) * 4 + ATTN_BQ * 17;
}

/**
 * The parameter block (float64) of one attention call, written at `params` in the heap:
 * [B, H, Lq, Lk, D, Dv, q address (bytes), q strides (4), k address, k strides, v address,
 * v strides, mask address (-1 for none), mask strides, mask is bool (1/0, stored as float32
 * 1/0), scale, causal, out address]. Strides are in elements; out is contiguous [B, H, Lq, Dv].
 */
export interface AttentionCall {
  shape: [number, number, number, number, number, number];
  q: [number, number[]];
  k: [number, number[]];
  v: [number, number[]];
  mask: [number, number[]] | null;
  boolMask: boolean;
  scale: number;
  causal: boolean;
  out: number;
}

/** Writes `call` as the parameter block into `P` (ATTN_PARAMS float64 words). */
export function writeAttentionParams(P: Float64Array, call: AttentionCall): void {
  P.fill(0);
  P.set(call.shape, 0);
  P[6] = call.q[0];
  P.set(call.q[1], 7);
  P[11] = call.k[0];
  P.set(call.k[1], 12);
  P[16] = call.v[0];
  P.set(call.v[1], 17);
  P[21] = call.mask ? call.mask[0] : -1;
  if (call.mask) P.set(call.mask[1], 22);
  P[26] = call.boolMask ? 1 : 0;
  P[27] = call.scale;
  P[28] = call.causal ? 1 : 0;
  P[29] = call.out;
}

/**
 * Runs attention units start, start + step, ... of the call whose parameter block is at byte
 * `params`, with `scratch` (attentionScratchBytes(Dv) bytes) and gemm workspace `ws` of this thread.
 * Semantics as attention.ts: causal aligned bottom-right, a query that sees no key gives zeros, a
 * NaN among a query's visible scores gives NaN.
 */
export function attentionUnits(
  memory: WebAssembly.Memory,
  ex: GemmExports,
  params: number,
  start: number,
  step: number,
  scratch: number,
  ws: number,
): void {
  const BQ = 64;
  const BK = 128;
  const buf = memory.buffer;
  // addresses come through the pool's Int32Array: read them unsigned (heaps past 2 GiB)
  const P = new Float64Array(buf, params >>> 0, 32);
  const F = new Float32Array(buf);
  const B = P[0];
  const H = P[1];
  const Lq = P[2];
  const Lk = P[3];
  const D = P[4];
  const Dv = P[5];
  const qa = P[6];
  const qs0 = P[7];
  const qs1 = P[8];
  const qs2 = P[9];
  const qs3 = P[10];
  const ka = P[11];
  const ks0 = P[12];
  const ks1 = P[13];
  const ks2 = P[14];
  const ks3 = P[15];
  const va = P[16];
  const vs0 = P[17];
  const vs1 = P[18];
  const vs2 = P[19];
  const vs3 = P[20];
  const ma = P[21];
  const hasMask = ma >= 0;
  const ms0 = P[22];
  const ms1 = P[23];
  const ms2 = P[24];
  const ms3 = P[25];
  const boolMask = P[26] === 1;
  const scale = P[27];
  const causal = P[28] === 1;
  const outA = P[29];
  const sA = scratch >>> 0;
  const oA = sA + BQ * BK * 4;
  const tA = oA + BQ * Dv * 4;
  const s0 = sA >>> 2;
  const o0 = oA >>> 2;
  const t0 = tA >>> 2;
  const m = new Float64Array(buf, tA + BQ * Dv * 4, BQ);
  const l = new Float64Array(buf, tA + BQ * Dv * 4 + BQ * 8, BQ);
  const nan = new Uint8Array(buf, tA + BQ * Dv * 4 + BQ * 16, BQ);
  const NEG = Number.NEGATIVE_INFINITY;
  const shift = Lk - Lq;
  const nqb = Math.ceil(Lq / BQ);
  const units = B * H * nqb;
  const out0 = outA / 4;
  const m0 = hasMask ? ma / 4 : 0;
  for (let u = start; u < units; u += step) {
    const bh = Math.floor(u / nqb);
    // query blocks in reverse order for every other (batch, head): with 2 threads and 2 blocks a
    // thread would otherwise get every short early (causal) block and the other every long late one
    const i0 = (bh % 2 === 0 ? u % nqb : nqb - 1 - (u % nqb)) * BQ;
    const b = Math.floor(bh / H);
    const h = bh % H;
    const rows = Math.min(BQ, Lq - i0);
    const end = causal ? Math.min(Lk, i0 + rows + shift) : Lk;
    if (end <= 0) continue; // no row sees a key: the output stays zero
    const qb = qa + (b * qs0 + h * qs1 + i0 * qs2) * 4;
    const kb = ka + (b * ks0 + h * ks1) * 4;
    const vb = va + (b * vs0 + h * vs1) * 4;
    if (rows === 1 && !hasMask && qs3 === 1 && ks3 === 1 && vs3 === 1 && end <= BQ * BK) {
      // one query over unmasked keys (a decode step): gemm.wat's attn_row, scores in the tile
      ex.attn_row(qb, kb, ks2, vb, vs2, end, D, Dv, scale, sA, outA + ((b * H + h) * Lq + i0) * Dv * 4);
      continue;
    }
    const mb = m0 + b * ms0 + h * ms1;
    m.fill(NEG);
    l.fill(0);
    nan.fill(0);
    F.fill(0, o0, o0 + rows * Dv);
    for (let j0 = 0; j0 < end; j0 += BK) {
      const n = Math.min(BK, end - j0);
      const kt = kb + j0 * ks2 * 4;
      // S[r, j] = q_(i0+r) · k_(j0+j), leading dimension n
      if (rows < 8 && qs3 === 1 && ks3 === 1) ex.gemv_t(qb, qs2, kt, ks2, sA, n, rows, D, n, 0);
      else ex.gemm(qb, qs2, qs3, kt, ks3, ks2, sA, n, rows, D, n, 0, ws);
      let any = false;
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        const st = s0 + r * n;
        const last = causal ? i + shift - j0 : n - 1; // last visible column of this tile
        const mrow = mb + i * ms2 + j0 * ms3;
        let tmax = NEG;
        for (let j = 0; j < n; j++) {
          let x = F[st + j] * scale;
          if (j > last) x = NEG;
          else if (hasMask) {
            const mv = F[mrow + j * ms3];
            if (boolMask) {
              if (!mv) x = NEG;
            } else x += mv;
          }
          F[st + j] = x;
          if (x > tmax) tmax = x;
          else if (Number.isNaN(x)) nan[r] = 1;
        }
        if (tmax === NEG) {
          F.fill(0, st, st + n);
          continue;
        }
        any = true;
        const mOld = m[r];
        const mNew = Math.max(mOld, tmax);
        if (mOld !== mNew && l[r] !== 0) {
          const corr = Math.exp(mOld - mNew);
          l[r] *= corr;
          const orow = o0 + r * Dv;
          for (let c = 0; c < Dv; c++) F[orow + c] *= corr;
        }
        m[r] = mNew;
        let lsum = 0;
        for (let j = 0; j < n; j++) {
          const x = F[st + j];
          const p = x === NEG ? 0 : Math.exp(x - mNew);
          F[st + j] = p;
          lsum += p;
        }
        l[r] += lsum;
      }
      if (!any) continue;
      // T = P · v_(j0 .. j0+n), then O += T
      const vt = vb + j0 * vs2 * 4;
      if (rows < 8 && vs3 === 1) ex.gemv_n(sA, n, 1, vt, vs2, tA, Dv, rows, n, Dv, 0);
      else ex.gemm(sA, n, 1, vt, vs2, vs3, tA, Dv, rows, n, Dv, 0, ws);
      for (let e = 0; e < rows * Dv; e++) F[o0 + e] += F[t0 + e];
    }
    for (let r = 0; r < rows; r++) {
      const o = out0 + ((b * H + h) * Lq + i0 + r) * Dv;
      if (nan[r]) {
        F.fill(Number.NaN, o, o + Dv);
        continue;
      }
      const lr = l[r];
      if (!(lr > 0)) continue;
      const inv = 1 / lr;
      for (let c = 0; c < Dv; c++) F[o + c] = F[o0 + r * Dv + c] * inv;
    }
  }
}
