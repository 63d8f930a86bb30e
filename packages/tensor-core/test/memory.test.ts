// Memory: memory() counts tensors and bytes (views share storage), use after dispose is a clear
// error, tidy frees what it does not return (nested scopes, containers, keep, throws), `using`
// disposes at block end, and a long loop holds memory flat.
import './reference-backend.js';
import { add, keep, matmul, memory, mul, type Tensor, tensor, tidy, zeros } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

const live = () => memory().reference ?? { numTensors: 0, numBytes: 0, overheadBytes: 0 };

describe('memory()', () => {
  it('counts tensors and the bytes of their storages; views share storage bytes', () => {
    const before = live();
    const x = zeros([2, 3]); // 6 float32 = 24 bytes
    expect(live().numTensors).toBe(before.numTensors + 1);
    expect(live().numBytes).toBe(before.numBytes + 24);
    const v = x.transpose(0, 1); // a view: one more tensor, no more bytes
    expect(live().numTensors).toBe(before.numTensors + 2);
    expect(live().numBytes).toBe(before.numBytes + 24);
    const b = tensor([true, false, true]); // 3 bytes
    const h = tensor([1, 2], [2], 'float16'); // 4 bytes
    const i = tensor([1, 2, 3], [3], 'int32'); // 12 bytes
    expect(live().numBytes).toBe(before.numBytes + 24 + 3 + 4 + 12);
    x.dispose(); // the view still holds the storage
    expect(live().numTensors).toBe(before.numTensors + 4);
    expect(live().numBytes).toBe(before.numBytes + 24 + 19);
    expect(Array.from(v.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    v.dispose();
    expect(live().numBytes).toBe(before.numBytes + 19);
    for (const t of [b, h, i]) t.dispose();
    expect(live()).toMatchObject({ numTensors: before.numTensors, numBytes: before.numBytes });
  });

  it('dispose twice is harmless and counts once', () => {
    const before = live().numTensors;
    const x = tensor([1, 2]);
    x.dispose();
    x.dispose();
    expect(live().numTensors).toBe(before);
    expect(x.isDisposed).toBe(true);
  });
});

describe('use after dispose', () => {
  it('is a clear error naming the tensor and what was attempted', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    x.dispose();
    expect(() => x.dataSync()).toThrow(/\[2,2\] float32: cannot read .*disposed/);
    expect(() => add(x, 1)).toThrow(/disposed/);
    expect(() => x.transpose(0, 1)).toThrow(/disposed/);
    expect(() => matmul(x, x)).toThrow(/disposed/);
    return expect(x.data()).rejects.toThrow(/disposed/);
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps the returned tensor', () => {
    const a = tensor([1, 2, 3]);
    const before = live().numTensors;
    const y = tidy(() => mul(add(a, 1), 2)); // add's result is freed
    expect(live().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual([4, 6, 8]);
    expect(a.isDisposed).toBe(false);
    y.dispose();
    a.dispose();
  });

  it('keeps tensors returned in arrays and nested plain objects', () => {
    const before = live().numTensors;
    const out = tidy(() => {
      const t = tensor([1]);
      const u = add(t, 1);
      const w = add(u, 1);
      add(w, 1); // dropped
      return { pair: [t, u], nested: { deep: { w } }, n: 3 };
    });
    expect(live().numTensors).toBe(before + 3);
    expect(out.pair[0].dataSync()[0]).toBe(1);
    expect(out.nested.deep.w.dataSync()[0]).toBe(3);
    for (const t of [...out.pair, out.nested.deep.w]) t.dispose();
    expect(live().numTensors).toBe(before);
  });

  it('nests: an inner result belongs to the outer scope', () => {
    const before = live().numTensors;
    let inner: Tensor | undefined;
    const outer = tidy(() => {
      inner = tidy(() => add(tensor([1]), 1)); // the tensor([1]) is freed by the inner tidy
      expect(inner.isDisposed).toBe(false);
      expect(live().numTensors).toBe(before + 1);
      return mul(inner, 3);
    });
    expect(inner?.isDisposed).toBe(true); // not returned by the outer scope
    expect(outer.dataSync()[0]).toBe(6);
    outer.dispose();
    expect(live().numTensors).toBe(before);
  });

  it('keep() survives every enclosing scope', () => {
    const before = live().numTensors;
    let kept: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        kept = keep(tensor([5]));
      });
    });
    expect(kept?.isDisposed).toBe(false);
    expect(live().numTensors).toBe(before + 1);
    kept?.dispose();
  });

  it('frees everything when the function throws, and rethrows', () => {
    const before = live().numTensors;
    expect(() =>
      tidy(() => {
        tensor([1, 2]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live().numTensors).toBe(before);
  });

  it('rejects an async function with a clear error', () => {
    expect(() => tidy((async () => tensor([1])) as unknown as () => Tensor)).toThrow(/Promise/);
  });
});

describe('using', () => {
  it('disposes at the end of the block', () => {
    const before = live().numTensors;
    let seen: Tensor;
    {
      using t = tensor([1, 2, 3]);
      seen = t;
      expect(live().numTensors).toBe(before + 1);
    }
    expect(seen.isDisposed).toBe(true);
    expect(live().numTensors).toBe(before);
  });
});

describe('long loops', () => {
  it('hold memory flat over 2,000 tidy steps', () => {
    let w = tensor([
      [0.5, -0.25],
      [0.125, 1],
    ]);
    const x = tensor([[1, 2]]);
    const before = live();
    for (let step = 0; step < 2000; step++) {
      const next = tidy(() => add(mul(w, 0.999), matmul(x.T, x).mul(1e-6)));
      w.dispose();
      w = next;
      if (step === 999)
        expect(live()).toMatchObject({ numTensors: before.numTensors, numBytes: before.numBytes });
    }
    expect(live()).toMatchObject({ numTensors: before.numTensors, numBytes: before.numBytes });
    w.dispose();
    x.dispose();
  });
});
