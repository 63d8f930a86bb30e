// Test helpers: the PyTorch reference fixtures written by scripts/reference/attention.py (each case a
// folder with meta.json and little-endian .f32/.i32 arrays, schema in scripts/reference/_fixture.py),
// and the nn.MultiheadAttention state dicts (safetensors, read with tensor-core/io).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromValues, Generator, type Tensor } from '@attnkit/tensor-core';
import { readSafetensorsSync } from '@attnkit/tensor-core/io';

export const FIXTURES = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));
/** Extra MultiheadAttention options (add_bias_kv, add_zero_attn, ...): scripts/reference_mha_extra.py. */
export const EXTRA_FIXTURES = fileURLToPath(new URL('./fixtures/torch-extra/', import.meta.url));

/** Tolerance of every parity check against PyTorch on CPU: 1e-4 relative (plus a tiny absolute floor). */
export const RTOL = 1e-4;
export const ATOL = 1e-5;

export interface FixtureArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface Fixture {
  name: string;
  meta: Record<string, unknown>;
  has(key: string): boolean;
  array(key: string): FixtureArray;
  /** float32 tensor (int32 arrays as int32). */
  tensor(key: string): Tensor;
  /** An int32 0/1 array as a bool tensor. */
  bool(key: string): Tensor;
  param<T = unknown>(key: string): T;
  path(file: string): string;
}

export function loadFixture(name: string, root: string = FIXTURES): Fixture {
  const dir = join(root, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const cache = new Map<string, FixtureArray>();
  const array = (key: string): FixtureArray => {
    const hit = cache.get(key);
    if (hit) return hit;
    const e = meta[key] as { file: string; shape: number[] } | undefined;
    if (!e || typeof e !== 'object' || !('file' in e)) throw new Error(`fixture ${name}: no array '${key}'`);
    const buf = readFileSync(join(dir, e.file));
    const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = e.file.endsWith('.i32') ? new Int32Array(bytes) : new Float32Array(bytes);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n)
      throw new Error(`fixture ${name}/${e.file}: ${data.length} values for [${e.shape}]`);
    const out = { shape: e.shape, data };
    cache.set(key, out);
    return out;
  };
  return {
    name,
    meta,
    has: (key) => {
      const e = meta[key];
      return !!e && typeof e === 'object' && 'file' in (e as object);
    },
    array,
    tensor(key) {
      const a = array(key);
      return fromValues(a.data, a.shape, a.data instanceof Int32Array ? 'int32' : 'float32');
    },
    bool(key) {
      const a = array(key);
      return fromValues(a.data, a.shape, 'bool');
    },
    param: <T>(key: string) => meta[key] as T,
    path: (file) => join(dir, file),
  };
}

export function fixtureIndex(root: string = FIXTURES): { name: string; kind: string }[] {
  return JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'));
}

/** Reads a safetensors file (the state dicts of the fixtures) with tensor-core's reader. */
export function readStateDict(path: string): Record<string, Tensor> {
  return readSafetensorsSync(readFileSync(path), {}, path).tensors;
}

/**
 * Largest violation of |got - want| <= atol + rtol * |want|, as a message, or null when every
 * element is within tolerance and the shapes match.
 */
export function mismatch(
  got: ArrayLike<number>,
  gotShape: readonly number[],
  want: FixtureArray | { shape: number[]; data: ArrayLike<number> },
  rtol = RTOL,
  atol = ATOL,
): string | null {
  if (gotShape.length !== want.shape.length || gotShape.some((s, i) => s !== want.shape[i])) {
    return `shape [${gotShape}] != expected [${want.shape}]`;
  }
  let worst: string | null = null;
  let worstExcess = 0;
  for (let i = 0; i < want.data.length; i++) {
    const e = want.data[i];
    const g = got[i];
    const excess = Math.abs(g - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst === null || excess > worstExcess || Number.isNaN(excess))) {
      worstExcess = excess;
      worst = `element ${i}: got ${g}, expected ${e} (rtol ${rtol}, atol ${atol})`;
    }
  }
  return worst;
}

/** Compares a tensor with a fixture array; returns null when close. */
export function compare(t: Tensor, want: FixtureArray, rtol = RTOL, atol = ATOL): string | null {
  return mismatch(t.dataSync(), t.shape, want, rtol, atol);
}

/**
 * NaN cases for the fused kernels (issue 22): a NaN among a query's visible scores (from q, k or a
 * float mask) makes that query's whole output row NaN, as the reference path and torch's math SDPA
 * do (torch 2.13, `sdpa_kernel(SDPBackend.MATH)`: a NaN at q[0, 1, 2, 3] gives NaN in output row
 * [0, 1, 2] only); every other row stays finite. Masked NaN scores are excluded like any masked key.
 * Each case gives its inputs and the rows [head, query] expected NaN.
 */
export function nanCases(): {
  name: string;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  options: { causal?: boolean; mask?: Tensor };
  nanRows: [number, number][];
}[] {
  // values drawn on the host (seeded), so the cases build on backends that read asynchronously
  const make = (shape: number[], seed: number, nanAt?: number[]) => {
    const g = new Generator(seed);
    const vals = Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => g.normal());
    if (nanAt) {
      let idx = 0;
      for (let i = 0; i < nanAt.length; i++) idx = idx * shape[i] + nanAt[i];
      vals[idx] = Number.NaN;
    }
    return fromValues(vals, shape, 'float32');
  };
  const withNaN = (t: Tensor, seed: number, at: number[]) => make([...t.shape], seed, at);
  const qkv = (h: number, hkv: number, seed: number) => ({
    q: make([1, h, 4, 8], seed),
    k: make([1, hkv, 4, 8], seed + 1),
    v: make([1, hkv, 4, 8], seed + 2),
  });
  const a = qkv(2, 2, 10);
  const b = qkv(2, 2, 20);
  const c = qkv(2, 2, 30);
  const d = qkv(4, 2, 40);
  const maskVals = new Float32Array(16).fill(0);
  maskVals[1 * 4 + 3] = Number.NaN;
  return [
    { name: 'NaN in q', ...a, q: withNaN(a.q, 10, [0, 1, 2, 3]), options: {}, nanRows: [[1, 2]] },
    {
      name: 'NaN in k, causal (earlier queries do not see it)',
      ...b,
      k: withNaN(b.k, 21, [0, 0, 2, 0]),
      options: { causal: true },
      nanRows: [
        [0, 2],
        [0, 3],
      ],
    },
    {
      name: 'NaN in a float mask',
      ...c,
      options: { mask: fromValues(maskVals, [4, 4], 'float32') },
      nanRows: [
        [0, 1],
        [1, 1],
      ],
    },
    {
      name: 'NaN in q, grouped heads',
      ...d,
      q: withNaN(d.q, 40, [0, 3, 0, 5]),
      options: {},
      nanRows: [[3, 0]],
    },
  ];
}
