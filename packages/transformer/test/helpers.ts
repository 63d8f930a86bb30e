// Test helpers: the PyTorch reference fixtures written by scripts/reference/transformer_gen_refs.py
// (one folder per case: a Hugging Face checkpoint plus meta.json and little-endian .f32/.i32 arrays).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromValues, type Tensor } from '@attnkit/tensor-core';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Parity tolerance against PyTorch on CPU: 1e-4 relative, with a small absolute floor for values near 0. */
export const RTOL = 1e-4;
export const ATOL = 1e-5;

export interface FixtureArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface Fixture {
  name: string;
  dir: string;
  meta: Record<string, unknown>;
  has(key: string): boolean;
  array(key: string): FixtureArray;
  tensor(key: string): Tensor;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((n) => {
    try {
      readFileSync(join(FIXTURES, n, 'meta.json'));
      return true;
    } catch {
      return false;
    }
  });
}

export function loadFixture(name: string): Fixture {
  const dir = join(FIXTURES, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const has = (key: string) => {
    const e = meta[key];
    return !!e && typeof e === 'object' && 'file' in (e as object);
  };
  const array = (key: string): FixtureArray => {
    if (!has(key)) throw new Error(`fixture ${name}: no array '${key}'`);
    const e = meta[key] as { file: string; shape: number[] };
    const buf = readFileSync(join(dir, e.file));
    const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = e.file.endsWith('.i32') ? new Int32Array(bytes) : new Float32Array(bytes);
    return { shape: e.shape, data };
  };
  return {
    name,
    dir,
    meta,
    has,
    array,
    tensor(key) {
      const a = array(key);
      return fromValues(a.data, a.shape, a.data instanceof Int32Array ? 'int32' : 'float32');
    },
  };
}

/**
 * Largest violation of |got - want| <= ATOL + RTOL·|want| (≤ 1 passes), over the elements where
 * `keep(i)` is true. Also returns the worst index for messages.
 */
export function closeness(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  keep: (i: number) => boolean = () => true,
  rtol = RTOL,
  atol = ATOL,
): { ratio: number; worst: number; compared: number } {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let ratio = 0;
  let worst = -1;
  let compared = 0;
  for (let i = 0; i < got.length; i++) {
    if (!keep(i)) continue;
    compared++;
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= ratio)) {
      ratio = r;
      worst = i;
    }
  }
  return { ratio, worst, compared };
}

/** Rows [b, t] of a [B, T, ...] array that are real tokens per a [B, T] mask (all when no mask). */
export function realTokens(mask: FixtureArray | null, inner: number): (i: number) => boolean {
  if (!mask) return () => true;
  return (i) => mask.data[Math.floor(i / inner)] !== 0;
}
