// The decode loop holds memory flat: 1,000 greedy tokens with the KV cache on the CPU backend
// (fused linear epilogue, heap storages, worker threads) leave the live tensor count unchanged
// after every step, and once the cache has reached its final capacity, the live bytes and the
// backend's overhead (heap free lists, kernel workspaces) do not move either; with float32 weights
// and with int8 weights (quantize).
import '@attnkit/backend-cpu';
import { findBackend, memory, tensor, tidy } from '@attnkit/tensor-core';
import { quantize } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { GPT2LMHeadModel } from '../src/index.js';

function decodeThousand(int8: boolean): void {
  const cpu = findBackend('cpu');
  if (!cpu) throw new Error('cpu backend missing');
  const f32 = new GPT2LMHeadModel({
    nLayer: 2,
    nEmbd: 64,
    nHead: 4,
    vocabSize: 300,
    nPositions: 1100,
  }).eval();
  const model = int8 ? quantize(f32, { dtype: 'int8' }) : f32;
  {
    const first = model.forward({ inputIds: tensor([[1, 2, 3, 4, 5, 6, 7, 8]], undefined, 'int32') });
    const past = first.pastKeyValues;
    let logits = first.logits;
    const report = () => memory([cpu]).cpu;
    let baseTensors = -1;
    let atCapacity: { numBytes: number; overheadBytes: number } | null = null;
    for (let step = 0; step < 1000; step++) {
      const row = tidy(() => logits.sliceDim(1, -1).reshape([-1]).dataSync());
      let tok = 0;
      for (let i = 1; i < row.length; i++) if (row[i] > row[tok]) tok = i;
      logits.dispose();
      const ids = tensor([[tok]], undefined, 'int32');
      logits = model.forward({ inputIds: ids, pastKeyValues: past }).logits;
      ids.dispose();
      const now = report();
      if (baseTensors < 0) baseTensors = now.numTensors;
      expect(now.numTensors).toBe(baseTensors);
      // 8 + 1000 positions fit the capacity the cache doubles to after position 512
      if (step === 600) atCapacity = { numBytes: now.numBytes, overheadBytes: now.overheadBytes };
      if (step > 600 && atCapacity) {
        expect(now.numBytes).toBe(atCapacity.numBytes);
        expect(now.overheadBytes).toBe(atCapacity.overheadBytes);
      }
    }
    expect(past?.length).toBe(1008);
    logits.dispose();
    past?.dispose();
    model.dispose();
  }
}

describe('decode memory', () => {
  it('1,000 generated tokens: tensors flat every step, bytes and overhead flat at a fixed cache capacity', () => {
    decodeThousand(false);
  }, 300_000);

  it('the same with int8 weights (quantize: linearInt8 on gemv_q8, the tied head int8 too)', () => {
    decodeThousand(true);
  }, 300_000);
});
