// T5, BART and Whisper on backend-webgpu: the transformers 5.18 fixtures of t5.test.ts and bart.test.ts
// (scripts/seq2seq_refs.py), loaded onto webgpu, give logits and encoder states within 1e-3
// relative (1e-4 absolute floor), the GPU tolerance; greedy and beam generate() give
// transformers' sequences. Without a GPU, Dawn runs on SwiftShader (as webgpu-parity.test.ts).
import { existsSync } from 'node:fs';
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { setBackend, type Tensor } from '@attnkit/tensor-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BartForConditionalGeneration,
  type BartModel,
  loadPretrained,
  type T5EncoderModel,
  T5ForConditionalGeneration,
  type WhisperForConditionalGeneration,
} from '../src/index.js';
import { closeness, type Fixture, loadFixture } from './helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

// Shader compilation on a software adapter is slow on a busy machine.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

beforeAll(async () => {
  const { initWebGPU } = await import('@attnkit/backend-webgpu');
  await initWebGPU();
  setBackend('webgpu');
});

async function expectClose(fx: Fixture, key: string, got: Tensor): Promise<void> {
  expect(got.backend.name).toBe('webgpu');
  const want = fx.array(key);
  expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  const c = closeness((await got.data()) as Float32Array, want.data, () => true, 1e-3, 1e-4);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${fx.name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

function rows(fx: Fixture, key: string): number[][] {
  const a = fx.array(key);
  const [b, l] = a.shape;
  return Array.from({ length: b }, (_, i) => Array.from(a.data.subarray(i * l, (i + 1) * l)));
}

describe('T5 and BART on webgpu equal transformers 5.18 (1e-3 relative)', () => {
  for (const name of ['seq2seq-t5-relu', 'seq2seq-t5-gated-untied', 'seq2seq-bart']) {
    it(`${name}: logits, encoder output, greedy and beam generate()`, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      const lm = model as T5ForConditionalGeneration | BartForConditionalGeneration;
      expect(lm).toBeInstanceOf(
        name.includes('t5') ? T5ForConditionalGeneration : BartForConditionalGeneration,
      );
      const out = lm.forward({
        inputIds: fx.tensor('input_ids'),
        attentionMask: fx.tensor('attention_mask'),
        decoderInputIds: fx.tensor('decoder_input_ids'),
        useCache: false,
      });
      await expectClose(fx, 'logits', out.logits);
      await expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
      const maxNewTokens = fx.meta.max_new_tokens as number;
      const batch = await generate(lm, fx.tensor('input_ids'), { maxNewTokens }, fx.tensor('attention_mask'));
      expect(batch.sequences).toEqual(rows(fx, 'greedy_batch'));
      const beams = await generate(
        lm,
        fx.tensor('input_ids'),
        { maxNewTokens, numBeams: 3 },
        fx.tensor('attention_mask'),
      );
      expect(beams.sequences).toEqual(rows(fx, 'beam_batch'));
      model.dispose();
    });
  }

  it('seq2seq-whisper: logits, encoder output and generate() from the decoder prompt', async () => {
    const fx = loadFixture('seq2seq-whisper');
    const model = (await loadPretrained(fx.dir)) as WhisperForConditionalGeneration;
    const out = model.forward({
      inputFeatures: fx.tensor('input_features'),
      decoderInputIds: fx.tensor('decoder_input_ids'),
      useCache: false,
    });
    await expectClose(fx, 'logits', out.logits);
    await expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
    const opts = {
      maxNewTokens: fx.meta.max_new_tokens as number,
      decoderPromptIds: fx.meta.decoder_prompt as number[],
    };
    expect((await generate(model, fx.tensor('input_features'), opts)).sequences).toEqual(
      rows(fx, 'greedy_batch'),
    );
    model.dispose();
  });

  it('T5EncoderModel and BartModel hidden states', async () => {
    const enc = loadFixture('seq2seq-t5-encoder');
    const t5 = (await loadPretrained(enc.dir)) as T5EncoderModel;
    await expectClose(
      enc,
      'last_hidden_state',
      t5.forward({ inputIds: enc.tensor('input_ids'), attentionMask: enc.tensor('attention_mask') })
        .lastHiddenState,
    );
    t5.dispose();
    const fx = loadFixture('seq2seq-bart-model');
    const bart = (await loadPretrained(fx.dir)) as BartModel;
    const out = bart.forward({
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
      decoderInputIds: fx.tensor('decoder_input_ids'),
      useCache: false,
    });
    await expectClose(fx, 'last_hidden_state', out.lastHiddenState);
    bart.dispose();
  });
});
