import './reference-backend.js';
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

describe('pooling and interpolation corners (hand-derived)', () => {
  it('maxPool2dWithIndices returns torch-style flat indices', () => {
    tidy(() => {
      const x = tensor([
        [
          [
            [1, 5, 2, 0],
            [3, 4, 8, 1],
            [0, 9, 1, 1],
            [2, 2, 7, 6],
          ],
        ],
      ]);
      const [v, idx] = maxPool2dWithIndices(x, 2);
      expect(Array.from(v.dataSync())).toEqual([5, 8, 9, 7]);
      expect(idx.dtype).toBe('int32');
      expect(Array.from(idx.dataSync())).toEqual([1, 6, 9, 14]);
    });
  });

  it('max pooling sends the gradient of a tie to the first maximum, as torch', () => {
    tidy(() => {
      const x = tensor([
        [
          [
            [2, 2],
            [2, 2],
          ],
        ],
      ]);
      x.requiresGrad = true;
      maxPool2d(x, 2).sum().backward();
      expect(Array.from(x.grad!.dataSync())).toEqual([1, 0, 0, 0]);
      x.grad!.dispose();
    });
  });

  it('overlapping max windows accumulate the gradient', () => {
    tidy(() => {
      const x = tensor([
        [
          [
            [0, 0, 0],
            [0, 9, 0],
            [0, 0, 0],
          ],
        ],
      ]);
      x.requiresGrad = true;
      maxPool2d(x, 2, { stride: 1 }).sum().backward();
      expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 0, 0, 4, 0, 0, 0, 0]);
      x.grad!.dispose();
    });
  });

  it('linear interpolation of a 3-D input and nearest-exact', () => {
    tidy(() => {
      const x = tensor([[[0, 4]]]);
      // half-pixel sources: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the end)
      expect(Array.from(interpolate(x, { size: 4, mode: 'linear' }).dataSync())).toEqual([0, 1, 3, 4]);
      const y = tensor([[[1, 2, 3]]]);
      // nearest-exact: floor((o + 0.5) * 3/2) -> 0, 2 ; nearest: floor(o * 1.5) -> 0, 1
      expect(Array.from(interpolate(y, { size: 2, mode: 'nearest-exact' }).dataSync())).toEqual([1, 3]);
      expect(Array.from(interpolate(y, { size: 2 }).dataSync())).toEqual([1, 2]);
    });
  });

  it('names the problem in bad arguments', () => {
    tidy(() => {
      const x = tensor([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow(
        /maxPool2d: padding \[2,2\] must be at most half the kernel size/,
      );
      expect(() => avgPool2d(x, 3)).toThrow(
        /avgPool2d: input size 2 \(padding 0\) is too small for a window of 3/,
      );
      expect(() => interpolate(x, { size: 4, scaleFactor: 2 })).toThrow(
        /interpolate: give exactly one of size and scaleFactor/,
      );
      expect(() => interpolate(x, { size: 4, alignCorners: true })).toThrow(
        /alignCorners is only for the linear modes/,
      );
      expect(() => interpolate(x, { size: 4, mode: 'linear' })).toThrow(
        /interpolate: mode 'linear' needs a 3-D input, got \[1,1,2,2\]/,
      );
      expect(() => maxPool2d(tensor([1, 2]), 1)).toThrow(/maxPool2d: expected input of shape \[N, C, H, W\]/);
    });
  });
});
