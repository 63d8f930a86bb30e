// exportOnnx: the exported graphs run in onnxruntime-web (wasm, in Node) and give attnkit's outputs
// within 1e-4 relative, on the PyTorch-checked fixtures (so they also match PyTorch).
import '@attnkit/backend-cpu';
import type { Tensor } from '@attnkit/tensor-core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { type BertModel, exportOnnx, type GPT2LMHeadModel, loadPretrained } from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

ort.env.wasm.numThreads = 1;

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes);
}

function i32(t: Tensor): ort.Tensor {
  return new ort.Tensor('int32', Int32Array.from(t.dataSync()), [...t.shape]);
}

describe('exportOnnx → onnxruntime-web', () => {
  for (const name of [
    'gpt2-tiny',
    'gpt2-untied-f16',
    'llama-gqa-batch',
    'llama-tied-noprefix',
    'llama-f16-headdim',
  ]) {
    it(`${name}: logits equal attnkit's`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as GPT2LMHeadModel;
      const ids = fx.tensor('input_ids');
      const ours = model.forward({ inputIds: ids, useCache: false }).logits;
      const s = await session(exportOnnx(model));
      const out = await s.run({ input_ids: i32(ids) });
      const got = out.logits;
      expect(got.dims).toEqual(ours.shape);
      const c = closeness(got.data as Float32Array, ours.dataSync());
      expect(c.ratio, `worst ${c.worst}`).toBeLessThanOrEqual(1);
      // and PyTorch's
      expect(closeness(got.data as Float32Array, fx.array('logits').data).ratio).toBeLessThanOrEqual(1);
      // a shorter sequence runs through the same graph (dynamic axes)
      const short = await s.run({ input_ids: new ort.Tensor('int32', Int32Array.from([1, 2, 3]), [1, 3]) });
      expect(short.logits.dims).toEqual([1, 3, ours.shape[2]]);
      model.dispose();
    });
  }

  for (const name of ['bert-tiny', 'bert-prefixed']) {
    it(`${name}: hidden states and pooler equal attnkit's (padded batch)`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as BertModel;
      const feeds = {
        input_ids: i32(fx.tensor('input_ids')),
        attention_mask: i32(fx.tensor('attention_mask')),
        token_type_ids: i32(fx.tensor('token_type_ids')),
      };
      const s = await session(exportOnnx(model));
      const out = await s.run(feeds);
      for (const key of ['last_hidden_state', 'pooler_output']) {
        const c = closeness(out[key].data as Float32Array, fx.array(key).data);
        expect(c.ratio, `${key} worst ${c.worst}`).toBeLessThanOrEqual(1);
      }
      model.dispose();
    });
  }

  it('rejects other models', () => {
    expect(() => exportOnnx({} as never)).toThrow(/exportOnnx: 'model' must be/);
  });
});
