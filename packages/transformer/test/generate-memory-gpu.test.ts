// Generation holds memory flat on the GPU backends too (issue 22): a tiny GPT-2 generates 1,000
// tokens with its KV cache on webgpu (SwiftShader in Node) and on gpujs, and memory() reports the
// same live tensors after every decode step (read by a logits processor, which runs once a step)
// and the same tensors and bytes after generate() returns as before it was called.
import '@attnkit/backend-cpu';
import { existsSync } from 'node:fs';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { generate } from '@attnkit/sampling';
import { type Backend, manualSeed, memory, setBackend } from '@attnkit/tensor-core';
import { GPT2LMHeadModel } from '@attnkit/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['webgpu', () => initWebGPU({ priority: -1 })],
  ['gpujs', () => initGpuJs({ priority: -1 })],
];

afterAll(() => setBackend('cpu'));

describe.each(backends)('generate on %s: 1,000 tokens', (name, init) => {
  it('leave memory() flat every step and after the call', async () => {
    const backend = await init();
    manualSeed(0);
    setBackend('cpu');
    const model = new GPT2LMHeadModel({ nLayer: 1, nEmbd: 16, nHead: 2, vocabSize: 40, nPositions: 1024 });
    model.eval();
    await model.to(backend);
    setBackend(name);
    const read = () => memory([backend])[name];
    const before = read();
    const perStep: number[] = [];
    const probe = {
      name: 'probe',
      process: () => {
        perStep.push(read().numTensors);
      },
    };
    const { sequences } = await generate(model, [[1, 2, 3]], {
      maxNewTokens: 1000,
      minNewTokens: 1000,
      logitsProcessors: [probe],
    });
    expect(sequences[0].length).toBe(1003);
    expect(perStep.length).toBe(1000);
    // the cache grows by doubling its buffers, so the count of live tensors is the same every step
    // after the first (which allocates the caches); a leak of one tensor a step would show here
    const afterFirst = perStep.slice(1);
    expect(Math.max(...afterFirst)).toBe(Math.min(...afterFirst));
    const after = read();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    setBackend('cpu');
  }, 600_000);
});
