// The way out to PyTorch: every export-* fixture is a folder attnkit's saveModel wrote
// (scripts/export_models.mjs: seeded models of every family, and a GPT-2 and a Mixtral trained with
// train()), which transformers 5.18 loaded with from_pretrained (strict: no missing, unexpected or
// mis-shaped tensor) and ran (scripts/export_refs.py, outputs hf_*). Here attnkit loads the same
// folder, its outputs equal transformers' within 1e-4, and saving the loaded model reproduces the
// files (so what saveModel writes today is what transformers read).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@attnkit/backend-cpu';
import type { Tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { checkpointFiles, loadPretrained, type PreTrainedModel } from '../src/index.js';
import { closeness, type Fixture, fixtureNames, loadFixture } from './helpers.js';

const names = fixtureNames().filter((n) => n.startsWith('export-'));

type Outputs = Partial<
  Record<'logits' | 'last_hidden_state' | 'pooler_output' | 'encoder_last_hidden_state', Tensor | null>
>;

function run(model: PreTrainedModel, fx: Fixture): Outputs {
  const fwd = (x: unknown) =>
    (model as unknown as { forward(x: unknown): Record<string, Tensor> }).forward(x);
  if (fx.has('pixel_values')) {
    const out = fwd({ pixelValues: fx.tensor('pixel_values') });
    return { logits: out.logits, last_hidden_state: out.lastHiddenState, pooler_output: out.poolerOutput };
  }
  if (fx.has('input_features')) {
    const out = fwd({
      inputFeatures: fx.tensor('input_features'),
      decoderInputIds: fx.tensor('decoder_input_ids'),
    });
    return { logits: out.logits, encoder_last_hidden_state: out.encoderLastHiddenState };
  }
  if (fx.has('decoder_input_ids')) {
    const out = fwd({ inputIds: fx.tensor('input_ids'), decoderInputIds: fx.tensor('decoder_input_ids') });
    return { logits: out.logits, encoder_last_hidden_state: out.encoderLastHiddenState };
  }
  const out = fwd({ inputIds: fx.tensor('input_ids') });
  return { logits: out.logits, last_hidden_state: out.lastHiddenState, pooler_output: out.poolerOutput };
}

describe('saveModel folders load in transformers (from_pretrained) with the same outputs', () => {
  it('covers every family attnkit shares with transformers, and trained models', () => {
    const archs = new Set(names.map((n) => String(loadFixture(n).meta.architecture)));
    for (const a of [
      'GPT2LMHeadModel',
      'LlamaForCausalLM',
      'MistralForCausalLM',
      'MixtralForCausalLM',
      'Qwen2ForCausalLM',
      'BertModel',
      'BertForMaskedLM',
      'ViTForImageClassification',
      'ViTModel',
      'CLIPTextModel',
      'T5ForConditionalGeneration',
      'T5EncoderModel',
      'BartForConditionalGeneration',
      'WhisperForConditionalGeneration',
    ]) {
      expect(archs.has(a), a).toBe(true);
    }
    expect(names.filter((n) => n.endsWith('-trained')).length).toBe(2);
  });

  for (const name of names) {
    it(name, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      expect(model.architecture).toBe(fx.meta.architecture);
      const outs = run(model, fx);
      let compared = 0;
      for (const key of [
        'logits',
        'last_hidden_state',
        'pooler_output',
        'encoder_last_hidden_state',
      ] as const) {
        if (!fx.has(`hf_${key}`)) continue;
        const want = fx.array(`hf_${key}`);
        const got = outs[key] as Tensor;
        expect(got.shape, key).toEqual(want.shape);
        const c = closeness(got.dataSync(), want.data);
        expect(c.ratio, `${name} ${key}: worst ${c.worst}`).toBeLessThanOrEqual(1);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
      const files = await checkpointFiles(model);
      const onDisk = readFileSync(join(fx.dir, 'model.safetensors'));
      expect(Buffer.from(files['model.safetensors']).equals(onDisk)).toBe(true);
      const config = JSON.parse(new TextDecoder().decode(files['config.json']));
      expect(config).toEqual(JSON.parse(readFileSync(join(fx.dir, 'config.json'), 'utf8')));
      for (const t of Object.values(outs)) t?.dispose();
      model.dispose();
    });
  }

  it('writes integral float settings with a decimal point (transformers 5 refuses 1 for a float)', async () => {
    const text = readFileSync(join(loadFixture('export-clip-text').dir, 'config.json'), 'utf8');
    expect(text).toMatch(/"initializer_factor": 1\.0,/);
    const model = await loadPretrained(loadFixture('export-mixtral').dir);
    const written = new TextDecoder().decode((await checkpointFiles(model))['config.json']);
    expect(written).toMatch(/"router_jitter_noise": 0\.0\b/);
    expect(written).toMatch(/"num_local_experts": 4\b(?!\.)/);
    model.dispose();
  });
});
