// Printing: the tensor body must read exactly as PyTorch prints the same values (fixtures written by
// scripts/reference/tensor_print.py), followed by attnkit's shape/dtype suffix.
import './reference-backend.js';
import { readFileSync } from 'node:fs';
import { type DType, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

interface PrintCase {
  name: string;
  dtype: DType;
  shape: number[];
  values: (number | boolean | string)[];
  torch: string;
}
const cases = JSON.parse(
  readFileSync(new URL('./fixtures/print/cases.json', import.meta.url), 'utf8'),
) as PrintCase[];

const toNumber = (v: number | boolean | string) =>
  typeof v === 'string' ? Number(v.replace('inf', 'Infinity')) : Number(v);

/** torch's body: `tensor(` ... `)` without its `, dtype=...` / `, size=(...)` suffixes. */
function torchBody(s: string): string {
  return s
    .slice('tensor('.length, -1)
    .replace(/, dtype=torch\.\w+$/, '')
    .replace(/, size=\([0-9, ]*\)$/, '');
}

describe('toString prints like torch', () => {
  for (const c of cases) {
    it(c.name, () => {
      const t = tensor(c.values.map(toNumber), c.shape, c.dtype);
      const s = t.toString();
      const cut = s.lastIndexOf(', shape=[');
      expect(s.startsWith('tensor(')).toBe(true);
      expect(s.slice('tensor('.length, cut)).toBe(torchBody(c.torch));
      expect(s.slice(cut)).toBe(`, shape=[${c.shape.join(', ')}], dtype=${c.dtype})`);
    });
  }

  it('prints float16 tensors with float values and their dtype', () => {
    expect(tensor([0.5, -1.25], [2], 'float16').toString()).toBe(
      'tensor([ 0.5000, -1.2500], shape=[2], dtype=float16)',
    );
  });

  it('prints views in logical order (transposed, sliced)', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.T.toString()).toBe(
      'tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]], shape=[3, 2], dtype=float32)',
    );
    expect(x.sliceDim(1, 0, 3, 2).toString()).toBe(
      'tensor([[1., 3.],\n        [4., 6.]], shape=[2, 2], dtype=float32)',
    );
  });

  it('marks tensors that require grad and disposed tensors', () => {
    const w = tensor([1.5]).requiresGrad_();
    expect(w.toString()).toBe('tensor([1.5000], shape=[1], dtype=float32, requiresGrad=true)');
    const d = tensor([1, 2]);
    d.dispose();
    expect(d.toString()).toBe('tensor(<disposed>, shape=[2], dtype=float32)');
    expect(`${tensor(2.5)}`).toBe('tensor(2.5000, shape=[], dtype=float32)');
  });
});
