// exportOnnx traces the model's own forward, so families with no exporter of their own export too:
// Mistral (sliding window), Qwen2 (q/k/v biases, tied or sliding), Mixtral (top-k expert routing).
// Each graph runs in onnxruntime-web and gives attnkit's logits within 1e-4 relative, for the
// whole sequence and, with the KV cache, for the prompt and 4 cached steps.
import '@attnkit/backend-cpu';
import { type Tensor, tensor } from '@attnkit/tensor-core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnx, loadPretrained } from '../src/index.js';
import { closeness, loadFixture } from './helpers.js';

ort.env.wasm.numThreads = 1;

interface LM {
  forward(inputs: { inputIds: Tensor; pastKeyValues?: unknown; useCache?: boolean }): {
    logits: Tensor;
    pastKeyValues: unknown;
  };
  dispose(): void;
}

const i64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

const FAMILIES = ['hf-mistral-sliding', 'hf-qwen2', 'hf-qwen2-tied', 'hf-qwen2-sliding', 'hf-mixtral'];

describe('exportOnnx of families without an exporter of their own → onnxruntime-web', () => {
  for (const name of FAMILIES) {
    it(`${name}: whole-sequence logits equal attnkit's`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as LM;
      const ids = fx.tensor('input_ids');
      const ours = model.forward({ inputIds: ids, useCache: false }).logits;
      const s = await ort.InferenceSession.create(exportOnnx(model as never));
      const out = await s.run({
        input_ids: new ort.Tensor('int32', Int32Array.from(ids.dataSync()), [...ids.shape]),
      });
      expect(out.logits.dims).toEqual(ours.shape);
      const c = closeness(out.logits.data as Float32Array, ours.dataSync());
      expect(c.ratio, `worst ${c.worst}`).toBeLessThanOrEqual(1);
      ours.dispose();
      model.dispose();
    });

    it(`${name}: prompt then 4 cached steps give attnkit's logits`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as LM;
      const s = await ort.InferenceSession.create(exportOnnx(model as never, { pastKeyValues: true }));
      const ids = fx.array('input_ids');
      const [batch, promptLen] = ids.shape;
      const pastNames = s.inputNames.filter((n) => n.startsWith('past_key_values.'));
      let ours = model.forward({ inputIds: tensor(Array.from(ids.data), [batch, promptLen], 'int32') });
      const cache0 = ours.pastKeyValues as { layer(i: number): { keys: Tensor } };
      const [, kvHeads, , headDim] = cache0.layer(0).keys.shape;
      let feeds: Record<string, ort.Tensor> = {};
      for (const n of pastNames) {
        feeds[n] = new ort.Tensor('float32', new Float32Array(0), [batch, kvHeads, 0, headDim]);
      }
      let step = Array.from(ids.data);
      let stepLen = promptLen;
      let total = 0;
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
        const vocab = ours.logits.shape[2];
        step = Array.from({ length: batch }, (_, r) => {
          const row = want.subarray((r * stepLen + stepLen - 1) * vocab, (r * stepLen + stepLen) * vocab);
          let best = 0;
          for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
          return best;
        });
        stepLen = 1;
        feeds = {};
        for (const n of pastNames) feeds[n] = out[n.replace('past_key_values.', 'present.')];
        const past = ours.pastKeyValues;
        ours.logits.dispose();
        ours = model.forward({ inputIds: tensor(step, [batch, 1], 'int32'), pastKeyValues: past });
      }
      ours.logits.dispose();
      (ours.pastKeyValues as { dispose(): void }).dispose();
      model.dispose();
    }, 60_000);
  }
});
