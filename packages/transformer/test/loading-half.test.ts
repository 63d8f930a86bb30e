// loadPretrained's `dtype`: tiny GPT-2 checkpoints that transformers saved in bfloat16 and float16
// (packages/transformer/scripts/half_refs.py) load with their matrices kept 16-bit (Linear16 /
// Embedding16, half the bytes) and give transformers' logits, computed in float32 from the same
// 16-bit weights, within the 1e-4 parity tolerance; so do the parity suite's 16-bit GPT-2, Llama
// and BERT checkpoints; float32 stays the default; bad input refused.
import '@attnkit/backend-cpu';
import { generate } from '@attnkit/sampling';
import { memory } from '@attnkit/tensor-core';
import { Embedding16, Linear16, quantize } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { type GPT2LMHeadModel, loadPretrained, saveModel } from '../src/index.js';
import { closeness, forwardOutputs, loadFixture, modelInputs, realTokens } from './helpers.js';

/** Bytes of a model's state (each storage once: tied matrices count once). */
function stateBytes(model: GPT2LMHeadModel): number {
  const seen = new Set<unknown>();
  let n = 0;
  for (const t of Object.values(model.stateDict())) {
    if (seen.has(t.storage)) continue;
    seen.add(t.storage);
    n += t.size * (t.dtype === 'float32' ? 4 : 2);
  }
  return n;
}

describe('loadPretrained(..., { dtype }) of 16-bit checkpoints saved by transformers', () => {
  for (const [name, dtype] of [
    ['half-gpt2-bf16', 'bfloat16'],
    ['half-gpt2-f16', 'float16'],
  ] as const) {
    for (const option of [dtype, 'auto'] as const) {
      it(`${name}, dtype '${option}': matrices stay ${dtype} (half the bytes), logits = transformers' within 1e-4`, async () => {
        const fx = loadFixture(name);
        const model = (await loadPretrained(fx.dir, { dtype: option })) as GPT2LMHeadModel;
        const wide = (await loadPretrained(fx.dir)) as GPT2LMHeadModel; // the default: float32
        const layers = model.modules().filter((m) => m instanceof Linear16 || m instanceof Embedding16);
        // 2 layers × (c_attn, c_proj, c_fc, mlp c_proj) + wte + wpe + lm_head
        expect(layers.length).toBe(11);
        for (const m of layers) expect((m as Linear16).weight.dtype).toBe(dtype);
        expect(wide.modules().some((m) => m instanceof Linear16)).toBe(false);
        expect(wide.transformer.h[0].attn.c_attn.weight.dtype).toBe('float32');
        expect(stateBytes(model) / stateBytes(wide)).toBeLessThan(0.52);

        const ids = fx.tensor('input_ids');
        const logits = model.forward({ inputIds: ids }).logits.dataSync();
        const c = closeness(logits, fx.array('logits').data);
        expect(c.ratio, `worst at ${c.worst}`).toBeLessThanOrEqual(1);
        // decoding (one row at a time: the gemv_h kernel) picks the float32 model's tokens
        const prompt = [[...(ids.dataSync() as Int32Array).slice(0, 4)]];
        const a = await generate(model, prompt, { maxNewTokens: 6 });
        const b = await generate(wide, prompt, { maxNewTokens: 6 });
        expect(a).toEqual(b);
        model.dispose();
        wide.dispose();
      });
    }
  }

  // the 16-bit checkpoints of the parity suite (GPT-2, Llama with GQA / head_dim, BERT; expected
  // values from transformers on the representable 16-bit weights, scripts/reference/
  // transformer_gen_refs.py) loaded 16-bit: every Linear, embedding and head in the file's dtype
  for (const [name, dtype] of [
    ['gpt2-untied-f16', 'float16'],
    ['gpt2-bf16-sharded', 'bfloat16'],
    ['llama-bf16-padded', 'bfloat16'],
    ['llama-f16-headdim', 'float16'],
    ['bert-f16', 'float16'],
  ] as const) {
    it(`${name} with dtype 'auto': ${dtype} matrices, transformers' outputs within 1e-4, nothing leaked`, async () => {
      const before = memory().cpu?.numTensors ?? 0;
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir, { dtype: 'auto' });
      const layers = model.modules().filter((m) => m instanceof Linear16 || m instanceof Embedding16);
      expect(layers.length).toBeGreaterThan(4);
      for (const m of layers) expect((m as Linear16).weight.dtype).toBe(dtype);
      const inputs = modelInputs(fx);
      const mask = fx.has('attention_mask') ? fx.array('attention_mask') : null;
      for (const [key, got, onlyReal] of forwardOutputs(fx, model, inputs)) {
        const want = fx.array(key);
        const inner = want.shape.slice(2).reduce((a, b) => a * b, 1);
        const c = closeness(got.dataSync(), want.data, onlyReal ? realTokens(mask, inner) : undefined);
        expect(c.ratio, `${name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
        got.dispose();
      }
      for (const t of Object.values(inputs)) t.dispose();
      model.dispose();
      expect(memory().cpu.numTensors).toBe(before);
    });
  }

  it("dtype 'auto' keeps a float32 checkpoint float32", async () => {
    const model = (await loadPretrained(loadFixture('gpt2-tiny').dir, { dtype: 'auto' })) as GPT2LMHeadModel;
    expect(model.modules().some((m) => m instanceof Linear16)).toBe(false);
    model.dispose();
  });

  it('refuses an unknown dtype, training a 16-bit model and saving an int8 one', async () => {
    const dir = loadFixture('half-gpt2-bf16').dir;
    await expect(loadPretrained(dir, { dtype: 'int8' as never })).rejects.toThrow(
      /'dtype' must be one of 'float32', 'float16', 'bfloat16', 'auto', got string "int8"/,
    );
    const model = (await loadPretrained(dir, { dtype: 'bfloat16' })) as GPT2LMHeadModel;
    model.train();
    expect(() => model.forward({ inputIds: loadFixture('half-gpt2-bf16').tensor('input_ids') })).toThrow(
      /bfloat16 weights are for inference .*load \/ keep float32 weights to train/,
    );
    model.dispose();
    const int8 = quantize((await loadPretrained(dir)).eval(), { dtype: 'int8' });
    await expect(saveModel(int8, '/tmp/never-written')).rejects.toThrow(
      /the model has int8 layers \(Quantized(Linear|Embedding), from quantize\)/,
    );
    int8.dispose();
  });
});
