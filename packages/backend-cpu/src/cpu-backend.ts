import {
  type AttentionParams,
  allocArray,
  type Backend,
  type BinaryOp,
  type Conv2dParams,
  type DType,
  fromFloat16Bits,
  type Operand,
  type ReduceOp,
  type Storage,
  sizeOf,
  type TypedArray,
  toFloat16Bits,
  type UnaryOp,
  type View,
} from '@attnkit/tensor-core';
import { attentionKernel } from './kernels/attention.js';
import { conv2dKernel } from './kernels/conv2d.js';
import { gemmScratchBytes, matmulKernel } from './kernels/matmul.js';
import { layerNormKernel, rmsNormKernel } from './kernels/norm.js';
import { softmaxKernel } from './kernels/softmax.js';
import { erf, gelu, geluTanh, roundHalfEven, sigmoid, softplus } from './math.js';
import { forEachRow, offsetsOf } from './strided.js';

/** A CPU storage: a typed array on the JS heap. */
export class CpuStorage implements Storage {
  constructor(readonly data: TypedArray) {}
  get byteLength(): number {
    return this.data.byteLength;
  }
}

const arr = (v: View): TypedArray => (v.storage as CpuStorage).data;

type UnaryFn = (x: number) => number;
const UNARY: Record<UnaryOp, UnaryFn> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: Math.sign,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => Math.max(x, 0),
  gelu,
  gelu_tanh: geluTanh,
  silu: (x) => x * sigmoid(x),
  softplus,
  erf,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  reciprocal: (x) => 1 / x,
  not: (x) => (x ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
};

type BinaryFn = (a: number, b: number) => number;
const BINARY: Record<BinaryOp, BinaryFn> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  mod: (a, b) => {
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  },
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  and: (a, b) => (a && b ? 1 : 0),
  or: (a, b) => (a || b ? 1 : 0),
};

/**
 * The CPU backend: every primitive of the Backend interface over typed arrays. Reads are
 * synchronous. Kernels walk strided views row by row, so views cost nothing.
 */
export class CpuBackend implements Backend {
  readonly interfaceVersion = 1 as const;
  readonly name = 'cpu';

  upload(data: TypedArray, _dtype: DType): Storage {
    return new CpuStorage(data);
  }
  async read(storage: Storage, dtype: DType): Promise<TypedArray> {
    return this.readSync(storage, dtype);
  }
  readSync(storage: Storage, _dtype: DType): TypedArray {
    return (storage as CpuStorage).data.slice();
  }
  free(_storage: Storage): void {
    // The garbage collector reclaims the typed array.
  }

  fill(shape: readonly number[], value: number, dtype: DType): Storage {
    const out = allocArray(dtype, sizeOf(shape));
    const v = dtype === 'float16' ? toFloat16Bits(value) : dtype === 'bool' ? (value ? 1 : 0) : value;
    if (v !== 0) out.fill(v);
    return new CpuStorage(out);
  }

  copy(x: View, to: DType): Storage {
    const n = sizeOf(x.shape);
    const out = allocArray(to, n);
    const src = arr(x);
    const conv = converter(x.dtype, to);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    let k = 0;
    if (!conv && st === 1) {
      forEachRow(x.shape, [x], (o) => {
        out.set(src.subarray(o[0], o[0] + last), k);
        k += last;
      });
    } else {
      forEachRow(x.shape, [x], (o) => {
        let off = o[0];
        if (conv) for (let i = 0; i < last; i++, off += st) out[k++] = conv(src[off]);
        else for (let i = 0; i < last; i++, off += st) out[k++] = src[off];
      });
    }
    return new CpuStorage(out);
  }

  write(dst: View, src: Operand): void {
    const out = arr(dst);
    const last = dst.shape.length ? dst.shape[dst.shape.length - 1] : 1;
    const sd = dst.shape.length ? dst.strides[dst.strides.length - 1] : 0;
    if (typeof src === 'number') {
      const v = dst.dtype === 'float16' ? toFloat16Bits(src) : src;
      forEachRow(dst.shape, [dst], (o) => {
        let off = o[0];
        for (let i = 0; i < last; i++, off += sd) out[off] = v;
      });
      return;
    }
    const s = arr(src);
    const ss = src.shape.length ? src.strides[src.strides.length - 1] : 0;
    const conv = converter(src.dtype, dst.dtype);
    forEachRow(dst.shape, [dst, src], (o) => {
      let d = o[0];
      let q = o[1];
      if (conv) for (let i = 0; i < last; i++, d += sd, q += ss) out[d] = conv(s[q]);
      else for (let i = 0; i < last; i++, d += sd, q += ss) out[d] = s[q];
    });
  }

  unary(op: UnaryOp, x: View, outDtype: DType): Storage {
    const f = UNARY[op];
    const out = allocArray(outDtype, sizeOf(x.shape));
    const src = arr(x);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    let k = 0;
    forEachRow(x.shape, [x], (o) => {
      let off = o[0];
      for (let i = 0; i < last; i++, off += st) out[k++] = f(src[off]);
    });
    return new CpuStorage(out);
  }

  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    _compute: DType,
    outDtype: DType,
  ): Storage {
    const n = sizeOf(outShape);
    const out = allocArray(outDtype, n);
    const last = outShape.length ? outShape[outShape.length - 1] : 1;
    const va = typeof a === 'number' ? null : a;
    const vb = typeof b === 'number' ? null : b;
    const sa = va?.shape.length ? va.strides[va.strides.length - 1] : 0;
    const sb = vb?.shape.length ? vb.strides[vb.strides.length - 1] : 0;
    const da = va ? arr(va) : null;
    const db = vb ? arr(vb) : null;
    const ca = a as number;
    const cb = b as number;
    const views = [
      va ?? { strides: outShape.map(() => 0), offset: 0 },
      vb ?? { strides: outShape.map(() => 0), offset: 0 },
    ];
    let k = 0;
    // Hot ops get inlined loops; the rest go through the function table.
    if (op === 'add' || op === 'mul' || op === 'sub' || op === 'div') {
      forEachRow(outShape, views, (o) => {
        let p = o[0];
        let q = o[1];
        if (da && db) {
          if (op === 'add') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] + db[q];
          else if (op === 'mul') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] * db[q];
          else if (op === 'sub') for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] - db[q];
          else for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = da[p] / db[q];
        } else if (da) {
          if (op === 'add') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] + cb;
          else if (op === 'mul') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] * cb;
          else if (op === 'sub') for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] - cb;
          else for (let i = 0; i < last; i++, p += sa) out[k++] = da[p] / cb;
        } else if (db) {
          if (op === 'add') for (let i = 0; i < last; i++, q += sb) out[k++] = ca + db[q];
          else if (op === 'mul') for (let i = 0; i < last; i++, q += sb) out[k++] = ca * db[q];
          else if (op === 'sub') for (let i = 0; i < last; i++, q += sb) out[k++] = ca - db[q];
          else for (let i = 0; i < last; i++, q += sb) out[k++] = ca / db[q];
        } else {
          const v = BINARY[op](ca, cb);
          for (let i = 0; i < last; i++) out[k++] = v;
        }
      });
    } else {
      const f = BINARY[op];
      forEachRow(outShape, views, (o) => {
        let p = o[0];
        let q = o[1];
        for (let i = 0; i < last; i++, p += sa, q += sb) out[k++] = f(da ? da[p] : ca, db ? db[q] : cb);
      });
    }
    if (outDtype === 'int32' && (op === 'div' || op === 'pow')) {
      // never reached: core computes these in float32
    }
    return new CpuStorage(out);
  }

  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage {
    const out = allocArray(dtype, sizeOf(outShape));
    const c = arr(cond);
    const va = typeof a === 'number' ? null : a;
    const vb = typeof b === 'number' ? null : b;
    const da = va ? arr(va) : null;
    const db = vb ? arr(vb) : null;
    const zero = { strides: outShape.map(() => 0), offset: 0 };
    const last = outShape.length ? outShape[outShape.length - 1] : 1;
    const lastStride = (v: { strides: readonly number[] } | null) =>
      v?.strides.length ? v.strides[v.strides.length - 1] : 0;
    const sc = lastStride(cond);
    const sa = lastStride(va);
    const sb = lastStride(vb);
    let k = 0;
    forEachRow(outShape, [cond, va ?? zero, vb ?? zero], (o) => {
      let r = o[0];
      let p = o[1];
      let q = o[2];
      for (let i = 0; i < last; i++, r += sc, p += sa, q += sb) {
        out[k++] = c[r] ? (da ? da[p] : (a as number)) : db ? db[q] : (b as number);
      }
    });
    return new CpuStorage(out);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): Storage {
    const src = arr(x);
    const keptDims = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outer = {
      shape: keptDims.map((i) => x.shape[i]),
      strides: keptDims.map((i) => x.strides[i]),
      offset: x.offset,
    };
    const inner = { shape: axes.map((i) => x.shape[i]), strides: axes.map((i) => x.strides[i]), offset: 0 };
    const base = offsetsOf(outer);
    const rel = offsetsOf(inner);
    const out = allocArray(outDtype, base.length);
    const r = rel.length;
    for (let i = 0; i < base.length; i++) {
      const o = base[i];
      switch (op) {
        case 'sum': {
          let s = 0;
          for (let j = 0; j < r; j++) s += src[o + rel[j]];
          out[i] = s;
          break;
        }
        case 'prod': {
          let s = 1;
          for (let j = 0; j < r; j++) s *= src[o + rel[j]];
          out[i] = s;
          break;
        }
        case 'max': {
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < r; j++) {
            const v = src[o + rel[j]];
            if (v > m || Number.isNaN(v)) {
              m = v;
              if (Number.isNaN(v)) break;
            }
          }
          out[i] = m;
          break;
        }
        case 'min': {
          let m = Number.POSITIVE_INFINITY;
          for (let j = 0; j < r; j++) {
            const v = src[o + rel[j]];
            if (v < m || Number.isNaN(v)) {
              m = v;
              if (Number.isNaN(v)) break;
            }
          }
          out[i] = m;
          break;
        }
        case 'argmax':
        case 'argmin': {
          let best = 0;
          let bv = src[o + rel[0]];
          for (let j = 1; j < r && !Number.isNaN(bv); j++) {
            const v = src[o + rel[j]];
            if (Number.isNaN(v) || (op === 'argmax' ? v > bv : v < bv)) {
              bv = v;
              best = j;
            }
          }
          out[i] = best;
          break;
        }
      }
    }
    return new CpuStorage(out);
  }

  /** WebAssembly memory the matmul kernel keeps as packing scratch. */
  memoryOverhead(): number {
    return gemmScratchBytes();
  }

  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage {
    const out = new Float32Array(sizeOf(batch) * m * n);
    const rank = batch.length;
    const aBatch = { shape: batch, strides: a.strides.slice(0, rank), offset: a.offset };
    const bBatch = { shape: batch, strides: b.strides.slice(0, rank), offset: b.offset };
    const ao = offsetsOf(aBatch);
    const bo = offsetsOf(bBatch);
    const A = arr(a) as Float32Array;
    const B = arr(b) as Float32Array;
    const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
    const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
    for (let i = 0; i < ao.length; i++) {
      matmulKernel(A, ao[i], sam, sak, B, bo[i], sbk, sbn, out, i * m * n, m, k, n);
    }
    return new CpuStorage(out);
  }

  gather(x: View, dim: number, index: View): Storage {
    const src = arr(x);
    const idx = arr(index);
    const n = sizeOf(index.shape);
    const out = allocArray(x.dtype, n);
    const rank = index.shape.length;
    // offset into x for every index position, with dim's coordinate replaced by the index value
    const xStrides = x.strides;
    const coords = new Array<number>(rank).fill(0);
    const limit = x.shape[dim];
    for (let i = 0; i < n; i++) {
      let io = index.offset;
      let xo = x.offset;
      for (let d = 0; d < rank; d++) {
        io += coords[d] * index.strides[d];
        if (d !== dim) xo += coords[d] * xStrides[d];
      }
      let j = idx[io];
      if (j < 0) j += limit;
      out[i] = src[xo + j * xStrides[dim]];
      for (let d = rank - 1; d >= 0; d--) {
        if (++coords[d] < index.shape[d]) break;
        coords[d] = 0;
      }
    }
    return new CpuStorage(out);
  }

  scatterAdd(target: View, dim: number, index: View, src: View): Storage {
    const outStorage = this.copy(target, target.dtype) as CpuStorage;
    const out = outStorage.data;
    const s = arr(src);
    const idx = arr(index);
    const rank = index.shape.length;
    const n = sizeOf(index.shape);
    const outStrides = contiguous(target.shape);
    const coords = new Array<number>(rank).fill(0);
    const limit = target.shape[dim];
    for (let i = 0; i < n; i++) {
      let io = index.offset;
      let so = src.offset;
      let oo = 0;
      for (let d = 0; d < rank; d++) {
        io += coords[d] * index.strides[d];
        so += coords[d] * src.strides[d];
        if (d !== dim) oo += coords[d] * outStrides[d];
      }
      let j = idx[io];
      if (j < 0) j += limit;
      out[oo + j * outStrides[dim]] += s[so];
      for (let d = rank - 1; d >= 0; d--) {
        if (++coords[d] < index.shape[d]) break;
        coords[d] = 0;
      }
    }
    return outStorage;
  }

  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage {
    const out = allocArray(x.dtype, sizeOf(x.shape));
    const src = arr(x);
    const others = x.shape.map((_, i) => i).filter((i) => i !== dim);
    const outStrides = contiguous(x.shape);
    const outer = {
      shape: others.map((i) => x.shape[i]),
      strides: others.map((i) => x.strides[i]),
      offset: x.offset,
    };
    const outerOut = { shape: outer.shape, strides: others.map((i) => outStrides[i]), offset: 0 };
    const so = offsetsOf(outer);
    const oo = offsetsOf(outerOut);
    const len = x.shape[dim];
    const sx = x.strides[dim];
    const sd = outStrides[dim];
    for (let i = 0; i < so.length; i++) {
      let acc = op === 'cumsum' ? 0 : 1;
      for (let j = 0; j < len; j++) {
        const v = src[so[i] + j * sx];
        acc = op === 'cumsum' ? acc + v : acc * v;
        out[oo[i] + j * sd] = acc;
      }
    }
    return new CpuStorage(out);
  }

  sort(x: View, descending: boolean): [Storage, Storage] {
    const n = sizeOf(x.shape);
    const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
    const st = x.shape.length ? x.strides[x.strides.length - 1] : 0;
    const vals = allocArray(x.dtype, n);
    const idx = new Int32Array(n);
    const src = arr(x);
    const order = new Array<number>(last);
    const row = new Float64Array(last);
    let k = 0;
    forEachRow(x.shape, [x], (o) => {
      for (let i = 0, off = o[0]; i < last; i++, off += st) {
        row[i] = src[off];
        order[i] = i;
      }
      order.sort((p, q) => {
        const a = row[p];
        const b = row[q];
        const an = Number.isNaN(a);
        const bn = Number.isNaN(b);
        if (an || bn) return an === bn ? p - q : an ? (descending ? -1 : 1) : descending ? 1 : -1;
        const c = descending ? b - a : a - b;
        return c !== 0 ? c : p - q;
      });
      for (let i = 0; i < last; i++) {
        vals[k + i] = row[order[i]];
        idx[k + i] = order[i];
      }
      k += last;
    });
    return [new CpuStorage(vals), new CpuStorage(idx)];
  }

  conv2d(x: View, w: View, p: Conv2dParams): Storage {
    const f32 = (v: View) => ({ ...v, data: arr(v) as Float32Array });
    return new CpuStorage(conv2dKernel(f32(x), f32(w), p));
  }

  // ---- fused kernels ----

  softmax(x: View, log: boolean): Storage {
    return new CpuStorage(softmaxKernel(x, arr(x) as Float32Array, log));
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): Storage {
    const w = weight ? (arr(weight) as Float32Array) : null;
    const b = bias ? (arr(bias) as Float32Array) : null;
    return new CpuStorage(layerNormKernel(x, arr(x) as Float32Array, weight, w, bias, b, eps));
  }

  rmsNorm(x: View, weight: View | null, eps: number): Storage {
    const w = weight ? (arr(weight) as Float32Array) : null;
    return new CpuStorage(rmsNormKernel(x, arr(x) as Float32Array, weight, w, eps));
  }

  /** Fused flash-style attention (kernels/attention.ts): tiles keys with an online softmax. */
  attention(q: View, k: View, v: View, params: AttentionParams): Storage {
    const mask = params.mask;
    return new CpuStorage(
      attentionKernel(
        q,
        arr(q),
        k,
        arr(k),
        v,
        arr(v),
        mask,
        mask ? arr(mask) : null,
        params.scale,
        params.causal,
      ),
    );
  }
}

function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function converter(from: DType, to: DType): ((v: number) => number) | null {
  if (from === to) return null;
  if (from === 'float16') {
    if (to === 'float32') return fromFloat16Bits;
    if (to === 'int32') return (v) => Math.trunc(fromFloat16Bits(v)) | 0;
    return (v) => (fromFloat16Bits(v) !== 0 ? 1 : 0);
  }
  if (to === 'float16') return toFloat16Bits;
  if (to === 'bool') return (v) => (v !== 0 ? 1 : 0);
  if (to === 'int32') return (v) => (Number.isFinite(v) ? Math.trunc(v) : 0);
  return null;
}
