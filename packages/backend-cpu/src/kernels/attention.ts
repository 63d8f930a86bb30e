import type { TypedArray, View } from '@attnkit/tensor-core';

/** Keys per tile: scores of one query against one tile live in a small scratch buffer. */
const TILE = 128;

/**
 * Flash-style fused attention on strided float32 views: out = softmax(q kᵀ · scale + mask) v.
 *
 * q is [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] (any strides; a key/value head shared by
 * several query heads arrives with a head stride of 0), mask (bool: 1 = attend, or float: added)
 * already broadcast to [B, H, Lq, Lk] or null. Causal is aligned bottom-right: query i sees keys
 * j <= i + Lk - Lq. A query that sees no key (all masked or -Infinity) gives zeros.
 *
 * Keys are walked in tiles with an online softmax (running max m, running sum l, accumulator
 * rescaled by exp(m_old - m_new) when the max grows), so memory is O(TILE + Dv) scratch plus the
 * output: the Lq×Lk matrix never exists. Arithmetic is in float64 (JS numbers); four query rows
 * share each key/value row load.
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
): Float32Array {
  const [B, H, Lq, D] = q.shape;
  const Lk = k.shape[2];
  const Dv = v.shape[3];
  const out = new Float32Array(B * H * Lq * Dv);
  const [qs0, qs1, qs2, qs3] = q.strides;
  const [ks0, ks1, ks2, ks3] = k.strides;
  const [vs0, vs1, vs2, vs3] = v.strides;
  const ms = mask ? mask.strides : [0, 0, 0, 0];
  const boolMask = mask !== null && mask.dtype === 'bool';
  const R = 4; // query rows per block
  const qrow = new Float64Array(R * D);
  const s = new Float64Array(R * TILE);
  const acc = new Float64Array(R * Dv);
  const m = new Float64Array(R);
  const l = new Float64Array(R);
  const NEG = Number.NEGATIVE_INFINITY;

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qb = q.offset + b * qs0 + h * qs1;
      const kb = k.offset + b * ks0 + h * ks1;
      const vb = v.offset + b * vs0 + h * vs1;
      const mb = mask ? mask.offset + b * ms[0] + h * ms[1] : 0;
      const ob = (b * H + h) * Lq * Dv;
      for (let i0 = 0; i0 < Lq; i0 += R) {
        const rows = Math.min(R, Lq - i0);
        // Keys visible to the last row of the block bound the loop; earlier rows mask the rest.
        const end = causal ? Math.min(Lk, i0 + rows - 1 + Lk - Lq + 1) : Lk;
        for (let r = 0; r < rows; r++) {
          let qo = qb + (i0 + r) * qs2;
          for (let c = 0; c < D; c++, qo += qs3) qrow[r * D + c] = Q[qo] * scale;
          m[r] = NEG;
          l[r] = 0;
        }
        acc.fill(0);
        for (let j0 = 0; j0 < end; j0 += TILE) {
          const j1 = Math.min(end, j0 + TILE);
          const n = j1 - j0;
          // scores of the block's rows against this tile
          for (let j = 0; j < n; j++) {
            const ko = kb + (j0 + j) * ks2;
            if (rows === R) {
              let d0 = 0;
              let d1 = 0;
              let d2 = 0;
              let d3 = 0;
              let kk = ko;
              for (let c = 0; c < D; c++, kk += ks3) {
                const kv = K[kk];
                d0 += qrow[c] * kv;
                d1 += qrow[D + c] * kv;
                d2 += qrow[2 * D + c] * kv;
                d3 += qrow[3 * D + c] * kv;
              }
              s[j] = d0;
              s[TILE + j] = d1;
              s[2 * TILE + j] = d2;
              s[3 * TILE + j] = d3;
            } else {
              for (let r = 0; r < rows; r++) {
                let dot = 0;
                let kk = ko;
                const qr = r * D;
                for (let c = 0; c < D; c++, kk += ks3) dot += qrow[qr + c] * K[kk];
                s[r * TILE + j] = dot;
              }
            }
          }
          // masks, tile max, rescale, then accumulate p·v
          for (let r = 0; r < rows; r++) {
            const i = i0 + r;
            const st = r * TILE;
            const last = causal ? i + Lk - Lq : Lk - 1; // last visible key of this row
            let tmax = NEG;
            for (let j = 0; j < n; j++) {
              let x = s[st + j];
              if (j0 + j > last) x = NEG;
              else if (M) {
                const mv = M[mb + i * ms[2] + (j0 + j) * ms[3]];
                if (boolMask) {
                  if (!mv) x = NEG;
                } else x += mv;
              }
              s[st + j] = x;
              if (x > tmax) tmax = x;
            }
            if (tmax === NEG) continue;
            const mOld = m[r];
            const mNew = Math.max(mOld, tmax);
            const ar = r * Dv;
            if (mOld !== mNew && l[r] !== 0) {
              const corr = Math.exp(mOld - mNew);
              l[r] *= corr;
              for (let c = 0; c < Dv; c++) acc[ar + c] *= corr;
            }
            m[r] = mNew;
            let lsum = 0;
            for (let j = 0; j < n; j++) {
              const x = s[st + j];
              if (x === NEG) continue;
              const p = Math.exp(x - mNew);
              lsum += p;
              let vo = vb + (j0 + j) * vs2;
              for (let c = 0; c < Dv; c++, vo += vs3) acc[ar + c] += p * V[vo];
            }
            l[r] += lsum;
          }
        }
        for (let r = 0; r < rows; r++) {
          const o = ob + (i0 + r) * Dv;
          const lr = l[r];
          if (lr > 0) {
            const inv = 1 / lr;
            for (let c = 0; c < Dv; c++) out[o + c] = acc[r * Dv + c] * inv;
          }
        }
      }
    }
  }
  return out;
}
