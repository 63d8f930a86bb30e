import type { BlockSparseIndex, TypedArray, View } from '@attnkit/tensor-core';
import { matmulKernel } from './matmul.js';

/** Queries per block (rows of the score tile). */
const BQ = 64;
/** Keys per tile (columns of the score tile). */
const BK = 128;

/**
 * Flash-style fused attention on strided float32 views: out = softmax(q kᵀ · scale + mask) v.
 *
 * q is [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] (any strides; a key/value head shared by
 * several query heads arrives with a head stride of 0), mask (bool: 1 = attend, or float: added)
 * already broadcast to [B, H, Lq, Lk] or null. Causal is aligned bottom-right: query i sees keys
 * j <= i + Lk - Lq. A query that sees no key (all masked or -Infinity) gives zeros; a query with a
 * NaN among its visible scores (NaN in q, k or the float mask) gives NaN, as the reference does.
 *
 * FlashAttention's loop: for each block of BQ queries, walk the keys in tiles of BK. A tile's scores
 * S = Q·Kᵀ and its contribution P·V are small GEMMs on the backend's matmul kernel (WebAssembly
 * SIMD where available; it reads q, k, v through their strides). Between them an online softmax
 * keeps a running max m and sum l per row and rescales the output block by exp(m_old − m_new)
 * when the max grows. Memory is O(BQ·(BK + Dv)) scratch plus the output: the Lq×Lk matrix never
 * exists, and causal tiles beyond a block's last visible key are skipped.
 *
 * With a block-sparse layout (`blocks`, compressed rows of visible key blocks) a query tile never
 * crosses a layout block, and it walks only its block's visible key blocks (adjacent ones merged
 * into one run of tiles): the work grows with the visible blocks, not Lq·Lk.
 */
export function attentionKernel(
  q: View,
  Q: TypedArray,
  k: View,
  K: TypedArray,
  v: View,
  V: TypedArray,
  mask: View | null,
  M: TypedArray | null,
  scale: number,
  causal: boolean,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
  blocks: BlockSparseIndex | null = null,
): Float32Array {
  const [B, H, Lq, D] = q.shape;
  const Lk = k.shape[2];
  const Dv = v.shape[3];
  const out = alloc(B * H * Lq * Dv);
  if (Lk === 0 || Lq === 0) return out;
  const [qs0, qs1, qs2, qs3] = q.strides;
  const [ks0, ks1, ks2, ks3] = k.strides;
  const [vs0, vs1, vs2, vs3] = v.strides;
  const ms = mask ? mask.strides : [0, 0, 0, 0];
  const boolMask = mask !== null && mask.dtype === 'bool';
  const Qf = Q as Float32Array;
  const Kf = K as Float32Array;
  const Vf = V as Float32Array;
  const S = new Float32Array(BQ * BK); // scores, then probabilities, of one tile
  const O = new Float32Array(BQ * Dv); // unnormalised output of one query block
  const m = new Float64Array(BQ); // running max per row
  const l = new Float64Array(BQ); // running sum per row
  const nan = new Uint8Array(BQ); // a visible score was NaN: the row's output is NaN (as torch)
  const NEG = Number.NEGATIVE_INFINITY;
  const shift = Lk - Lq; // query i sits at position i + shift
  const bs = blocks ? blocks.blockSize : Lq;
  // runs [start, end) of visible keys of the current query tile
  const runs = new Int32Array(2 * (blocks ? blocks.cols.length + 1 : 1));

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qb = q.offset + b * qs0 + h * qs1;
      const kb = k.offset + b * ks0 + h * ks1;
      const vb = v.offset + b * vs0 + h * vs1;
      const mb = mask ? mask.offset + b * ms[0] + h * ms[1] : 0;
      const ob = (b * H + h) * Lq * Dv;
      for (let i0 = 0, rows = 0; i0 < Lq; i0 += rows) {
        rows = Math.min(BQ, Lq - i0, bs - (i0 % bs)); // a tile stays inside one layout block
        // keys visible to the block's last row bound the walk; earlier rows mask the rest
        const end = causal ? Math.min(Lk, i0 + rows + shift) : Lk;
        if (end <= 0) continue; // no row sees a key: zeros
        let nruns = 0;
        if (blocks) {
          const qb = (i0 / bs) | 0;
          for (let e = blocks.rowStart[qb]; e < blocks.rowStart[qb + 1]; e++) {
            const a = blocks.cols[e] * bs;
            if (a >= end) break;
            const z = Math.min(end, a + bs);
            if (nruns > 0 && runs[2 * nruns - 1] === a) runs[2 * nruns - 1] = z;
            else {
              runs[2 * nruns] = a;
              runs[2 * nruns + 1] = z;
              nruns++;
            }
          }
        } else {
          runs[0] = 0;
          runs[1] = end;
          nruns = 1;
        }
        m.fill(NEG);
        l.fill(0);
        nan.fill(0);
        O.fill(0, 0, rows * Dv);
        for (let run = 0; run < nruns; run++) {
          const runEnd = runs[2 * run + 1];
          for (let j0 = runs[2 * run]; j0 < runEnd; j0 += BK) {
            const n = Math.min(BK, runEnd - j0);
            // S[r, j] = q_(i0+r) · k_(j0+j), leading dimension n
            S.fill(0, 0, rows * n);
            matmulKernel(Qf, qb + i0 * qs2, qs2, qs3, Kf, kb + j0 * ks2, ks3, ks2, S, 0, rows, D, n);
            let any = false;
            for (let r = 0; r < rows; r++) {
              const i = i0 + r;
              const st = r * n;
              const last = causal ? i + shift - j0 : n - 1; // last visible column of this tile
              const mrow = mb + i * ms[2] + j0 * ms[3];
              let tmax = NEG;
              for (let j = 0; j < n; j++) {
                let x = S[st + j] * scale;
                if (j > last) x = NEG;
                else if (M) {
                  const mv = M[mrow + j * ms[3]];
                  if (boolMask) {
                    if (!mv) x = NEG;
                  } else x += mv;
                }
                S[st + j] = x;
                if (x > tmax) tmax = x;
                else if (Number.isNaN(x)) nan[r] = 1;
              }
              if (tmax === NEG) {
                S.fill(0, st, st + n);
                continue;
              }
              any = true;
              const mOld = m[r];
              const mNew = Math.max(mOld, tmax);
              if (mOld !== mNew && l[r] !== 0) {
                const corr = Math.exp(mOld - mNew);
                l[r] *= corr;
                const orow = r * Dv;
                for (let c = 0; c < Dv; c++) O[orow + c] *= corr;
              }
              m[r] = mNew;
              let lsum = 0;
              for (let j = 0; j < n; j++) {
                const x = S[st + j];
                const p = x === NEG ? 0 : Math.exp(x - mNew);
                S[st + j] = p;
                lsum += p;
              }
              l[r] += lsum;
            }
            // O[r, c] += Σ_j P[r, j] · v_(j0+j)[c]
            if (any) matmulKernel(S, 0, n, 1, Vf, vb + j0 * vs2, vs2, vs3, O, 0, rows, n, Dv);
          }
        }
        for (let r = 0; r < rows; r++) {
          const o = ob + (i0 + r) * Dv;
          if (nan[r]) {
            out.fill(Number.NaN, o, o + Dv);
            continue;
          }
          const lr = l[r];
          if (!(lr > 0)) continue;
          const inv = 1 / lr;
          for (let c = 0; c < Dv; c++) out[o + c] = O[r * Dv + c] * inv;
        }
      }
    }
  }
  return out;
}
