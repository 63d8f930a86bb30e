// fitPowerLaw: recovers a known law from exact and from noisy points, agrees with an independent
// numpy Gauss-Newton fit (scripts/scaling_fit_refs.py, fixtures/scaling-fit/fits.json) in the
// parameters and their standard errors, and refuses input it cannot fit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { fitPowerLaw, powerLaw } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const geom = (lo: number, hi: number, n: number) =>
  Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

describe('fitPowerLaw', () => {
  it('recovers E, A and alpha from exact points', () => {
    const law = { E: 1.6, A: 25, alpha: 0.3 };
    const x = geom(1e4, 3e6, 7);
    const fit = fitPowerLaw(
      x,
      x.map((v) => powerLaw(law, v)),
    );
    expect(fit.converged).toBe(true);
    expect(rel(fit.E, law.E)).toBeLessThan(1e-6);
    expect(rel(fit.A, law.A)).toBeLessThan(1e-5);
    expect(rel(fit.alpha, law.alpha)).toBeLessThan(1e-6);
    expect(fit.dof).toBe(4);
    expect(fit.rss).toBeLessThan(1e-20);
  });

  it('recovers a noisy law within a few standard errors, the errors shrinking with less noise', () => {
    const law = { E: 2.1, A: 60, alpha: 0.45 };
    const x = geom(1e3, 1e6, 12);
    const g = new Generator(5);
    const fits = [0.02, 0.002].map((noise) =>
      fitPowerLaw(
        x,
        x.map((v) => powerLaw(law, v) + noise * g.normal()),
      ),
    );
    for (const fit of fits) {
      expect(Math.abs(fit.alpha - law.alpha)).toBeLessThan(4 * fit.stdErr.alpha);
      expect(Math.abs(fit.E - law.E)).toBeLessThan(4 * fit.stdErr.E);
      expect(Math.abs(fit.A - law.A)).toBeLessThan(4 * fit.stdErr.A);
    }
    expect(fits[1].stdErr.alpha).toBeLessThan(fits[0].stdErr.alpha / 3);
    expect(Math.abs(fits[1].alpha - law.alpha)).toBeLessThan(0.03);
  });

  const ref = JSON.parse(readFileSync(join(FIXTURES, 'scaling-fit/fits.json'), 'utf8')) as {
    cases: {
      name: string;
      x: number[];
      y: number[];
      fit: { E: number; A: number; alpha: number };
      stdErr: { E: number; A: number; alpha: number };
      rss: number;
    }[];
  };
  for (const c of ref.cases) {
    it(`matches numpy's Gauss-Newton fit and standard errors (${c.name})`, () => {
      const fit = fitPowerLaw(c.x, c.y);
      for (const k of ['E', 'A', 'alpha'] as const) {
        expect(rel(fit[k], c.fit[k]), k).toBeLessThan(1e-4);
        expect(rel(fit.stdErr[k], c.stdErr[k]), `stdErr.${k}`).toBeLessThan(1e-3);
      }
      expect(rel(fit.rss, c.rss)).toBeLessThan(1e-4);
    });
  }

  it('refuses too few points, non-positive x, mismatched lengths and rising losses', () => {
    expect(() => fitPowerLaw([1, 2, 3], [3, 2, 1])).toThrow(/at least 4 points.*got 3/);
    expect(() => fitPowerLaw([1, 0, 3, 4], [4, 3, 2, 1])).toThrow(/x must be positive.*x\[1\] = 0/);
    expect(() => fitPowerLaw([1, 2, 3, 4], [4, 3, 2])).toThrow(/same length, got 4 and 3/);
    expect(() => fitPowerLaw([1, 2, 3, 4], [1, 2, Number.NaN, 4])).toThrow(/point 2 .* not a pair of finite/);
    expect(() => fitPowerLaw([1, 10, 100, 1000], [1, 2, 3, 4])).toThrow(/do not fall with x/);
  });
});
