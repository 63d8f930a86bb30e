import './reference-backend.js';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  type Tensor,
  tensor,
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

describe('loss corners', () => {
  it('unbatched [C] logits with a scalar target', () => {
    tidy(() => {
      const y = crossEntropy(tensor([1, 2, 3]), tensor(2, [], 'int32'));
      const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
      expect(y.shape).toEqual([]);
      expect(y.itemSync()).toBeCloseTo(lse - 3, 6);
    });
  });

  it('mean over all-ignored targets is NaN (0/0), as torch', () => {
    tidy(() => {
      expect(crossEntropy(tensor([[1, 2]]), tensor([-100], [1], 'int32')).itemSync()).toBeNaN();
    });
  });

  it('names the problem in bad arguments', () => {
    tidy(() => {
      const x = tensor([
        [1, 2, 3],
        [0, 0, 0],
      ]);
      expect(() => crossEntropy(x, tensor([0, 3], [2], 'int32'))).toThrow(
        /crossEntropy: target value 3 \(at flat position 1\) is out of range for 3 classes/,
      );
      expect(() => crossEntropy(x, tensor([0, 1, 2], [3], 'int32'))).toThrow(
        /crossEntropy: target \[3\] does not match input \[2,3\]; class indices need shape \[2\]/,
      );
      expect(() => crossEntropy(x, tensor([0, 1], [2], 'int32'), { reduction: 'avg' as never })).toThrow(
        /crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/,
      );
      expect(() => crossEntropy(x, tensor([0, 1], [2], 'int32'), { weight: tensor([1, 2]) })).toThrow(
        /crossEntropy: weight must have shape \[3\]/,
      );
      expect(() => mseLoss(x, tensor([1, 2, 3]))).toThrow(
        /mseLoss: input \[2,3\] and target \[3\] must have the same shape/,
      );
    });
  });
});
