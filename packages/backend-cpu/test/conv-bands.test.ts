// backend-cpu's conv2d on an image whose receptive fields exceed the im2col buffer (64 channels x
// 3x3 x 128 columns), so the kernel splits the output rows into bands: checked against a float64 loop
// at chosen output positions. (Moved from tensor-core's tests, which run on no backend package.)
import '@attnkit/backend-cpu';
import { conv2d, randn, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';

describe('conv2d on large images', () => {
  it('matches a float64 loop when the CPU kernel works in bands of output rows', () => {
    tidy(() => {
      const [c, h, wd, o] = [64, 128, 128, 4];
      const x = randn([1, c, h, wd]);
      const w = randn([o, c, 3, 3]);
      const y = conv2d(x, w, null, { padding: 1 }).dataSync();
      const X = x.dataSync();
      const W = w.dataSync();
      let worst = 0;
      for (const [f, i, j] of [
        [0, 0, 0],
        [1, 63, 17],
        [2, 64, 127],
        [3, 127, 64],
        [3, 100, 5],
      ]) {
        let s = 0;
        for (let q = 0; q < c; q++)
          for (let a = 0; a < 3; a++)
            for (let e = 0; e < 3; e++) {
              const r = i - 1 + a;
              const col = j - 1 + e;
              if (r >= 0 && r < h && col >= 0 && col < wd)
                s += X[(q * h + r) * wd + col] * W[((f * c + q) * 3 + a) * 3 + e];
            }
        worst = Math.max(worst, Math.abs(y[(f * h + i) * wd + j] - s) / (1 + Math.abs(s)));
      }
      expect(worst).toBeLessThan(1e-4);
    });
  });
});
