import type { Tensor } from './tensor.js';

/** Print options, torch's defaults. */
const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

/**
 * Formats a tensor as torch prints it (`str(t)` with the default print options: 4 decimals,
 * scientific notation when magnitudes call for it, tensors over 1000 elements summarized with
 * `...` keeping 3 items at each edge, rows wrapped at 80 columns), followed by attnkit's
 * `shape=[...]` and `dtype=...`.
 *
 * @example
 * ```ts
 * tensor([1.5, -2.25]).toString(); // => 'tensor([ 1.5000, -2.2500], shape=[2], dtype=float32)'
 * ```
 */
export function formatTensor(t: Tensor): string {
  const suffix = `shape=[${t.shape.join(', ')}], dtype=${t.dtype}${t.requiresGrad ? ', requiresGrad=true' : ''}`;
  if (t.isDisposed) return `tensor(<disposed>, ${suffix})`;
  let data: ArrayLike<number>;
  try {
    data = t.dataSync();
  } catch {
    return `tensor(<on ${t.backend.name}; await data() to read>, ${suffix})`;
  }
  return `tensor(${formatValues(data, t.shape, t.dtype)}, ${suffix})`;
}

/** @internal torch's tensor body (between `tensor(` and the suffix) for row-major values. */
export function formatValues(data: ArrayLike<number>, shape: readonly number[], dtype: string): string {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0) return '[]';
  const summarize = size > THRESHOLD;
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  // Indices printed along a dim (null marks the elision).
  const shown = (n: number): (number | null)[] => {
    if (!(summarize && n > 2 * EDGE_ITEMS)) return Array.from({ length: n }, (_, i) => i);
    const out: (number | null)[] = [];
    for (let i = 0; i < EDGE_ITEMS; i++) out.push(i);
    out.push(null);
    for (let i = n - EDGE_ITEMS; i < n; i++) out.push(i);
    return out;
  };
  // The formatter sees only the values that are printed, as torch's does.
  const printed: number[] = [];
  const collect = (dim: number, off: number) => {
    if (dim === shape.length) {
      printed.push(data[off]);
      return;
    }
    for (const i of shown(shape[dim])) if (i !== null) collect(dim + 1, off + i * strides[dim]);
  };
  collect(0, 0);
  const f = makeFormatter(printed, dtype);

  const vector = (off: number, indent: number): string => {
    const n = shape[shape.length - 1];
    const st = strides[shape.length - 1];
    const items = shown(n).map((i) => (i === null ? ' ...' : f.format(data[off + i * st])));
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (f.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  };
  const render = (dim: number, off: number, indent: number): string => {
    if (dim === shape.length - 1) return vector(off, indent);
    const parts = shown(shape[dim]).map((i) =>
      i === null ? '...' : render(dim + 1, off + i * strides[dim], indent + 1),
    );
    return `[${parts.join(`,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(indent + 1)}`)}]`;
  };
  if (shape.length === 0) return f.format(data[0]);
  return render(0, 0, 'tensor('.length);
}

interface Formatter {
  width: number;
  format(v: number): string;
}

/** torch's _Formatter: picks integer, fixed or scientific notation and a common width. */
function makeFormatter(values: number[], dtype: string): Formatter {
  const pad = (w: number, s: string) => (s.length < w ? ' '.repeat(w - s.length) + s : s);
  if (dtype === 'bool') {
    const w = values.some((v) => !v) ? 5 : 4;
    return { width: w, format: (v) => pad(w, v ? 'True' : 'False') };
  }
  if (dtype === 'int32') {
    const w = values.reduce((m, v) => Math.max(m, String(v).length), 1);
    return { width: w, format: (v) => pad(w, String(v)) };
  }
  const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
  let width = 1;
  let intMode = true;
  let sci = false;
  if (finite.length) {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const v of finite) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
      if (v !== Math.ceil(v)) intMode = false;
    }
    if (intMode) {
      if (max / min > 1000 || max > 1e8) sci = true;
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) sci = true;
    for (const v of finite) {
      const s = sci ? pyExponential(v, PRECISION) : intMode ? `${pyFixed(v, 0)}.` : pyFixed(v, PRECISION);
      width = Math.max(width, s.length);
    }
  }
  const format = (v: number): string => {
    let s: string;
    if (Number.isNaN(v)) s = 'nan';
    else if (!Number.isFinite(v)) s = v > 0 ? 'inf' : '-inf';
    else if (sci) s = pyExponential(v, PRECISION);
    else if (intMode) s = `${pyFixed(v, 0)}.`;
    else s = pyFixed(v, PRECISION);
    return pad(width, s);
  };
  return { width, format };
}

/**
 * Python's `f"{v:.{p}f}"`: the sign of negative zero is kept and exact ties round to even (JS's
 * toFixed rounds them away from zero). Tie detection is exact for float32 values.
 */
function pyFixed(v: number, p: number): string {
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  const scale = 10 ** p;
  const x = a * scale;
  let s: string;
  if (x < 2 ** 52 && x - Math.floor(x) === 0.5) {
    const n = Math.floor(x) % 2 === 0 ? Math.floor(x) : Math.floor(x) + 1;
    s = (n / scale).toFixed(p);
  } else s = a.toFixed(p);
  return neg ? `-${s}` : s;
}

/** Python's `f"{v:.{p}e}"`: at least two exponent digits with a sign (`1.0000e-05`). */
function pyExponential(v: number, p: number): string {
  const s = (Object.is(v, -0) ? '-' : '') + v.toExponential(p);
  const i = s.indexOf('e');
  const sign = s[i + 1];
  const digits = s.slice(i + 2);
  return `${s.slice(0, i)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}
