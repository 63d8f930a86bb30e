// T5 against transformers 5.18 (scripts/seq2seq_refs.py): original T5 (ReLU, tied head with the
// d_model^-0.5 rescale, 3 encoder and 2 decoder layers), Flan-T5-style (gated-GELU, untied head) and
// T5EncoderModel, loaded from save_pretrained folders. Logits and encoder states of a right-padded
// batch within 1e-4 relative; decoding with the cache equals the full forward; generate() greedy
// and beam search sequences equal transformers' generate, for one source and a padded batch.
import '@attnkit/backend-cpu';
import { generate, stream } from '@attnkit/sampling';
import { concat, memory, type Tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  type EncoderDecoderCache,
  loadPretrained,
  T5EncoderModel,
  T5ForConditionalGeneration,
  t5ConfigFromJson,
} from '../src/index.js';
import { closeness, type Fixture, loadFixture } from './helpers.js';

const SEQ2SEQ = ['seq2seq-t5-relu', 'seq2seq-t5-gated-untied'];

function expectClose(fx: Fixture, key: string, got: Tensor): void {
  const want = fx.array(key);
  expect(got.shape, `${fx.name} ${key}`).toEqual(want.shape);
  const c = closeness(got.dataSync(), want.data);
  expect(c.compared).toBe(want.data.length);
  expect(c.ratio, `${fx.name} ${key}: worst element ${c.worst}`).toBeLessThanOrEqual(1);
}

/** Rows of a fixture's int32 [B, L] array. */
function rows(fx: Fixture, key: string): number[][] {
  const a = fx.array(key);
  const [b, l] = a.shape;
  return Array.from({ length: b }, (_, i) => Array.from(a.data.subarray(i * l, (i + 1) * l)));
}

describe('T5ForConditionalGeneration equals transformers 5.18 (1e-4 relative, CPU)', () => {
  for (const name of SEQ2SEQ) {
    it(`${name}: logits and encoder output of a padded batch`, async () => {
      const fx = loadFixture(name);
      const model = await loadPretrained(fx.dir);
      expect(model).toBeInstanceOf(T5ForConditionalGeneration);
      const t5 = model as T5ForConditionalGeneration;
      const untied = name.includes('untied');
      expect(t5.lm_head.weight === t5.shared.weight).toBe(!untied);
      const out = t5.forward({
        inputIds: fx.tensor('input_ids'),
        attentionMask: fx.tensor('attention_mask'),
        decoderInputIds: fx.tensor('decoder_input_ids'),
        useCache: false,
      });
      expectClose(fx, 'logits', out.logits);
      expectClose(fx, 'encoder_last_hidden_state', out.encoderLastHiddenState);
      model.dispose();
    });

    it(`${name}: decoding token by token with the cache equals the full forward`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as T5ForConditionalGeneration;
      const ids = fx.tensor('input_ids');
      const am = fx.tensor('attention_mask');
      const dec = fx.tensor('decoder_input_ids');
      const full = model.forward({ inputIds: ids, attentionMask: am, decoderInputIds: dec, useCache: false });
      const memory = model.encode(ids, am);
      let past: EncoderDecoderCache | null = null;
      const parts: Tensor[] = [];
      for (let t = 0; t < dec.shape[1]; t++) {
        const step: { logits: Tensor; pastKeyValues: EncoderDecoderCache | null } = model.forward({
          encoderOutputs: memory,
          attentionMask: am,
          decoderInputIds: dec.sliceDim(1, t, t + 1),
          pastKeyValues: past,
        });
        if (past) expect(step.pastKeyValues).toBe(past);
        past = step.pastKeyValues;
        parts.push(step.logits);
      }
      expect(past?.length).toBe(dec.shape[1]);
      expect(past?.crossAttention.length).toBe(ids.shape[1]); // computed once, not per step
      const cached = concat(parts, 1);
      const c = closeness(cached.dataSync(), full.logits.dataSync());
      expect(c.ratio).toBeLessThanOrEqual(1);
      past?.dispose();
      model.dispose();
    });

    for (const [tag, numBeams] of [
      ['greedy', 1],
      ['beam', 3],
    ] as const) {
      it(`${name}: generate() ${tag} search equals transformers, one source and a padded batch`, async () => {
        const fx = loadFixture(name);
        const model = (await loadPretrained(fx.dir)) as T5ForConditionalGeneration;
        const maxNewTokens = fx.meta.max_new_tokens as number;
        const single = rows(fx, 'input_ids')[1].filter((_, j) => rows(fx, 'attention_mask')[1][j] === 1);
        const one = await generate(model, [single], { maxNewTokens, numBeams });
        expect(one.sequences).toEqual(rows(fx, `${tag}_single`));
        const batch = await generate(
          model,
          fx.tensor('input_ids'),
          { maxNewTokens, numBeams },
          fx.tensor('attention_mask'),
        );
        expect(batch.sequences).toEqual(rows(fx, `${tag}_batch`));
        // lists of different lengths are padded on the right, as encoder inputs are
        const lists = await generate(
          model,
          rows(fx, 'input_ids').map((r, i) => r.filter((_, j) => rows(fx, 'attention_mask')[i][j] === 1)),
          {
            maxNewTokens,
            numBeams,
          },
        );
        expect(lists.sequences).toEqual(rows(fx, `${tag}_batch`));
        model.dispose();
      });
    }
  }

  for (const name of SEQ2SEQ) {
    it(`${name}: beam search stopped at every length from 1 to 8 new tokens equals transformers`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as T5ForConditionalGeneration;
      for (let n = 1; n <= 8; n++) {
        const out = await generate(
          model,
          fx.tensor('input_ids'),
          { maxNewTokens: n, numBeams: 3 },
          fx.tensor('attention_mask'),
        );
        expect(out.sequences, `${n} new tokens`).toEqual(rows(fx, `beam_batch_${n}`));
      }
      model.dispose();
    });
  }

  it('stream() yields the greedy tokens step by step; sampling is seeded and reads each source', async () => {
    const fx = loadFixture('seq2seq-t5-relu');
    const model = (await loadPretrained(fx.dir)) as T5ForConditionalGeneration;
    const maxNewTokens = fx.meta.max_new_tokens as number;
    const src = () => fx.tensor('input_ids');
    const mask = () => fx.tensor('attention_mask');
    const steps: number[][] = [];
    for await (const c of stream(model, src(), { maxNewTokens }, mask())) steps.push(c.tokenIds);
    const want = rows(fx, 'greedy_batch');
    expect(steps.length).toBe(want[0].length - 1);
    steps.forEach((ids, t) => {
      expect(ids).toEqual(want.map((r) => r[t + 1]));
    });
    // sampling: 3 sequences per source, reproducible from a seed
    const opts = { maxNewTokens, doSample: true, numReturnSequences: 3, seed: 4, temperature: 1.5 };
    const a = await generate(model, src(), opts, mask());
    const b = await generate(model, src(), opts, mask());
    expect(a.sequences.length).toBe(6);
    expect(a.sequences).toEqual(b.sequences);
    model.dispose();
  });

  it('generate() leaves no tensors behind (encoder output, caches, expanded memory are freed)', async () => {
    const fx = loadFixture('seq2seq-t5-relu');
    const model = (await loadPretrained(fx.dir)) as T5ForConditionalGeneration;
    const src = fx.tensor('input_ids');
    const mask = fx.tensor('attention_mask');
    const before = memory().cpu.numTensors;
    for (const numBeams of [1, 3]) await generate(model, src, { maxNewTokens: 6, numBeams }, mask);
    for await (const _ of stream(model, src, { maxNewTokens: 3 }, mask));
    expect(memory().cpu.numTensors).toBe(before);
    model.dispose();
  });

  it('T5EncoderModel: last hidden state of a padded batch', async () => {
    const fx = loadFixture('seq2seq-t5-encoder');
    const model = await loadPretrained(fx.dir);
    expect(model).toBeInstanceOf(T5EncoderModel);
    const out = (model as T5EncoderModel).forward({
      inputIds: fx.tensor('input_ids'),
      attentionMask: fx.tensor('attention_mask'),
    });
    expectClose(fx, 'last_hidden_state', out.lastHiddenState);
    model.dispose();
  });
});

describe('T5 configs', () => {
  const base = { vocab_size: 64, d_model: 32, d_kv: 8, d_ff: 48, num_layers: 2, num_heads: 4 };

  it('reads scale_decoder_outputs (transformers 5) or derives it from tie_word_embeddings (4)', () => {
    expect(t5ConfigFromJson(base).scaleDecoderOutputs).toBeNull();
    const m = new T5ForConditionalGeneration(t5ConfigFromJson({ ...base, tie_word_embeddings: false }));
    expect(m.configJson().scale_decoder_outputs).toBe(false);
    expect(m.tiedWeights().map((t) => t[0])).not.toContain('lm_head.weight');
    m.dispose();
  });

  it('refuses bad values by key before allocating', () => {
    expect(() => t5ConfigFromJson({ ...base, feed_forward_proj: 'swiglu' })).toThrow(
      /feed_forward_proj[\s\S]*gated-gelu/,
    );
    expect(() => t5ConfigFromJson({ ...base, num_heads: 1e9 })).toThrow(/num_heads/);
    expect(() => t5ConfigFromJson({ ...base, relative_attention_num_buckets: 0 })).toThrow(
      /relative_attention_num_buckets/,
    );
    expect(() => t5ConfigFromJson({ ...base, d_model: 2 ** 20, vocab_size: 2 ** 20 })).toThrow(/d_model/);
    expect(() => t5ConfigFromJson({ ...base, decoder_start_token_id: 64 })).toThrow(/decoder_start_token_id/);
    expect(() => t5ConfigFromJson({ ...base, is_decoder: true })).toThrow(/is_decoder/);
    expect(() => t5ConfigFromJson({ ...base, quantization_config: { quant_method: 'gptq' } })).toThrow(
      /quantization_config/,
    );
  });
});
