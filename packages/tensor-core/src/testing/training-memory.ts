import { noGrad } from '../autograd.js';
import { tensor } from '../creation.js';
import { memory, tidy } from '../memory.js';
import { Sequential } from '../nn/container.js';
import { Tanh } from '../nn/layers.js';
import { Linear } from '../nn/linear.js';
import { mseLoss } from '../ops/loss.js';
import { AdamW } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { Generator } from '../random.js';
import { setBackend } from '../registry.js';

/** What {@link checkTrainingMemory} measured. */
export interface TrainingMemoryReport {
  /** Live tensors and bytes on the backend after the first step (optimizer state created). */
  before: { numTensors: number; numBytes: number };
  /** The same after the last step. */
  after: { numTensors: number; numBytes: number };
  /** Loss before and after the steps (it must fall: the loop really trains). */
  firstLoss: number;
  lastLoss: number;
}

/**
 * Trains a small MLP (2 -> 8 -> 1, tanh, AdamW, gradient clipping) for `steps` steps on `backend`
 * and reports `memory()` for that backend after the first and the last step: a backend (and the
 * autograd and optimizer code above it) holds memory flat when both are equal.
 *
 * @example
 * ```ts
 * const r = await checkTrainingMemory('cpu', 20);
 * r.after.numTensors === r.before.numTensors; // => true
 * ```
 */
export async function checkTrainingMemory(backend: string, steps = 1000): Promise<TrainingMemoryReport> {
  setBackend(backend);
  const g = new Generator(1);
  const model = new Sequential(
    new Linear(2, 8, { generator: g }),
    new Tanh(),
    new Linear(8, 1, { generator: g }),
  );
  const x = tensor([
    [0, 1],
    [1, 0],
    [1, 1],
    [0, 0],
  ]);
  const y = tensor([[1], [1], [0], [0]]);
  const opt = new AdamW(model.parameters(), { lr: 0.02 });
  const lossNow = async () => {
    const l = tidy(() => noGrad(() => mseLoss(model.forward(x), y)));
    const v = (await l.data())[0];
    l.dispose();
    return v;
  };
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      const loss = mseLoss(model.forward(x), y);
      loss.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
    });
  try {
    const firstLoss = await lossNow();
    step(); // creates the gradients and the optimizer state
    const snap = () => {
      const m = memory()[backend] ?? { numTensors: 0, numBytes: 0 };
      return { numTensors: m.numTensors, numBytes: m.numBytes };
    };
    const before = snap();
    for (let i = 1; i < steps; i++) {
      step();
      // GPU backends queue work: read a value now and then so the queue cannot grow without bound.
      if (i % 100 === 0) await lossNow();
    }
    const after = snap();
    const lastLoss = await lossNow();
    return { before, after, firstLoss, lastLoss };
  } finally {
    opt.zeroGrad();
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  }
}
