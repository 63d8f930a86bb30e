/**
 * Matrix products over the heap, split across threads: the plan that cuts one product into
 * rectangles of its output, one per thread, for the kernels of gemm.wat.
 *
 * - Few rows (decoding: one token times each weight matrix): a matrix-vector kernel reads the
 *   weights in place, `gemv_t` when B's columns are contiguous (`x @ W.T`, W [n, k] row-major, as
 *   nn.Linear stores it), `gemv_n` when B's rows are. Threads take ranges of output columns, so
 *   each reads its own rows of W once: `gemv_t`'s threads claim chunks of columns one at a time
 *   (`gemv_cols`, {@link gemvChunks}), `gemv_n`'s take fixed ranges.
 * - Otherwise `gemm`, whose packing handles any strides. When the output is wider than tall, the
 *   threads claim column chunks (multiples of 8, the micro-kernel's width; about
 *   {@link CHUNKS_PER_THREAD} each) one at a time (`gemm_cols`), so that a worker that wakes late
 *   or runs slower takes fewer; else they take fixed row ranges (multiples of 4).
 *
 * - A B packed beforehand (a weight reused unchanged, {@link HeapProduct.packed}) runs the same
 *   plans on `gemm_packed` (`gemm_pcols` for claimed column chunks), which skips packing B.
 *
 * Every rectangle is computed by the same code in the same summation order as the whole product,
 * so the split changes no bit of the result, and neither does packing B beforehand.
 */
import { GEMV_KINDS, type Task } from '../pool.js';

/** Products with fewer rows than this run as matrix-vector products. */
export const GEMV_MAX_ROWS = 8;
/** Multiply-adds below which a product is not split (a hand-off to workers costs tens of microseconds). */
export const MIN_WORK_PER_THREAD = 1 << 17;
/**
 * Column chunks per thread of a split gemm: more balance the threads better; fewer repack A less
 * often (each chunk packs its rows of A again).
 */
export const CHUNKS_PER_THREAD = 3;

/** Operand addresses (bytes) and strides (elements) of one product in the heap. */
export interface HeapProduct {
  a: number;
  sam: number;
  sak: number;
  b: number;
  sbk: number;
  sbn: number;
  /** Output [m, n], row-major, contiguous. */
  c: number;
  m: number;
  k: number;
  n: number;
  /** Address of a contiguous bias [n], or 0. */
  bias: number;
  /** Activation code (pool.ts ACTIVATIONS), 0 for none. */
  act: number;
  /**
   * B packed by gemm.wat's pack_b (at `ptr`, padded width `n8`), used in place of `b` when the
   * product runs on gemm; absent: gemm packs B itself.
   */
  packed?: { ptr: number; n8: number };
}

/** The kernel a product runs on: matrix-vector when it has few rows and a unit stride allows it. */
export function kernelFor(p: HeapProduct): 'gemv_t' | 'gemv_n' | 'gemm' {
  if (p.m < GEMV_MAX_ROWS) {
    if (p.sak === 1 && p.sbk === 1) return 'gemv_t';
    if (p.sbn === 1) return 'gemv_n';
  }
  return 'gemm';
}

/** Column chunks per thread of a split matrix-vector product (claimed one at a time: {@link gemvChunks}). */
const GEMV_CHUNKS_PER_THREAD = 8;

/**
 * The tasks of a matrix-vector product split over `parts` threads: each runs `gemv_cols`, which
 * claims chunks of `columns`-aligned output columns one at a time (pool.ts's gemvColumns), so
 * the calling thread starts at once and a worker that wakes late takes fewer. `whole` is the
 * gemv kernel's task for all n columns; `act` is applied to each chunk.
 */
export function gemvChunks(
  whole: Pick<Task, 'kernel' | 'args'>,
  parts: number,
  n: number,
  columns: number,
  act: number,
  c: number,
  m: number,
): Task[] {
  const kind = GEMV_KINDS.indexOf(whole.kernel as (typeof GEMV_KINDS)[number]);
  const chunk = Math.ceil(n / (parts * GEMV_CHUNKS_PER_THREAD * columns)) * columns;
  const task: Task = {
    kernel: 'gemv_cols',
    args: [kind, chunk, n, act, ...whole.args],
    act: 0,
    c,
    ldc: n,
    m,
    n,
  };
  return Array.from({ length: parts }, () => task);
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Splits `total` into at most `parts` ranges whose starts are multiples of `align`. */
function ranges(total: number, parts: number, align: number): [number, number][] {
  const chunk = roundUp(Math.ceil(total / parts), align);
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += chunk) out.push([s, Math.min(chunk, total - s)]);
  return out;
}

/**
 * The tasks of one product for up to `threads` threads; `ws(t)` is thread t's gemm workspace
 * (called only for gemm tasks).
 */
export function planProduct(p: HeapProduct, threads: number, ws: (t: number) => number): Task[] {
  const work = p.m * p.n * p.k;
  const parts = Math.max(1, Math.min(threads, Math.floor(work / MIN_WORK_PER_THREAD)));
  const kernel = kernelFor(p);
  const biasAt = (j0: number) => (p.bias ? p.bias + j0 * 4 : 0);
  if (kernel === 'gemv_t') {
    if (parts > 1) {
      const whole = {
        kernel,
        args: [p.a, p.sam, p.b, p.sbn, p.c, p.n, p.m, p.k, p.n, p.bias],
      };
      return gemvChunks(whole, parts, p.n, 4, p.act, p.c, p.m);
    }
    return ranges(p.n, parts, 4).map(([j0, nn]) => ({
      kernel,
      args: [p.a, p.sam, p.b + j0 * p.sbn * 4, p.sbn, p.c + j0 * 4, p.n, p.m, p.k, nn, biasAt(j0)],
      act: p.act,
      c: p.c + j0 * 4,
      ldc: p.n,
      m: p.m,
      n: nn,
    }));
  }
  if (kernel === 'gemv_n') {
    return ranges(p.n, parts, 4).map(([j0, nn]) => ({
      kernel,
      args: [p.a, p.sam, p.sak, p.b + j0 * 4, p.sbk, p.c + j0 * 4, p.n, p.m, p.k, nn, biasAt(j0)],
      act: p.act,
      c: p.c + j0 * 4,
      ldc: p.n,
      m: p.m,
      n: nn,
    }));
  }
  // B's three arguments at output column j0: gemm takes B's address and strides (moved to the
  // column), gemm_packed the packed copy, its padded width and the column itself
  const pk = p.packed;
  const bAt = (j0: number): number[] => (pk ? [pk.ptr, pk.n8, j0] : [p.b + j0 * p.sbn * 4, p.sbk, p.sbn]);
  const gemm = pk ? ('gemm_packed' as const) : ('gemm' as const);
  if (p.n >= p.m && parts > 1) {
    const chunk = roundUp(Math.ceil(p.n / (parts * CHUNKS_PER_THREAD)), 8);
    return Array.from({ length: parts }, (_, t) => ({
      kernel: pk ? ('gemm_pcols' as const) : ('gemm_cols' as const),
      args: [p.a, p.sam, p.sak, ...bAt(0), p.c, p.n, p.m, p.k, p.n, p.bias, ws(t), chunk, p.act],
      act: 0, // applied by gemm_cols / gemm_pcols to each chunk it computes
      c: p.c,
      ldc: p.n,
      m: p.m,
      n: p.n,
    }));
  }
  if (p.n >= p.m) {
    return ranges(p.n, parts, 8).map(([j0, nn], t) => ({
      kernel: gemm,
      args: [p.a, p.sam, p.sak, ...bAt(j0), p.c + j0 * 4, p.n, p.m, p.k, nn, biasAt(j0), ws(t)],
      act: p.act,
      c: p.c + j0 * 4,
      ldc: p.n,
      m: p.m,
      n: nn,
    }));
  }
  return ranges(p.m, parts, 4).map(([i0, mm], t) => ({
    kernel: gemm,
    args: [
      p.a + i0 * p.sam * 4,
      p.sam,
      p.sak,
      ...bAt(0),
      p.c + i0 * p.n * 4,
      p.n,
      mm,
      p.k,
      p.n,
      p.bias,
      ws(t),
    ],
    act: p.act,
    c: p.c + i0 * p.n * 4,
    ldc: p.n,
    m: mm,
    n: p.n,
  }));
}

/**
 * Tasks that pack B [k, n] (at `b`, strides sbk/sbn) for gemm_packed into `dst` (k · n8 floats,
 * n8 = n rounded up to 8), split by column ranges (multiples of 8) across up to `threads` threads.
 */
export function planPackB(
  b: number,
  sbk: number,
  sbn: number,
  k: number,
  n: number,
  dst: number,
  threads: number,
): Task[] {
  const n8 = roundUp(n, 8);
  const parts = Math.max(1, Math.min(threads, Math.floor((k * n) / MIN_WORK_PER_THREAD)));
  return ranges(n, parts, 8).map(([j0, nn]) => ({
    kernel: 'pack_b' as const,
    args: [b, sbk, sbn, k, n8, j0, nn, dst],
    act: 0,
    c: 0,
    ldc: 0,
    m: 0,
    n: 0,
  }));
}
