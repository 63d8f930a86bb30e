// Attention-weight capture: per layer and per head, equal to the weights the reference path returns;
// nothing recorded (and the fused kernel still used) when no capture is active.
import '@attnkit/backend-cpu';
import { getBackend, memory, noGrad, randn, type Tensor, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  captureAttention,
  isCapturingAttention,
  MultiHeadAttention,
  scaledDotProductAttention,
} from '../src/index.js';
import { mismatch } from './helpers.js';

function countFusedCalls<T>(fn: () => T): { result: T; calls: number } {
  const b = getBackend();
  const original = b.attention as NonNullable<typeof b.attention>;
  let calls = 0;
  b.attention = (...args) => {
    calls++;
    return original.apply(b, args);
  };
  try {
    return { result: fn(), calls };
  } finally {
    b.attention = original;
  }
}

describe('captureAttention', () => {
  const layers = [0, 1].map(
    (i) => new MultiHeadAttention({ embedDim: 8, numHeads: 2, name: `layers.${i}.attn` }),
  );
  const model = (x: Tensor) => {
    let h = x;
    for (const l of layers) h = l.forward(h, h, h, { needWeights: false, isCausal: true }).output;
    return h;
  };
  const x = randn([1, 5, 8]);

  it('records per-layer, per-head weights equal to the reference weights', () => {
    const { result, attentions, dispose } = captureAttention(() => model(x));
    expect(attentions.map((a) => a.name)).toEqual(['layers.0.attn', 'layers.1.attn']);
    expect(attentions[0].weights.shape).toEqual([1, 2, 5, 5]);
    const want = layers[0].forward(x, x, x, { needWeights: true, averageWeights: false, isCausal: true });
    const w = want.weights as Tensor;
    expect(
      mismatch(attentions[0].weights.dataSync(), attentions[0].weights.shape, {
        shape: [...w.shape],
        data: w.dataSync(),
      }),
    ).toBeNull();
    // the captured forward computes the same output as the uncaptured one
    const plain = model(x);
    expect(
      mismatch(result.dataSync(), result.shape, { shape: [...plain.shape], data: plain.dataSync() }),
    ).toBeNull();
    // causal: the upper triangle is zero
    const rows = attentions[1].weights.arraySync() as number[][][][];
    expect(rows[0][1][0][4]).toBe(0);
    dispose();
    expect(isCapturingAttention()).toBe(false);
  });

  it('dispose() frees the captured weights (inference, no graph)', () => {
    const before = memory().cpu.numBytes;
    const captured = captureAttention(() => noGrad(() => tidy(() => model(x).sum())));
    const held = memory().cpu.numBytes - before;
    // two layers of [1, 2, 5, 5] float32 weights plus the 4-byte sum
    expect(held).toBe(2 * 50 * 4 + 4);
    captured.dispose();
    captured.result.dispose();
    expect(memory().cpu.numBytes).toBe(before);
  });

  it('costs nothing when off: the fused kernel runs and nothing is kept', () => {
    const { calls } = countFusedCalls(() => model(x));
    expect(calls).toBe(2);
    const captured = countFusedCalls(() => captureAttention(() => model(x)));
    expect(captured.calls).toBe(0);
    expect(captured.result.attentions.length).toBe(2);
    captured.result.dispose();
  });

  it('labels unnamed calls in order, supports async functions and refuses nesting', async () => {
    const q = randn([1, 1, 3, 4]);
    const out = await captureAttention(async () => {
      scaledDotProductAttention(q, q, q);
      await Promise.resolve();
      scaledDotProductAttention(q, q, q, { name: 'mine' });
      return 7;
    });
    expect(out.result).toBe(7);
    expect(out.attentions.map((a) => a.name)).toEqual(['attention.0', 'mine']);
    out.dispose();
    expect(() => captureAttention(() => captureAttention(() => 1))).toThrow(/captures do not nest/);
    expect(isCapturingAttention()).toBe(false);
  });
});
