// Issue 22: the fused cpu kernel turned a NaN in q into a row of zeros, so a checkpoint with NaN
// weights gave finite logits. Now a NaN among a query's visible scores gives NaN, on the fused and
// the reference path alike (the webgpu kernel is checked in webgpu-parity.test.ts).
import '@attnkit/backend-cpu';
import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from '../src/index.js';
import { nanCases } from './helpers.js';

describe('a NaN score propagates to its query row (cpu)', () => {
  for (const c of nanCases()) {
    for (const implementation of ['fused', 'reference'] as const) {
      it(`${c.name}: ${implementation}`, () => {
        const out = scaledDotProductAttention(c.q, c.k, c.v, { ...c.options, implementation });
        const [, h, lq, dv] = out.shape;
        const data = out.dataSync();
        for (let hi = 0; hi < h; hi++) {
          for (let i = 0; i < lq; i++) {
            const nan = c.nanRows.some(([a, b]) => a === hi && b === i);
            const row = Array.from(data.subarray((hi * lq + i) * dv, (hi * lq + i + 1) * dv));
            expect(
              row.every((x) => (nan ? Number.isNaN(x) : Number.isFinite(x))),
              `row [${hi}, ${i}]`,
            ).toBe(true);
          }
        }
      });
    }
  }
});
