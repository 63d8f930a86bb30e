/**
 * The fast byte-pair encoder behind {@link bytePairMerge} (bpe.ts): the same merges, found
 * with integer-keyed tables instead of byte strings.
 *
 * Parts are always tokens, so "the rank of the concatenation of parts a and b" is a function of
 * the two ranks alone. It is looked up once per distinct (a, b) and memoised in an
 * open-addressing hash table keyed on the two integers, so the merge loop never builds strings.
 * Short pieces use a linear scan for the minimum (what tiktoken does); long ones (a run of CJK or
 * a huge run of spaces) use a binary heap over a linked list, which gives the same merges in
 * O(n log n). test/bpe.test.ts checks it equal to the readable loop.
 */

import type { RankTable } from './ranks.js';

const NONE = 0x7fffffff;
/** Pieces up to this many bytes use the quadratic scan; longer ones the heap. */
const SMALL_PIECE = 128;
const MAX_MEMO_BITS = 22;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/** Merges byte sequences into ranks with a tiktoken rank table. */
export class BytePairEncoder {
  /** Rank of each single byte, or -1 where the vocabulary lacks it. */
  readonly byteRank = new Int32Array(256).fill(-1);
  /** FNV-1a hash of each token's bytes, by rank. */
  private readonly tokenHash: Int32Array;
  /** Open-addressing index: hash slot -> rank (-1 empty). */
  private readonly slots: Int32Array;
  private readonly slotMask: number;
  private readonly bytes: Uint8Array;
  private readonly offsets: Int32Array;

  private memoA: Int32Array;
  private memoB: Int32Array;
  private memoV: Int32Array;
  private memoMask: number;
  private memoCount = 0;

  private toks = new Int32Array(SMALL_PIECE);
  private pairs = new Int32Array(SMALL_PIECE);

  constructor(readonly table: RankTable) {
    const { bytes, offsets, present, size, count } = table;
    this.bytes = bytes;
    this.offsets = offsets;
    this.tokenHash = new Int32Array(size);
    let cap = 1024;
    while (cap < count * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.slotMask = cap - 1;
    for (let r = 0; r < size; r++) {
      if (!present[r]) continue;
      let h = FNV_OFFSET;
      const e = offsets[r + 1];
      for (let j = offsets[r]; j < e; j++) h = Math.imul(h ^ bytes[j], FNV_PRIME);
      this.tokenHash[r] = h;
      if (this.lookupHashed(bytes, offsets[r], e, h) < 0) {
        let i = h & this.slotMask;
        while (this.slots[i] >= 0) i = (i + 1) & this.slotMask;
        this.slots[i] = r;
      }
      if (e - offsets[r] === 1 && this.byteRank[bytes[offsets[r]]] < 0) this.byteRank[bytes[offsets[r]]] = r;
    }
    const bits = 16;
    this.memoA = new Int32Array(1 << bits).fill(-1);
    this.memoB = new Int32Array(1 << bits);
    this.memoV = new Int32Array(1 << bits);
    this.memoMask = (1 << bits) - 1;
  }

  /** Rank of the token whose bytes are `src[s, e)` (hash `h`), or -1. */
  lookupHashed(src: Uint8Array, s: number, e: number, h: number): number {
    const slots = this.slots;
    const offsets = this.offsets;
    const bytes = this.bytes;
    const n = e - s;
    for (let i = h & this.slotMask; ; i = (i + 1) & this.slotMask) {
      const r = slots[i];
      if (r < 0) return -1;
      const o = offsets[r];
      if (offsets[r + 1] - o !== n || this.tokenHash[r] !== h) continue;
      let k = 0;
      while (k < n && bytes[o + k] === src[s + k]) k++;
      if (k === n) return r;
    }
  }

  /** Rank of the token whose bytes are `src[s, e)`, or -1. */
  lookup(src: Uint8Array, s: number, e: number): number {
    let h = FNV_OFFSET;
    for (let j = s; j < e; j++) h = Math.imul(h ^ src[j], FNV_PRIME);
    return this.lookupHashed(src, s, e, h);
  }

  /**
   * Rank of the token spelled by the ASCII string `text[s, e)`, or -1. Every char must be < 128
   * (then chars and UTF-8 bytes coincide); `h` is the FNV-1a hash of the chars.
   */
  lookupAscii(text: string, s: number, e: number, h: number): number {
    const slots = this.slots;
    const offsets = this.offsets;
    const bytes = this.bytes;
    const n = e - s;
    for (let i = h & this.slotMask; ; i = (i + 1) & this.slotMask) {
      const r = slots[i];
      if (r < 0) return -1;
      const o = offsets[r];
      if (offsets[r + 1] - o !== n || this.tokenHash[r] !== h) continue;
      let k = 0;
      while (k < n && bytes[o + k] === text.charCodeAt(s + k)) k++;
      if (k === n) return r;
    }
  }

  /** Rank of the token spelled by ranks `a` then `b`, or NONE. */
  pairRank(a: number, b: number): number {
    const mask = this.memoMask;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x5bd1e995, 0x85ebca77)) & mask;
    const A = this.memoA;
    for (;;) {
      const k = A[h];
      if (k === a && this.memoB[h] === b) return this.memoV[h];
      if (k === -1) break;
      h = (h + 1) & mask;
    }
    const v = this.concatRank(a, b);
    if ((this.memoCount + 1) * 2 > mask) {
      this.growMemo();
      return this.pairRankInsert(a, b, v);
    }
    A[h] = a;
    this.memoB[h] = b;
    this.memoV[h] = v;
    this.memoCount++;
    return v;
  }

  /** Rank of bytes(a) + bytes(b), or NONE; the hash continues FNV-1a from a's hash over b's bytes. */
  private concatRank(a: number, b: number): number {
    const offsets = this.offsets;
    const bytes = this.bytes;
    const ao = offsets[a];
    const al = offsets[a + 1] - ao;
    const bo = offsets[b];
    const bl = offsets[b + 1] - bo;
    let h = this.tokenHash[a];
    for (let j = bo; j < bo + bl; j++) h = Math.imul(h ^ bytes[j], FNV_PRIME);
    const n = al + bl;
    const slots = this.slots;
    for (let i = h & this.slotMask; ; i = (i + 1) & this.slotMask) {
      const r = slots[i];
      if (r < 0) return NONE;
      const o = offsets[r];
      if (offsets[r + 1] - o !== n || this.tokenHash[r] !== h) continue;
      let k = 0;
      while (k < al && bytes[o + k] === bytes[ao + k]) k++;
      if (k < al) continue;
      while (k < n && bytes[o + k] === bytes[bo + k - al]) k++;
      if (k === n) return r;
    }
  }

  private pairRankInsert(a: number, b: number, v: number): number {
    const mask = this.memoMask;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x5bd1e995, 0x85ebca77)) & mask;
    while (this.memoA[h] !== -1) h = (h + 1) & mask;
    this.memoA[h] = a;
    this.memoB[h] = b;
    this.memoV[h] = v;
    this.memoCount++;
    return v;
  }

  private growMemo(): void {
    const oldA = this.memoA;
    const oldB = this.memoB;
    const oldV = this.memoV;
    const bits = Math.min(MAX_MEMO_BITS, Math.log2(oldA.length) + 1);
    this.memoA = new Int32Array(1 << bits).fill(-1);
    this.memoB = new Int32Array(1 << bits);
    this.memoV = new Int32Array(1 << bits);
    this.memoMask = (1 << bits) - 1;
    this.memoCount = 0;
    if (bits === Math.log2(oldA.length)) return; // at the cap: start over rather than grow
    for (let i = 0; i < oldA.length; i++) if (oldA[i] !== -1) this.pairRankInsert(oldA[i], oldB[i], oldV[i]);
  }

  /** Bytes held by the memo table (reported by memory figures). */
  memoBytes(): number {
    return this.memoA.byteLength * 3 + this.slots.byteLength + this.tokenHash.byteLength;
  }

  /** Rank of single byte `b`; throws when the vocabulary has no such token. */
  private rankOfByte(b: number): number {
    const r = this.byteRank[b];
    if (r < 0)
      throw new Error(
        `BytePairEncoder: the vocabulary has no token for byte 0x${b.toString(16).padStart(2, '0')}, so this text cannot be encoded`,
      );
    return r;
  }

  /**
   * Appends the ranks of `bytes[start, end)` to `out`. The caller has already checked whether the
   * whole piece is a single token (tiktoken returns that token directly).
   */
  encode(bytes: Uint8Array, start: number, end: number, out: number[]): void {
    const n = end - start;
    if (n === 1) {
      out.push(this.rankOfByte(bytes[start]));
      return;
    }
    if (n > SMALL_PIECE) {
      this.encodeLong(bytes, start, end, out);
      return;
    }
    const toks = this.toks;
    const pairs = this.pairs;
    for (let i = 0; i < n; i++) toks[i] = this.rankOfByte(bytes[start + i]);
    for (let i = 0; i < n - 1; i++) pairs[i] = this.pairRank(toks[i], toks[i + 1]);
    let m = n;
    while (m > 1) {
      let best = NONE;
      let at = -1;
      for (let i = 0; i < m - 1; i++) {
        if (pairs[i] < best) {
          best = pairs[i];
          at = i;
        }
      }
      if (at < 0) break;
      toks[at] = best;
      for (let i = at + 1; i < m - 1; i++) {
        toks[i] = toks[i + 1];
        pairs[i] = pairs[i + 1];
      }
      m--;
      pairs[at] = at + 1 < m ? this.pairRank(best, toks[at + 1]) : NONE;
      if (at > 0) pairs[at - 1] = this.pairRank(toks[at - 1], best);
    }
    for (let i = 0; i < m; i++) out.push(toks[i]);
  }

  /** The heap-based merge for long pieces; same merges, same order as the scan. */
  private encodeLong(bytes: Uint8Array, start: number, end: number, out: number[]): void {
    const n = end - start;
    const tok = new Int32Array(n);
    const nxt = new Int32Array(n);
    const prv = new Int32Array(n);
    const ver = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      tok[i] = this.rankOfByte(bytes[start + i]);
      nxt[i] = i + 1 < n ? i + 1 : -1;
      prv[i] = i - 1;
    }
    const heap = new MergeHeap(n);
    for (let i = 0; i + 1 < n; i++) {
      const r = this.pairRank(tok[i], tok[i + 1]);
      if (r !== NONE) heap.push(r, i, 0);
    }
    while (heap.size > 0) {
      const r = heap.topRank();
      const p = heap.topPos();
      const v = heap.topVer();
      heap.pop();
      if (tok[p] < 0 || ver[p] !== v) continue;
      const q = nxt[p];
      // merge p and q
      tok[p] = r;
      ver[p]++;
      tok[q] = -1;
      const qn = nxt[q];
      nxt[p] = qn;
      if (qn >= 0) {
        prv[qn] = p;
        const r2 = this.pairRank(r, tok[qn]);
        if (r2 !== NONE) heap.push(r2, p, ver[p]);
      }
      const pp = prv[p];
      if (pp >= 0) {
        ver[pp]++;
        const r3 = this.pairRank(tok[pp], r);
        if (r3 !== NONE) heap.push(r3, pp, ver[pp]);
      }
    }
    for (let i = 0; i >= 0; i = nxt[i]) out.push(tok[i]);
  }
}

/** A binary min-heap of (rank, position, version), ordered by rank then position. */
class MergeHeap {
  size = 0;
  private rank: Int32Array;
  private pos: Int32Array;
  private ver: Int32Array;

  constructor(capacity: number) {
    this.rank = new Int32Array(Math.max(16, capacity));
    this.pos = new Int32Array(Math.max(16, capacity));
    this.ver = new Int32Array(Math.max(16, capacity));
  }

  topRank(): number {
    return this.rank[0];
  }
  topPos(): number {
    return this.pos[0];
  }
  topVer(): number {
    return this.ver[0];
  }

  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.pos[i] < this.pos[j]);
  }

  private swap(i: number, j: number): void {
    const r = this.rank[i];
    const p = this.pos[i];
    const v = this.ver[i];
    this.rank[i] = this.rank[j];
    this.pos[i] = this.pos[j];
    this.ver[i] = this.ver[j];
    this.rank[j] = r;
    this.pos[j] = p;
    this.ver[j] = v;
  }

  push(r: number, p: number, v: number): void {
    if (this.size === this.rank.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.rank = grow(this.rank);
      this.pos = grow(this.pos);
      this.ver = grow(this.ver);
    }
    let i = this.size++;
    this.rank[i] = r;
    this.pos[i] = p;
    this.ver[i] = v;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    this.rank[0] = this.rank[last];
    this.pos[0] = this.pos[last];
    this.ver[0] = this.ver[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.less(r, l) ? r : l;
      if (!this.less(c, i)) break;
      this.swap(c, i);
      i = c;
    }
  }
}
