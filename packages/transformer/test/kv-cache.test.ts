// KV-cached decoding equals the uncached forward: the prompt, then one token (or a few) at a time,
// with the cache growing in place; and memory stays flat while decoding.
import '@attnkit/backend-cpu';
import type { KVCache } from '@attnkit/attention';
import { memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { type GPT2LMHeadModel, type LlamaForCausalLM, loadPretrained } from '../src/index.js';
import { chunked, closeness, type LM, loadFixture, realTokens } from './helpers.js';

const CASES: [string, number[][]][] = [
  [
    'gpt2-tiny',
    [
      [5, 1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      [3, 4, 5],
    ],
  ],
  [
    'gpt2-prefixed-padded',
    [
      [4, 1, 1, 1, 1, 1],
      [6, 2, 1],
    ],
  ],
  ['gpt2-untied-f16', [[3, 1, 1, 1, 1]]],
  [
    'llama-tiny',
    [
      [5, 1, 1, 1, 1, 1, 1, 1],
      [2, 10],
    ],
  ],
  [
    'llama-gqa-batch',
    [
      [4, 1, 1, 1, 1, 1, 1, 1],
      [7, 4],
    ],
  ],
  [
    'llama-bf16-padded',
    [
      [5, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1],
    ],
  ],
];

describe('KV cache', () => {
  for (const [name, schedules] of CASES) {
    it(`${name}: cached decoding equals the uncached forward`, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as LM;
      const ids = fx.tensor('input_ids');
      const mask = fx.has('attention_mask') ? fx.tensor('attention_mask') : null;
      const pos = fx.has('position_ids') ? fx.tensor('position_ids') : null;
      const full = model.forward({ inputIds: ids, attentionMask: mask, positionIds: pos, useCache: false });
      expect(full.pastKeyValues).toBeNull();
      const want = full.logits.dataSync();
      const maskArr = fx.has('attention_mask') ? fx.array('attention_mask') : null;
      const keep = realTokens(maskArr, full.logits.shape[2]);
      // the uncached forward itself matches PyTorch
      expect(closeness(want, fx.array('logits').data, keep).ratio).toBeLessThanOrEqual(1);
      for (const sizes of schedules) {
        const got = chunked(model, ids, sizes, mask, pos);
        expect(got.shape).toEqual(full.logits.shape);
        const c = closeness(got.dataSync(), want, keep);
        expect(c.ratio, `${name} chunks ${sizes}: worst ${c.worst}`).toBeLessThanOrEqual(1);
        got.dispose();
      }
      full.logits.dispose();
      for (const t of [ids, mask, pos]) t?.dispose();
      model.dispose();
    });
  }

  it('holds memory flat while decoding (tensors constant per step)', async () => {
    const model = (await loadPretrained(loadFixture('llama-gqa-batch').dir)) as LlamaForCausalLM;
    let out = model.forward({ inputIds: tensor([[1, 2, 3]], undefined, 'int32') });
    const past = out.pastKeyValues as KVCache;
    out.logits.dispose();
    const counts: number[] = [];
    for (let step = 0; step < 40; step++) {
      const ids = tensor([[step % 64]], undefined, 'int32');
      out = model.forward({ inputIds: ids, pastKeyValues: past });
      out.logits.dispose();
      ids.dispose();
      counts.push(memory().cpu.numTensors);
    }
    expect(past.length).toBe(43);
    expect(new Set(counts).size).toBe(1);
    past.dispose();
    model.dispose();
  });

  it('rejects a cache of another model and mis-shaped masks', async () => {
    const model = (await loadPretrained(loadFixture('llama-tiny').dir)) as LlamaForCausalLM;
    const ids = tensor([[1, 2]], undefined, 'int32');
    expect(() => model.forward({ inputIds: ids, pastKeyValues: { foo: 1 } })).toThrow(/pastKeyValues/);
    const bad = tensor([[1, 1, 1]], undefined, 'int32');
    expect(() => model.forward({ inputIds: ids, attentionMask: bad })).toThrow(
      /attentionMask must be \[1, 2\]|'attentionMask' must be \[1, 2\]/,
    );
    expect(() => model.forward({ inputIds: tensor([[0.5]]) })).toThrow(/int32/);
    ids.dispose();
    bad.dispose();
    model.dispose();
  });

  it('reorders the cache rows for beam search', async () => {
    const model = (await loadPretrained(loadFixture('llama-gqa-batch').dir)) as LlamaForCausalLM;
    const ids = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      undefined,
      'int32',
    );
    const out = model.forward({ inputIds: ids });
    const past = out.pastKeyValues as KVCache;
    const re = model.reorderCache(past, [1, 1, 0]);
    expect(re.length).toBe(3);
    const k = re.layer(0).keys as Tensor;
    expect(k.shape[0]).toBe(3);
    const orig = past.layer(0).keys as Tensor;
    const row = (t: Tensor, i: number) => Array.from(t.sliceDim(0, i, i + 1).dataSync());
    expect(row(k, 0)).toEqual(row(orig, 1));
    expect(row(k, 1)).toEqual(row(orig, 1));
    expect(row(k, 2)).toEqual(row(orig, 0));
    expect(() => model.reorderCache(past, [2])).toThrow(/out of range/);
    past.dispose();
    re.dispose();
    out.logits.dispose();
    ids.dispose();
    model.dispose();
  });
});

describe('GPT-2 positions', () => {
  it('names n_positions when a sequence outgrows the learned positions', async () => {
    const model = (await loadPretrained(loadFixture('gpt2-tiny').dir)) as GPT2LMHeadModel; // n_positions 32
    const ids = tensor([Array.from({ length: 33 }, (_, i) => i % 64)], undefined, 'int32');
    expect(() => model.forward({ inputIds: ids })).toThrow(/position 32 is beyond n_positions 32/);
    const pos = tensor([[40]], undefined, 'int32');
    const one = tensor([[1]], undefined, 'int32');
    expect(() => model.forward({ inputIds: one, positionIds: pos })).toThrow(
      /position 40 is beyond n_positions 32/,
    );
    model.dispose();
  });
});
