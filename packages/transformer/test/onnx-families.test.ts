// exportOnnx traces the model's own forward, so families with no exporter of their own export too:
// Mistral (sliding window), Qwen2 (q/k/v biases, tied or sliding), Mixtral (top-k expert routing),
// CLIP's text encoder and ViT. Each graph runs in onnxruntime-web and gives attnkit's outputs within
// 1e-4 relative (the causal LMs for the whole sequence and, with the KV cache, for the prompt and 4
// cached steps).
import '@attnkit/backend-cpu';
import { add, mul, type Tensor, tensor } from '@attnkit/tensor-core';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { exportOnnx, loadPretrained } from '../src/index.js';
import { ONNX_FLOAT } from '../src/onnx/graph.js';
import { type TraceRun, traceToOnnx } from '../src/onnx/trace.js';
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

  for (const name of ['clip-text-sd', 'clip-text-leftpad', 'clip-text-projection-padded']) {
    it(`${name}: CLIP text outputs equal attnkit's`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as {
        forward(inputs: { inputIds: Tensor; attentionMask?: Tensor }): Record<string, Tensor>;
        dispose(): void;
      };
      const ids = fx.tensor('input_ids');
      const mask = fx.has('attention_mask')
        ? fx.tensor('attention_mask')
        : tensor(new Int32Array(ids.size).fill(1), [...ids.shape], 'int32');
      const ours = model.forward({
        inputIds: ids,
        attentionMask: fx.has('attention_mask') ? mask : undefined,
      });
      const s = await ort.InferenceSession.create(exportOnnx(model as never));
      const i32 = (t: Tensor) => new ort.Tensor('int32', Int32Array.from(t.dataSync()), [...t.shape]);
      const out = await s.run({ input_ids: i32(ids), attention_mask: i32(mask) });
      const keys = Object.keys(ours).filter((k) => ours[k]?.isTensor);
      expect(s.outputNames).toEqual(keys.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)));
      for (const k of keys) {
        const o = out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
        expect(o.dims).toEqual(ours[k].shape);
        const c = closeness(o.data as Float32Array, ours[k].dataSync());
        expect(c.ratio, `${k} worst ${c.worst}`).toBeLessThanOrEqual(1);
      }
      model.dispose();
    });
  }

  for (const name of ['vit-tiny', 'hf-vit-model', 'vit-noprefix']) {
    it(`${name}: ViT outputs equal attnkit's`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as unknown as {
        forward(inputs: { pixelValues: Tensor }): Record<string, Tensor | null>;
        dispose(): void;
      };
      const pixels = fx.tensor('pixel_values');
      const ours = model.forward({ pixelValues: pixels });
      const s = await ort.InferenceSession.create(exportOnnx(model as never));
      const out = await s.run({
        pixel_values: new ort.Tensor('float32', Float32Array.from(pixels.dataSync()), [...pixels.shape]),
      });
      const keys = Object.keys(ours).filter((k) => ours[k]?.isTensor);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const o = out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
        const want = ours[k] as Tensor;
        expect(o.dims).toEqual(want.shape);
        const c = closeness(o.data as Float32Array, want.dataSync());
        expect(c.ratio, `${k} worst ${c.worst}`).toBeLessThanOrEqual(1);
      }
      model.dispose();
    });
  }
});

describe('tracing refuses what it cannot export, by name', () => {
  const run = (n: number, forward: (x: Tensor) => Tensor) => (): TraceRun => {
    const x = tensor(new Float32Array(2 * n).fill(1), [2, n]);
    return {
      inputs: [{ name: 'x', type: ONNX_FLOAT, dims: ['batch', 'sequence'], shape: x.shape }],
      bound: [{ tensor: x, value: () => 'x' }],
      forward: () => [['y', forward(x)]],
    };
  };
  it('a tensor made on the host from the input size', () => {
    // a [T] ramp built in JS: its shape follows the sequence length
    const f = (x: Tensor) => add(x, tensor(Float32Array.from({ length: x.shape[1] }, (_, i) => i)));
    expect(() => traceToOnnx('t', 'g', new Map(), run(3, f), run(4, f))).toThrow(
      /t: a float32 tensor made on the host has shape \[3\] at one input size and \[4\] at the other/,
    );
  });
  it('a forward that takes another path at another size', () => {
    const f = (x: Tensor) => (x.shape[1] > 3 ? mul(x, 2) : add(x, 2));
    expect(() => traceToOnnx('t', 'g', new Map(), run(3, f), run(4, f))).toThrow(
      /t: the forward pass runs different ops at two input sizes|takes another path/,
    );
  });
  it('a size computed on the host that matches no input dim', () => {
    // T·T − 8 is neither an input dimension nor one plus a constant (T − 1 would be: see BART's offset)
    const f = (x: Tensor) =>
      x.reshape([x.shape[0] * x.shape[1] + 0, 1]).sliceDim(0, 0, x.shape[1] * x.shape[1] - 8);
    expect(() => traceToOnnx('t', 'g', new Map(), run(3, f), run(4, f))).toThrow(
      /uses a size computed on the host \(1 at one input size, 8 at the other\) that matches no input dimension/,
    );
  });
});

it('refuses a rope whose frequencies follow the sequence length (dynamic), by name', async () => {
  const model = await loadPretrained(loadFixture('hf-llama-rope-dynamic').dir);
  expect(() => exportOnnx(model as never)).toThrow(/rope type 'dynamic' recomputes its frequencies/);
  model.dispose();
});
