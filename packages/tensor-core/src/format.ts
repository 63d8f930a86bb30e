import type { Tensor } from './tensor.js';

const EDGE = 3;
const THRESHOLD = 1000;

/** Formats a tensor like torch: values (truncated with `...` past 1000 elements), shape and dtype. */
export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return `tensor(<disposed>, shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  let data: ArrayLike<number>;
  try {
    data = t.dataSync();
  } catch {
    return `tensor(<on ${t.backend.name}; await data() to read>, shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  }
  const summarize = t.size > THRESHOLD;
  const isInt = t.dtype === 'int32';
  const fmtNum =
    t.dtype === 'bool'
      ? (v: number) => (v ? 'true' : 'false')
      : isInt
        ? (v: number) => String(v)
        : formatterFor(data);
  const cells: string[] = [];
  for (let i = 0; i < data.length; i++) cells.push(fmtNum(data[i]));
  const width = cells.reduce((w, c) => Math.max(w, c.length), 0);
  const pad = (s: string) => s.padStart(width);
  const shape = t.shape;
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const render = (dim: number, off: number, indent: string): string => {
    if (shape.length === 0) return pad(cells[0]);
    const n = shape[dim];
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    if (dim === shape.length - 1) {
      return `[${idx.map((i) => (i === null ? '...' : pad(cells[off + i]))).join(', ')}]`;
    }
    const sep = `,${'\n'.repeat(shape.length - dim - 1)}${indent} `;
    return `[${idx.map((i) => (i === null ? '...' : render(dim + 1, off + i * strides[dim], `${indent} `))).join(sep)}]`;
  };
  const body = render(0, 0, '       ');
  return `tensor(${body}, shape=[${shape.join(', ')}], dtype=${t.dtype}${t.requiresGrad ? ', requiresGrad=true' : ''})`;
}

function formatterFor(data: ArrayLike<number>): (v: number) => string {
  let maxAbs = 0;
  let minAbs = Number.POSITIVE_INFINITY;
  let allInt = true;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (!Number.isFinite(a)) continue;
    if (a > maxAbs) maxAbs = a;
    if (a > 0 && a < minAbs) minAbs = a;
    if (!Number.isInteger(data[i])) allInt = false;
  }
  const sci =
    maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Number.POSITIVE_INFINITY) || maxAbs / minAbs > 1e3;
  return (v: number) => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci && v !== 0) return v.toExponential(4);
    if (allInt) return `${v}.`;
    return v.toFixed(4);
  };
}
