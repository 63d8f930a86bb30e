import '@attnkit/backend-cpu';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  type Tensor,
  tidy,
} from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { closeTo, fixtureIndex, loadFixture } from './fixtures-loader.js';

// Parity with PyTorch (scripts/reference/tensor_ops.py): forward values and the input gradient of
// sum(output * grad_output), within rtol 1e-4 (atol 1e-5).
const RTOL = 1e-4;
const ATOL = 1e-5;

type Args = Record<string, unknown>;

function run(op: string, xs: Record<string, Tensor>, a: Args): Tensor {
  const reduction = a.reduction as 'mean' | 'sum' | 'none';
  if (op === 'crossEntropy') {
    return crossEntropy(xs.input, xs.target, {
      reduction,
      ignoreIndex: a.ignore_index as number,
      labelSmoothing: a.label_smoothing as number,
    });
  }
  if (op === 'mse') return mseLoss(xs.input, xs.target, { reduction });
  if (op === 'l1') return l1Loss(xs.input, xs.target, { reduction });
  return binaryCrossEntropyWithLogits(xs.input, xs.target, { reduction, posWeight: xs.pos_weight ?? null });
}

const ops = ['crossEntropy', 'mse', 'l1', 'binaryCrossEntropyWithLogits'];
const cases = fixtureIndex().filter((c) => ops.includes(c.op));

describe('loss parity with torch', () => {
  it('has fixtures for every loss', () => {
    expect(new Set(cases.map((c) => c.op))).toEqual(new Set(ops));
  });
  for (const { name, op } of cases) {
    it(name, () => {
      const fx = loadFixture(name);
      tidy(() => {
        const xs: Record<string, Tensor> = {};
        for (const n of fx.meta.inputs as string[]) xs[n] = fx.tensor(n);
        xs.input.requiresGrad = true;
        const y = run(op, xs, fx.meta.args as Args);
        expect(closeTo(y.dataSync(), y.shape, fx.array('output'), RTOL, ATOL)).toBeNull();
        y.backward(fx.tensor('grad_output'));
        const g = xs.input.grad!;
        expect(closeTo(g.dataSync(), g.shape, fx.array('grad_input'), RTOL, ATOL)).toBeNull();
        g.dispose();
      });
    });
  }
});
