// train(): gradient accumulation equals one larger batch, the learning rate follows linear warmup
// then cosine (formula by hand), checkpoints and progress are reported, arguments are checked.
import '@attnkit/backend-cpu';
import { manualSeed, mseLoss, type Tensor, tensor } from '@attnkit/tensor-core';
import { Linear, type Module } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { exampleBatches, lmBatches, train } from '../src/index.js';

interface XY {
  x: Tensor;
  y: Tensor;
}
const rows = Array.from({ length: 8 }, (_, i) => [i / 8, (i % 3) / 3, 1 - i / 8]);
const target = rows.map((r) => [r[0] * 2 - r[1], r[2] + 0.5]);
const collate = (idx: number[]): XY => ({
  x: tensor(idx.map((i) => rows[i])),
  y: tensor(idx.map((i) => target[i])),
});
const loss = (m: Module, b: XY) => mseLoss((m as Linear).forward(b.x), b.y);

function freshModel(): Linear {
  manualSeed(11);
  return new Linear(3, 2);
}

describe('train', () => {
  it('accumulating 2 micro-batches of 4 equals one batch of 8', async () => {
    const a = freshModel();
    await train(a, {
      batches: () => collate([0, 1, 2, 3, 4, 5, 6, 7]),
      loss: loss as never,
      maxSteps: 1,
      lr: 0.1,
      maxGradNorm: null,
    });
    const b = freshModel();
    await train(b, {
      batches: (s) => collate(s % 2 === 0 ? [0, 1, 2, 3] : [4, 5, 6, 7]),
      loss: loss as never,
      maxSteps: 1,
      gradientAccumulationSteps: 2,
      lr: 0.1,
      maxGradNorm: null,
    });
    const wa = Array.from(a.weight.dataSync());
    const wb = Array.from(b.weight.dataSync());
    for (const [i, v] of wa.entries()) expect(wb[i]).toBeCloseTo(v, 6);
    // and the step moved the weights
    const c = freshModel();
    expect(Array.from(c.weight.dataSync())).not.toEqual(wa);
  });

  it('warms up linearly, decays by cosine, reports progress, checkpoints and draws a bar', async () => {
    const model = freshModel();
    const lrs: number[] = [];
    const saved: number[] = [];
    const lines: string[] = [];
    const result = await train(model, {
      batches: exampleBatches([0, 1, 2, 3, 4, 5, 6, 7], 4, collate, { seed: 1 }),
      loss: loss as never,
      maxSteps: 10,
      lr: 0.01,
      warmupSteps: 4,
      evalBatches: [collate([0, 1, 2, 3, 4, 5, 6, 7])],
      evalEvery: 5,
      checkpointEvery: 4,
      saveCheckpoint: (_m, step) => {
        saved.push(step);
      },
      onProgress: (p) => {
        lrs.push(p.lr);
      },
      progressBar: { write: (s: string) => lines.push(s) },
    });
    const want = Array.from({ length: 10 }, (_, s) =>
      s < 4 ? (0.01 * s) / 4 : 0.01 * 0.5 * (1 + Math.cos((Math.PI * (s - 4)) / 6)),
    );
    for (const [i, v] of lrs.entries()) expect(v).toBeCloseTo(want[i], 10);
    expect(saved).toEqual([4, 8, 10]);
    expect(result.evalLosses.map(([s]) => s)).toEqual([5, 10]);
    expect(result.losses).toHaveLength(10);
    expect(lines).toHaveLength(10);
    expect(lines[9]).toMatch(/^\[#{30}\] 10\/10 {2}loss \d\.\d{4} {2}eval \d\.\d{4}/);
    expect(model.training).toBe(false);
  });

  it('checks its arguments and the loss', async () => {
    const model = freshModel();
    await expect(
      train(model, { batches: () => collate([0]), loss: loss as never, maxSteps: 0 }),
    ).rejects.toThrow(/maxSteps must be a positive integer/);
    await expect(
      train({} as never, { batches: () => 0, loss: () => tensor([1]), maxSteps: 1 }),
    ).rejects.toThrow(/'model' must be a Module/);
    await expect(
      train(model, { batches: () => collate([0]), loss: () => tensor([1, 2]), maxSteps: 1 }),
    ).rejects.toThrow(/must return a scalar tensor/);
    expect(() => lmBatches([1, 2], { batchSize: 1, blockSize: 4 })).toThrow(/need more than blockSize/);
  });

  it('stops at a non-finite loss before the optimizer steps, leaving the parameters as they were', async () => {
    const model = freshModel();
    const before = Array.from(model.weight.dataSync());
    const nanLoss = (m: Module, b: XY) => mseLoss((m as Linear).forward(b.x), b.y).mul(Number.NaN);
    await expect(
      train(model, { batches: () => collate([0, 1]), loss: nanLoss as never, maxSteps: 3 }),
    ).rejects.toThrow(/the loss is NaN at step 1/);
    expect(Array.from(model.weight.dataSync())).toEqual(before);
    expect(model.weight.grad).toBeNull();
  });
});
