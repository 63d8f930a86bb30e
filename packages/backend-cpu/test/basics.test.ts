import '@attnkit/backend-cpu';
import { add, copyInto, gelu, matmul, memory, mul, randn, sum, tensor, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

describe('cpu backend basics (hand-derived values)', () => {
  it('broadcasts add over a transposed view', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const y = add(x.transpose(0, 1), tensor([10, 20]));
    expect(y.shape).toEqual([3, 2]);
    expect(y.arraySync()).toEqual([
      [11, 24],
      [12, 25],
      [13, 26],
    ]);
  });

  it('matmul: [2,3] @ [3,2]', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tensor([
      [7, 8],
      [9, 10],
      [11, 12],
    ]);
    expect(matmul(a, b).arraySync()).toEqual([
      [58, 64],
      [139, 154],
    ]);
    expect(() => matmul(a, a)).toThrow('matmul: inner dimensions differ: [2,3] @ [2,3] (3 != 2)');
  });

  it('gradient of sum(gelu(x) * w) matches float64 finite differences', () => {
    const xs = [-3, -0.5, 0, 0.7, 2.5];
    const x = tensor(xs).requiresGrad_();
    const w = tensor([1, -2, 3, 0.5, 1]);
    sum(mul(gelu(x), w)).backward();
    const phi = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
    const Phi = (v: number) => {
      // float64 reference: integrate the density with Simpson's rule from -10
      const n = 20000;
      const a = -10;
      const h = (v - a) / n;
      let s = phi(a) + phi(v);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(a + i * h);
      return (s * h) / 3;
    };
    const expected = xs.map((v, i) => [1, -2, 3, 0.5, 1][i] * (Phi(v) + v * phi(v)));
    const got = Array.from(x.grad!.dataSync());
    for (const [i, g] of got.entries()) expect(g).toBeCloseTo(expected[i], 5);
  });

  it('tidy keeps memory flat', () => {
    const before = memory().cpu?.numTensors ?? 0;
    const w = randn([16, 16]);
    for (let i = 0; i < 100; i++) tidy(() => sum(matmul(randn([4, 16]), w))).dispose();
    w.dispose();
    expect(memory().cpu.numTensors).toBe(before);
  });
});

describe('copyInto (backend write)', () => {
  it('copies contiguous rows of a strided view block by block, element for element (a KV cache step)', () => {
    // dst: position 5 of a [1, 3, 8, 20] buffer; src: heads split from a [1, 1, 60] row (rows of 20)
    const buf = tensor(
      Float32Array.from({ length: 3 * 8 * 20 }, (_, i) => -i - 1),
      [1, 3, 8, 20],
    );
    const src = tensor(
      Float32Array.from({ length: 60 }, (_, i) => i + 0.5),
      [1, 1, 60],
    )
      .reshape([1, 1, 3, 20])
      .transpose(1, 2);
    copyInto(buf.narrow(2, 5, 1), src);
    const got = buf.dataSync();
    for (let h = 0; h < 3; h++)
      for (let p = 0; p < 8; p++)
        for (let d = 0; d < 20; d++) {
          const i = (h * 8 + p) * 20 + d;
          expect(got[i]).toBe(p === 5 ? h * 20 + d + 0.5 : -i - 1);
        }
    // int32 rows and a float32 → int32 conversion take the element loop and agree
    const ib = tensor(new Int32Array(40), [2, 20], 'int32');
    copyInto(
      ib.narrow(0, 1, 1),
      tensor(
        Float32Array.from({ length: 20 }, (_, i) => i + 0.75),
        [1, 20],
      ),
    );
    expect(Array.from(ib.dataSync().subarray(20))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
