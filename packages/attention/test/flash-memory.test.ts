// The fused (flash-style) path never materialises the Lq×Lk scores: the peak of live backend
// storage during a forward is counted exactly by a wrapper around the cpu backend.
import '@attnkit/backend-cpu';
import {
  type Backend,
  getBackend,
  noGrad,
  randn,
  registerBackend,
  type Storage,
  setBackend,
  tidy,
} from '@attnkit/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from '../src/index.js';

function counting(inner: Backend) {
  const sizes = new WeakMap<Storage, number>();
  let live = 0;
  let peak = 0;
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'name') return 'cpu-peak';
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'free') {
        return (s: Storage) => {
          live -= sizes.get(s) ?? 0;
          sizes.delete(s);
          return value.call(target, s);
        };
      }
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        for (const s of Array.isArray(out) ? out : [out]) {
          if (
            s &&
            typeof s === 'object' &&
            typeof s.byteLength === 'number' &&
            !ArrayBuffer.isView(s) &&
            !sizes.has(s)
          ) {
            sizes.set(s, s.byteLength);
            live += s.byteLength;
            peak = Math.max(peak, live);
          }
        }
        return out;
      };
    },
  });
  return {
    backend,
    peakSince(fn: () => void): number {
      peak = live;
      const start = live;
      fn();
      return peak - start;
    },
  };
}

describe('flash-style attention memory', () => {
  const base = getBackend();
  const c = counting(base);
  registerBackend('cpu-peak', () => c.backend, -1);
  setBackend('cpu-peak');
  afterAll(() => {
    setBackend(base.name);
  });

  it('peak extra storage is the output only (fused), and includes the H·L·L scores (reference)', () => {
    const [h, l, d] = [2, 512, 16];
    const q = randn([1, h, l, d]);
    const k = randn([1, h, l, d]);
    const v = randn([1, h, l, d]);
    const scores = h * l * l * 4;
    const outBytes = h * l * d * 4;
    for (const causal of [false, true]) {
      const fused = c.peakSince(() =>
        noGrad(() =>
          tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation: 'fused' }).dataSync()),
        ),
      );
      expect(fused).toBe(outBytes);
      const reference = c.peakSince(() =>
        noGrad(() =>
          tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation: 'reference' }).dataSync()),
        ),
      );
      expect(reference).toBeGreaterThanOrEqual(scores);
    }
  });

  it('grouped-query heads and cache-like strided keys stay linear too', () => {
    const [h, kvh, l, d] = [4, 1, 256, 8];
    const q = randn([1, h, 1, d]);
    const buf = randn([1, kvh, 2 * l, d]); // a cache buffer with spare capacity
    const k = buf.sliceDim(2, 0, l);
    const v = buf.sliceDim(2, 0, l);
    const fused = c.peakSince(() =>
      noGrad(() =>
        tidy(() => scaledDotProductAttention(q, k, v, { causal: true, implementation: 'fused' }).dataSync()),
      ),
    );
    expect(fused).toBeLessThanOrEqual(2 * h * d * 4); // output (plus its per-batch part for GQA)
  });
});
