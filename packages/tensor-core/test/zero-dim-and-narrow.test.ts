// Issue 22's tensor-op edge cases, with expected values from torch 2.13 (checked by hand in
// /work/venv-ref: `torch.sum(torch.tensor(-1.5), 0)` is -1.5, `torch.arange(5.).narrow(0, -1, 1)`
// is [4.], `narrow(0, 3, 3)` raises "start (3) + length (3) exceeds dimension size (5)").
import './reference-backend.js';
import {
  arange,
  argmax,
  argmin,
  cumsum,
  logsumexp,
  max,
  mean,
  min,
  prod,
  std,
  sum,
  tensor,
  variance,
} from '@attnkit/tensor-core';
import { readSafetensorsSync, writeSafetensorsSync } from '@attnkit/tensor-core/io';
import { describe, expect, it } from 'vitest';

describe('reductions over dim 0 / -1 of a 0-d tensor reduce over its one element (torch)', () => {
  const x = () => tensor(-1.5);
  for (const dim of [0, -1]) {
    it(`dim ${dim}: sum, mean, prod, max, min, logsumexp, cumsum give the value itself`, () => {
      for (const f of [sum, mean, prod, max, min]) {
        const y = f(x(), dim);
        expect(y.shape).toEqual([]);
        expect(y.itemSync()).toBe(-1.5);
        expect(f(x(), dim, true).shape).toEqual([]);
      }
      expect(logsumexp(x(), dim).itemSync()).toBeCloseTo(-1.5, 6);
      expect(cumsum(x(), dim).itemSync()).toBe(-1.5);
      expect(sum(x(), [dim]).itemSync()).toBe(-1.5);
    });
    it(`dim ${dim}: argmax/argmin are 0, var/std NaN (one element, correction 1)`, () => {
      expect(argmax(x(), dim).itemSync()).toBe(0);
      expect(argmin(x(), dim).shape).toEqual([]);
      expect(Number.isNaN(variance(x(), dim).itemSync())).toBe(true);
      expect(Number.isNaN(std(x(), dim).itemSync())).toBe(true);
      expect(variance(x(), dim, { correction: 0 }).itemSync()).toBe(0);
    });
  }
  it('sum over dim 0 of a 0-d tensor still carries the gradient', () => {
    const t = tensor(-1.5).requiresGrad_();
    sum(t, 0).mul(3).backward();
    expect(t.grad?.itemSync()).toBe(3);
  });
  it('other dims are out of range, naming the accepted range', () => {
    expect(() => sum(x(), 1)).toThrow(
      /sum: dim 1 is out of range for a tensor of rank 0 \(expected -1\.\.0\)/,
    );
    expect(() => cumsum(x(), 2)).toThrow(/cumsum: dim 2/);
    expect(() => argmax(x(), -2)).toThrow(/argmax: dim -2/);
  });
});

describe('narrow (torch.narrow)', () => {
  const t = () => arange(5, undefined, 1, 'float32');
  it('negative starts count from the end', () => {
    expect(t().narrow(0, -1, 1).arraySync()).toEqual([4]);
    expect(t().narrow(0, -2, 2).arraySync()).toEqual([3, 4]);
    expect(t().narrow(-1, -5, 2).arraySync()).toEqual([0, 1]);
    expect(t().narrow(0, 5, 0).shape).toEqual([0]);
  });
  it('a range past the dim is an error naming it, not a clamp', () => {
    expect(() => t().narrow(0, 3, 3)).toThrow(/narrow: start 3 \+ length 3 exceeds dim 0 of size 5/);
    expect(() => t().narrow(0, 6, 1)).toThrow(
      /narrow: start 6 is out of range for dim 0 of size 5 \(expected an integer in -5\.\.5\)/,
    );
    expect(() => t().narrow(0, -6, 1)).toThrow(/narrow: start -6 is out of range/);
    expect(() => t().narrow(0, 0, -1)).toThrow(/narrow: length must be a non-negative integer, got -1/);
  });
  it('NaN or fractional lengths and starts are errors, never shape [NaN]', () => {
    expect(() => t().narrow(0, 0, Number.NaN)).toThrow(
      /narrow: length must be a non-negative integer, got NaN/,
    );
    expect(() => t().narrow(0, Number.NaN, 1)).toThrow(/narrow: start NaN/);
    expect(() => t().narrow(0, 0, 1.5)).toThrow(/narrow: length/);
    expect(() => t().sliceDim(0, 0, Number.NaN)).toThrow(/slice: end must be an integer, got NaN/);
    expect(() => t().sliceDim(0, 0.5)).toThrow(/slice: start must be an integer, got 0.5/);
  });
  it('a 0-d tensor cannot be narrowed', () => {
    expect(() => tensor(1).narrow(0, 0, 1)).toThrow(/narrow: cannot narrow a 0-d tensor/);
  });
});

describe('readSafetensors options are validated', () => {
  const bytes = () => writeSafetensorsSync({ w: tensor([1, 2]) });
  it("float16: 'bogus' is refused by name", () => {
    expect(() => readSafetensorsSync(bytes(), { float16: 'bogus' as 'keep' })).toThrow(
      /readSafetensorsSync: option float16 must be 'keep' or 'float32', got 'bogus'/,
    );
  });
  it('unknown option keys and non-objects are refused', () => {
    expect(() => readSafetensorsSync(bytes(), { f16: 'keep' } as never)).toThrow(
      /readSafetensorsSync: unknown option 'f16'; the read options are: float16/,
    );
    expect(() => readSafetensorsSync(bytes(), null as never)).toThrow(/options must be an object, got null/);
  });
  it('the valid spellings still read', () => {
    expect(readSafetensorsSync(bytes(), { float16: 'float32' }).tensors.w.arraySync()).toEqual([1, 2]);
    expect(readSafetensorsSync(bytes(), { float16: 'keep' }).tensors.w.arraySync()).toEqual([1, 2]);
  });
});
