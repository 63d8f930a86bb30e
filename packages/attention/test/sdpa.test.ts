// Parity of scaledDotProductAttention with the PyTorch reference (scripts/reference/attention.py):
// every case on the reference path (output, weights, grads) and on the fused backend-cpu kernel
// (output, grads by recomputation). Tolerance: 1e-4 relative (atol 1e-5) on CPU.
import '@attnkit/backend-cpu';
import { eye, Generator, randn, type Tensor, tensor, zeros } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from '../src/index.js';
import { setBackwardBlockElements } from '../src/scaled-dot-product.js';
import { compare, fixtureIndex, loadFixture, mismatch } from './helpers.js';

const cases = fixtureIndex().filter((c) => c.kind === 'sdpa');

function inputs(name: string, grad: boolean) {
  const fx = loadFixture(name);
  const q = fx.tensor('q').requiresGrad_(grad);
  const k = fx.tensor('k').requiresGrad_(grad);
  const v = fx.tensor('v').requiresGrad_(grad);
  const type = fx.param<string | null>('mask_type');
  const mask = type === 'bool' ? fx.bool('mask') : type === 'float' ? fx.tensor('mask') : null;
  const options = { mask, causal: fx.param<boolean>('causal'), scale: fx.param<number | null>('scale') };
  return { fx, q, k, v, options };
}

describe('scaledDotProductAttention matches torch (rtol 1e-4)', () => {
  it('covers every sdpa fixture', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });
  for (const { name } of cases) {
    it(`${name}: reference path, output + weights + grads`, () => {
      const { fx, q, k, v, options } = inputs(name, true);
      const { output, weights } = scaledDotProductAttention(q, k, v, {
        ...options,
        returnWeights: true,
        implementation: 'reference',
      });
      expect(compare(output, fx.array('output'))).toBeNull();
      expect(compare(weights, fx.array('weights'))).toBeNull();
      expect(output.dataSync().every(Number.isFinite)).toBe(true);
      if (fx.has('grad_output')) {
        output.backward(fx.tensor('grad_output'));
        expect(compare(q.grad as Tensor, fx.array('grad_q'))).toBeNull();
        expect(compare(k.grad as Tensor, fx.array('grad_k'))).toBeNull();
        expect(compare(v.grad as Tensor, fx.array('grad_v'))).toBeNull();
      }
    });
    it(`${name}: fused cpu kernel, output + grads`, () => {
      const { fx, q, k, v, options } = inputs(name, true);
      const output = scaledDotProductAttention(q, k, v, { ...options, implementation: 'fused' });
      expect(compare(output, fx.array('output'))).toBeNull();
      if (fx.has('grad_output')) {
        output.backward(fx.tensor('grad_output'));
        expect(compare(q.grad as Tensor, fx.array('grad_q'))).toBeNull();
        expect(compare(k.grad as Tensor, fx.array('grad_k'))).toBeNull();
        expect(compare(v.grad as Tensor, fx.array('grad_v'))).toBeNull();
      }
    });
  }
});

describe('scaledDotProductAttention semantics', () => {
  it('a fully masked row gives zeros, not NaN (hand-derived)', () => {
    const q = tensor([
      [
        [
          [1, 0],
          [0, 1],
        ],
      ],
    ]);
    const k = tensor([
      [
        [
          [1, 0],
          [0, 1],
        ],
      ],
    ]);
    const v = tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]);
    const mask = tensor([
      [true, true],
      [false, false],
    ]);
    for (const implementation of ['reference', 'fused'] as const) {
      const y = scaledDotProductAttention(q, k, v, { mask, implementation });
      const out = Array.from(y.dataSync());
      // row 0: softmax([1, 0] / sqrt(2)) = [a, 1 - a]
      const a = 1 / (1 + Math.exp(-1 / Math.SQRT2));
      expect(out[0]).toBeCloseTo(a * 1 + (1 - a) * 3, 5);
      expect(out[1]).toBeCloseTo(a * 2 + (1 - a) * 4, 5);
      expect(out.slice(2)).toEqual([0, 0]);
    }
  });

  it('windowSize with causal equals the explicit sliding-window mask fixture', () => {
    const fx = loadFixture('sdpa_sliding_window_3');
    for (const implementation of ['reference', 'fused'] as const) {
      const y = scaledDotProductAttention(fx.tensor('q'), fx.tensor('k'), fx.tensor('v'), {
        causal: true,
        windowSize: 3,
        implementation,
      });
      expect(compare(y, fx.array('output'))).toBeNull();
    }
  });

  it('rank-3 inputs [N, L, D] work like torch', () => {
    const fx = loadFixture('sdpa_plain');
    const [b, h, lq, d] = fx.array('q').shape;
    const lk = fx.array('k').shape[2];
    const y = scaledDotProductAttention(
      fx.tensor('q').reshape([b * h, lq, d]),
      fx.tensor('k').reshape([b * h, lk, d]),
      fx.tensor('v').reshape([b * h, lk, d]),
    );
    expect(y.shape).toEqual([b * h, lq, d]);
    expect(compare(y.reshape([b, h, lq, d]), fx.array('output'))).toBeNull();
  });

  it('the fused kernel equals the reference path within 1e-5 on larger random inputs', () => {
    const q = randn([2, 4, 70, 32]);
    const k = randn([2, 2, 300, 32]);
    const v = randn([2, 2, 300, 24]);
    const mask = randn([2, 1, 70, 300]);
    for (const opts of [{ causal: true }, { causal: false, mask }, { causal: true, windowSize: 17 }]) {
      const a = scaledDotProductAttention(q, k, v, { ...opts, implementation: 'reference' }).dataSync();
      const b = scaledDotProductAttention(q, k, v, { ...opts, implementation: 'fused' }).dataSync();
      const worst = Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('dropout zeroes weights at rate p and rescales the rest (statistics, seeded)', () => {
    // q = 0 makes every weight 1/L; v = the identity makes output[i, j] = weight[i, j] * keep[i, j]
    // / (1 - p), so the output exposes the dropout mask itself: L * L = 16384 Bernoulli draws.
    const L = 128;
    const p = 0.3;
    const q = zeros([1, 1, L, 8]);
    const v = eye(L).reshape([1, 1, L, L]);
    const out = scaledDotProductAttention(q, q, v, { dropoutP: p, generator: new Generator(21) }).dataSync();
    const n = L * L;
    let kept = 0;
    let sum = 0;
    const survivors = new Set<number>();
    for (const y of out) {
      sum += y;
      if (y !== 0) {
        kept++;
        survivors.add(Math.round(y * L * 1e5) / 1e5);
      }
    }
    // Kept fraction 1 - p within 5 standard errors of Binomial(n, 1 - p).
    expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    // Every survivor is (1/L) / (1 - p): the rescale, exactly (up to float32 rounding).
    expect([...survivors]).toEqual([Math.round((1 / (1 - p)) * 1e5) / 1e5]);
    // Expected value preserved: the mean output is the weight 1/L, within 5 standard errors.
    expect(Math.abs(sum / n - 1 / L)).toBeLessThan((5 * Math.sqrt(p / (1 - p) / n)) / L);
  });
});

describe('fused backward in query blocks', () => {
  it('equals the reference gradients when the recomputed weights are split into blocks', () => {
    const old = setBackwardBlockElements(2 * 4 * 9 * 3); // [B=2, H=4, 3 rows, Lk=9] per block
    try {
      const q = randn([2, 4, 7, 6]);
      const k = randn([2, 2, 9, 6]);
      const v = randn([2, 2, 9, 5]);
      const g = randn([2, 4, 7, 5]);
      const mask = randn([2, 1, 7, 9]);
      for (const opts of [{ causal: true, windowSize: 4 }, { mask }, { causal: true, mask: mask.gt(-1) }]) {
        const grads = (implementation: 'fused' | 'reference') => {
          const [qq, kk, vv] = [q, k, v].map((t) => t.detach().requiresGrad_(true));
          scaledDotProductAttention(qq, kk, vv, { ...opts, implementation }).backward(g);
          return [qq, kk, vv].map((t) => (t.grad as Tensor).dataSync());
        };
        const want = grads('reference');
        const got = grads('fused');
        for (let i = 0; i < 3; i++) {
          expect(
            mismatch(got[i], [got[i].length], { shape: [want[i].length], data: want[i] }, 1e-4, 1e-5),
          ).toBeNull();
        }
      }
    } finally {
      setBackwardBlockElements(old);
    }
  });
});

describe('scaledDotProductAttention validation', () => {
  const q = randn([1, 2, 3, 4]);
  it('names the function and the problem', () => {
    expect(() => scaledDotProductAttention(q, randn([1, 2, 3, 5]), randn([1, 2, 3, 4]))).toThrow(
      /scaledDotProductAttention: q and k must have the same head dim/,
    );
    expect(() =>
      scaledDotProductAttention(randn([1, 3, 3, 4]), randn([1, 2, 3, 4]), randn([1, 2, 3, 4])),
    ).toThrow(/query heads \(3\) must be a multiple of the key\/value heads \(2\)/);
    expect(() => scaledDotProductAttention(q, q, q, { mask: randn([2, 3]) })).toThrow(
      /'mask' \[2, 3\] does not broadcast/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { mask: tensor([1, 0, 1], [3], 'int32') })).toThrow(
      /'mask' must be a bool tensor .* got int32/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { dropoutP: 1 })).toThrow(
      /'dropoutP' must be a number in \[0, 1\)/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { windowSize: 0 })).toThrow(
      /'windowSize' must be a positive integer/,
    );
    expect(() => scaledDotProductAttention(q, null as unknown as Tensor, q)).toThrow(
      /'k' must be a Tensor, got null/,
    );
    expect(() =>
      scaledDotProductAttention(q, q, q, { returnWeights: true, implementation: 'fused' }),
    ).toThrow(/implementation 'fused' is not available/);
  });
});
