// Statistics of the stochastic ops, not just "the output changed": dropout keeps a fraction 1 - p
// of the elements, scales each survivor by exactly 1 / (1 - p), and so preserves the expected value;
// multinomial draws each class at its probability. Bounds are 5 standard errors of the central
// limit theorem (a correct implementation fails a check with probability ~6e-7; the seeds are fixed).
import './reference-backend.js';
import { dropout, Generator, multinomial, ones, tensor } from '@attnkit/tensor-core';
import { Dropout } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';

const N = 100_000;

/** Kept fraction, survivor values and mean of dropout(ones) at rate p. */
function dropoutStats(y: ArrayLike<number>) {
  let kept = 0;
  let sum = 0;
  const survivors = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    sum += y[i];
    if (y[i] !== 0) {
      kept++;
      survivors.add(y[i]);
    }
  }
  return { kept: kept / y.length, mean: sum / y.length, survivors: [...survivors] };
}

describe('dropout statistics (100k elements)', () => {
  for (const p of [0.1, 0.5, 0.9]) {
    it(`p = ${p}: kept fraction 1 - p, survivors scaled by 1/(1 - p), mean preserved`, () => {
      const x = ones([200, N / 200]).requiresGrad_(true);
      const y = dropout(x, p, true, new Generator(11));
      const s = dropoutStats(y.dataSync());
      // The kept count is Binomial(N, 1 - p).
      expect(Math.abs(s.kept - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
      // Every survivor is exactly fround(1 / (1 - p)): the rescale, not just "changed".
      expect(s.survivors).toEqual([Math.fround(1 / (1 - p))]);
      // E[y] = x: each element is 1/(1-p) with probability 1-p; its variance is p/(1-p).
      expect(Math.abs(s.mean - 1)).toBeLessThan(5 * Math.sqrt(p / (1 - p) / N));
      // The gradient is the same mask: d(sum y)/dx = y / x.
      y.sum().backward();
      expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(y.dataSync()));
    });
  }

  it('nn.Dropout in training mode has the same statistics; in eval mode it is the identity', () => {
    const layer = new Dropout(0.3, new Generator(12));
    const x = ones([N]);
    const s = dropoutStats(layer.forward(x).dataSync());
    expect(Math.abs(s.kept - 0.7)).toBeLessThan(5 * Math.sqrt((0.3 * 0.7) / N));
    expect(s.survivors).toEqual([Math.fround(1 / 0.7)]);
    expect(Math.abs(s.mean - 1)).toBeLessThan(5 * Math.sqrt(0.3 / 0.7 / N));
    layer.eval();
    expect(Array.from(layer.forward(x).dataSync().slice(0, 5))).toEqual([1, 1, 1, 1, 1]);
  });

  it('successive masks are independent (the overlap of two masks is (1 - p)^2)', () => {
    const g = new Generator(13);
    const a = dropout(ones([N]), 0.5, true, g).dataSync();
    const b = dropout(ones([N]), 0.5, true, g).dataSync();
    let both = 0;
    for (let i = 0; i < N; i++) if (a[i] !== 0 && b[i] !== 0) both++;
    expect(Math.abs(both / N - 0.25)).toBeLessThan(5 * Math.sqrt((0.25 * 0.75) / N));
  });
});

describe('multinomial statistics', () => {
  it('with replacement: each class drawn at its probability (unnormalised weights)', () => {
    const probs = [1, 2, 3, 4];
    const total = 10;
    const draws = multinomial(tensor(probs), N, {
      replacement: true,
      generator: new Generator(14),
    }).dataSync();
    const counts = [0, 0, 0, 0];
    for (const d of draws) counts[d]++;
    for (let c = 0; c < 4; c++) {
      const q = probs[c] / total;
      expect(Math.abs(counts[c] / N - q)).toBeLessThan(5 * Math.sqrt((q * (1 - q)) / N));
    }
  });

  it('without replacement: the first draw follows the probabilities, and no row repeats a class', () => {
    const rows = 20_000;
    const probs = tensor(Array.from({ length: rows }, () => [0.5, 0.3, 0.2]));
    const draws = multinomial(probs, 3, { generator: new Generator(15) }).dataSync();
    const first = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      first[draws[3 * r]]++;
      expect(new Set([draws[3 * r], draws[3 * r + 1], draws[3 * r + 2]]).size).toBe(3);
    }
    [0.5, 0.3, 0.2].forEach((q, c) => {
      expect(Math.abs(first[c] / rows - q)).toBeLessThan(5 * Math.sqrt((q * (1 - q)) / rows));
    });
  });
});
