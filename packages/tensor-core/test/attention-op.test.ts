// tensor-core's fused attention op, creation functions with { backend }, copyInto and opScope.
// The op's torch parity (every SDPA fixture, values and gradients) is tested through
// @attnkit/attention's scaledDotProductAttention, which is this op plus torch's names.
import './reference-backend.js';
import {
  arange,
  attention,
  copyInto,
  findBackend,
  getBackend,
  matmul,
  memory,
  noGrad,
  opScope,
  randn,
  softmax,
  type Tensor,
  tensor,
  zeros,
} from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { PRIMITIVES_ONLY } from './primitives-backend.js';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
}

describe('attention (the fused op with its reference composition and gradient)', () => {
  it('equals softmax(q kᵀ / sqrt(d)) v written out by hand, on both paths', () => {
    const q = randn([2, 3, 5, 4]);
    const k = randn([2, 3, 6, 4]);
    const v = randn([2, 3, 6, 2]);
    const want = matmul(softmax(matmul(q, k.transpose(-1, -2)).mul(0.5), -1), v).dataSync();
    for (const implementation of ['fused', 'reference'] as const) {
      close(attention(q, k, v, { implementation }).dataSync(), want);
    }
  });
  it('the fused kernel and the reference composition agree on values and gradients (GQA, causal, window)', () => {
    const cpu = getBackend();
    const prim = findBackend(PRIMITIVES_ONLY);
    if (!prim) throw new Error('primitives-only backend missing');
    expect(typeof prim.attention).toBe('undefined');
    const vals = (shape: number[]) => randn(shape).dataSync();
    const qv = vals([1, 4, 7, 8]);
    const kv = vals([1, 2, 9, 8]);
    const vv = vals([1, 2, 9, 3]);
    const gv = vals([1, 4, 7, 3]);
    const run = (backend: typeof cpu) => {
      const q = tensor(qv, [1, 4, 7, 8], { backend }).requiresGrad_();
      const k = tensor(kv, [1, 2, 9, 8], { backend }).requiresGrad_();
      const v = tensor(vv, [1, 2, 9, 3], { backend }).requiresGrad_();
      const y = attention(q, k, v, { causal: true, windowSize: 4, backwardBlockElements: 2 * 9 });
      y.backward(tensor(gv, [1, 4, 7, 3], { backend }));
      return [y, q.grad, k.grad, v.grad].map((t) => (t as Tensor).dataSync());
    };
    const fused = run(cpu);
    const composed = run(prim);
    for (let i = 0; i < 4; i++) close(fused[i], composed[i], 1e-4);
  });
  it('validates at the door, naming the op (or the wrapper given as opName)', () => {
    const q = randn([1, 2, 3, 4]);
    expect(() => attention(q, randn([1, 2, 3, 5]), q)).toThrow(
      /attention: q and k must have the same head dim/,
    );
    expect(() => attention(q, q, q, { opName: 'myAttention', windowSize: -1 })).toThrow(
      /myAttention: 'windowSize' must be a positive integer, got -1/,
    );
  });
  it('frees its intermediates without a graph (memory flat)', () => {
    const q = randn([1, 2, 16, 8]);
    const before = memory().reference.numTensors;
    for (const implementation of ['fused', 'reference'] as const) {
      noGrad(() => attention(q, q, q, { causal: true, windowSize: 5, implementation })).dispose();
      attention(q, q, q, { returnWeights: true, implementation: 'reference' }).weights.dispose();
    }
    // returnWeights left its output: one tensor per loop
    expect(memory().reference.numTensors - before).toBe(2);
  });
});

describe('creation functions take { backend }', () => {
  it('places the tensor on the given backend (instance or name), not the current one', () => {
    const prim = findBackend(PRIMITIVES_ONLY);
    for (const backend of [prim, PRIMITIVES_ONLY] as const) {
      const made = [
        tensor([1, 2], [2], { backend }),
        zeros([2], { backend, dtype: 'int32' }),
        arange(0, 3, 1, { backend }),
        randn([2], { backend }),
      ];
      for (const t of made) expect(t.backend.name).toBe(PRIMITIVES_ONLY);
      expect(made[1].dtype).toBe('int32');
      expect(made[2].arraySync()).toEqual([0, 1, 2]);
    }
    expect(zeros([1]).backend.name).toBe('reference');
    expect(() => zeros([1], { backend: 'nope' })).toThrow(
      /zeros: option backend names 'nope', which is not registered/,
    );
  });
});

describe('copyInto (torch copy_)', () => {
  it('writes into a slice of a buffer, broadcasting the source', () => {
    const buf = zeros([2, 4]);
    copyInto(buf.narrow(1, 1, 2), tensor([5, 6]));
    expect(buf.arraySync()).toEqual([
      [0, 5, 6, 0],
      [0, 5, 6, 0],
    ]);
  });
  it('reads an overlapping source before writing (a shift left by one)', () => {
    const buf = arange(0, 5, 1, 'float32');
    buf.narrow(0, 0, 4).copy_(buf.narrow(0, 1, 4));
    expect(buf.arraySync()).toEqual([1, 2, 3, 4, 4]);
  });
  it('refuses shapes that do not broadcast', () => {
    expect(() => copyInto(zeros([2, 3]), zeros([4]))).toThrow(
      /copyInto: cannot copy a tensor of shape \[4\] into \[2,3\]/,
    );
  });
});

describe('opScope', () => {
  it('frees intermediates when no graph is returned, keeps them when one is', () => {
    const x = randn([3]);
    const before = memory().reference.numTensors;
    const y = opScope(() => x.mul(2).add(1).exp());
    expect(memory().reference.numTensors - before).toBe(1);
    y.dispose();
    const w = randn([3]).requiresGrad_();
    const z = opScope(() => w.mul(2).add(1).exp().sum());
    z.backward();
    // d/dw sum(exp(2w + 1)) = 2 exp(2w + 1)
    const want = w.dataSync().map((v) => 2 * Math.exp(2 * v + 1));
    close((w.grad as Tensor).dataSync(), want);
  });
});
