// Fused attention: softmax(q kᵀ · scale + mask) v, with its reference composition and its gradient,
// beside softmax and the norms. Two paths compute the same thing:
//   - the reference composition into primitives (matmul, where, softmax, matmul): autograd through
//     every step, the weights available, dropout, any backend;
//   - the backend's optional fused `attention` kernel (flash-style on backend-cpu and
//     backend-webgpu: never materialises Lq×Lk), used when nothing asks for the weights; its
//     gradient recomputes the weights block by block, as FlashAttention's backward.
//
// Shapes: q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv] (rank 2 and 3 read as [L, D] and
// [N, L, D]), H a multiple of Hkv: query head h uses key/value head floor(h / (H / Hkv)), as HF's
// repeat_kv. Causal masking is aligned bottom-right (the queries are the last Lq positions, the
// layout of a KV cache). A query that sees no key gives zeros, not NaN. Output [B, H, Lq, Dv].
//
// A block-sparse layout (`blockSparse`) restricts each block of queries to a list of key blocks. On
// a backend with the optional `blockSparseAttention` kernel the forward walks only those blocks
// (time and scratch grow with the visible blocks, not Lq·Lk); everywhere else the layout becomes
// the equivalent boolean mask. The fused path's backward recomputes the weights per layout query
// block against only its visible key blocks (gathered, adjacent ones merged), so it skips the
// invisible blocks too.

import { isGradEnabled, noGrad, record } from '../autograd.js';
import type { Backend, BlockSparseIndex, View } from '../backend.js';
import { fromValues, tensor, zeros } from '../creation.js';
import { isFloat, isHalf } from '../dtype.js';
import { opScope, tidy } from '../memory.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { abs, add, gt, le, logicalAnd, lt, mul, ne, sub, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { max, sum } from './reduce.js';
import { concat } from './shape-ops.js';
import { softmax } from './softmax.js';
import { copyInto } from './transfer.js';
import { wrap } from './util.js';

/** Options of {@link attention}. */
export interface AttentionOptions {
  /**
   * A boolean mask (true = attend) or an additive float mask, broadcastable to [B, H, Lq, Lk].
   * Float entries of -Infinity exclude a key.
   */
  mask?: Tensor | null;
  /** Causal masking aligned bottom-right: query i of Lq sees keys j <= i + Lk - Lq. */
  causal?: boolean;
  /** Multiplier of q·k; 1/sqrt(D) by default. */
  scale?: number | null;
  /**
   * Sliding-window size w: query at position p sees keys p - w < j <= p with `causal` (the window
   * counts the query's own position), |j - p| < w without it.
   */
  windowSize?: number | null;
  /**
   * A block-sparse layout: query block i sees only the key blocks `visible[i]` (combined with
   * `mask`, `causal` and `windowSize`). Its block size must divide Lq and Lk and every query block
   * must see a key block. Skipped blocks cost nothing on a backend with `blockSparseAttention`.
   */
  blockSparse?: BlockSparseLayout | null;
  /** Dropout probability on the weights (forces the reference composition). */
  dropoutP?: number;
  /** Generator for dropout; the global one by default. */
  generator?: Generator;
  /** Also return the softmax weights [..., Lq, Lk] (forces the reference composition). */
  returnWeights?: boolean;
  /**
   * `auto` (default): the backend's fused kernel when it has one and nothing needs the weights,
   * else the reference composition. `reference` always composes; `fused` requires the kernel.
   */
  implementation?: 'auto' | 'fused' | 'reference';
  /**
   * Elements of the weight block the fused path's backward recomputes at a time (default 2^22,
   * 16 MiB of float32): smaller saves memory, larger saves matmul launches.
   */
  backwardBlockElements?: number;
  /** Name used in error messages (a wrapper such as `scaledDotProductAttention` passes its own). */
  opName?: string;
}

/**
 * A block-sparse attention pattern: the sequence is cut into blocks of `blockSize` positions, and
 * query block i sees the key blocks `visible[i]` (sorted, no duplicates). `@attnkit/attention`
 * builds the usual ones (Sparse Transformer, Longformer, BigBird).
 */
export interface BlockSparseLayout {
  readonly blockSize: number;
  /** For each query block, the indices of the key blocks it sees. */
  readonly visible: readonly (readonly number[])[];
}

/** Output and weights of {@link attention} with `returnWeights: true`. */
export interface AttentionResult {
  /** [..., Lq, Dv] (the rank of the inputs). */
  output: Tensor;
  /** Softmax weights [..., Lq, Lk] (before dropout); rows that see no key are zeros. */
  weights: Tensor;
}

/**
 * Attention, `softmax(q kᵀ · scale + mask) v`: the fused op behind
 * `@attnkit/attention`'s scaledDotProductAttention. Grouped-query heads (k/v may have fewer heads
 * than q), bottom-right causal alignment for Lq ≠ Lk, sliding windows, and zeros for a query that
 * sees no key. A NaN among a query's visible scores gives NaN for that query.
 *
 * On a backend with a fused attention kernel the Lq×Lk matrix never exists unless the weights are
 * needed (`returnWeights`, `dropoutP`, or a gradient for a float mask). Gradients flow to q, k, v
 * (and a float mask) on both paths.
 *
 * @example
 * ```ts
 * const q = randn([1, 8, 16, 64]), k = randn([1, 2, 16, 64]), v = randn([1, 2, 16, 64]);
 * const y = attention(q, k, v, { causal: true }); // [1, 8, 16, 64], GQA 8:2
 * ```
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions & { returnWeights: true },
): AttentionResult;
export function attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Tensor;
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): Tensor | AttentionResult {
  const mark = traceMark();
  if (mark >= 0 && options?.blockSparse) {
    // a traced call (ONNX export) records the layout as the equivalent mask, an input of the op
    const lq = q?.shape?.[q.rank - 2];
    const lk = k?.shape?.[k.rank - 2];
    const blocks = blockSparseIndex(options.blockSparse, lq, lk, options.opName ?? 'attention');
    const mask = options.mask ? to4d(options.mask) : null;
    options = { ...options, blockSparse: null, mask: withLayoutMask(mask, blocks, 0, lq, lk, q.backend) };
  }
  // Intermediates are freed by the scope unless the result carries a graph that may read them.
  const result = opScope((): Tensor | AttentionResult => {
    const p = prepare(q, k, v, options);
    const wantWeights = options.returnWeights === true;
    const impl = options.implementation ?? 'auto';
    const b = q.backend;
    const maskNeedsGrad = p.mask !== null && needsGrad(p.mask);
    const fusedOk = typeof b.attention === 'function' && !wantWeights && p.dropoutP === 0 && !maskNeedsGrad;
    if (impl === 'fused' && !fusedOk) {
      const why =
        typeof b.attention !== 'function'
          ? `the '${b.name}' backend has no fused attention kernel`
          : 'weights, dropout or a mask gradient were requested, which need the reference path';
      throw new Error(`${p.op}: implementation 'fused' is not available: ${why}`);
    }
    const useFused = impl !== 'reference' && fusedOk;
    // Without the sparse kernel (or off the fused path) the layout is the equivalent boolean mask.
    if (p.blocks !== null && !(useFused && typeof b.blockSparseAttention === 'function')) {
      p.mask = withLayoutMask(p.mask, p.blocks, 0, p.lq, p.lk, b);
      p.blocks = null;
    }
    if (useFused) return fused(p, q, k, v);
    const { output, weights } = reference(p);
    const out = output.reshape(outShape(p, q));
    if (!wantWeights) return out;
    return { output: out, weights: weights.reshape([...q.shape.slice(0, -1), p.lk]) };
  });
  if (mark >= 0) {
    const outputs =
      (result as Tensor).isTensor === true
        ? [result as Tensor]
        : [(result as AttentionResult).output, (result as AttentionResult).weights];
    traceOp(mark, 'attention', [q, k, v, options.mask ?? null], outputs, {
      causal: options.causal === true,
      scale: options.scale ?? null,
      windowSize: options.windowSize ?? null,
      dropoutP: options.dropoutP ?? 0,
    });
  }
  return result;
}

// ---------------------------------------------------------------- validation

interface Prepared {
  op: string;
  q4: Tensor;
  k4: Tensor;
  v4: Tensor;
  /** Mask broadcastable to [B, H, Lq, Lk] (rank 4, float32 or bool), or null. */
  mask: Tensor | null;
  /** The block-sparse layout, checked and in compressed-row form, or null. */
  blocks: BlockSparseIndex | null;
  causal: boolean;
  window: number | null;
  scale: number;
  dropoutP: number;
  generator: Generator;
  blockElements: number;
  batch: number;
  heads: number;
  kvHeads: number;
  lq: number;
  lk: number;
  d: number;
  dv: number;
  /** Position of query 0 (Lk − Lq for the whole input; later for a block of queries). */
  qShift: number;
}

function needsGrad(...xs: (Tensor | null)[]): boolean {
  return isGradEnabled() && xs.some((x) => x?.requiresGrad === true);
}

function to4d(t: Tensor): Tensor {
  if (t.rank === 4) return t;
  return t.reshape([...new Array(4 - t.rank).fill(1), ...t.shape]);
}

function shapeOf(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function assertArg(x: unknown, arg: string, op: string): asserts x is Tensor {
  if (!x || (x as { isTensor?: boolean }).isTensor !== true) {
    const got = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new TypeError(`${op}: '${arg}' must be a Tensor, got ${got}`);
  }
  if ((x as Tensor).isDisposed) throw new Error(`${op}: '${arg}' was disposed`);
}

function prepare(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Prepared {
  const op = typeof o?.opName === 'string' ? o.opName : 'attention';
  assertArg(q, 'q', op);
  assertArg(k, 'k', op);
  assertArg(v, 'v', op);
  if (o === null || typeof o !== 'object') {
    throw new TypeError(`${op}: 'options' must be an object, got ${o === null ? 'null' : typeof o}`);
  }
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (!isFloat(t.dtype)) {
      throw new TypeError(`${op}: '${name}' must be a float32 (or float16, bfloat16) tensor, got ${t.dtype}`);
    }
    if (t.rank < 2 || t.rank > 4) {
      throw new Error(`${op}: '${name}' must have shape [B, H, L, D] (rank 2 to 4), got ${shapeOf(t.shape)}`);
    }
  }
  if (k.rank !== q.rank || v.rank !== q.rank) {
    throw new Error(
      `${op}: q, k and v must have the same rank, got q ${shapeOf(q.shape)}, k ${shapeOf(k.shape)}, v ${shapeOf(v.shape)}`,
    );
  }
  if (q.backend !== k.backend || q.backend !== v.backend) {
    throw new Error(`${op}: q, k and v live on different backends; move them to one`);
  }
  const q4 = to4d(q);
  const k4 = to4d(k);
  const v4 = to4d(v);
  const [batch, heads, lq, d] = q4.shape;
  const [kb, kvHeads, lk, kd] = k4.shape;
  const [vb, vh, vl, dv] = v4.shape;
  const shapes = `q ${shapeOf(q.shape)}, k ${shapeOf(k.shape)}, v ${shapeOf(v.shape)}`;
  if (kb !== batch || vb !== batch) throw new Error(`${op}: batch sizes differ: ${shapes}`);
  if (kd !== d) throw new Error(`${op}: q and k must have the same head dim (last dim): ${shapes}`);
  if (vl !== lk) throw new Error(`${op}: k and v must have the same length (dim -2): ${shapes}`);
  if (vh !== kvHeads) throw new Error(`${op}: k and v must have the same number of heads: ${shapes}`);
  if (kvHeads === 0 || heads % kvHeads !== 0) {
    throw new Error(
      `${op}: the number of query heads (${heads}) must be a multiple of the key/value heads (${kvHeads}): ${shapes}`,
    );
  }
  let scale = 1 / Math.sqrt(d);
  if (o.scale !== undefined && o.scale !== null) {
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) {
      throw new TypeError(`${op}: 'scale' must be a finite number, got ${String(o.scale)}`);
    }
    scale = o.scale;
  }
  const dropoutP = o.dropoutP ?? 0;
  if (typeof dropoutP !== 'number' || !(dropoutP >= 0 && dropoutP < 1)) {
    throw new RangeError(`${op}: 'dropoutP' must be a number in [0, 1), got ${String(dropoutP)}`);
  }
  if (o.causal !== undefined && typeof o.causal !== 'boolean') {
    throw new TypeError(`${op}: 'causal' must be a boolean, got ${typeof o.causal}`);
  }
  let window: number | null = null;
  if (o.windowSize !== undefined && o.windowSize !== null) {
    window = positiveInt(o.windowSize, 'windowSize', op);
  }
  const blockElements =
    o.backwardBlockElements === undefined
      ? 1 << 22
      : positiveInt(o.backwardBlockElements, 'backwardBlockElements', op);
  const impl = o.implementation ?? 'auto';
  if (impl !== 'auto' && impl !== 'fused' && impl !== 'reference') {
    throw new TypeError(
      `${op}: 'implementation' must be 'auto', 'fused' or 'reference', got ${String(impl)}`,
    );
  }
  let mask: Tensor | null = null;
  if (o.mask !== undefined && o.mask !== null) {
    assertArg(o.mask, 'mask', op);
    const m = o.mask;
    if (m.dtype !== 'bool' && !isFloat(m.dtype)) {
      throw new TypeError(
        `${op}: 'mask' must be a bool tensor (true = attend) or a float tensor (added to the scores), got ${m.dtype}`,
      );
    }
    if (m.backend !== q.backend) throw new Error(`${op}: 'mask' lives on another backend than q`);
    const target = [batch, heads, lq, lk];
    const origTarget = [...q.shape.slice(0, -2), lq, lk];
    if (m.rank > 4) {
      throw new Error(`${op}: 'mask' ${shapeOf(m.shape)} does not broadcast to ${shapeOf(origTarget)}`);
    }
    const m4 = to4d(m);
    for (let i = 0; i < 4; i++) {
      if (m4.shape[i] !== 1 && m4.shape[i] !== target[i]) {
        throw new Error(
          `${op}: 'mask' ${shapeOf(m.shape)} does not broadcast to [B, H, Lq, Lk] = ${shapeOf(origTarget)}`,
        );
      }
    }
    mask = isHalf(m4.dtype) ? m4.cast('float32') : m4;
  }
  const blocks =
    o.blockSparse === undefined || o.blockSparse === null
      ? null
      : blockSparseIndex(o.blockSparse, lq, lk, op);
  return {
    op,
    q4,
    k4,
    v4,
    mask,
    blocks,
    causal: o.causal === true,
    window,
    scale,
    dropoutP,
    generator: o.generator ?? getDefaultGenerator(),
    blockElements,
    batch,
    heads,
    kvHeads,
    lq,
    lk,
    d,
    dv,
    qShift: lk - lq,
  };
}

/**
 * Checks a block-sparse layout against the sequence lengths and returns it in compressed-row form:
 * the block size must divide Lq and Lk, the layout must have Lq / blockSize query blocks, each
 * seeing at least one key block, with key blocks ascending in [0, Lk / blockSize). Errors name the
 * offending block; `op` names the caller.
 */
export function blockSparseIndex(
  layout: BlockSparseLayout,
  lq: number,
  lk: number,
  op = 'blockSparseIndex',
): BlockSparseIndex {
  if (!layout || typeof layout !== 'object' || !Array.isArray(layout.visible)) {
    throw new TypeError(`${op}: 'layout' must be a BlockSparseLayout { blockSize, visible }`);
  }
  const bs = positiveInt(layout.blockSize, 'layout.blockSize', op);
  for (const [what, len] of [
    ['query', lq],
    ['key', lk],
  ] as const) {
    if (len % bs !== 0) {
      throw new Error(
        `${op}: layout block size ${bs} does not divide the ${what} length ${len}; the last ${what} block (block ${Math.floor(len / bs)}) would hold ${len % bs} positions`,
      );
    }
  }
  const nq = lq / bs;
  const nk = lk / bs;
  if (layout.visible.length !== nq) {
    throw new Error(
      `${op}: layout has ${layout.visible.length} query blocks, the query length ${lq} needs ${nq} (block size ${bs})`,
    );
  }
  const rowStart = new Int32Array(nq + 1);
  const cols: number[] = [];
  layout.visible.forEach((row, i) => {
    if (!Array.isArray(row) || row.length === 0) {
      throw new Error(
        `${op}: query block ${i} (positions ${i * bs}..${(i + 1) * bs - 1}) sees no key block; every query row needs a visible key`,
      );
    }
    let prev = -1;
    for (const j of row) {
      if (!Number.isInteger(j) || j < 0 || j >= nk) {
        throw new RangeError(`${op}: query block ${i} lists key block ${String(j)}, outside [0, ${nk})`);
      }
      if (j <= prev) {
        throw new Error(
          `${op}: query block ${i} lists key blocks out of order (${prev} then ${j}); list them ascending, without duplicates`,
        );
      }
      prev = j;
      cols.push(j);
    }
    rowStart[i + 1] = cols.length;
  });
  return { blockSize: bs, rowStart, cols: Int32Array.from(cols) };
}

/** The boolean mask [1, 1, rows, Lk] of the layout's query rows i0 .. i0 + rows − 1 (1 = visible). */
export function blockSparseRows(
  blocks: BlockSparseIndex,
  i0: number,
  rows: number,
  lk: number,
  b: Backend,
): Tensor {
  const { blockSize: bs, rowStart, cols } = blocks;
  const data = new Uint8Array(rows * lk);
  for (let r = 0; r < rows; r++) {
    const qb = Math.floor((i0 + r) / bs);
    for (let e = rowStart[qb]; e < rowStart[qb + 1]; e++)
      data.fill(1, r * lk + cols[e] * bs, r * lk + (cols[e] + 1) * bs);
  }
  return fromValues(data, [1, 1, rows, lk], 'bool', b);
}

/** `mask` (rows i0 .. i0 + rows − 1 of it) combined with the layout's boolean mask of those rows. */
function withLayoutMask(
  mask: Tensor | null,
  blocks: BlockSparseIndex,
  i0: number,
  rows: number,
  lk: number,
  b: Backend,
): Tensor {
  const layout = blockSparseRows(blocks, i0, rows, lk, b);
  if (!mask) return layout;
  return mask.dtype === 'bool' ? logicalAnd(mask, layout) : where(layout, mask, Number.NEGATIVE_INFINITY);
}

function positiveInt(v: unknown, arg: string, op: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${op}: '${arg}' must be a positive integer, got ${String(v)}`);
  }
  return v;
}

function outShape(p: Prepared, q: Tensor): number[] {
  return [...q.shape.slice(0, -1), p.dv];
}

/**
 * Which keys each query may see from its position alone, as a bool tensor [...lead, Lq, Lk] on
 * backend `b` built from two index vectors (Lq + Lk numbers uploaded, not Lq·Lk), or null when
 * every key is visible. Query i sits at position i + shift.
 */
function visibility(
  b: Backend,
  lq: number,
  lk: number,
  causal: boolean,
  window: number | null,
  shift: number,
  lead: number[] = [],
): Tensor | null {
  if (!causal && window === null) return null;
  return tidy(() => {
    const pos = tensor(
      Int32Array.from({ length: lq }, (_, i) => i + shift),
      [...lead, lq, 1],
      { backend: b },
    );
    const key = tensor(
      Int32Array.from({ length: lk }, (_, j) => j),
      [...lead, 1, lk],
      { backend: b },
    );
    const rel = sub(key, pos); // j - pos
    if (window === null) return le(rel, 0);
    if (causal) return logicalAnd(le(rel, 0), gt(rel, -window));
    return lt(abs(rel), window);
  });
}

const toF32 = (t: Tensor) => (t.dtype === 'float32' ? t : t.cast('float32'));

// ---------------------------------------------------------------- reference composition

/** The composition into primitives; autograd flows through every step. */
function reference(p: Prepared): { output: Tensor; weights: Tensor } {
  const { batch, heads, kvHeads, lq, lk, d, dv } = p;
  const b = p.q4.backend;
  const groups = heads / kvHeads;
  const qf = toF32(p.q4);
  const kf = toF32(p.k4);
  const vf = toF32(p.v4);
  // scores [B, H, Lq, Lk]; grouped heads multiply [B, Hkv, G, Lq, D] by [B, Hkv, 1, D, Lk] (no k copy)
  let s =
    groups === 1
      ? matmul(qf, kf.transpose(-1, -2))
      : matmul(qf.reshape([batch, kvHeads, groups, lq, d]), kf.unsqueeze(2).transpose(-1, -2)).reshape([
          batch,
          heads,
          lq,
          lk,
        ]);
  s = mul(s, p.scale);
  let allowed: Tensor | null = null;
  if (p.mask?.dtype === 'float32') s = s.add(p.mask);
  else if (p.mask) allowed = p.mask;
  const posMask = visibility(b, lq, lk, p.causal, p.window, p.qShift);
  if (posMask) allowed = allowed ? logicalAnd(allowed, posMask) : posMask;
  if (allowed) s = where(allowed, s, Number.NEGATIVE_INFINITY);
  const weights = allowed || p.mask ? maskedSoftmax(s) : softmax(s, -1);
  let wd = weights;
  if (p.dropoutP > 0) {
    const n = weights.size;
    const keepVals = new Float32Array(n);
    const inv = 1 / (1 - p.dropoutP);
    for (let i = 0; i < n; i++) keepVals[i] = p.generator.uniform() >= p.dropoutP ? inv : 0;
    wd = mul(weights, tensor(keepVals, weights.shape, { backend: b }));
  }
  const output =
    groups === 1
      ? matmul(wd, vf)
      : matmul(wd.reshape([batch, kvHeads, groups, lq, lk]), vf.unsqueeze(2)).reshape([batch, heads, lq, dv]);
  return { output, weights };
}

/**
 * Softmax over the last dim where -Infinity entries are excluded, and a row with no finite entry
 * gives zeros instead of NaN (torch would give NaN): such rows get dummy finite scores, then zeros.
 */
function maskedSoftmax(s: Tensor): Tensor {
  const rowAny = ne(max(s.detach(), -1, true), Number.NEGATIVE_INFINITY);
  return where(rowAny, softmax(where(rowAny, s, 0), -1), 0);
}

// ---------------------------------------------------------------- fused kernel

/** A plain View (no Tensor, no graph) of `t`'s storage with another layout. */
function view(t: View, shape: number[], strides: number[], offset: number): View {
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset };
}

/** `t` broadcast (stride 0) to `shape` of the same rank. */
function broadcastView(t: View, shape: number[]): View {
  const strides = t.shape.map((s, i) => (s === 1 && shape[i] !== 1 ? 0 : t.strides[i]));
  return view(t, shape, strides, t.offset);
}

/** The mask the fused kernel gets: causal is a flag, a window becomes a mask. */
function fusedMask(p: Prepared): Tensor | null {
  if (p.window === null) return p.mask;
  const b = p.q4.backend;
  const win = visibility(b, p.lq, p.lk, p.causal, p.window, p.lk - p.lq, [1, 1]) as Tensor;
  if (!p.mask) return win;
  return p.mask.dtype === 'bool' ? logicalAnd(p.mask, win) : where(win, p.mask, Number.NEGATIVE_INFINITY);
}

function fusedForward(p: Prepared): Tensor {
  const { batch, heads, kvHeads, lq, lk, d, dv } = p;
  const b = p.q4.backend;
  const blocks = p.blocks;
  // the sparse kernel walks only the layout's blocks; params carry them through `...params` below
  const kernel = (blocks ? b.blockSparseAttention : b.attention) as NonNullable<
    Backend['blockSparseAttention']
  >;
  return noGrad(() =>
    tidy(() => {
      const q = toF32(p.q4);
      const k = toF32(p.k4);
      const v = toF32(p.v4);
      const maskT = fusedMask(p);
      const mask = maskT ? broadcastView(maskT, [batch, heads, lq, lk]) : null;
      const params = { scale: p.scale, causal: p.causal, mask, blocks: blocks as BlockSparseIndex };
      if (kvHeads === heads)
        return wrap(b, kernel.call(b, q, k, v, params), [batch, heads, lq, dv], 'float32');
      // Grouped heads: per batch element, view queries as [Hkv, G, Lq, D] and broadcast each
      // key/value head over its G query heads with a stride of 0 (no copy of k or v).
      const g = heads / kvHeads;
      const parts: Tensor[] = [];
      for (let bi = 0; bi < batch; bi++) {
        const qv = view(
          q,
          [kvHeads, g, lq, d],
          [q.strides[1] * g, q.strides[1], q.strides[2], q.strides[3]],
          q.offset + bi * q.strides[0],
        );
        const kv = view(
          k,
          [kvHeads, g, lk, d],
          [k.strides[1], 0, k.strides[2], k.strides[3]],
          k.offset + bi * k.strides[0],
        );
        const vv = view(
          v,
          [kvHeads, g, lk, dv],
          [v.strides[1], 0, v.strides[2], v.strides[3]],
          v.offset + bi * v.strides[0],
        );
        const mv = mask
          ? view(
              mask,
              [kvHeads, g, lq, lk],
              [mask.strides[1] * g, mask.strides[1], mask.strides[2], mask.strides[3]],
              mask.offset + bi * mask.strides[0],
            )
          : null;
        const part = wrap(
          b,
          kernel.call(b, qv, kv, vv, { ...params, mask: mv }),
          [1, heads, lq, dv],
          'float32',
        );
        parts.push(part);
      }
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    }),
  );
}

function fused(p: Prepared, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const out = fusedForward(p).reshape(outShape(p, q));
  // Gradient by recomputation, as FlashAttention's backward: per block of queries rebuild the
  // weights W (so at most [B, H, block, Lk] exists at once), then
  // dV += Wᵀ g, dW = g Vᵀ, dS = W ⊙ (dW − rowsum(dW ⊙ W)), dQ = dS K · scale, dK += dSᵀ Q · scale.
  return record(out, p.op, [q, k, v], (g) => fusedBackward(p, g, q, k, v));
}

function fusedBackward(p: Prepared, gOut: Tensor, q: Tensor, k: Tensor, v: Tensor): Tensor[] {
  const { batch, heads, kvHeads, lq, lk, d, dv } = p;
  const groups = heads / kvHeads;
  const g4 = gOut.reshape([batch, heads, lq, dv]);
  const qf = toF32(p.q4);
  const kf = toF32(p.k4);
  const vf = toF32(p.v4);
  const dQs: Tensor[] = [];
  // running sums over the query blocks, accumulated in place
  const dK = zeros([batch, kvHeads, lk, d], { backend: qf.backend });
  const dV = zeros([batch, kvHeads, lk, dv], { backend: qf.backend });
  /**
   * Gradients of query rows i0 .. i0 + rows − 1 against the keys in `runs` ([start, end) position
   * ranges; all keys when null): dQ of those rows is returned, dK and dV accumulate in place.
   */
  const rowsGrad = (i0: number, rows: number, runs: [number, number][] | null): Tensor =>
    tidy(() => {
      const qb = qf.sliceDim(2, i0, i0 + rows);
      const gather = (t: Tensor, dim: number) =>
        runs === null
          ? t
          : runs.length === 1
            ? t.sliceDim(dim, runs[0][0], runs[0][1])
            : concat(
                runs.map(([a, z]) => t.sliceDim(dim, a, z)),
                dim,
              );
      const kb = gather(kf, 2);
      const vb = gather(vf, 2);
      const n = runs === null ? lk : runs.reduce((m, [a, z]) => m + z - a, 0);
      let mask = p.mask && p.mask.shape[2] === lq ? p.mask.sliceDim(2, i0, i0 + rows) : p.mask;
      let w: Tensor;
      if (runs === null) {
        w = reference({ ...p, q4: qb, mask, lq: rows, qShift: p.qShift + i0, dropoutP: 0 }).weights;
      } else {
        // the gathered keys are not contiguous: causal and window become a mask of their positions
        if (mask && mask.shape[3] === lk) mask = gather(mask, 3);
        if (p.causal || p.window !== null) {
          const vis = new Uint8Array(rows * n);
          for (let r = 0; r < rows; r++) {
            const pos = i0 + r + p.qShift;
            let c = 0;
            for (const [a, z] of runs) {
              for (let j = a; j < z; j++, c++) {
                let ok = !p.causal || j <= pos;
                if (ok && p.window !== null)
                  ok = p.causal ? j > pos - p.window : Math.abs(j - pos) < p.window;
                vis[r * n + c] = ok ? 1 : 0;
              }
            }
          }
          const pv = fromValues(vis, [1, 1, rows, n], 'bool', qf.backend);
          mask = !mask
            ? pv
            : mask.dtype === 'bool'
              ? logicalAnd(mask, pv)
              : where(pv, mask, Number.NEGATIVE_INFINITY);
        }
        const sub4 = { ...p, q4: qb, k4: kb, v4: vb, mask, lq: rows, lk: n, causal: false, window: null };
        w = reference({ ...sub4, qShift: 0, dropoutP: 0 }).weights;
      }
      const gb = g4.sliceDim(2, i0, i0 + rows);
      const split = (t: Tensor, last: number) => t.reshape([batch, kvHeads, groups, rows, last]);
      let dW: Tensor;
      let dVb: Tensor;
      if (groups === 1) {
        dW = matmul(gb, vb.transpose(-1, -2));
        dVb = matmul(w.transpose(-1, -2), gb);
      } else {
        dW = matmul(split(gb, dv), vb.unsqueeze(2).transpose(-1, -2)).reshape([batch, heads, rows, n]);
        dVb = sum(matmul(split(w, n).transpose(-1, -2), split(gb, dv)), 2);
      }
      const dS = mul(w, sub(dW, sum(mul(dW, w), -1, true)));
      let dKb: Tensor;
      let dQ: Tensor;
      if (groups === 1) {
        dQ = mul(matmul(dS, kb), p.scale);
        dKb = mul(matmul(dS.transpose(-1, -2), qb), p.scale);
      } else {
        const dS5 = split(dS, n);
        dQ = mul(matmul(dS5, kb.unsqueeze(2)), p.scale).reshape([batch, heads, rows, d]);
        dKb = mul(sum(matmul(dS5.transpose(-1, -2), split(qb, d)), 2), p.scale);
      }
      if (runs === null) {
        copyInto(dK, add(dK, dKb));
        copyInto(dV, add(dV, dVb));
      } else {
        let c = 0;
        for (const [a, z] of runs) {
          const dk = dK.sliceDim(2, a, z);
          const dvv = dV.sliceDim(2, a, z);
          copyInto(dk, add(dk, dKb.sliceDim(2, c, c + z - a)));
          copyInto(dvv, add(dvv, dVb.sliceDim(2, c, c + z - a)));
          c += z - a;
        }
      }
      return dQ;
    });
  if (p.blocks) {
    // Block-sparse: per layout query block, only its visible key blocks (adjacent ones merged)
    const { blockSize: bs, rowStart, cols } = p.blocks;
    for (let i = 0; i < lq / bs; i++) {
      const runs: [number, number][] = [];
      for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
        const a = cols[e] * bs;
        const last = runs[runs.length - 1];
        if (last && last[1] === a) last[1] = a + bs;
        else runs.push([a, a + bs]);
      }
      dQs.push(rowsGrad(i * bs, bs, runs));
    }
  } else {
    const block = Math.max(1, Math.min(lq, Math.floor(p.blockElements / Math.max(1, batch * heads * lk))));
    for (let i0 = 0; i0 < lq; i0 += block) dQs.push(rowsGrad(i0, Math.min(block, lq - i0), null));
  }
  const dQ = dQs.length === 1 ? dQs[0] : concat(dQs, 2);
  return [dQ.reshape([...q.shape]), dK.reshape([...k.shape]), dV.reshape([...v.shape])];
}
