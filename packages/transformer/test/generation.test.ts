// @attnkit/sampling drives the causal LMs: generating with the KV cache gives the same tokens and
// scores as without it, beam search reorders the cache, and memory is flat across generations.
import '@attnkit/backend-cpu';
import { join } from 'node:path';
import { generate, stream } from '@attnkit/sampling';
import { memory } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { GPT2LMHeadModel, type LlamaForCausalLM, loadPretrained } from '../src/index.js';
import { closeness, FIXTURES, loadFixture } from './helpers.js';

type LM = GPT2LMHeadModel | LlamaForCausalLM;

describe('generation with @attnkit/sampling', () => {
  for (const name of ['gpt2-tiny', 'gpt2-untied-f16', 'llama-gqa-batch', 'llama-bf16-padded']) {
    it(`${name}: with the KV cache equals without (greedy, sampling, padded batch)`, async () => {
      const model = (await loadPretrained(loadFixture(name).dir)) as LM;
      const prompts = [
        [1, 2, 3, 4, 5],
        [7, 8],
      ]; // the second is left-padded
      for (const config of [
        { maxNewTokens: 12, outputScores: true },
        { maxNewTokens: 10, doSample: true, temperature: 1.3, topK: 20, seed: 7, outputScores: true },
      ]) {
        const cached = await generate(model, prompts, { ...config, useCache: true });
        const plain = await generate(model, prompts, { ...config, useCache: false });
        expect(cached.sequences).toEqual(plain.sequences);
        expect(cached.sequences[0].length).toBe(5 + config.maxNewTokens);
        const a = cached.scores?.flat() ?? [];
        const b = plain.scores?.flat() ?? [];
        expect(a.length).toBe(b.length);
        a.forEach((s, i) => {
          const finite = (j: number) => Number.isFinite(b[i][j]);
          expect(closeness(s, b[i], finite).ratio).toBeLessThanOrEqual(1);
        });
      }
      model.dispose();
    });
  }

  it('beam search reorders the cache and matches the uncached search', async () => {
    const model = (await loadPretrained(loadFixture('llama-gqa-batch').dir)) as LM;
    const config = { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2 };
    const cached = await generate(model, [[3, 1, 4, 1, 5]], config);
    const plain = await generate(
      { forward: (x) => model.forward({ ...x, pastKeyValues: undefined, useCache: false }) },
      [[3, 1, 4, 1, 5]],
      config,
    );
    expect(cached.sequences).toEqual(plain.sequences);
    expect(cached.sequences).toHaveLength(2);
    model.dispose();
  });

  it('speculative decoding over both KV caches (cropped each round) equals greedy decoding of the target', async () => {
    const target = (await loadPretrained(join(FIXTURES, 'gen-gpt2-padded'))) as LM;
    const draft = (await loadPretrained(loadFixture('gpt2-tiny').dir)) as LM; // same vocabulary (64)
    const prompt = [[5, 17, 42, 8]];
    const plain = await generate(target, prompt, { maxNewTokens: 20, useCache: false });
    const before = memory().cpu.numTensors;
    for (const [assistantModel, gamma] of [
      [draft, 3],
      [target, 4],
    ] as const) {
      const out = await generate(target, prompt, {
        maxNewTokens: 20,
        assistantModel,
        numAssistantTokens: gamma,
      });
      expect(out.sequences).toEqual(plain.sequences);
      if (assistantModel === target) expect(out.acceptanceRate).toBe(1);
      expect(memory().cpu.numTensors).toBe(before);
    }
    target.dispose();
    draft.dispose();
  });

  it('beam search keeps memory flat (the reordered cache replaces the old one)', async () => {
    const model = (await loadPretrained(loadFixture('gpt2-tiny').dir)) as LM;
    const config = { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2 };
    await generate(model, [[1, 2, 3]], config);
    const before = memory().cpu;
    for (let i = 0; i < 5; i++) await generate(model, [[1, 2, 3], [4]], config);
    expect(memory().cpu.numTensors).toBe(before.numTensors);
    expect(memory().cpu.numBytes).toBe(before.numBytes);
    model.dispose();
  });

  it('keeps memory flat over 1,000 generated tokens (tensors during the run, bytes after it)', async () => {
    const model = new GPT2LMHeadModel({
      vocabSize: 64,
      nPositions: 1024,
      nEmbd: 16,
      nHead: 2,
      nLayer: 2,
    }).eval();
    const before = memory().cpu;
    const counts: number[] = [];
    let n = 0;
    for await (const _ of stream(model, [[1, 2, 3]], { maxNewTokens: 1000, doSample: true, seed: 1 })) {
      if (++n % 100 === 0) counts.push(memory().cpu.numTensors);
    }
    expect(n).toBe(1000);
    // the KV cache holds the same tensors all along (its buffers grow by doubling, in place of the old)
    expect(new Set(counts).size).toBe(1);
    expect(memory().cpu.numTensors).toBe(before.numTensors);
    expect(memory().cpu.numBytes).toBe(before.numBytes);
    model.dispose();
  }, 30000);

  it('keeps memory flat over repeated generations and streams', async () => {
    const model = (await loadPretrained(loadFixture('gpt2-tiny').dir)) as LM;
    await generate(model, [[1, 2, 3]], { maxNewTokens: 5 });
    const before = memory().cpu.numTensors;
    const bytes = memory().cpu.numBytes;
    for (let i = 0; i < 3; i++) {
      await generate(model, [[1, 2, 3], [4]], { maxNewTokens: 20, doSample: true, seed: i });
      let n = 0;
      for await (const chunk of stream(model, [[5, 6]], { maxNewTokens: 10 })) n += chunk.tokenIds.length;
      expect(n).toBe(10);
      expect(memory().cpu.numTensors).toBe(before);
      expect(memory().cpu.numBytes).toBe(bytes);
    }
    model.dispose();
  });
});
