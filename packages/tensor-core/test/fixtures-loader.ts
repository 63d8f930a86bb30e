// Loads the PyTorch reference fixtures written by scripts/reference/*.py (schema: scripts/reference/_fixture.py):
// each case is a folder with meta.json and little-endian raw arrays (.f32 float32, .i32 int32).
// meta.json maps names to array entries {"file": "x.f32", "shape": [...]} or plain JSON values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromValues, type Tensor } from '@attnkit/tensor-core';

/** The folder holding the tensor-op fixtures. */
export const TORCH_FIXTURES = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));

/** One array of a fixture: its values (Float32Array or Int32Array) and shape. */
export interface FixtureArray {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype: 'float32' | 'int32';
}

/** A loaded fixture case: its meta.json plus every array it names. */
export interface Fixture {
  name: string;
  meta: Record<string, unknown>;
  arrays: Record<string, FixtureArray>;
  /** The array called `key`; throws naming the case when it is absent. */
  array(key: string): FixtureArray;
  /** True when the case holds an array called `key`. */
  has(key: string): boolean;
  /** A plain JSON value from meta.json (args are under `args`). */
  arg<T = unknown>(key: string): T;
  /** The array as a float32 (or int32) tensor on the current backend. */
  tensor(key: string): Tensor;
}

/** Reads fixture case `name` from `root` (the torch fixtures folder by default). */
export function loadFixture(name: string, root: string = TORCH_FIXTURES): Fixture {
  const dir = join(root, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const arrays: Record<string, FixtureArray> = {};
  for (const [key, v] of Object.entries(meta)) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !('file' in v)) continue;
    const entry = v as { file: string; shape: number[] };
    const buf = readFileSync(join(dir, entry.file));
    const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const n = entry.shape.reduce((a, b) => a * b, 1);
    const isInt = entry.file.endsWith('.i32');
    const data = isInt ? new Int32Array(bytes) : new Float32Array(bytes);
    if (data.length !== n) {
      throw new Error(`fixture ${name}/${entry.file}: ${data.length} values for shape [${entry.shape}]`);
    }
    arrays[key] = { shape: entry.shape, data, dtype: isInt ? 'int32' : 'float32' };
  }
  const fx: Fixture = {
    name,
    meta,
    arrays,
    has: (key) => key in arrays,
    array(key) {
      const a = arrays[key];
      if (!a) throw new Error(`fixture ${name}: no array '${key}' (has ${Object.keys(arrays).join(', ')})`);
      return a;
    },
    arg<T>(key: string): T {
      const args = (meta.args ?? {}) as Record<string, unknown>;
      return (key in args ? args[key] : meta[key]) as T;
    },
    tensor(key) {
      const a = fx.array(key);
      return fromValues(a.data, a.shape, a.dtype);
    },
  };
  return fx;
}

/** The case index (index.json): `[{ name, op }]` in generation order. */
export function fixtureIndex(root: string = TORCH_FIXTURES): { name: string; op: string }[] {
  return JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'));
}

/**
 * Largest violation of |got - want| <= atol + rtol * |want| over all elements, as a message, or
 * null when every element is within tolerance (shapes must match too).
 */
export function closeTo(
  got: ArrayLike<number>,
  gotShape: readonly number[],
  want: FixtureArray,
  rtol: number,
  atol: number,
): string | null {
  if (gotShape.length !== want.shape.length || gotShape.some((s, i) => s !== want.shape[i])) {
    return `shape [${gotShape}] != expected [${want.shape}]`;
  }
  let worst: string | null = null;
  let worstExcess = 0;
  for (let i = 0; i < want.data.length; i++) {
    const e = want.data[i];
    const g = got[i];
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    const excess = Math.abs(g - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst === null || excess > worstExcess || Number.isNaN(excess))) {
      worstExcess = excess;
      worst = `element ${i}: got ${g}, expected ${e} (rtol ${rtol}, atol ${atol})`;
    }
  }
  return worst;
}
