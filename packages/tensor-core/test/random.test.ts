// Seeded random numbers: determinism (same seed, same numbers; explicit generators independent of
// the global one) and statistical sanity with bounds derived from the central limit theorem
// (5 standard errors: a correct generator fails with probability ~6e-7 per check, and the seeds are fixed).
import './reference-backend.js';
import { Generator, getDefaultGenerator, manualSeed, rand, randint, randn } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

describe('Generator determinism', () => {
  it('the same seed gives the same sequence; another seed another', () => {
    const a = new Generator(42);
    const b = new Generator(42);
    const c = new Generator(43);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    const sb = Array.from({ length: 100 }, () => b.nextUint32());
    const sc = Array.from({ length: 100 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(sa.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    expect(new Set(sa).size).toBe(100);
  });

  it('manualSeed re-seeds (and resets the Box-Muller spare)', () => {
    const g = new Generator(7);
    const first = [g.normal(), g.normal(), g.normal()];
    g.manualSeed(7);
    expect([g.normal(), g.normal(), g.normal()]).toEqual(first);
    expect(g.initialSeed()).toBe(7);
  });

  it('randn/rand/randint with an explicit generator repeat, independent of the global one', () => {
    const x1 = randn([4, 5], { generator: new Generator(1) });
    manualSeed(999);
    randn([10]); // advances the global generator only
    const x2 = randn([4, 5], { generator: new Generator(1) });
    expect(values(x1)).toEqual(values(x2));
    expect(values(rand([6], { generator: new Generator(2) }))).toEqual(
      values(rand([6], { generator: new Generator(2) })),
    );
    expect(values(randint(0, 10, [6], { generator: new Generator(3) }))).toEqual(
      values(randint(0, 10, [6], { generator: new Generator(3) })),
    );
  });

  it('the global generator follows manualSeed like torch.manual_seed', () => {
    manualSeed(5);
    const a = values(randn([8]));
    manualSeed(5);
    expect(values(randn([8]))).toEqual(a);
    expect(getDefaultGenerator().initialSeed()).toBe(5);
  });

  it('large seeds (above 2^32) are distinct seeds', () => {
    const a = new Generator(2 ** 40).nextUint32();
    const b = new Generator(0).nextUint32();
    expect(a).not.toBe(b);
    expect(() => new Generator(Number.NaN)).toThrow(/seed must be a finite number/);
  });
});

describe('statistical sanity (CLT bounds, 100k draws)', () => {
  const N = 100_000;

  it('randn: mean 0, variance 1, 68.27% within one sigma, symmetric', () => {
    const x = values(randn([N], { generator: new Generator(12345) }));
    const mean = x.reduce((a, b) => a + b, 0) / N;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
    // mean ~ N(0, 1/N): 5 standard errors = 5/sqrt(N) = 0.0158
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    // sample variance of a normal has standard error sqrt(2/N) = 0.00447
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    // P(|x| < 1) = erf(1/sqrt 2) = 0.682689; binomial standard error sqrt(p(1-p)/N)
    const p1 = 0.682689492;
    const within = x.filter((v) => Math.abs(v) < 1).length / N;
    expect(Math.abs(within - p1)).toBeLessThan(5 * Math.sqrt((p1 * (1 - p1)) / N));
    // P(x > 0) = 1/2
    const positive = x.filter((v) => v > 0).length / N;
    expect(Math.abs(positive - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / N));
    // tails: P(|x| > 3) = 0.0026998
    const p3 = 0.002699796;
    const tail = x.filter((v) => Math.abs(v) > 3).length / N;
    expect(Math.abs(tail - p3)).toBeLessThan(5 * Math.sqrt((p3 * (1 - p3)) / N));
  });

  it('rand: uniform in [0, 1), mean 1/2, variance 1/12, even deciles', () => {
    const x = values(rand([N], { generator: new Generator(777) }));
    expect(x.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = x.reduce((a, b) => a + b, 0) / N;
    // Var(U) = 1/12: standard error of the mean sqrt(1/(12N)) = 0.000913
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / (12 * N)));
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
    // Var((U - 1/2)^2) = 1/80 - 1/144 = 1/180
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
    const deciles = new Array(10).fill(0);
    for (const v of x) deciles[Math.floor(v * 10)]++;
    // chi-square with 9 degrees of freedom: mean 9, sd sqrt(18); 9 + 6 sd ~ p < 1e-5
    const chi2 = deciles.reduce((a, c) => a + (c - N / 10) ** 2 / (N / 10), 0);
    expect(chi2).toBeLessThan(9 + 6 * Math.sqrt(18));
  });

  it('randint: every value of [low, high) equally likely, none outside', () => {
    const x = values(randint(-3, 4, [N], { generator: new Generator(31337) }));
    const counts = new Map<number, number>();
    for (const v of x) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    const e = N / 7;
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - e) ** 2 / e, 0);
    // 6 degrees of freedom: mean 6, sd sqrt(12)
    expect(chi2).toBeLessThan(6 + 6 * Math.sqrt(12));
  });

  it('successive draws are uncorrelated (lag-1 correlation within 5/sqrt(N))', () => {
    const x = values(randn([N], { generator: new Generator(4242) }));
    let s = 0;
    for (let i = 1; i < N; i++) s += x[i] * x[i - 1];
    expect(Math.abs(s / (N - 1))).toBeLessThan(5 / Math.sqrt(N));
  });
});

describe('validation', () => {
  it('rejects bad ranges and shapes', () => {
    expect(() => randint(5, 5, [2])).toThrow(/randint: expected integers low < high, got low=5, high=5/);
    expect(() => randint(0, 1.5, [2])).toThrow(/randint/);
    expect(() => randn([-1])).toThrow(/randn/);
    expect(() => rand([2, 0.5])).toThrow(/rand/);
  });

  it('honours the dtype option', () => {
    expect(randn([2], { dtype: 'float16' }).dtype).toBe('float16');
    expect(randint(0, 2, [3], { dtype: 'float32' }).dtype).toBe('float32');
  });
});
