import './reference-backend.js';
import {
  conv1d,
  conv2d,
  convTranspose2d,
  memory,
  randn,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { closeTo, fixtureIndex, loadFixture } from './fixtures-loader.js';

// Parity with PyTorch (scripts/reference/tensor_ops.py): forward values and the gradients of
// sum(output * grad_output) w.r.t. every differentiable input, within rtol 1e-4 (atol 1e-5).
const RTOL = 1e-4;
const ATOL = 1e-5;

type Args = Record<string, unknown>;
const size2 = (v: unknown) => v as number | [number, number];

function run(op: string, xs: Record<string, Tensor>, a: Args): Tensor {
  const bias = xs.bias ?? null;
  if (op === 'conv2d') {
    return conv2d(xs.input, xs.weight, bias, {
      stride: size2(a.stride),
      padding: a.padding as never,
      dilation: size2(a.dilation),
      groups: a.groups as number,
    });
  }
  if (op === 'conv1d') {
    return conv1d(xs.input, xs.weight, bias, {
      stride: a.stride as number,
      padding: a.padding as never,
      dilation: a.dilation as number,
      groups: a.groups as number,
    });
  }
  return convTranspose2d(xs.input, xs.weight, bias, {
    stride: size2(a.stride),
    padding: size2(a.padding),
    outputPadding: size2(a.output_padding),
    dilation: size2(a.dilation),
    groups: a.groups as number,
  });
}

const cases = fixtureIndex().filter((c) => ['conv2d', 'conv1d', 'convTranspose2d'].includes(c.op));

describe('conv parity with torch', () => {
  it('has fixtures for every conv op', () => {
    expect(new Set(cases.map((c) => c.op))).toEqual(new Set(['conv2d', 'conv1d', 'convTranspose2d']));
  });
  for (const { name, op } of cases) {
    it(name, () => {
      const fx = loadFixture(name);
      tidy(() => {
        const names = fx.meta.inputs as string[];
        const diff = fx.meta.differentiable as string[];
        const xs: Record<string, Tensor> = {};
        for (const n of names) {
          xs[n] = fx.tensor(n);
          if (diff.includes(n)) xs[n].requiresGrad = true;
        }
        const y = run(op, xs, fx.meta.args as Args);
        expect(closeTo(y.dataSync(), y.shape, fx.array('output'), RTOL, ATOL)).toBeNull();
        y.backward(fx.tensor('grad_output'));
        for (const n of diff) {
          const g = xs[n].grad;
          expect(g, `grad of ${n}`).not.toBeNull();
          expect(closeTo(g!.dataSync(), g!.shape, fx.array(`grad_${n}`), RTOL, ATOL), `grad_${n}`).toBeNull();
          g!.dispose();
        }
      });
    });
  }
});

describe('conv validation and corners', () => {
  it('names the op, the argument and the shapes in errors', () => {
    tidy(() => {
      const x = randn([1, 3, 5, 5]);
      expect(() => conv2d(x, randn([2, 2, 3, 3]))).toThrow(
        /conv2d: input has 3 channels but weight \[2,2,3,3\] with groups=1 expects 2/,
      );
      expect(() => conv2d(x, randn([2, 3, 3, 3]), null, { padding: 'same', stride: 2 })).toThrow(
        /conv2d: padding='same' is only supported with stride 1/,
      );
      expect(() => conv2d(x, randn([2, 3, 7, 7]))).toThrow(
        /conv2d: input \[1,3,5,5\] .* is smaller than the dilated kernel 7x7/,
      );
      expect(() => conv2d(x, randn([2, 3, 3, 3]), randn([3]))).toThrow(
        /conv2d: expected bias of shape \[2\] \(one per output channel\), got \[3\]/,
      );
      expect(() => conv2d(randn([3, 5]), randn([2, 3, 3, 3]))).toThrow(
        /conv2d: expected input of shape \[N, C, H, W\]/,
      );
      expect(() => conv2d(x, randn([2, 3, 3, 3]), null, { stride: 0 })).toThrow(
        /conv2d: stride must be an integer >= 1/,
      );
      expect(() => convTranspose2d(x, randn([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(
        /convTranspose2d: outputPadding 2 must be smaller than either stride/,
      );
      expect(() => conv1d(randn([1, 2, 4]), randn([2, 2, 3]), null, { padding: -1 })).toThrow(
        /conv1d: padding must be an integer >= 0, got -1/,
      );
    });
  });

  it('accepts unbatched [C, H, W] input like torch', () => {
    tidy(() => {
      const x = randn([2, 4, 5]);
      const w = randn([3, 2, 3, 3]);
      const y = conv2d(x, w, null, { padding: 1 });
      expect(y.shape).toEqual([3, 4, 5]);
      expect(Array.from(y.dataSync())).toEqual(
        Array.from(conv2d(x.unsqueeze(0), w, null, { padding: 1 }).dataSync()),
      );
    });
  });

  it('a 1x1 kernel on one channel is a scale (hand-derived)', () => {
    tidy(() => {
      const y = conv2d(
        tensor([
          [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        ]),
        tensor([[[[2]]]]),
        tensor([1]),
      );
      expect(Array.from(y.dataSync())).toEqual([3, 5, 7, 9]);
      // convTranspose2d with stride 2 spreads the input out: [[a, 0], [0, 0]] per pixel for a 1x1 kernel.
      const up = convTranspose2d(tensor([[[[1, 2]]]]), tensor([[[[3]]]]), null, {
        stride: 2,
        outputPadding: 1,
      });
      expect(up.shape).toEqual([1, 1, 2, 4]);
      expect(Array.from(up.dataSync())).toEqual([3, 0, 6, 0, 0, 0, 0, 0]);
    });
  });

  it('forward and backward inside tidy leave no tensors behind', () => {
    const w = randn([4, 2, 3, 3]);
    w.requiresGrad = true;
    const before = memory().reference.numTensors;
    tidy(() => {
      const x = randn([2, 2, 8, 8]);
      x.requiresGrad = true;
      const y = convTranspose2d(conv2d(x, w, null, { stride: 2, padding: 1 }), w, null, { stride: 2 });
      y.sum().backward();
      x.grad?.dispose(); // leaf gradients outlive tidy by design
    });
    expect(memory().reference.numTensors).toBe(before + 1); // w.grad
    w.grad?.dispose();
    w.dispose();
  });
});
