// Creation functions against hand-derived values (torch's semantics): arange's length and dtype,
// linspace's endpoints, eye's rectangles, dtype inference and validation.
import './reference-backend.js';
import { arange, eye, full, linspace, ones, onesLike, tensor, zeros, zerosLike } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

describe('arange', () => {
  it('arange(n) is 0..n-1 in int32 (integer arguments)', () => {
    const t = arange(5);
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([5]);
    expect(values(t)).toEqual([0, 1, 2, 3, 4]);
  });

  it('float steps give float32 with ceil((end - start) / step) elements', () => {
    const t = arange(1, 2.5, 0.5);
    expect(t.dtype).toBe('float32');
    expect(values(t)).toEqual([1, 1.5, 2]);
    // (0.3 - 0) / 0.1 = 2.9999999999999996 in float64 -> 3 elements, as torch
    expect(values(arange(0, 0.3, 0.1))).toEqual([0, Math.fround(0.1), Math.fround(0.2)]);
    // 1 / 0.1 = 10 exactly -> 10 elements
    expect(arange(0, 1, 0.1).shape).toEqual([10]);
  });

  it('negative steps count down; empty ranges are empty', () => {
    expect(values(arange(0, -3, -1))).toEqual([0, -1, -2]);
    expect(values(arange(10, 0, -3))).toEqual([10, 7, 4, 1]);
    expect(arange(5, 5).shape).toEqual([0]);
  });

  it('rejects bounds inconsistent with the sign of the step, as torch does', () => {
    expect(() => arange(5, 0)).toThrow(/arange: step 1 moves away from end \(start=5, end=0\)/);
    expect(() => arange(0, 5, -1)).toThrow(/arange: step -1 moves away from end/);
  });

  it('an explicit dtype wins', () => {
    const t = arange(0, 3, 1, 'float32');
    expect(t.dtype).toBe('float32');
    expect(values(t)).toEqual([0, 1, 2]);
  });

  it('rejects a zero step and non-finite arguments', () => {
    expect(() => arange(0, 5, 0)).toThrow(/arange: step must not be zero/);
    expect(() => arange(0, Number.POSITIVE_INFINITY)).toThrow(/arange: end must be a finite number/);
    expect(() => arange(Number.NaN)).toThrow(/arange: .* must be a finite number, got NaN/);
  });
});

describe('linspace', () => {
  it('includes both endpoints', () => {
    expect(values(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(values(linspace(-1, 1, 3))).toEqual([-1, 0, 1]);
    expect(values(linspace(2, -2, 5))).toEqual([2, 1, 0, -1, -2]);
  });

  it('matches the float64 values i/10 rounded to float32', () => {
    expect(values(linspace(0, 1, 11))).toEqual(Array.from({ length: 11 }, (_, i) => Math.fround(i / 10)));
  });

  it('steps = 1 gives [start]; steps = 0 gives an empty tensor', () => {
    expect(values(linspace(3, 7, 1))).toEqual([3]);
    expect(linspace(3, 7, 0).shape).toEqual([0]);
    expect(linspace(0, 1, 4).dtype).toBe('float32');
  });

  it('rejects negative or fractional steps', () => {
    expect(() => linspace(0, 1, -1)).toThrow(/linspace: steps must be a non-negative integer, got -1/);
    expect(() => linspace(0, 1, 2.5)).toThrow(/linspace: steps/);
  });
});

describe('eye', () => {
  it('square, wide and tall identities', () => {
    expect(eye(3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(eye(2, 3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(eye(3, 2).arraySync()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('empty and dtype variants', () => {
    expect(eye(0).shape).toEqual([0, 0]);
    expect(eye(2, 0).shape).toEqual([2, 0]);
    const b = eye(2, 2, 'bool');
    expect(b.dtype).toBe('bool');
    expect(b.arraySync()).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(eye(2, 2, 'int32').dtype).toBe('int32');
  });

  it('rejects negative sizes', () => {
    expect(() => eye(-1)).toThrow(/eye/);
  });
});

describe('zeros, ones, full and tensor()', () => {
  it('fill with the value and dtype asked for', () => {
    expect(values(zeros([2, 2]))).toEqual([0, 0, 0, 0]);
    expect(values(ones([3], 'int32'))).toEqual([1, 1, 1]);
    expect(full([2], 2.5).arraySync()).toEqual([2.5, 2.5]);
    expect(full([2], 7, 'bool').arraySync()).toEqual([true, true]);
    expect(values(full([2], 0.5, 'float16'))).toEqual([0.5, 0.5]);
    const x = tensor([[1, 2, 3]]);
    expect(zerosLike(x).shape).toEqual([1, 3]);
    expect(onesLike(x, 'int32').dtype).toBe('int32');
    expect(zeros([]).shape).toEqual([]);
    expect(zeros([0, 4]).size).toBe(0);
  });

  it('infers shapes and dtypes from nested arrays and typed arrays', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).shape,
    ).toEqual([2, 2]);
    expect(tensor([true, false]).dtype).toBe('bool');
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor(3).shape).toEqual([]);
    expect(values(tensor([1.7, -1.7], [2], 'int32'))).toEqual([1, -1]); // truncation, as torch
    expect(values(tensor([1, 2, 3, 4, 5, 6], [2, 3]))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects ragged arrays, mixed kinds, bad shapes and bad dtypes', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, true] as unknown as number[])).toThrow(/mix numbers and booleans/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2,2\]/);
    expect(() => zeros([2, -1])).toThrow(/zeros/);
    expect(() => zeros([2], 'float64' as 'float32')).toThrow(/unknown dtype "float64"/);
    expect(() => full([2], '1' as unknown as number)).toThrow(/full: value must be a number/);
  });
});

describe('toBackend and Tensor methods var/std/logsumexp', () => {
  it('copies values, shape and dtype (float16 stays float16) to a backend by name', async () => {
    const { tensor: t, toBackend } = await import('@attnkit/tensor-core');
    const x = t([
      [1, 2, 3],
      [4, 5, 6],
    ]).transpose(0, 1);
    const y = await toBackend(x, 'reference');
    expect(y.shape).toEqual([3, 2]);
    expect(await y.array()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const h = t([0.5, -2], [2], 'float16');
    const h2 = await h.to('reference');
    expect(h2.dtype).toBe('float16');
    expect(Array.from(await h2.data())).toEqual([0.5, -2]);
    await expect(toBackend(x, 'nope')).rejects.toThrow("toBackend: no backend named 'nope' is registered");
  });
  it('var (unbiased), std and logsumexp methods equal hand-derived values', async () => {
    const { tensor: t } = await import('@attnkit/tensor-core');
    const x = t([1, 2, 3, 4]);
    expect(x.var().itemSync()).toBeCloseTo(5 / 3, 6);
    expect(x.std(undefined, { correction: 0 }).itemSync()).toBeCloseTo(Math.sqrt(1.25), 6);
    expect(x.logsumexp(0).itemSync()).toBeCloseTo(
      Math.log(Math.E + Math.E ** 2 + Math.E ** 3 + Math.E ** 4),
      5,
    );
  });
});
