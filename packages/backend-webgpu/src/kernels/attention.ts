import type { AttentionParams, BlockSparseIndex, View } from '@attnkit/tensor-core';
import { type GpuStorage, gridItems, type KernelContext } from '../context.js';
import { computeType, convert, declare, loader, META_DECL, Meta, mi, mu } from '../layout.js';

/** Queries per workgroup: one invocation per query row. */
const BQ = 64;
/** Keys per tile (one bit each in a u32 visibility mask). */
const BK = 32;
/** Feature columns of a key/value tile staged in workgroup memory at a time. */
const DC = 32;
/** Largest value head size whose output row is accumulated in registers. */
const REG_DV = 128;
/** Most layout words (row offsets and key blocks) one block-sparse dispatch carries in its meta. */
let sparseMetaWords = 8192;

/** @internal For tests: sets the layout words per block-sparse dispatch; returns the old value. */
export function setSparseMetaWords(n: number): number {
  const old = sparseMetaWords;
  sparseMetaWords = n;
  return old;
}

/**
 * Flash-style fused attention: out = softmax(q kᵀ · scale + mask) v on strided views, float32 out.
 *
 * q is [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] (any strides and offsets: a key/value head
 * shared by several query heads arrives with a head stride of 0, a KV cache as a slice of a larger
 * buffer). The mask is null, bool (1 = attend) or float (added to the scores), already broadcast to
 * [B, H, Lq, Lk] with stride 0 where expanded. Causal is aligned bottom-right: query i sees keys
 * j <= i + Lk - Lq. A query that sees no key (all masked, or -Infinity in a float mask) gives zeros;
 * a query with a NaN among its visible scores gives NaN, as the reference path and torch do.
 *
 * One workgroup per (batch, head, block of 64 queries), one invocation per query. Keys and values
 * are walked in tiles of 32 rows, staged through workgroup memory 32 feature columns at a time; each
 * invocation keeps its tile's scores in registers and runs an online softmax (running max and sum,
 * rescaling its output row when the max grows). The output row accumulates in registers for value
 * heads up to 128 wide and in the output buffer itself beyond, so any head size works; no Lq×Lk
 * matrix ever exists. Causal tiles past a block's last visible key are
 * skipped. Which scores are visible travels as a bit mask rather than as -Infinity, so the kernel
 * never relies on infinite arithmetic (which WGSL lets implementations assume away).
 *
 * With a block-sparse layout (`blocks`, compressed rows of visible key blocks, appended to the meta
 * words) a workgroup's queries stay inside one layout block (⌈blockSize / 64⌉ workgroups per block)
 * and it walks only that block's visible key blocks: the work grows with the visible blocks, not
 * Lq·Lk.
 */
export function attentionKernel(
  ctx: KernelContext,
  q: View,
  k: View,
  v: View,
  params: AttentionParams,
  blocks: BlockSparseIndex | null = null,
): GpuStorage {
  const [B, H, Lq, D] = q.shape;
  const Lk = k.shape[2];
  const Dv = v.shape[3];
  const total = B * H * Lq * Dv;
  const out = ctx.alloc('float32', total);
  if (total === 0) return out;
  const mask = params.mask;
  const bs = blocks ? blocks.blockSize : 0;
  // workgroups per layout block (sparse), and query tiles per (batch, head)
  const tpb = blocks ? Math.ceil(bs / BQ) : 0;
  // Meta of the dispatch over query blocks first .. first + count − 1 (sparse) or every query (dense)
  const metaFor = (first: number, count: number) => {
    const nqb = blocks ? count * tpb : Math.ceil(Lq / BQ);
    const groups = B * H * nqb;
    const meta = new Meta();
    meta.u(groups); // 0
    meta.u(nqb); // 1
    meta.u(H); // 2
    meta.i(Lq); // 3
    meta.i(Lk); // 4
    meta.i(D); // 5
    meta.i(Dv); // 6
    meta.u(params.causal ? 1 : 0); // 7
    meta.f(params.scale); // 8
    meta.i(Lk - Lq); // 9
    const layout = (x: View | null) => {
      const s = x ? x.strides : [0, 0, 0, 0];
      for (const st of s) meta.i(st);
      meta.i(x ? x.offset : 0);
    };
    layout(q); // 10..14
    layout(k); // 15..19
    layout(v); // 20..24
    layout(mask); // 25..29
    if (blocks) {
      const { rowStart, cols } = blocks;
      meta.i(bs); // 30
      meta.i(tpb); // 31
      meta.i(35 + count); // 32: where this dispatch's key blocks start
      meta.i(first); // 33: its first query block
      const e0 = rowStart[first];
      for (let i = first; i <= first + count; i++) meta.i(rowStart[i] - e0); // 34..34+count
      for (let e = e0; e < rowStart[first + count]; e++) meta.i(cols[e]);
    }
    return { meta, groups };
  };
  const maskKind = mask === null ? 'none' : mask.dtype === 'bool' ? 'bool' : 'float';
  const buffers = [out.buffer, (q.storage as GpuStorage).buffer, (k.storage as GpuStorage).buffer];
  buffers.push((v.storage as GpuStorage).buffer);
  if (mask) buffers.push((mask.storage as GpuStorage).buffer);
  // Dv up to REG_DV: the output row accumulates in registers; beyond, in the output buffer itself.
  const reg = Dv <= REG_DV;
  const sparse = blocks !== null;
  const key = `attention:${q.dtype}:${k.dtype}:${v.dtype}:${mask ? mask.dtype : 'none'}:${reg}:${sparse}:${BQ},${BK},${DC}`;
  const P = (expr: string) => `bitcast<i32>(prm[u32(${expr})])`;
  const O = (idx: string) => (reg ? `o[${idx}]` : `out[orow + ${idx}]`);
  const f = (expr: string, x: View) => convert(expr, computeType(x.dtype), 'f32');
  const code = () => `${META_DECL}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${declare(2, 'Qb', q.dtype, 'read')}
${declare(3, 'Kb', k.dtype, 'read')}
${declare(4, 'Vb', v.dtype, 'read')}
${mask ? declare(5, 'Mb', mask.dtype, 'read') : ''}
${loader('ldq', 'Qb', q.dtype)}
${loader('ldk', 'Kb', k.dtype)}
${loader('ldv', 'Vb', v.dtype)}
${mask ? loader('ldm', 'Mb', mask.dtype) : ''}
var<workgroup> tile: array<f32, ${BK * DC}>;
@compute @workgroup_size(${BQ}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= ${mu(0)}) { return; }
  let qblk = i32(g % ${mu(1)});
  let bh = g / ${mu(1)};
  let h = i32(bh % ${mu(2)});
  let b = i32(bh / ${mu(2)});
  let Lq = ${mi(3)};
  let Lk = ${mi(4)};
  let D = ${mi(5)};
  let Dv = ${mi(6)};
  let causal = ${mu(7)} != 0u;
  let scale = bitcast<f32>(${mu(8)});
  let shift = ${mi(9)};
  ${
    sparse
      ? `let bs = ${mi(30)};
  let qbl = qblk / ${mi(31)};
  let qb = ${mi(33)} + qbl;
  let sub = qblk % ${mi(31)};
  let i0 = qb * bs + sub * ${BQ};
  let rows = min(${BQ}, bs - sub * ${BQ});`
      : `let i0 = qblk * ${BQ};
  let rows = min(${BQ}, Lq - i0);`
  }
  // keys visible to the block's last query bound the walk (uniform across the workgroup)
  var end = Lk;
  if (causal) { end = min(Lk, i0 + rows + shift); }
  let r = i32(t);
  let i = i0 + r;
  let live = r < rows;
  let qrow = ${mi(14)} + b * ${mi(10)} + h * ${mi(11)} + i * ${mi(12)};
  let kbase = ${mi(19)} + b * ${mi(15)} + h * ${mi(16)};
  let vbase = ${mi(24)} + b * ${mi(20)} + h * ${mi(21)};
  let mrow = ${mi(29)} + b * ${mi(25)} + h * ${mi(26)} + i * ${mi(27)};
  let orow = ((b * i32(${mu(2)}) + h) * Lq + i) * Dv;
  let lastVisible = select(Lk - 1, i + shift, causal);
  var s: array<f32, ${BK}>;
  ${reg ? `var o: array<f32, ${REG_DV}>;` : ''}
  var m = 0.0;
  var l = 0.0;
  var started = false;
  var nan = false;
  ${
    sparse
      ? `// the visible key blocks of this query block, each clipped to the causal bound
  for (var e = ${P('34 + qbl')}; e < ${P('35 + qbl')}; e++) {
    let a = ${P(`${mi(32)} + e`)} * bs;
    let z = min(end, a + bs);`
      : `{
    let a = 0;
    let z = end;`
  }
  for (var j0 = a; j0 < z; j0 += ${BK}) {
    let n = min(${BK}, z - j0);
    for (var j = 0; j < ${BK}; j++) { s[j] = 0.0; }
    // S = q · kᵀ, the keys staged ${DC} columns at a time
    for (var c0 = 0; c0 < D; c0 += ${DC}) {
      let nc = min(${DC}, D - c0);
      for (var e = i32(t); e < ${BK * DC}; e += ${BQ}) {
        let j = e / ${DC};
        let c = e % ${DC};
        var x = 0.0;
        if (j < n && c < nc) { x = ${f(`ldk(kbase + (j0 + j) * ${mi(17)} + (c0 + c) * ${mi(18)})`, k)}; }
        tile[e] = x;
      }
      workgroupBarrier();
      if (live) {
        for (var c = 0; c < nc; c++) {
          let qc = ${f(`ldq(qrow + (c0 + c) * ${mi(13)})`, q)};
          for (var j = 0; j < ${BK}; j++) { s[j] = s[j] + qc * tile[j * ${DC} + c]; }
        }
      }
      workgroupBarrier();
    }
    // visibility, scale, mask and the tile's max
    var vis = 0u;
    var tmax = 0.0;
    if (live) {
      for (var j = 0; j < n; j++) {
        if (j0 + j > lastVisible) { break; }
        var x = s[j] * scale;
        var ok = true;
        ${
          maskKind === 'bool'
            ? `ok = ldm(mrow + (j0 + j) * ${mi(28)}) != 0u;`
            : maskKind === 'float'
              ? `let mbits = bitcast<u32>(${f(`ldm(mrow + (j0 + j) * ${mi(28)})`, mask as View)});
        if (mbits == 0xff800000u) { ok = false; } else { x = x + bitcast<f32>(mbits); }`
              : ''
        }
        if (ok) {
          // NaN tested on the bits: WGSL lets comparisons assume NaN away
          if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { nan = true; }
          if (vis == 0u || x > tmax) { tmax = x; }
          vis = vis | (1u << u32(j));
        }
        s[j] = x;
      }
    }
    // p = exp(s - m_new); the output row is rescaled by exp(m_old - m_new)
    var corr = 0.0;
    var lsum = 0.0;
    if (vis != 0u) {
      var mNew = tmax;
      if (started) { mNew = max(m, tmax); corr = exp(m - mNew); }
      for (var j = 0; j < ${BK}; j++) {
        var p = 0.0;
        if ((vis & (1u << u32(j))) != 0u) { p = exp(s[j] - mNew); }
        s[j] = p;
        lsum += p;
      }
      m = mNew;
    }
    // O = O · corr + P · V, the values staged ${DC} columns at a time
    for (var c0 = 0; c0 < Dv; c0 += ${DC}) {
      let nc = min(${DC}, Dv - c0);
      for (var e = i32(t); e < ${BK * DC}; e += ${BQ}) {
        let j = e / ${DC};
        let c = e % ${DC};
        var x = 0.0;
        if (j < n && c < nc) { x = ${f(`ldv(vbase + (j0 + j) * ${mi(22)} + (c0 + c) * ${mi(23)})`, v)}; }
        tile[e] = x;
      }
      workgroupBarrier();
      if (vis != 0u) {
        for (var c = 0; c < nc; c++) {
          var acc = 0.0;
          if (started) { acc = ${O('c0 + c')} * corr; }
          for (var j = 0; j < ${BK}; j++) { acc += s[j] * tile[j * ${DC} + c]; }
          ${O('c0 + c')} = acc;
        }
      }
      workgroupBarrier();
    }
    if (vis != 0u) {
      l = l * corr + lsum;
      started = true;
    }
  }
  }
  if (live) {
    if (nan) {
      // a quiet NaN built from a run-time value (a constant NaN does not compile)
      let qnan = bitcast<f32>(0x7fc00000u | ${mu(7)});
      for (var c = 0; c < Dv; c++) { out[orow + c] = qnan; }
    } else if (started && l > 0.0) {
      let inv = 1.0 / l;
      for (var c = 0; c < Dv; c++) { out[orow + c] = ${O('c')} * inv; }
    } else {
      for (var c = 0; c < Dv; c++) { out[orow + c] = 0.0; }
    }
  }
}`;
  if (!blocks) {
    const { meta, groups } = metaFor(0, 0);
    ctx.dispatch({ label: 'attention', key, code, buffers, meta, groups: gridItems(groups) });
    return out;
  }
  // Layouts too large for one dispatch's meta go in runs of query blocks (at least one each).
  const nblk = Lq / bs;
  for (let first = 0; first < nblk; ) {
    let count = 1;
    const e0 = blocks.rowStart[first];
    while (first + count < nblk && count + 2 + blocks.rowStart[first + count + 1] - e0 <= sparseMetaWords)
      count++;
    const { meta, groups } = metaFor(first, count);
    ctx.dispatch({ label: 'attention', key, code, buffers, meta, groups: gridItems(groups) });
    first += count;
  }
  return out;
}
