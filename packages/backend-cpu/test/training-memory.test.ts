// Memory stays flat over 1,000 training steps on the cpu backend: memory() reports the same live
// tensors and bytes after the last step as after the first (issue 22), and the loss falls.
import '@attnkit/backend-cpu';
import { checkTrainingMemory } from '@attnkit/tensor-core/testing';
import { describe, expect, it } from 'vitest';

describe('cpu: 1,000 training steps', () => {
  it('leave memory() flat (numTensors and numBytes) while the loss falls', async () => {
    const r = await checkTrainingMemory('cpu', 1000);
    expect(r.before.numTensors).toBeGreaterThan(0);
    expect(r.after).toEqual(r.before);
    expect(r.lastLoss).toBeLessThan(r.firstLoss / 2);
  }, 300_000);
});
