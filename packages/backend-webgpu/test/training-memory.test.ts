// Memory stays flat over 1,000 training steps on the webgpu backend: memory() reports the same live
// tensors and bytes after the last step as after the first (issue 22), and the loss falls. Then a
// destroyed device: the next op fails with an error naming the loss.
import './setup.js';
import { createWebGPUBackend, initWebGPU } from '@attnkit/backend-webgpu';
import { add, registerBackend, setBackend, tensor } from '@attnkit/tensor-core';
import { checkTrainingMemory } from '@attnkit/tensor-core/testing';
import { describe, expect, it } from 'vitest';

await initWebGPU();
describe('webgpu: 1,000 training steps', () => {
  it('leave memory() flat (numTensors and numBytes) while the loss falls', async () => {
    const r = await checkTrainingMemory('webgpu', 1000);
    expect(r.before.numTensors).toBeGreaterThan(0);
    expect(r.after).toEqual(r.before);
    expect(r.lastLoss).toBeLessThan(r.firstLoss / 2);
  }, 300_000);
});

describe('webgpu: device loss', () => {
  it('surfaces as an error naming the loss on the next tensor op (device destroyed)', async () => {
    const be = await createWebGPUBackend();
    registerBackend('webgpu-lost', () => be);
    setBackend('webgpu-lost');
    const a = tensor([1, 2, 3]);
    expect(Array.from(await add(a, a).data())).toEqual([2, 4, 6]);
    be.device.destroy();
    await be.device.lost;
    expect(() => add(a, a)).toThrow(/backend-webgpu: the GPU device was lost \(destroyed\)/);
    expect(() => tensor([1])).toThrow(/device was lost/);
    setBackend('webgpu');
  });
});
