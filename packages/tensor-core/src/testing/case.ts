import type { Tensor } from '../tensor.js';

/** A float64 host array with its shape: the reference side of a conformance case. */
export interface RefArray {
  shape: number[];
  data: Float64Array;
  /** dtype the tensor under test is made with (float32 by default). */
  dtype?: 'float32' | 'int32' | 'bool';
}

/**
 * One conformance case: inputs, the op under test (on tensors), and a float64 reference of the
 * same op on host arrays. Cases with `grad` also check every float input's gradient against
 * central finite differences of the float64 reference.
 */
export interface ConformanceCase {
  /** Op family, used as the describe() name (one describe per op). */
  op: string;
  /** What this case covers, e.g. 'broadcast [2,1,3] + [4,3]'. */
  name: string;
  /** Inputs as float64 host arrays (ints and bools too). */
  inputs: RefArray[];
  /** The op on tensors made from `inputs`. */
  run: (...xs: Tensor[]) => Tensor;
  /** The same op in float64 on host arrays. */
  ref: (...xs: RefArray[]) => RefArray;
  /** Relative tolerance (default 1e-5 on values; scaled by the backend's factor). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Check gradients of these input positions (float inputs only). */
  grad?: number[];
  /**
   * For ops that must read values on the host (e.g. oneHot inferring its class count): on backends
   * that cannot read synchronously, the case instead checks that `run` throws an error containing
   * this text.
   */
  needsSyncRead?: string;
  /** Input transforms before `run` (e.g. make a non-contiguous view). */
  view?: (xs: Tensor[]) => Tensor[];
}

/** Makes a RefArray from nested numbers. */
export function ref(
  shape: number[],
  values: ArrayLike<number> | ((i: number) => number),
  dtype?: RefArray['dtype'],
): RefArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = typeof values === 'function' ? values(i) : values[i];
  return { shape, data, dtype };
}

/** Deterministic pseudo-random values in [lo, hi) for case inputs (a tiny LCG; not for sampling). */
export function seeded(shape: number[], seed: number, lo = -1, hi = 1): RefArray {
  let s = seed >>> 0 || 1;
  return ref(shape, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}

/** Elementwise map of a float64 reference array. */
export function mapRef(x: RefArray, f: (v: number) => number): RefArray {
  return { shape: [...x.shape], data: x.data.map(f) };
}

/** Broadcasting binary map of float64 reference arrays (numpy rules). */
export function zipRef(a: RefArray, b: RefArray, f: (x: number, y: number) => number): RefArray {
  const n = Math.max(a.shape.length, b.shape.length);
  const shape: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a.shape[a.shape.length - n + i] ?? 1;
    const db = b.shape[b.shape.length - n + i] ?? 1;
    shape.push(da === 1 ? db : da);
  }
  const size = shape.reduce((p, q) => p * q, 1);
  const out = new Float64Array(size);
  const idx = new Array<number>(n).fill(0);
  const offset = (x: RefArray) => {
    let o = 0;
    let s = 1;
    for (let d = x.shape.length - 1; d >= 0; d--) {
      const i = idx[n - x.shape.length + d];
      o += (x.shape[d] === 1 ? 0 : i) * s;
      s *= x.shape[d];
    }
    return o;
  };
  for (let k = 0; k < size; k++) {
    out[k] = f(a.data[offset(a)], b.data[offset(b)]);
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data: out };
}
