// Scaled dot-product attention with PyTorch semantics (torch.nn.functional.scaled_dot_product_attention),
// plus grouped-query heads, bottom-right causal alignment, sliding windows and zero rows for queries
// that see no key. Two paths compute the same thing:
//   - the reference decomposition into tensor-core ops (autograd, weights, dropout, any backend);
//   - a backend's fused `attention` kernel when it has one (flash-style on backend-cpu: never
//     materialises Lq×Lk), used when nothing asks for the weights.
//
// Shapes: q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv], H a multiple of Hkv (query head h
// uses key/value head floor(h / (H / Hkv)), as HF's repeat_kv). Output [B, H, Lq, Dv].
import {
  abs,
  type Backend,
  concat,
  type Generator,
  getDefaultGenerator,
  gt,
  le,
  logicalAnd,
  lt,
  matmul,
  max,
  mul,
  ne,
  noGrad,
  softmax,
  sub,
  sum,
  Tensor,
  tidy,
  type View,
  where,
} from '@attnkit/tensor-core';
import { isCapturingAttention, recordAttention } from './capture.js';
import {
  assertFloatArg,
  assertPositiveInt,
  assertTensorArg,
  fillOn,
  fmtShape,
  needsGrad,
  uploadOn,
} from './internal.js';

const FN = 'scaledDotProductAttention';

/** Options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /**
   * A boolean mask (true = attend, as torch SDPA) or an additive float mask, broadcastable to
   * [B, H, Lq, Lk]. Float entries of -Infinity exclude a key.
   */
  mask?: Tensor | null;
  /**
   * Causal masking aligned bottom-right: query i of Lq sees keys j <= i + Lk - Lq (the layout of a
   * KV cache: the queries are the last Lq positions). Equal to torch's `is_causal` when Lq = Lk.
   * Combined with `mask` (both must allow a key).
   */
  causal?: boolean;
  /** Multiplier of q·k; 1/sqrt(D) by default (torch's default). */
  scale?: number | null;
  /** Dropout probability on the attention weights (applied whenever > 0, as torch SDPA). */
  dropoutP?: number;
  /** Generator for dropout; the global one by default. */
  generator?: Generator;
  /**
   * Sliding-window size w: query at position p sees keys p - w < j <= p with `causal` (Mistral's
   * convention: the window counts the query's own position), |j - p| < w without it.
   */
  windowSize?: number | null;
  /** Also return the softmax weights [B, H, Lq, Lk] (forces the reference path). */
  returnWeights?: boolean;
  /** Label of this call in {@link captureAttention} records. */
  name?: string;
  /**
   * `auto` (default): the backend's fused kernel when it has one and nothing needs the weights,
   * else the reference decomposition. `reference` always decomposes; `fused` requires the kernel.
   */
  implementation?: 'auto' | 'fused' | 'reference';
}

/** Output and weights of attention, when the weights were asked for. */
export interface AttentionOutput {
  /** [B, H, Lq, Dv] (the rank of the inputs). */
  output: Tensor;
  /** Softmax weights [B, H, Lq, Lk] (before dropout); rows that see no key are zeros. */
  weights: Tensor;
}

/**
 * Scaled dot-product attention, `softmax(q kᵀ · scale + mask) v`, with torch's semantics and
 * attnkit's extensions: grouped-query heads (k/v may have fewer heads than q), bottom-right causal
 * alignment for Lq ≠ Lk, sliding windows, and zeros (not NaN) for a query that sees no key.
 *
 * Inputs are [B, H, L, D] (rank 2 and 3 are accepted as [L, D] and [N, L, D]). On a backend with
 * a fused attention kernel the Lq×Lk matrix is never materialised unless the weights are needed
 * (`returnWeights`, `dropoutP`, or an active {@link captureAttention}). Gradients flow to q, k, v
 * (and a float mask) on both paths.
 *
 * @example
 * ```ts
 * const q = randn([1, 8, 16, 64]), k = randn([1, 2, 16, 64]), v = randn([1, 2, 16, 64]);
 * const y = scaledDotProductAttention(q, k, v, { causal: true }); // [1, 8, 16, 64], GQA 8:2
 * const { output, weights } = scaledDotProductAttention(q, k, v, { returnWeights: true });
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions & { returnWeights: true },
): AttentionOutput;
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: ScaledDotProductAttentionOptions,
): Tensor;
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor | AttentionOutput {
  const p = prepare(q, k, v, options);
  const capture = isCapturingAttention();
  const wantWeights = options.returnWeights === true || capture;
  const impl = options.implementation ?? 'auto';
  const b = q.backend;
  const fusedOk =
    typeof b.attention === 'function' &&
    !wantWeights &&
    p.dropoutP === 0 &&
    !(p.mask?.requiresGrad && needsGrad(p.mask));
  if (impl === 'fused' && !fusedOk) {
    const why =
      typeof b.attention !== 'function'
        ? `the '${b.name}' backend has no fused attention kernel`
        : 'weights, dropout or a mask gradient were requested, which need the reference path';
    throw new Error(`${FN}: implementation 'fused' is not available: ${why}`);
  }
  if (impl !== 'reference' && fusedOk) return fusedAttention(b, p, q, k, v);

  const graph = needsGrad(q, k, v, p.mask);
  const { output, weights } = graph ? reference(p) : tidyReference(p);
  const out = output.reshape(outShape(p, q));
  if (capture) recordAttention(options.name, weights);
  let w: Tensor | null = null;
  if (options.returnWeights === true) w = weights.reshape([...q.shape.slice(0, -1), p.lk]);
  if (!graph) {
    // Without a graph nothing refers to these handles any more (the reshapes share the storage).
    if (out !== output) output.dispose();
    if (w !== weights) weights.dispose();
  }
  return w ? { output: out, weights: w } : out;
}

// ---------------------------------------------------------------- validation

interface Prepared {
  q4: Tensor;
  k4: Tensor;
  v4: Tensor;
  /** User mask broadcastable to [B, H, Lq, Lk] (rank 4, float32 or bool), or null. */
  mask: Tensor | null;
  causal: boolean;
  window: number | null;
  scale: number;
  dropoutP: number;
  generator: Generator;
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

function to4d(t: Tensor): Tensor {
  if (t.rank === 4) return t;
  return t.reshape([...new Array(4 - t.rank).fill(1), ...t.shape]);
}

function prepare(q: Tensor, k: Tensor, v: Tensor, o: ScaledDotProductAttentionOptions): Prepared {
  assertTensorArg(q, 'q', FN);
  assertTensorArg(k, 'k', FN);
  assertTensorArg(v, 'v', FN);
  if (o === null || typeof o !== 'object') {
    throw new TypeError(`${FN}: 'options' must be an object, got ${o === null ? 'null' : typeof o}`);
  }
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    assertFloatArg(t, name, FN);
    if (t.rank < 2 || t.rank > 4) {
      throw new Error(
        `${FN}: '${name}' must have shape [B, H, L, D] (rank 2 to 4), got ${fmtShape(t.shape)}`,
      );
    }
  }
  if (k.rank !== q.rank || v.rank !== q.rank) {
    throw new Error(
      `${FN}: q, k and v must have the same rank, got q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`,
    );
  }
  if (q.backend !== k.backend || q.backend !== v.backend) {
    throw new Error(`${FN}: q, k and v live on different backends; move them to one`);
  }
  const q4 = to4d(q);
  const k4 = to4d(k);
  const v4 = to4d(v);
  const [batch, heads, lq, d] = q4.shape;
  const [kb, kvHeads, lk, kd] = k4.shape;
  const [vb, vh, vl, dv] = v4.shape;
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (kb !== batch || vb !== batch) throw new Error(`${FN}: batch sizes differ: ${shapes}`);
  if (kd !== d) throw new Error(`${FN}: q and k must have the same head dim (last dim): ${shapes}`);
  if (vl !== lk) throw new Error(`${FN}: k and v must have the same length (dim -2): ${shapes}`);
  if (vh !== kvHeads) throw new Error(`${FN}: k and v must have the same number of heads: ${shapes}`);
  if (kvHeads === 0 || heads % kvHeads !== 0) {
    throw new Error(
      `${FN}: the number of query heads (${heads}) must be a multiple of the key/value heads (${kvHeads}): ${shapes}`,
    );
  }
  let scale = 1 / Math.sqrt(d);
  if (o.scale !== undefined && o.scale !== null) {
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) {
      throw new TypeError(`${FN}: 'scale' must be a finite number, got ${String(o.scale)}`);
    }
    scale = o.scale;
  }
  const dropoutP = o.dropoutP ?? 0;
  if (typeof dropoutP !== 'number' || !(dropoutP >= 0 && dropoutP < 1)) {
    throw new RangeError(`${FN}: 'dropoutP' must be a number in [0, 1), got ${String(dropoutP)}`);
  }
  if (o.causal !== undefined && typeof o.causal !== 'boolean') {
    throw new TypeError(`${FN}: 'causal' must be a boolean, got ${typeof o.causal}`);
  }
  let window: number | null = null;
  if (o.windowSize !== undefined && o.windowSize !== null) {
    assertPositiveInt(o.windowSize, 'windowSize', FN);
    window = o.windowSize;
  }
  const impl = o.implementation ?? 'auto';
  if (impl !== 'auto' && impl !== 'fused' && impl !== 'reference') {
    throw new TypeError(
      `${FN}: 'implementation' must be 'auto', 'fused' or 'reference', got ${String(impl)}`,
    );
  }
  let mask: Tensor | null = null;
  if (o.mask !== undefined && o.mask !== null) {
    assertTensorArg(o.mask, 'mask', FN);
    const m = o.mask;
    if (m.dtype !== 'bool' && m.dtype !== 'float32' && m.dtype !== 'float16') {
      throw new TypeError(
        `${FN}: 'mask' must be a bool tensor (true = attend) or a float tensor (added to the scores), got ${m.dtype}`,
      );
    }
    if (m.backend !== q.backend) throw new Error(`${FN}: 'mask' lives on another backend than q`);
    const target = [batch, heads, lq, lk];
    const origTarget = [...q.shape.slice(0, -2), lq, lk];
    if (m.rank > 4) {
      throw new Error(`${FN}: 'mask' ${fmtShape(m.shape)} does not broadcast to ${fmtShape(origTarget)}`);
    }
    const m4 = to4d(m);
    for (let i = 0; i < 4; i++) {
      if (m4.shape[i] !== 1 && m4.shape[i] !== target[i]) {
        throw new Error(
          `${FN}: 'mask' ${fmtShape(m.shape)} does not broadcast to [B, H, Lq, Lk] = ${fmtShape(origTarget)}`,
        );
      }
    }
    mask = m4.dtype === 'float16' ? m4.cast('float32') : m4;
  }
  return {
    q4,
    k4,
    v4,
    mask,
    causal: o.causal === true,
    window,
    scale,
    dropoutP,
    generator: o.generator ?? getDefaultGenerator(),
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

function outShape(p: Prepared, q: Tensor): number[] {
  return [...q.shape.slice(0, -1), p.dv];
}

/**
 * Which keys each query may see from its position alone ([Lq, Lk], 1 = visible), or null when
 * every key is visible. Query i sits at position i + shift (shift = Lk − Lq by default: the queries
 * are the last Lq positions).
 */
export function positionalVisibility(
  lq: number,
  lk: number,
  causal: boolean,
  window: number | null,
  shift: number = lk - lq,
): Uint8Array | null {
  if (!causal && window === null) return null;
  const out = new Uint8Array(lq * lk);
  for (let i = 0; i < lq; i++) {
    const pos = i + shift;
    for (let j = 0; j < lk; j++) {
      let ok = !causal || j <= pos;
      if (ok && window !== null) ok = causal ? j > pos - window : Math.abs(j - pos) < window;
      out[i * lk + j] = ok ? 1 : 0;
    }
  }
  return out;
}

/**
 * {@link positionalVisibility} as a bool tensor [...lead, Lq, Lk] built on backend `b` from two
 * index vectors (Lq + Lk numbers uploaded, not Lq·Lk), or null when nothing is hidden.
 */
function visibilityOn(
  b: Backend,
  lq: number,
  lk: number,
  causal: boolean,
  window: number | null,
  shift: number = lk - lq,
  lead: number[] = [],
): Tensor | null {
  if (!causal && window === null) return null;
  return tidy(() => {
    const pos = uploadOn(
      b,
      Int32Array.from({ length: lq }, (_, i) => i + shift),
      [...lead, lq, 1],
      'int32',
    );
    const key = uploadOn(
      b,
      Int32Array.from({ length: lk }, (_, j) => j),
      [...lead, 1, lk],
      'int32',
    );
    const rel = sub(key, pos); // j - pos
    if (window === null) return le(rel, 0);
    if (causal) return logicalAnd(le(rel, 0), gt(rel, -window));
    return lt(abs(rel), window);
  });
}

// ---------------------------------------------------------------- reference path

function tidyReference(p: Prepared): { output: Tensor; weights: Tensor } {
  return tidy(() => reference(p));
}

/** The decomposition into tensor-core ops; autograd flows through every step. */
function reference(p: Prepared): { output: Tensor; weights: Tensor } {
  const { q4, k4, v4, batch, heads, kvHeads, lq, lk, d, dv } = p;
  const b = q4.backend;
  const groups = heads / kvHeads;
  const qf = q4.dtype === 'float32' ? q4 : q4.cast('float32');
  const kf = k4.dtype === 'float32' ? k4 : k4.cast('float32');
  const vf = v4.dtype === 'float32' ? v4 : v4.cast('float32');
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
  const posMask = visibilityOn(b, lq, lk, p.causal, p.window, p.qShift);
  if (posMask) allowed = allowed ? logicalAnd(allowed, posMask) : posMask;
  if (allowed) s = where(allowed, s, Number.NEGATIVE_INFINITY);
  const weights = allowed || p.mask ? maskedSoftmax(s) : softmax(s, -1);
  let wd = weights;
  if (p.dropoutP > 0) {
    const n = weights.size;
    const keepVals = new Float32Array(n);
    const inv = 1 / (1 - p.dropoutP);
    for (let i = 0; i < n; i++) keepVals[i] = p.generator.uniform() >= p.dropoutP ? inv : 0;
    wd = mul(weights, uploadOn(b, keepVals, weights.shape, 'float32'));
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

// ---------------------------------------------------------------- fused path

/** A plain View (no Tensor, no graph) with another layout. */
function view(t: View, shape: number[], strides: number[], offset: number): View {
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset };
}

/** `t` [B, X, ...] broadcast (stride 0) to `shape` of the same rank. */
function broadcastView(t: View, shape: number[]): View {
  const strides = t.shape.map((s, i) => (s === 1 && shape[i] !== 1 ? 0 : t.strides[i]));
  return view(t, shape, strides, t.offset);
}

/** Positional masks for the fused kernel: causal is a flag, a window becomes a mask. */
function fusedMask(p: Prepared): Tensor | null {
  if (p.window === null) return p.mask;
  const b = p.q4.backend;
  const win = visibilityOn(b, p.lq, p.lk, p.causal, p.window, p.lk - p.lq, [1, 1]) as Tensor;
  if (!p.mask) return win;
  const combined =
    p.mask.dtype === 'bool' ? logicalAnd(p.mask, win) : where(win, p.mask, Number.NEGATIVE_INFINITY);
  win.dispose();
  return combined;
}

function fusedForward(b: Backend, p: Prepared): Tensor {
  const { batch, heads, kvHeads, lq, lk, d, dv } = p;
  const attention = b.attention as NonNullable<Backend['attention']>;
  const toF32 = (t: Tensor) => (t.dtype === 'float32' ? t : t.cast('float32'));
  return noGrad(() =>
    tidy(() => {
      const q = toF32(p.q4);
      const k = toF32(p.k4);
      const v = toF32(p.v4);
      const maskT = fusedMask(p);
      const target = [batch, heads, lq, lk];
      const mask = maskT ? broadcastView(maskT, target) : null;
      const params = { scale: p.scale, causal: p.causal, mask };
      if (kvHeads === heads) {
        return Tensor.fromStorage(b, attention.call(b, q, k, v, params), [batch, heads, lq, dv], 'float32');
      }
      // Grouped heads: per batch element, view queries as [Hkv, G, Lq, D] and broadcast each
      // key/value head over its G query heads with a stride of 0 (no copy of k or v).
      const g = heads / kvHeads;
      const out = fillOn(b, [batch, heads, lq, dv], 0);
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
        const part = Tensor.fromStorage(
          b,
          attention.call(b, qv, kv, vv, { ...params, mask: mv }),
          [heads, lq, dv],
          'float32',
        );
        b.write(
          view(out, [heads, lq, dv], [out.strides[1], out.strides[2], out.strides[3]], bi * out.strides[0]),
          part,
        );
        part.dispose();
      }
      return out;
    }),
  );
}

function fusedAttention(b: Backend, p: Prepared, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const out4 = fusedForward(b, p);
  const out = out4.reshape(outShape(p, q));
  if (out !== out4) out4.dispose();
  if (!needsGrad(q, k, v)) return out;
  // Gradient by recomputation, as FlashAttention's backward: per block of queries rebuild the
  // weights W (so at most [B, H, block, Lk] exists at once), then
  // dV += Wᵀ g, dW = g Vᵀ, dS = W ⊙ (dW − rowsum(dW ⊙ W)), dQ = dS K · scale, dK += dSᵀ Q · scale.
  out.requiresGrad = true;
  out.gradFn = {
    name: FN,
    inputs: [q.requiresGrad ? q : null, k.requiresGrad ? k : null, v.requiresGrad ? v : null],
    backward: (gOut: Tensor) => fusedBackward(p, gOut, q, k, v),
  };
  return out;
}

/** Elements of the recomputed weight block in the fused path's backward (2^22 floats = 16 MiB). */
let backwardBlockElements = 1 << 22;

/** @internal For tests: sets the size of the fused backward's weight blocks; returns the old one. */
export function setBackwardBlockElements(n: number): number {
  const old = backwardBlockElements;
  backwardBlockElements = n;
  return old;
}

function fusedBackward(p: Prepared, gOut: Tensor, q: Tensor, k: Tensor, v: Tensor): Tensor[] {
  const { batch, heads, kvHeads, lq, lk, d, dv } = p;
  const groups = heads / kvHeads;
  const g4 = gOut.reshape([batch, heads, lq, dv]);
  const qf = p.q4.dtype === 'float32' ? p.q4 : p.q4.cast('float32');
  const kf = p.k4.dtype === 'float32' ? p.k4 : p.k4.cast('float32');
  const vf = p.v4.dtype === 'float32' ? p.v4 : p.v4.cast('float32');
  const block = Math.max(
    1,
    Math.min(lq, Math.floor(backwardBlockElements / Math.max(1, batch * heads * lk))),
  );
  const dQs: Tensor[] = [];
  let dK: Tensor | null = null;
  let dV: Tensor | null = null;
  for (let i0 = 0; i0 < lq; i0 += block) {
    const rows = Math.min(block, lq - i0);
    const part = tidy(() => {
      const qb = qf.sliceDim(2, i0, i0 + rows);
      const mask = p.mask && p.mask.shape[2] === lq ? p.mask.sliceDim(2, i0, i0 + rows) : p.mask;
      const w = reference({ ...p, q4: qb, mask, lq: rows, qShift: p.qShift + i0, dropoutP: 0 }).weights;
      const gb = g4.sliceDim(2, i0, i0 + rows);
      const split = (t: Tensor, last: number) => t.reshape([batch, kvHeads, groups, rows, last]);
      let dW: Tensor;
      let dVb: Tensor;
      if (groups === 1) {
        dW = matmul(gb, vf.transpose(-1, -2));
        dVb = matmul(w.transpose(-1, -2), gb);
      } else {
        dW = matmul(split(gb, dv), vf.unsqueeze(2).transpose(-1, -2)).reshape([batch, heads, rows, lk]);
        dVb = sum(matmul(split(w, lk).transpose(-1, -2), split(gb, dv)), 2);
      }
      const dS = mul(w, sub(dW, sum(mul(dW, w), -1, true)));
      let dQb: Tensor;
      let dKb: Tensor;
      if (groups === 1) {
        dQb = mul(matmul(dS, kf), p.scale);
        dKb = mul(matmul(dS.transpose(-1, -2), qb), p.scale);
      } else {
        const dS5 = split(dS, lk);
        dQb = mul(matmul(dS5, kf.unsqueeze(2)), p.scale).reshape([batch, heads, rows, d]);
        dKb = mul(sum(matmul(dS5.transpose(-1, -2), split(qb, d)), 2), p.scale);
      }
      return { dQb, dKb, dVb };
    });
    dQs.push(part.dQb);
    dK = dK ? accumulate(dK, part.dKb) : part.dKb;
    dV = dV ? accumulate(dV, part.dVb) : part.dVb;
  }
  const dQ = dQs.length === 1 ? dQs[0] : concat(dQs, 2);
  return [
    dQ.reshape([...q.shape]),
    (dK as Tensor).reshape([...k.shape]),
    (dV as Tensor).reshape([...v.shape]),
  ];
}

function accumulate(total: Tensor, part: Tensor): Tensor {
  const next = total.add(part);
  total.dispose();
  part.dispose();
  return next;
}
