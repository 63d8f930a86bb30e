import './reference-backend.js';
import {
  argmax,
  crossEntropy,
  Generator,
  memory,
  mseLoss,
  noGrad,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { Linear, type Module, ReLU, Sequential, Tanh } from '@attnkit/tensor-core/nn';
import { AdamW, clipGradNorm, getCosineScheduleWithWarmup } from '@attnkit/tensor-core/optim';
import { describe, expect, it, vi } from 'vitest';

// Hundreds of optimizer steps on the plain-JavaScript reference backend: seconds, not the default 5.
vi.setConfig({ testTimeout: 120_000 });

/** Full-batch training with AdamW and cross-entropy; returns the final training accuracy. */
function fit(
  model: Module & { forward(x: Tensor): Tensor },
  x: Tensor,
  y: Tensor,
  steps: number,
  lr: number,
) {
  const opt = new AdamW(model.parameters(), { lr, weightDecay: 0.01 });
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      opt.zeroGrad();
      crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
  }
  opt.zeroGrad();
  opt.dispose();
  const pred = tidy(() => noGrad(() => Array.from(argmax(model.forward(x), 1).dataSync())));
  const labels = Array.from(y.dataSync());
  return pred.filter((p, i) => p === labels[i]).length / labels.length;
}

/** sklearn's make_moons: two interleaved half circles plus Gaussian noise, from a seeded Generator. */
function makeMoons(n: number, noise: number, g: Generator): { x: Tensor; y: Tensor } {
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const pts: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < nOut; i++) {
    const t = (Math.PI * i) / (nOut - 1);
    pts.push(Math.cos(t) + noise * g.normal(), Math.sin(t) + noise * g.normal());
    labels.push(0);
  }
  for (let i = 0; i < nIn; i++) {
    const t = (Math.PI * i) / (nIn - 1);
    pts.push(1 - Math.cos(t) + noise * g.normal(), 1 - Math.sin(t) - 0.5 + noise * g.normal());
    labels.push(1);
  }
  return { x: tensor(pts, [n, 2]), y: tensor(labels, [n], 'int32') };
}

describe('training small MLPs with AdamW', () => {
  it('learns XOR to 100% accuracy', () => {
    const g = new Generator(0);
    const model = new Sequential(
      new Linear(2, 8, { generator: g }),
      new Tanh(),
      new Linear(8, 2, { generator: g }),
    );
    const x = tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tensor([0, 1, 1, 0], [4], 'int32');
    const before = tidy(() => noGrad(() => crossEntropy(model.forward(x), y).itemSync()));
    expect(fit(model, x, y, 300, 0.05)).toBe(1);
    const after = tidy(() => noGrad(() => crossEntropy(model.forward(x), y).itemSync()));
    expect(after).toBeLessThan(before / 10);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });

  it('learns two moons (200 points, noise 0.1) to 100% accuracy', () => {
    const g = new Generator(42);
    const { x, y } = makeMoons(200, 0.1, g);
    const model = new Sequential(
      new Linear(2, 32, { generator: g }),
      new ReLU(),
      new Linear(32, 32, { generator: g }),
      new ReLU(),
      new Linear(32, 2, { generator: g }),
    );
    expect(fit(model, x, y, 800, 0.01)).toBe(1);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });
});

describe('memory stays flat over a long training run', () => {
  it('10,000 steps (forward, backward, clipGradNorm, AdamW, cosine schedule) leave numTensors and numBytes unchanged', () => {
    const g = new Generator(1);
    const model = new Sequential(
      new Linear(2, 4, { generator: g }),
      new Tanh(),
      new Linear(4, 1, { generator: g }),
    );
    const x = tensor([
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tensor([[1], [1], [0]]);
    const steps = 10_000;
    const opt = new AdamW(model.parameters(), { lr: 0.01 });
    const sched = getCosineScheduleWithWarmup(opt, 100, steps);
    const step = () => {
      tidy(() => {
        opt.zeroGrad();
        const loss = mseLoss(model.forward(x), y);
        loss.backward();
        clipGradNorm(model.parameters(), 1);
        opt.step();
      });
      sched.step();
    };
    step(); // creates the optimizer state and the gradients
    const before = memory().reference;
    const first = tidy(() => noGrad(() => mseLoss(model.forward(x), y).itemSync()));
    for (let i = 1; i < steps; i++) step();
    const after = memory().reference;
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    const last = tidy(() => noGrad(() => mseLoss(model.forward(x), y).itemSync()));
    expect(last).toBeLessThan(first);
    opt.zeroGrad();
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});
