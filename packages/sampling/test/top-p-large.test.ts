import '@attnkit/backend-cpu';
import {
  applyProcessors,
  buildProcessors,
  type ProcessorContext,
  sampleFromScores,
  sampleKept,
  TopPWarper,
} from '@attnkit/sampling';
import { Generator } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

/**
 * Hugging Face's TopPLogitsWarper rule, written out with a full sort in float64: sort ascending,
 * cumulative softmax mass, remove tokens whose mass ranked at or below them is <= 1 - topP, keep
 * the top minTokensToKeep. Returns the kept token ids, ascending.
 */
function referenceTopP(scores: Float32Array, topP: number, minKeep: number): number[] {
  const idx = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b] || b - a);
  const m = Math.max(...idx.slice(-1).map((i) => scores[i]));
  const e = idx.map((i) => (scores[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(scores[i] - m)));
  const z = e.reduce((a, b) => a + b, 0);
  const kept: number[] = [];
  let cum = 0;
  for (let r = 0; r < idx.length; r++) {
    cum += e[r] / z;
    const removed = cum <= 1 - topP && r < idx.length - minKeep;
    if (!removed && scores[idx[r]] > Number.NEGATIVE_INFINITY) kept.push(idx[r]);
  }
  return kept.sort((a, b) => a - b);
}

/** A row of `n` logits with spread `sigma`, some masked to -inf. */
function row(g: Generator, n: number, sigma: number, masked: number): Float32Array {
  const s = Float32Array.from({ length: n }, () => g.normal() * sigma);
  for (let j = 0; j < masked; j++) s[g.randint(0, n)] = Number.NEGATIVE_INFINITY;
  return s;
}

function keptIds(s: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] > Number.NEGATIVE_INFINITY) out.push(i);
  return out;
}

describe('top-p on large vocabularies keeps exactly the set of the full-sort rule', {
  timeout: 60_000,
}, () => {
  // rows of changing spread in a row, so the warper's candidate guess from the previous row is
  // sometimes right (fast path) and sometimes wrong (full split pass); both must agree with the rule.
  // (Float64 sums of the same numbers in another order differ by ~1e-16 relative; random normal
  // rows put no token that close to the cut.)
  const cases: [number, number, number][] = [
    [0.9, 1, 200_000],
    [0.5, 1, 50_257],
    [0.95, 5, 32_000],
    [0.2, 1, 1_000],
  ];
  for (const [topP, minKeep, n] of cases) {
    it(`topP ${topP}, minTokensToKeep ${minKeep}, vocab ${n}`, () => {
      const g = new Generator(7);
      const warper = new TopPWarper(topP, minKeep);
      for (const sigma of [3, 3.2, 8, 0.5, 12, 3, 0.05]) {
        const s = row(g, n, sigma, 50);
        const want = referenceTopP(s, topP, minKeep);
        const ctx: ProcessorContext = { promptLength: 0, maxLength: 1 };
        warper.process([], s, ctx);
        expect(keptIds(s)).toEqual(want);
        expect(Array.from(ctx.kept?.ids ?? [])).toEqual(want);
      }
    });
  }

  it('keeps minTokensToKeep tokens even when the top token alone holds the mass', () => {
    const s = Float32Array.from({ length: 10_000 }, (_, i) => (i === 4321 ? 100 : -i / 10_000));
    new TopPWarper(0.5, 3).process([], s, { promptLength: 0, maxLength: 1 });
    // the top token and the two next highest (-0 at id 0 and -1e-4 at id 1)
    expect(keptIds(s)).toEqual([0, 1, 4321]);
  });

  it('the fast path (top-p-fast.ts) keeps exactly what the sort-and-cumsum path keeps, row after row', () => {
    const g = new Generator(5);
    for (const [topP, minKeep, n] of [
      [0.9, 1, 8_192],
      [0.5, 3, 4_096],
      [0.99, 1, 600],
      [0.3, 1, 20_000],
    ] as const) {
      const fast = new TopPWarper(topP, minKeep);
      const plain = new TopPWarper(topP, minKeep, { fast: false });
      for (const sigma of [3, 0.5, 8, 0.05]) {
        const a = row(g, n, sigma, 20);
        const b = a.slice();
        const want = referenceTopP(a, topP, minKeep);
        const ctxA: ProcessorContext = { promptLength: 0, maxLength: 1 };
        const ctxB: ProcessorContext = { promptLength: 0, maxLength: 1 };
        fast.process([], a, ctxA);
        plain.process([], b, ctxB);
        expect(Array.from(a)).toEqual(Array.from(b));
        expect(Array.from(ctxA.kept?.ids ?? [])).toEqual(Array.from(ctxB.kept?.ids ?? []));
        // the same kept scores summed in float64 (exp by table vs Math.exp): equal to ~1e-12
        const [ma, mb] = [ctxA.kept?.mass ?? 0, ctxB.kept?.mass ?? 0];
        expect(Math.abs(ma - mb) / mb).toBeLessThan(1e-11);
        expect(keptIds(b)).toEqual(want);
      }
    }
  });

  it('temperature then top-p equals the division followed by top-p (and processScaled), row after row', () => {
    // rows whose max jumps up or falls far below the previous row's send the histogram's candidate
    // guess to its fallback
    const g = new Generator(3);
    const both = buildProcessors({ doSample: true, temperature: 0.7, topP: 0.8 });
    const plain = new TopPWarper(0.8);
    const shifts = [0, 0.5, -1, 30, 29, -40, -41, 2, 0];
    for (const shift of shifts) {
      const s = row(g, 100_000, 4, 10).map((v) => v + shift);
      const a = s.slice();
      const ctx: ProcessorContext = { promptLength: 0, maxLength: 1 };
      applyProcessors(both, [], a, ctx);
      const b = s.map((v) => v / Math.fround(0.7));
      const want = referenceTopP(b, 0.8, 1);
      const ctxB: ProcessorContext = { promptLength: 0, maxLength: 1 };
      plain.process([], b, ctxB);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(ctx.kept?.ids ?? [])).toEqual(want);
      expect(Array.from(ctx.kept?.probs ?? [])).toEqual(Array.from(ctxB.kept?.probs ?? []));
      const c = s.slice();
      new TopPWarper(0.8).processScaled(c, 0.7);
      expect(Array.from(c)).toEqual(Array.from(a));
    }
  });

  it('draws the same token from the kept set as from the masked row, for the same generator state', () => {
    const g = new Generator(11);
    const processors = buildProcessors({ doSample: true, temperature: 0.9, topP: 0.9 });
    for (let t = 0; t < 50; t++) {
      const s = row(g, 50_257, 3, 0);
      const ctx: ProcessorContext = { promptLength: 0, maxLength: 1 };
      applyProcessors(processors, [], s, ctx);
      const a = sampleKept(ctx.kept!, new Generator(100 + t));
      const b = sampleFromScores(s, new Generator(100 + t));
      expect(a).toBe(b);
    }
  });
});
