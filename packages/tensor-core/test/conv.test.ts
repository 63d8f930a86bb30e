import '@attnkit/backend-cpu';
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
