// RoPE on backend-webgpu with a positions tensor on the device: the cos/sin tables are built there
// (float32 positions × inverse frequencies, as transformers does) and must equal the host path
// (float64 tables, rounded) on the CPU backend within 1e-5 relative (1e-6 absolute floor).
import { existsSync } from 'node:fs';
import '@attnkit/backend-cpu';
import { Generator, randn, setBackend, type Tensor, tensor } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { RotaryEmbedding } from '../src/index.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
});

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('RotaryEmbedding.apply with positions on webgpu', () => {
  for (const layout of ['rotate_half', 'interleaved'] as const) {
    for (const [rotaryDim, positionsShape] of [
      [16, [2, 5]],
      [8, [5]],
    ] as const) {
      it(`${layout}, rotaryDim ${rotaryDim} of 16, positions ${JSON.stringify(positionsShape)}`, async () => {
        const g = new Generator(4);
        const rope = new RotaryEmbedding({ rotaryDim, layout });
        setBackend('cpu');
        const xCpu = randn([2, 3, 5, 16], { generator: g });
        const posValues = [1, 1, 0, 1, 2, 0, 1, 2, 3, 40].slice(
          0,
          positionsShape.reduce((a, b) => a * b, 1),
        );
        const want = rope.apply(xCpu, { positions: tensor(posValues, [...positionsShape], 'int32') });
        setBackend('webgpu');
        const x = await xCpu.to('webgpu');
        const pos = tensor(posValues, [...positionsShape], 'int32');
        expect(pos.backend.name).toBe('webgpu');
        const got = rope.apply(x, { positions: pos });
        expect(got.backend.name).toBe('webgpu');
        expect(got.shape).toEqual(want.shape);
        const a = await values(got);
        const b = await values(want);
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(a[i] - b[i]), `element ${i}`).toBeLessThanOrEqual(1e-5 * Math.abs(b[i]) + 1e-6);
        }
        setBackend('cpu');
      });
    }
  }
});
