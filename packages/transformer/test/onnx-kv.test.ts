// exportOnnx({ pastKeyValues: true }): the Optimum / transformers.js decoder graph with a KV cache,
// run in onnxruntime-web, gives attnkit's cached logits step by step (prompt, then one token at a
// time), on the PyTorch-checked fixtures; onnxFolderFiles lays the files out as transformers.js reads them.
import '@attnkit/backend-cpu';
import { tensor } from '@attnkit/tensor-core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import {
  exportOnnx,
  type GPT2LMHeadModel,
  type LlamaForCausalLM,
  loadPretrained,
  onnxFolderFiles,
} from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

ort.env.wasm.numThreads = 1;

const i64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

describe('exportOnnx with past key values → onnxruntime-web', () => {
  for (const name of ['gpt2-tiny', 'llama-gqa-batch', 'llama-rope-llama3']) {
    it(`${name}: prompt then 4 cached steps give attnkit's logits`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as GPT2LMHeadModel | LlamaForCausalLM;
      const s = await ort.InferenceSession.create(exportOnnx(model, { pastKeyValues: true }));
      const ids = fx.array('input_ids');
      const [batch, promptLen] = ids.shape;
      const layers = 'nLayer' in model.config ? model.config.nLayer : model.config.numHiddenLayers;
      // the graph's cache inputs and outputs are named as transformers.js expects
      expect(s.inputNames).toEqual([
        'input_ids',
        'attention_mask',
        'position_ids',
        ...Array.from({ length: layers }, (_, i) => [
          `past_key_values.${i}.key`,
          `past_key_values.${i}.value`,
        ]).flat(),
      ]);
      expect(s.outputNames).toEqual([
        ...Array.from({ length: layers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat(),
        'logits',
      ]);
      const kvHeads =
        'nHead' in model.config
          ? model.config.nHead
          : (model.config.numKeyValueHeads ?? model.config.numAttentionHeads);
      const headDim =
        'nHead' in model.config
          ? model.config.nEmbd / model.config.nHead
          : (model.config.headDim ?? model.config.hiddenSize / model.config.numAttentionHeads);
      let feeds: Record<string, ort.Tensor> = {};
      for (let i = 0; i < layers; i++) {
        for (const kind of ['key', 'value']) {
          feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
            batch,
            kvHeads,
            0,
            headDim,
          ]);
        }
      }
      let step = Array.from(ids.data);
      let stepLen = promptLen;
      let total = 0;
      let ours = model.forward({ inputIds: tensor(step, [batch, stepLen], 'int32') });
      for (let t = 0; t < 5; t++) {
        const positions = Array.from({ length: batch * stepLen }, (_, j) => total + (j % stepLen));
        total += stepLen;
        const out = await s.run({
          ...feeds,
          input_ids: i64(step, [batch, stepLen]),
          attention_mask: i64(new Array(batch * total).fill(1), [batch, total]),
          position_ids: i64(positions, [batch, stepLen]),
        });
        const want = ours.logits.dataSync();
        expect(out.logits.dims).toEqual(ours.logits.shape);
        const c = closeness(out.logits.data as Float32Array, want);
        expect(c.ratio, `step ${t}, worst ${c.worst}`).toBeLessThanOrEqual(1);
        expect(out['present.0.key'].dims).toEqual([batch, kvHeads, total, headDim]);
        // next token: attnkit's greedy choice for every row, fed to both
        const vocab = ours.logits.shape[2];
        step = Array.from({ length: batch }, (_, r) => {
          const row = want.subarray((r * stepLen + stepLen - 1) * vocab, (r * stepLen + stepLen) * vocab);
          let best = 0;
          for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
          return best;
        });
        stepLen = 1;
        feeds = {};
        for (let i = 0; i < layers; i++) {
          feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`];
          feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`];
        }
        const past = ours.pastKeyValues;
        ours.logits.dispose();
        ours = model.forward({ inputIds: tensor(step, [batch, 1], 'int32'), pastKeyValues: past });
      }
      ours.logits.dispose();
      ours.pastKeyValues?.dispose();
      model.dispose();
    }, 60_000);
  }

  it('onnxFolderFiles lays out config.json, generation_config.json and onnx/model.onnx', async () => {
    const model = (await loadPretrained(loadFixture('gpt2-tiny').dir)) as GPT2LMHeadModel;
    const files = onnxFolderFiles(model);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx']);
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      use_cache: true,
      n_embd: model.config.nEmbd,
    });
    expect(JSON.parse(new TextDecoder().decode(files['generation_config.json']))).toEqual({
      bos_token_id: model.config.bosTokenId,
      eos_token_id: model.config.eosTokenId,
    });
    const s = await ort.InferenceSession.create(files['onnx/model.onnx']);
    expect(s.inputNames).toContain('past_key_values.0.key');
    expect(() => exportOnnx(model, { pastKeyValues: 'yes' as never })).toThrow(
      /'pastKeyValues' must be a boolean/,
    );
    model.dispose();
  });
});
