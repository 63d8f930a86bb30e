// A minimal reference backend for tensor-core's own tests: every primitive of the Backend interface
// written plainly in JavaScript (float64 arithmetic, rounded to the storage dtype), plus naive fused
// softmax / layerNorm / rmsNorm / attention kernels. tensor-core knows no backend (DESIGN.md), so its
// tests bring their own instead of importing a backend package; the backends' speed and their
// conformance are tested in their own packages.
//
// Registered as 'reference' (the default, priority 1) and 'reference-primitives' (the primitives only,
// so tests reach the core's reference compositions).
import {
  type AttentionParams,
  type Backend,
  type BinaryOp,
  type Conv2dParams,
  type DType,
  type Operand,
  type ReduceOp,
  registerBackend,
  type Storage,
  sizeOf,
  type TypedArray,
  type UnaryOp,
  type View,
} from '@attnkit/tensor-core';
import { allocArray, halfDecoder, halfEncoder, isHalf } from '../src/dtype.js';
import { erf64, roundHalfEven64 } from '../src/testing/cases/ref-util.js';

interface RefStorage extends Storage {
  data: TypedArray;
}

/** Offsets in `v`'s storage of its elements in row-major order. */
function offsets(v: { shape: readonly number[]; strides: readonly number[]; offset: number }): Int32Array {
  const n = sizeOf(v.shape);
  const out = new Int32Array(n);
  const r = v.shape.length;
  const idx = new Array<number>(r).fill(0);
  let off = v.offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      off += v.strides[d];
      if (idx[d] < v.shape[d]) break;
      off -= v.strides[d] * v.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function isContiguous(v: View): boolean {
  let s = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    if (v.shape[d] !== 1 && v.strides[d] !== s) return false;
    s *= v.shape[d];
  }
  return true;
}

/** Row-major strides of `shape`, 0 on the dims in `zero`. */
function stridesOf(shape: readonly number[], zero: readonly number[] = []): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = zero.includes(d) ? 0 : s;
    s *= shape[d];
  }
  return out;
}

function get(data: TypedArray, dtype: DType, i: number): number {
  return isHalf(dtype) ? halfDecoder(dtype)(data[i]) : data[i];
}

/** Values of a view (or a broadcast number) in row-major order of `shape`. */
function values(x: Operand, shape: readonly number[]): Float64Array {
  const n = sizeOf(shape);
  if (typeof x === 'number') return new Float64Array(n).fill(x);
  const data = (x.storage as RefStorage).data;
  if (!isHalf(x.dtype) && isContiguous(x)) return Float64Array.from(data.subarray(x.offset, x.offset + n));
  const offs = offsets(x);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = get(data, x.dtype, offs[i]);
  return out;
}

function store(vals: ArrayLike<number>, dtype: DType): RefStorage {
  if (dtype === 'float32') {
    const data = Float32Array.from(vals);
    return { data, byteLength: data.byteLength };
  }
  const n = vals.length;
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = encode(vals[i], dtype);
  return { data, byteLength: data.byteLength };
}

function encode(v: number, dtype: DType): number {
  if (isHalf(dtype)) return halfEncoder(dtype)(v);
  if (dtype === 'bool') return v !== 0 && !Number.isNaN(v) ? 1 : 0;
  if (dtype === 'int32') return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
  return v;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (Number.isNaN(x) ? x : Math.sign(x)),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x * sigmoid(x),
  softplus: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))),
  erf: erf64,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven64,
  reciprocal: (x) => 1 / x,
  not: (x) => (x ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
};

function binaryFn(op: BinaryOp, int: boolean): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return int ? (a, b) => (a + b) | 0 : (a, b) => a + b;
    case 'sub':
      return int ? (a, b) => (a - b) | 0 : (a, b) => a - b;
    case 'mul':
      return int ? (a, b) => Math.imul(a, b) : (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'pow':
      return (a, b) => a ** b;
    case 'maximum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b));
    case 'minimum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b));
    case 'mod':
      return (a, b) => {
        if (int && b === 0) return 0;
        const r = a % b;
        return r !== 0 && r < 0 !== b < 0 ? r + b : r;
      };
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
    case 'and':
      return (a, b) => (a && b ? 1 : 0);
    case 'or':
      return (a, b) => (a || b ? 1 : 0);
  }
}

/** NaN-aware ordering: NaN above every number, as torch sorts. */
function cmpNaNLast(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The reference backend. `fused: false` leaves out the optional fused kernels. */
export class ReferenceBackend implements Backend {
  readonly interfaceVersion = 1 as const;
  softmax?: Backend['softmax'];
  layerNorm?: Backend['layerNorm'];
  rmsNorm?: Backend['rmsNorm'];
  attention?: Backend['attention'];

  constructor(
    readonly name: string,
    fused = true,
  ) {
    if (fused) {
      this.softmax = this.softmaxKernel;
      this.layerNorm = this.layerNormKernel;
      this.rmsNorm = this.rmsNormKernel;
      this.attention = this.attentionKernel;
    }
  }

  upload(data: TypedArray, dtype: DType): Storage {
    const copy = allocArray(dtype, data.length);
    copy.set(data as never);
    return { data: copy, byteLength: copy.byteLength } as RefStorage;
  }
  async read(storage: Storage, dtype: DType): Promise<TypedArray> {
    return this.readSync(storage, dtype);
  }
  readSync(storage: Storage, _dtype: DType): TypedArray {
    return (storage as RefStorage).data.slice();
  }
  free(_storage: Storage): void {}

  fill(shape: readonly number[], value: number, dtype: DType): Storage {
    return store(new Float64Array(sizeOf(shape)).fill(value), dtype);
  }
  copy(x: View, to: DType): Storage {
    return store(values(x, x.shape), to);
  }
  write(dst: View, src: Operand): void {
    const vals = values(src, dst.shape);
    const data = (dst.storage as RefStorage).data;
    const offs = offsets(dst);
    for (let i = 0; i < offs.length; i++) data[offs[i]] = encode(vals[i], dst.dtype);
  }
  unary(op: UnaryOp, x: View, outDtype: DType): Storage {
    const f = UNARY[op];
    return store(values(x, x.shape).map(f), outDtype);
  }
  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    computeDtype: DType,
    outDtype: DType,
  ): Storage {
    const f = binaryFn(op, computeDtype === 'int32');
    // operands are rounded to the compute dtype first, as a float32 kernel reads them
    const read = (x: Operand) => {
      const v = values(x, outShape);
      if (computeDtype === 'float32' && (typeof x === 'number' || x.dtype !== 'float32')) {
        for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]);
      }
      return v;
    };
    const va = read(a);
    const vb = read(b);
    for (let i = 0; i < va.length; i++) va[i] = f(va[i], vb[i]);
    return store(va, outDtype);
  }
  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage {
    const c = values(cond, outShape);
    const va = values(a, outShape);
    const vb = values(b, outShape);
    return store(
      c.map((x, i) => (x ? va[i] : vb[i])),
      dtype,
    );
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): Storage {
    const vals = values(x, x.shape);
    const outShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
    // output slot of every input element: strides of the output, 0 on the reduced axes
    const kept = outShape.map((_, d) => d);
    const target = offsets({ shape: x.shape, strides: stridesOf(outShape, axes), offset: 0 });
    const n = sizeOf(outShape);
    const init = op === 'sum' ? 0 : op === 'prod' ? 1 : Number.NaN;
    const acc = new Float64Array(n).fill(init);
    const seen = new Uint8Array(n);
    if (op === 'argmax' || op === 'argmin') {
      // position along the one reduced axis of every element
      const pos = offsets({ shape: x.shape, strides: kept.map((d) => (d === axes[0] ? 1 : 0)), offset: 0 });
      const best = new Float64Array(n);
      for (let i = 0; i < vals.length; i++) {
        const t = target[i];
        const v = vals[i];
        if (!seen[t]) {
          seen[t] = 1;
          best[t] = v;
          acc[t] = pos[i];
        } else if (
          !Number.isNaN(best[t]) &&
          (Number.isNaN(v) || (op === 'argmax' ? v > best[t] : v < best[t]))
        ) {
          best[t] = v;
          acc[t] = pos[i];
        }
      }
      return store(acc, outDtype);
    }
    for (let i = 0; i < vals.length; i++) {
      const t = target[i];
      const v = vals[i];
      if (op === 'sum') acc[t] += v;
      else if (op === 'prod') acc[t] *= v;
      else if (!seen[t]) {
        seen[t] = 1;
        acc[t] = v;
      } else if (!Number.isNaN(acc[t]) && (Number.isNaN(v) || (op === 'max' ? v > acc[t] : v < acc[t])))
        acc[t] = v;
    }
    return store(acc, outDtype);
  }
  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage {
    const va = values(a, [...batch, m, k]);
    const vb = values(b, [...batch, k, n]);
    const nb = sizeOf(batch);
    const out = new Float64Array(nb * m * n);
    for (let p = 0; p < nb; p++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += va[p * m * k + i * k + t] * vb[p * k * n + t * n + j];
          out[p * m * n + i * n + j] = s;
        }
      }
    }
    return store(out, 'float32');
  }
  gather(x: View, dim: number, index: View): Storage {
    const vx = values(x, x.shape);
    const vi = values(index, index.shape);
    const xs = stridesOf(x.shape);
    // position in x of each index element with the index's own coordinate along `dim` left out
    const base = offsets({ shape: index.shape, strides: stridesOf(x.shape, [dim]), offset: 0 });
    const out = new Float64Array(vi.length);
    for (let i = 0; i < vi.length; i++) out[i] = vx[base[i] + vi[i] * xs[dim]];
    return store(out, isHalf(x.dtype) ? 'float32' : x.dtype);
  }
  scatterAdd(target: View, dim: number, index: View, src: View): Storage {
    const out = values(target, target.shape);
    const vi = values(index, index.shape);
    const vs = values(src, src.shape);
    const ts = stridesOf(target.shape);
    const base = offsets({ shape: index.shape, strides: stridesOf(target.shape, [dim]), offset: 0 });
    const from = offsets({ shape: index.shape, strides: stridesOf(src.shape), offset: 0 });
    for (let i = 0; i < vi.length; i++) out[base[i] + vi[i] * ts[dim]] += vs[from[i]];
    return store(out, target.dtype);
  }
  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage {
    const v = values(x, x.shape);
    const inner = sizeOf(x.shape.slice(dim + 1));
    const len = x.shape[dim];
    const outer = v.length / Math.max(1, len * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        for (let j = 1; j < len; j++) {
          const at = (o * len + j) * inner + i;
          const prev = at - inner;
          v[at] = op === 'cumsum' ? v[prev] + v[at] : v[prev] * v[at];
        }
      }
    }
    return store(v, x.dtype);
  }
  sort(x: View, descending: boolean): [Storage, Storage] {
    const v = values(x, x.shape);
    const len = x.shape[x.shape.length - 1] ?? 1;
    const vals = new Float64Array(v.length);
    const idx = new Float64Array(v.length);
    for (let r = 0; r * len < v.length; r++) {
      const order = Array.from({ length: len }, (_, j) => j);
      const row = v.subarray(r * len, (r + 1) * len);
      order.sort((i, j) => (descending ? cmpNaNLast(row[j], row[i]) : cmpNaNLast(row[i], row[j])) || i - j);
      order.forEach((j, p) => {
        vals[r * len + p] = row[j];
        idx[r * len + p] = j;
      });
    }
    return [store(vals, x.dtype), store(idx, 'int32')];
  }
  conv2d(x: View, w: View, p: Conv2dParams): Storage {
    const [n, c, h, wd] = x.shape;
    const [o, cg, kh, kw] = w.shape;
    const vx = values(x, x.shape);
    const vw = values(w, w.shape);
    const oh = Math.floor((h + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const ow = Math.floor((wd + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    const og = o / p.groups;
    const out = new Float64Array(n * o * oh * ow);
    for (let b = 0; b < n; b++) {
      for (let oc = 0; oc < o; oc++) {
        const g = Math.floor(oc / og);
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            let s = 0;
            for (let ci = 0; ci < cg; ci++) {
              for (let u = 0; u < kh; u++) {
                const y = i * p.stride[0] - p.padding[0] + u * p.dilation[0];
                if (y < 0 || y >= h) continue;
                for (let t = 0; t < kw; t++) {
                  const z = j * p.stride[1] - p.padding[1] + t * p.dilation[1];
                  if (z < 0 || z >= wd) continue;
                  s += vx[((b * c + g * cg + ci) * h + y) * wd + z] * vw[((oc * cg + ci) * kh + u) * kw + t];
                }
              }
            }
            out[((b * o + oc) * oh + i) * ow + j] = s;
          }
        }
      }
    }
    return store(out, 'float32');
  }

  // ---- fused kernels: one row at a time, straight from the definitions ----

  private rows(x: View, f: (row: Float64Array, r: number) => ArrayLike<number>): Storage {
    const v = values(x, x.shape);
    const len = x.shape[x.shape.length - 1] ?? 1;
    const out = new Float64Array(v.length);
    for (let r = 0; r * len < v.length; r++) out.set(f(v.subarray(r * len, (r + 1) * len), r), r * len);
    return store(out, 'float32');
  }
  private softmaxKernel(x: View, log: boolean): Storage {
    return this.rows(x, (row) => {
      const m = row.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
      const s = row.reduce((a, b) => a + Math.exp(b - m), 0);
      return row.map((v) => (log ? v - m - Math.log(s) : Math.exp(v - m) / s));
    });
  }
  private layerNormKernel(x: View, weight: View | null, bias: View | null, eps: number): Storage {
    const len = x.shape[x.shape.length - 1];
    const w = weight ? values(weight, [len]) : null;
    const b = bias ? values(bias, [len]) : null;
    return this.rows(x, (row) => {
      const mean = row.reduce((a, v) => a + v, 0) / len;
      const vr = row.reduce((a, v) => a + (v - mean) ** 2, 0) / len;
      const inv = 1 / Math.sqrt(vr + eps);
      return row.map((v, i) => (v - mean) * inv * (w ? w[i] : 1) + (b ? b[i] : 0));
    });
  }
  private rmsNormKernel(x: View, weight: View | null, eps: number): Storage {
    const len = x.shape[x.shape.length - 1];
    const w = weight ? values(weight, [len]) : null;
    return this.rows(x, (row) => {
      const inv = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / len + eps);
      return row.map((v, i) => v * inv * (w ? w[i] : 1));
    });
  }
  private attentionKernel(q: View, k: View, v: View, params: AttentionParams): Storage {
    const [B, H, Lq, D] = q.shape;
    const Lk = k.shape[2];
    const Dv = v.shape[3];
    const vq = values(q, q.shape);
    const vk = values(k, k.shape);
    const vv = values(v, v.shape);
    const vm = params.mask ? values(params.mask, [B, H, Lq, Lk]) : null;
    const boolMask = params.mask?.dtype === 'bool';
    const out = new Float64Array(B * H * Lq * Dv);
    for (let bh = 0; bh < B * H; bh++) {
      for (let i = 0; i < Lq; i++) {
        const s = new Float64Array(Lk).fill(Number.NEGATIVE_INFINITY);
        for (let j = 0; j < Lk; j++) {
          if (params.causal && j > i + Lk - Lq) continue;
          const m = vm ? vm[(bh * Lq + i) * Lk + j] : 0;
          if (boolMask && !m) continue;
          let dot = 0;
          for (let t = 0; t < D; t++) dot += vq[(bh * Lq + i) * D + t] * vk[(bh * Lk + j) * D + t];
          s[j] = dot * params.scale + (boolMask ? 0 : m);
        }
        const mx = s.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)));
        if (mx === Number.NEGATIVE_INFINITY) continue; // sees no key: zeros
        const p = s.map((x) => Math.exp(x - mx));
        const sum = p.reduce((a, b) => a + b, 0);
        for (let c = 0; c < Dv; c++) {
          let acc = 0;
          for (let j = 0; j < Lk; j++)
            if (p[j] !== 0 || Number.isNaN(p[j])) acc += p[j] * vv[(bh * Lk + j) * Dv + c];
          out[(bh * Lq + i) * Dv + c] = acc / sum;
        }
      }
    }
    return store(out, 'float32');
  }
}

registerBackend('reference', () => new ReferenceBackend('reference'), 1);
registerBackend('reference-primitives', () => new ReferenceBackend('reference-primitives', false), -1);

/** Name of the registered backend without fused kernels. */
export const PRIMITIVES_ONLY = 'reference-primitives';
