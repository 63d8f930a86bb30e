// packWeights: a weight used as a GEMM's B is packed once (at its second use) and later products
// read the packed copy. Results equal the unpacked path bit for bit (same blocks, same sums) on
// one thread and several, for row-major and transposed weights, edges of the 8-column panels and
// the 256-deep K blocks, batches sharing a weight, bias and activation epilogues; a write to the
// weight (copy_, an optimizer step, a write through a view) makes the packed copy stale; the packed
// bytes are reported and freed with the weight.
import { CpuBackend } from '@attnkit/backend-cpu';
import {
  type LinearActivation,
  linear,
  matmul,
  memory,
  registerBackend,
  setBackend,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { SGD } from '@attnkit/tensor-core/optim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCores } from '../src/pool.js';
import { rng, values } from './random.js';

const THREADS = Math.min(3, availableCores());
const packed = new CpuBackend({ threads: THREADS, packWeights: true });
const packed1 = new CpuBackend({ threads: 1, packWeights: true });
const plain = new CpuBackend({ threads: THREADS });
registerBackend('cpu-packed', () => packed);
registerBackend('cpu-packed-1', () => packed1);
registerBackend('cpu-plain', () => plain);

beforeAll(async () => {
  await packed.ready();
});
afterAll(() => setBackend('cpu'));

const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;

/** `activation(x @ W.T + b)` in float64 from the host values (W [n, k]). */
function reference(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  m: number,
  k: number,
  n: number,
  act: LinearActivation | null,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = b ? b[j] : 0;
      for (let q = 0; q < k; q++) s += x[i * k + q] * w[j * k + q];
      out[i * n + j] =
        act === 'gelu_tanh'
          ? 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3)))
          : act === 'relu'
            ? Math.max(s, 0)
            : s;
    }
  return out;
}

describe('packWeights', () => {
  it('is off by default and can be switched', () => {
    expect(new CpuBackend().packWeights).toBe(false);
    expect(packed.packWeights).toBe(true);
  });

  it('linear on a packed weight equals the unpacked path bit for bit (threads, panels, K blocks, epilogues)', () => {
    const r = rng(1);
    const cases: [number, number, number, boolean, LinearActivation | null][] = [
      [8, 40, 16, false, null], // the fewest rows that run the GEMM (a weight of 2560 bytes: in the heap)
      [13, 300, 37, true, 'relu'], // a K block edge (256) and a partial panel
      [130, 600, 1029, true, 'gelu_tanh'], // rows past MC (128), three K blocks, columns past NC (512)
      [64, 64, 2048, false, null], // wide: claimed column chunks across threads
      [300, 40, 24, true, null], // tall: row ranges across threads
    ];
    for (const [m, k, n, withBias, act] of cases) {
      const x = values(m * k, r);
      const w = values(n * k, r);
      const b = withBias ? values(n, r) : null;
      setBackend('cpu-plain');
      const expected = linear(tensor(x, [m, k]), tensor(w, [n, k]), b ? tensor(b, [n]) : null, {
        activation: act,
      }).dataSync() as Float32Array;
      for (const name of ['cpu-packed', 'cpu-packed-1']) {
        setBackend(name);
        const W = tensor(w, [n, k]);
        const B = b ? tensor(b, [n]) : null;
        const X = tensor(x, [m, k]);
        const before = packed.packedWeightBytes;
        const first = linear(X, W, B, { activation: act }).dataSync(); // notes the use
        expect(packed.packedWeightBytes).toBe(before);
        const second = linear(X, W, B, { activation: act }).dataSync(); // packs, then reads the pack
        expect(packed.packedWeightBytes).toBe(before + k * roundUp8(n) * 4);
        const third = linear(X, W, B, { activation: act }).dataSync(); // reads the pack
        const label = `${name} [${m},${k}] x [${n},${k}]ᵀ${b ? ' + bias' : ''} ${act ?? ''}`;
        expect(first, label).toEqual(expected);
        expect(second, label).toEqual(expected);
        expect(third, label).toEqual(expected);
        W.dispose(); // frees the packed copy with the weight
        expect(packed.packedWeightBytes).toBe(before);
      }
      const ref = reference(x, w, b, m, k, n, act);
      let worst = 0;
      for (let i = 0; i < ref.length; i++)
        worst = Math.max(worst, Math.abs(expected[i] - ref[i]) / (1 + Math.abs(ref[i])));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('row-major weights (x @ W, GPT-2 Conv1D), a tied head (x @ E.T on a slice) and batches sharing B', () => {
    const r = rng(2);
    const [m, k, n] = [40, 270, 77];
    const x = values(3 * m * k, r);
    const w = values(k * n, r);
    const e = values((n + 5) * k, r); // a [n + 5, k] storage, B a view from row 5
    setBackend('cpu-plain');
    const X = () => tensor(x, [3, m, k]);
    const rowMajor = matmul(X(), tensor(w, [k, n])).dataSync();
    const tied = matmul(X(), tensor(e, [n + 5, k]).sliceDim(0, 5, n + 5).T).dataSync();
    setBackend('cpu-packed');
    const W = tensor(w, [k, n]);
    const E = tensor(e, [n + 5, k]);
    const before = packed.packedWeightBytes;
    for (let i = 0; i < 3; i++) {
      // in tidy: matmul's broadcast views of W and E would hold their storages otherwise
      expect(tidy(() => matmul(X(), W)).dataSync()).toEqual(rowMajor);
      expect(tidy(() => matmul(X(), E.sliceDim(0, 5, n + 5).T)).dataSync()).toEqual(tied);
    }
    expect(packed.packedWeightBytes).toBe(before + 2 * k * roundUp8(n) * 4);
    W.dispose();
    E.dispose();
    expect(packed.packedWeightBytes).toBe(before);
  });

  it('a write to the weight makes its packed copy stale: copy_, a write through a view, an optimizer step', () => {
    const r = rng(3);
    const [m, k, n] = [16, 64, 40];
    const x = values(m * k, r);
    const w0 = values(n * k, r);
    const w1 = values(n * k, r);
    const expect64 = (got: ArrayLike<number>, w: Float32Array, label: string) => {
      const ref = reference(x, w, null, m, k, n, null);
      for (let i = 0; i < ref.length; i++)
        if (Math.abs(got[i] - ref[i]) > 1e-5 * (1 + Math.abs(ref[i])))
          throw new Error(`${label}: element ${i} is ${got[i]}, expected ${ref[i]}`);
    };
    setBackend('cpu-packed');
    const X = tensor(x, [m, k]);
    const W = tensor(w0, [n, k]);
    for (let i = 0; i < 3; i++) expect64(linear(X, W).dataSync(), w0, 'before any write');
    const bytes = packed.packedWeightBytes;

    W.copy_(tensor(w1, [n, k]));
    expect64(linear(X, W).dataSync(), w1, 'after copy_');
    expect64(linear(X, W).dataSync(), w1, 'after copy_, packed again');
    expect(packed.packedWeightBytes).toBe(bytes); // the stale copy went before the new one came

    // one row changed through a view of the weight
    const w2 = w1.slice();
    for (let q = 0; q < k; q++) w2[7 * k + q] = 0.5;
    W.sliceDim(0, 7, 8).copy_(0.5);
    expect64(linear(X, W).dataSync(), w2, 'after a write to one row');
    expect64(linear(X, W).dataSync(), w2, 'after a write to one row, packed again');

    // an optimizer step: W -= lr · grad, in place
    W.requiresGrad_();
    const opt = new SGD([W], { lr: 0.25 });
    linear(X, W).sum().backward();
    const grad = W.grad?.dataSync() as Float32Array;
    opt.step();
    const w3 = w2.map((v, i) => Math.fround(v - 0.25 * grad[i]));
    expect(W.dataSync()).toEqual(w3);
    expect64(linear(X, W).detach().dataSync(), w3, 'after an optimizer step');
    expect64(linear(X, W).detach().dataSync(), w3, 'after an optimizer step, packed again');
    W.dispose();
    X.dispose();
  });

  it('memory() counts packed copies in the overhead bytes, and they go back when the weight is freed', () => {
    const r = rng(4);
    const [m, k, n] = [32, 128, 96];
    setBackend('cpu-packed');
    const W = tensor(values(n * k, r), [n, k]);
    const X = tensor(values(m * k, r), [m, k]);
    linear(X, W).dispose();
    const before = memory([packed]).cpu;
    const held = packed.packedWeightBytes;
    linear(X, W).dispose();
    const after = memory([packed]).cpu;
    expect(after.numBytes).toBe(before.numBytes); // live tensors: unchanged
    expect(packed.packedWeightBytes).toBe(held + k * n * 4);
    expect(after.overheadBytes).toBeGreaterThanOrEqual(packed.packedWeightBytes);
    W.dispose();
    expect(packed.packedWeightBytes).toBe(held);
    X.dispose();
  });

  it('switched off, products neither make nor read packed copies', () => {
    const r = rng(5);
    const [m, k, n] = [24, 48, 64];
    setBackend('cpu-packed');
    const W = tensor(values(n * k, r), [n, k]);
    const X = tensor(values(m * k, r), [m, k]);
    packed.packWeights = false;
    try {
      const before = packed.packedWeightBytes;
      for (let i = 0; i < 3; i++) linear(X, W).dispose();
      expect(packed.packedWeightBytes).toBe(before);
    } finally {
      packed.packWeights = true;
    }
    W.dispose();
    X.dispose();
  });

  it('decoding rows (fewer than 8) read the weight in place: nothing is packed', () => {
    const r = rng(6);
    setBackend('cpu-packed');
    const W = tensor(values(256 * 64, r), [256, 64]);
    const X = tensor(values(64, r), [1, 64]);
    const before = packed.packedWeightBytes;
    for (let i = 0; i < 3; i++) linear(X, W).dispose();
    expect(packed.packedWeightBytes).toBe(before);
    W.dispose();
    X.dispose();
  });
});
