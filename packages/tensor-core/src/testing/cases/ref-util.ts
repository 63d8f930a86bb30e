// Float64 reference helpers shared by the case files: build arrays by coordinates, read elements,
// permute/slice like views, reduce over axes, and exact-enough scalar math (erf).
import type { RefArray } from '../case.js';

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Builds an array of `shape` whose element at coordinates `idx` is `f(idx)`. */
export function build(shape: readonly number[], f: (idx: number[]) => number): RefArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    data[k] = f(idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape: [...shape], data };
}

/** Element of `x` at coordinates `idx`. */
export function at(x: RefArray, idx: readonly number[]): number {
  let o = 0;
  let s = 1;
  for (let d = x.shape.length - 1; d >= 0; d--) {
    o += idx[d] * s;
    s *= x.shape[d];
  }
  return x.data[o];
}

/** The array with its dims reordered (what `permute` shows). */
export function permuteRef(x: RefArray, perm: readonly number[]): RefArray {
  return build(
    perm.map((p) => x.shape[p]),
    (idx) => {
      const src = new Array<number>(idx.length);
      perm.forEach((p, i) => {
        src[p] = idx[i];
      });
      return at(x, src);
    },
  );
}

/** Swaps two dims. */
export function transposeRef(x: RefArray, a: number, b: number): RefArray {
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permuteRef(x, perm);
}

/** Elements start, start+step, ... below end along `dim`. */
export function sliceRef(x: RefArray, dim: number, start: number, end: number, step = 1): RefArray {
  const shape = [...x.shape];
  shape[dim] = Math.max(0, Math.ceil((end - start) / step));
  return build(shape, (idx) => {
    const src = [...idx];
    src[dim] = start + idx[dim] * step;
    return at(x, src);
  });
}

/** Same data in another shape. */
export function reshapeRef(x: RefArray, shape: number[]): RefArray {
  return { shape, data: x.data.slice() };
}

/** Reduces `axes` with `f` (which receives the values in row-major order of the reduced dims). */
export function reduceRef(
  x: RefArray,
  axes: readonly number[],
  f: (v: number[]) => number,
  keepdim = false,
): RefArray {
  const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const red = axes.map((a) => x.shape[a]);
  const n = red.reduce((p, q) => p * q, 1);
  const out = build(kept, (idx) => {
    const vals: number[] = [];
    const src = [...idx];
    const j = new Array<number>(axes.length).fill(0);
    for (let k = 0; k < n; k++) {
      axes.forEach((a, i) => {
        src[a] = j[i];
      });
      vals.push(at(x, src));
      for (let d = axes.length - 1; d >= 0; d--) {
        if (++j[d] < red[d]) break;
        j[d] = 0;
      }
    }
    return f(vals);
  });
  return keepdim ? out : { shape: x.shape.filter((_, i) => !axes.includes(i)), data: out.data };
}

/** Applies `f` to every 1-D fibre along `dim` (same length in and out). */
export function alongDim(x: RefArray, dim: number, f: (row: number[]) => number[]): RefArray {
  const rowsShape = x.shape.map((s, i) => (i === dim ? 1 : s));
  const out = new Float64Array(x.data.length);
  const st = stridesOf(x.shape);
  const n = x.shape[dim];
  build(rowsShape, (idx) => {
    let base = 0;
    idx.forEach((v, i) => {
      base += v * st[i];
    });
    const row: number[] = [];
    for (let k = 0; k < n; k++) row.push(x.data[base + k * st[dim]]);
    const r = f(row);
    for (let k = 0; k < n; k++) out[base + k * st[dim]] = r[k];
    return 0;
  });
  return { shape: [...x.shape], data: out };
}

/** The error function to double precision (a positive series, no cancellation). */
export function erf64(x: number): number {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? x : Math.sign(x);
  if (Math.abs(x) > 6) return Math.sign(x);
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** Round half to even, as torch.round. */
export function roundHalfEven64(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Python-style float64 log-sum-exp of a list. */
export function lse(v: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of v) if (x > m) m = x;
  if (m === Number.NEGATIVE_INFINITY) return m;
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
}
