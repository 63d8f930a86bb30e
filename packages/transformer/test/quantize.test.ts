// int8 weight quantisation of a GPT-2 model (nn.quantize: Conv1D layers, the tied embedding and
// head, position embeddings), measured on the embedded tiny GPT, a trained GPT-2-shaped model:
// perplexity on its held-out text within 2% of float32, logits close to float32's, and bad input
// refused.
import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { tensor } from '@attnkit/tensor-core';
import {
  Embedding16,
  Linear16,
  QuantizedEmbedding,
  QuantizedLinear,
  quantize,
} from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { causalLMLoss, evaluate, GPT2LMHeadModel, lmEvalBatches, loadTinyGPT } from '../src/index.js';

const corpus = readFileSync(new URL('../assets/corpus/fables.txt', import.meta.url), 'utf8');

async function heldOut() {
  const { model, tokenizer } = await loadTinyGPT();
  const ids = tokenizer.encode(corpus);
  const val = ids.slice(Math.floor(ids.length * 0.9));
  return { model, val };
}

describe('quantize(model, { dtype: int8 })', () => {
  for (const groupSize of [undefined, 32]) {
    it(`tiny GPT, ${groupSize ? `groups of ${groupSize}` : 'per channel'}: held-out perplexity within 2% of float32, logits close`, async () => {
      const { model, val } = await heldOut();
      model.eval();
      const batches = lmEvalBatches(val, { batchSize: 12, blockSize: model.config.nPositions });
      const lossF32 = await evaluate(model, batches, causalLMLoss as never);
      const probe = tensor([val.slice(0, model.config.nPositions)], undefined, 'int32');
      const logitsF32 = model.forward({ inputIds: probe }).logits.dataSync();

      quantize(model, { dtype: 'int8', groupSize });
      // every weight matrix became int8, the tied embedding and head share one int8 matrix
      const t = model.transformer;
      expect(t.h[0].attn.c_attn).toBeInstanceOf(QuantizedLinear);
      expect(t.h[0].mlp.c_proj).toBeInstanceOf(QuantizedLinear);
      expect(t.wte).toBeInstanceOf(QuantizedEmbedding);
      expect(model.lm_head).toBeInstanceOf(QuantizedLinear);
      expect((model.lm_head as unknown as QuantizedLinear).qweight).toBe(
        (t.wte as unknown as QuantizedEmbedding).qweight,
      );

      const lossI8 = await evaluate(model, batches, causalLMLoss as never);
      const pplRatio = Math.exp(lossI8) / Math.exp(lossF32);
      expect(Math.abs(pplRatio - 1)).toBeLessThan(0.02);

      // Logits: each weight is off by at most scale/2 = max|w_row|/254, a uniform rounding error
      // whose RMS is max|w|/(254·√3), about 0.6-0.8% of a row's RMS for these weights (max/RMS
      // ≈ 3-4). Independent errors in the ~2·layers + 1 products add in quadrature, so the logits'
      // RMS error should be a few percent of their spread; 5% leaves room and still fails for a
      // wrong scale, a dropped group or a misplaced row (those give errors of order 100%).
      const logitsI8 = model.forward({ inputIds: probe }).logits.dataSync();
      let err = 0;
      let mean = 0;
      for (const v of logitsF32) mean += v / logitsF32.length;
      let spread = 0;
      for (let i = 0; i < logitsF32.length; i++) {
        err += (logitsI8[i] - logitsF32[i]) ** 2;
        spread += (logitsF32[i] - mean) ** 2;
      }
      expect(Math.sqrt(err / spread)).toBeLessThan(0.05);
      model.dispose();
    }, 120_000);
  }

  it('refuses a model in training mode, a width the group size does not divide, a group size for 16 bits, and unknown dtypes', () => {
    const model = new GPT2LMHeadModel({ nLayer: 1, nEmbd: 48, nHead: 4, vocabSize: 50, nPositions: 16 });
    expect(() => quantize(model, { dtype: 'int8' })).toThrow(/training mode; call model.eval\(\) first/);
    model.eval();
    expect(() => quantize(model, { dtype: 'int8', groupSize: 32 })).toThrow(
      /layer 'transformer\.wte' has 48 input features, which groupSize 32 does not divide/,
    );
    expect(() => quantize(model, { dtype: 'float16', groupSize: 16 })).toThrow(
      /groupSize applies to int8 only .*float16 weights have no scales, so leave groupSize out/,
    );
    expect(() => quantize(model, { dtype: 'int4' as never })).toThrow(/dtype must be 'int8'/);
    model.dispose();
  });
});

/** Relative RMS error of `got` against `want`: sqrt(Σ (got - want)²) / sqrt(Σ (want - mean)²). */
function rmsError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < want.length; i++) mean += want[i] / want.length;
  let err = 0;
  let spread = 0;
  for (let i = 0; i < want.length; i++) {
    err += (got[i] - want[i]) ** 2;
    spread += (want[i] - mean) ** 2;
  }
  return Math.sqrt(err / spread);
}

describe('quantize(model, { dtype: float16 | bfloat16 })', () => {
  // Logits: rounding a weight to nearest even in float16 (11 significant bits) or bfloat16 (8)
  // moves it by at most 2^-12 or 2^-9 of its value, a near-uniform relative error with RMS
  // 2^-12/√3 ≈ 1.4e-4 or 2^-9/√3 ≈ 1.1e-3. Like int8's, the independent errors of the
  // ~2·layers + 1 products add in quadrature and are partly damped by the layer norms, so the
  // logits' RMS error relative to their spread should be of the order of that per-weight figure
  // (measured: 1.7e-4 and 1.4e-3). Bounds of 1e-3 and 7e-3 (7x the per-weight figure) leave room
  // and still fail for a wrong widening (a dropped exponent bit or a shifted mantissa errs by
  // 100%), a misplaced row, or float16 weights rounded as bfloat16 (8x the error).
  const bound = { float16: 1e-3, bfloat16: 7e-3 };
  for (const dtype of ['float16', 'bfloat16'] as const) {
    it(`tiny GPT in ${dtype}: held-out perplexity within 2% of float32, logits within ${bound[dtype]} RMS, half the weight bytes`, async () => {
      const { model, val } = await heldOut();
      model.eval();
      const batches = lmEvalBatches(val, { batchSize: 12, blockSize: model.config.nPositions });
      const lossF32 = await evaluate(model, batches, causalLMLoss as never);
      const probe = tensor([val.slice(0, model.config.nPositions)], undefined, 'int32');
      const logitsF32 = model.forward({ inputIds: probe }).logits.dataSync();
      const bytes = () => {
        const seen = new Set<unknown>();
        let n = 0;
        for (const t of Object.values(model.stateDict())) {
          if (seen.has(t.storage)) continue;
          seen.add(t.storage);
          n += t.size * (t.dtype === 'float32' ? 4 : 2);
        }
        return n;
      };
      const before = bytes();

      quantize(model, { dtype });
      const t = model.transformer;
      expect(t.h[0].attn.c_attn).toBeInstanceOf(Linear16);
      expect(t.h[0].mlp.c_proj).toBeInstanceOf(Linear16);
      expect(t.wte).toBeInstanceOf(Embedding16);
      expect(t.wpe).toBeInstanceOf(Embedding16);
      expect(model.lm_head).toBeInstanceOf(Linear16);
      const head = model.lm_head as unknown as Linear16;
      expect(head.weight.dtype).toBe(dtype);
      // the tied head and embedding share one 16-bit matrix
      expect(head.weight).toBe((t.wte as unknown as Embedding16).weight);
      // GPT-2's Conv1D [in, out] became [out, in]
      const cAttn = t.h[0].attn.c_attn as unknown as Linear16;
      expect(cAttn.weight.shape).toEqual([3 * model.config.nEmbd, model.config.nEmbd]);
      // every matrix halved; biases and norms (a few percent of the bytes) stay float32
      expect(bytes() / before).toBeLessThan(0.52);

      const loss16 = await evaluate(model, batches, causalLMLoss as never);
      const pplRatio = Math.exp(loss16) / Math.exp(lossF32);
      expect(Math.abs(pplRatio - 1)).toBeLessThan(0.02);
      const logits16 = model.forward({ inputIds: probe }).logits.dataSync();
      expect(rmsError(logits16, logitsF32)).toBeLessThan(bound[dtype]);

      // inference only
      model.train();
      expect(() => model.forward({ inputIds: probe })).toThrow(
        /weights are for inference .*call model.eval\(\)/,
      );
      model.dispose();
    }, 120_000);
  }
});
