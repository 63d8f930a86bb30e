// Parity with the real Hugging Face transformers 5.18 (scripts/hf_refs.py): each hf-* fixture is a
// folder transformers' save_pretrained wrote; loadPretrained loads it (and its '-v4' twin with
// transformers 4's config keys and expert names) and the logits of a left-padded batch match
// transformers' within 1e-4 relative. Covers Llama with every rope type, Mistral's sliding window,
// Mixtral's sparse MoE (router logits and aux loss too), Qwen2's biases and per-layer windows, and
// ViTModel with its pooler.
import '@attnkit/backend-cpu';
import type { Tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  LlamaForCausalLM,
  loadPretrained,
  MistralForCausalLM,
  MixtralForCausalLM,
  type PreTrainedModel,
  Qwen2ForCausalLM,
  ViTModel,
} from '../src/index.js';
import { closeness, type Fixture, fixtureNames, loadFixture, realTokens } from './helpers.js';

const CLASSES: Record<string, new (...a: never[]) => PreTrainedModel> = {
  llama: LlamaForCausalLM,
  mistral: MistralForCausalLM,
  mixtral: MixtralForCausalLM,
  qwen2: Qwen2ForCausalLM,
  'vit-model': ViTModel,
};

const names = fixtureNames().filter((n) => n.startsWith('hf-'));

/** Checks `got` against the fixture array `key` (only real tokens where the fixture has a mask). */
function expectClose(fx: Fixture, key: string, got: Tensor, masked: boolean): void {
  const want = fx.array(key);
  expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  const inner = want.shape.slice(2).reduce((a, b) => a * b, 1);
  const mask = masked && fx.has('attention_mask') ? fx.array('attention_mask') : null;
  const c = closeness(got.dataSync(), want.data, realTokens(mask, inner));
  expect(c.compared).toBeGreaterThan(0);
  expect(c.ratio, `${fx.name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

describe('transformers 5.18 parity (1e-4 relative, CPU)', () => {
  it('covers every family, rope type and both config generations', () => {
    const kinds = new Set(names.map((n) => String(loadFixture(n).meta.model)));
    expect([...kinds].sort()).toEqual(['llama', 'mistral', 'mixtral', 'qwen2', 'vit-model']);
    const ropes = new Set(
      names.filter((n) => n.includes('-rope-')).map((n) => n.split('-rope-')[1].split('-')[0]),
    );
    expect([...ropes].sort()).toEqual(['default', 'dynamic', 'linear', 'llama3', 'longrope', 'yarn']);
    expect(names.filter((n) => n.endsWith('-v4')).length).toBeGreaterThanOrEqual(13);
  });

  for (const name of names) {
    it(name, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      expect(model).toBeInstanceOf(CLASSES[String(fx.meta.model)]);
      if (fx.meta.model === 'vit-model') {
        const px = fx.tensor('pixel_values');
        const out = (model as ViTModel).forward({ pixelValues: px });
        expectClose(fx, 'last_hidden_state', out.lastHiddenState, false);
        expectClose(fx, 'pooler_output', out.poolerOutput as Tensor, false);
        px.dispose();
        model.dispose();
        return;
      }
      const inputs = {
        inputIds: fx.tensor('input_ids'),
        attentionMask: fx.tensor('attention_mask'),
        positionIds: fx.tensor('position_ids'),
      };
      const lm = model as MixtralForCausalLM;
      const out = lm.forward({ ...inputs, useCache: false, outputRouterLogits: fx.has('router_logits') });
      expectClose(fx, 'logits', out.logits, true);
      if (fx.has('router_logits')) {
        const want = fx.array('router_logits'); // [layers, B·L, experts]
        const got = out.routerLogits as Tensor[];
        expect(got.length).toBe(want.shape[0]);
        const per = want.shape[1] * want.shape[2];
        got.forEach((t, i) => {
          const c = closeness(t.dataSync(), want.data.subarray(i * per, (i + 1) * per));
          expect(c.ratio, `router logits of layer ${i}`).toBeLessThanOrEqual(1);
        });
        const aux = (out.auxLoss as Tensor).dataSync()[0];
        const wantAux = fx.array('aux_loss').data[0];
        expect(Math.abs(aux - wantAux)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(wantAux));
      }
      for (const t of [out.logits, ...(out.routerLogits ?? []), out.auxLoss]) t?.dispose();
      for (const t of Object.values(inputs)) t.dispose();
      model.dispose();
    });
  }
});
