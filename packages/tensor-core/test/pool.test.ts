import '@attnkit/backend-cpu';
import {
  avgPool2d,
  interpolate,
  maxPool2d,
  maxPool2dWithIndices,
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
const size2 = (v: unknown) => v as number | [number, number];

function run(op: string, x: Tensor, a: Args): Tensor {
  if (op === 'maxPool2d') {
    return maxPool2d(x, size2(a.kernel_size), {
      stride: size2(a.stride),
      padding: size2(a.padding),
      dilation: size2(a.dilation),
      ceilMode: a.ceil_mode as boolean,
    });
  }
  if (op === 'avgPool2d') {
    return avgPool2d(x, size2(a.kernel_size), {
      stride: size2(a.stride),
      padding: size2(a.padding),
      ceilMode: a.ceil_mode as boolean,
      countIncludePad: a.count_include_pad as boolean,
    });
  }
  return interpolate(x, {
    size: (a.size as number[] | undefined) ?? undefined,
    scaleFactor: (a.scale_factor as number | undefined) ?? undefined,
    mode: a.mode as 'nearest' | 'bilinear',
    alignCorners: (a.align_corners as boolean | undefined) ?? undefined,
  });
}

const ops = ['maxPool2d', 'avgPool2d', 'interpolate'];
const cases = fixtureIndex().filter((c) => ops.includes(c.op));

describe('pooling and interpolation parity with torch', () => {
  it('has fixtures for every op', () => {
    expect(new Set(cases.map((c) => c.op))).toEqual(new Set(ops));
  });
  for (const { name, op } of cases) {
    it(name, () => {
      const fx = loadFixture(name);
      tidy(() => {
        const x = fx.tensor('input');
        x.requiresGrad = true;
        const y = run(op, x, fx.meta.args as Args);
        expect(closeTo(y.dataSync(), y.shape, fx.array('output'), RTOL, ATOL)).toBeNull();
        y.backward(fx.tensor('grad_output'));
        expect(closeTo(x.grad!.dataSync(), x.shape, fx.array('grad_input'), RTOL, ATOL)).toBeNull();
        x.grad!.dispose();
      });
    });
  }
});
