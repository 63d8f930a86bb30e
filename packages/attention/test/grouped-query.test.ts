// GroupedQueryAttention (HF LlamaAttention layout) against the PyTorch fixture, and KV-cache decoding
// equal to the full causal forward. Tolerance: 1e-4 relative (atol 1e-5) on CPU.
import '@attnkit/backend-cpu';
import { concat, memory, noGrad, randn, type Tensor, tidy } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { GroupedQueryAttention, KVCache, LayerKVCache } from '../src/index.js';
import { compare, loadFixture, mismatch, readStateDict } from './helpers.js';

describe('GroupedQueryAttention', () => {
  it('matches the HF LlamaAttention-without-RoPE fixture (gqa_module_h4_kv2)', () => {
    const fx = loadFixture('gqa_module_h4_kv2');
    const attn = new GroupedQueryAttention({
      hiddenSize: fx.param<number>('hidden_size'),
      numHeads: fx.param<number>('num_heads'),
      numKeyValueHeads: fx.param<number>('num_key_value_heads'),
    });
    attn.loadStateDict(readStateDict(fx.path(fx.param<string>('weights'))));
    const x = fx.tensor('hidden_states');
    expect(compare(attn.forward(x).output, fx.array('output'))).toBeNull();
    const { output, weights } = attn.forward(x, { needWeights: true });
    expect(compare(output, fx.array('output'))).toBeNull();
    expect(weights?.shape).toEqual([2, 4, 5, 5]);
  });

  for (const window of [null, 3]) {
    it(`decoding token by token with a KV cache equals the full forward (RoPE, window ${window})`, () => {
      const attn = new GroupedQueryAttention({
        hiddenSize: 32,
        numHeads: 4,
        numKeyValueHeads: 2,
        rope: { rotaryDim: 8, theta: 10000 },
        windowSize: window,
      });
      const x = randn([2, 9, 32]);
      const full = attn.forward(x).output;
      const cache = new LayerKVCache({ initialCapacity: 2, window: window ?? undefined });
      const steps: Tensor[] = [attn.forward(x.sliceDim(1, 0, 4), { cache }).output];
      for (let t = 4; t < 9; t++) steps.push(attn.forward(x.sliceDim(1, t, t + 1), { cache }).output);
      expect(cache.position).toBe(9);
      const got = concat(steps, 1);
      expect(
        mismatch(got.dataSync(), got.shape, { shape: [...full.shape], data: full.dataSync() }),
      ).toBeNull();
    });
  }
});

describe('decoding memory', () => {
  it('a decode loop under noGrad + tidy keeps the tensor count flat', () => {
    const attn = new GroupedQueryAttention({
      hiddenSize: 16,
      numHeads: 4,
      numKeyValueHeads: 1,
      rope: { rotaryDim: 4 },
    });
    const cache = new LayerKVCache({ initialCapacity: 64 });
    const step = (x: Tensor) => noGrad(() => tidy(() => attn.forward(x, { cache }).output.dataSync()));
    step(randn([1, 5, 16]));
    const before = memory().cpu;
    for (let t = 0; t < 30; t++) step(randn([1, 1, 16]));
    const after = memory().cpu;
    expect(after.numTensors).toBe(before.numTensors + 30); // only the 30 inputs made here
    expect(after.numBytes - before.numBytes).toBe(30 * 16 * 4);
    expect(cache.length).toBe(35);
  });
});

describe('LayerKVCache', () => {
  it('appends in place, doubles capacity, trims and resets', () => {
    const cache = new LayerKVCache({ initialCapacity: 4 });
    const k1 = randn([1, 2, 3, 4]);
    const v1 = randn([1, 2, 3, 5]);
    cache.append(k1, v1);
    expect([cache.length, cache.capacity]).toEqual([3, 4]);
    const k2 = randn([1, 2, 2, 4]);
    const v2 = randn([1, 2, 2, 5]);
    const { keys, values } = cache.append(k2, v2);
    expect([cache.length, cache.capacity]).toEqual([5, 8]);
    expect(keys.shape).toEqual([1, 2, 5, 4]);
    expect(keys.arraySync()).toEqual(concat([k1, k2], 2).arraySync());
    expect(values.arraySync()).toEqual(concat([v1, v2], 2).arraySync());
    // 3 more steps fit without growing
    for (let i = 0; i < 3; i++) cache.append(randn([1, 2, 1, 4]), randn([1, 2, 1, 5]));
    expect([cache.length, cache.capacity]).toEqual([8, 8]);
    cache.trim(4);
    expect([cache.length, cache.position]).toEqual([4, 4]);
    expect(cache.keys?.arraySync()).toEqual(concat([k1, k2.sliceDim(2, 0, 1)], 2).arraySync());
    cache.reset();
    expect([cache.length, cache.position, cache.keys]).toEqual([0, 0, null]);
    expect(() => cache.trim(1)).toThrow(/LayerKVCache.trim: length must be an integer in \[0, 0\], got 1/);
    expect(() => cache.append(randn([1, 2, 1, 4]), randn([1, 3, 1, 5]))).toThrow(/equal B, Hkv, T/);
  });

  it('crop keeps the first positions (negative: drops from the end) as DynamicCache.crop, then appends after them', () => {
    const kv = new KVCache({ numLayers: 2, initialCapacity: 4 });
    const ks = [randn([1, 2, 5, 4]), randn([1, 2, 5, 4])];
    for (let i = 0; i < 2; i++) kv.layer(i).append(ks[i], ks[i]);
    kv.crop(3);
    expect([kv.length, kv.position]).toEqual([3, 3]);
    kv.crop(7); // longer than the cache: nothing to do
    expect(kv.length).toBe(3);
    kv.crop(-1);
    expect([kv.length, kv.position]).toEqual([2, 2]);
    const next = randn([1, 2, 1, 4]);
    for (let i = 0; i < 2; i++) kv.layer(i).append(next, next);
    expect(kv.layer(1).keys?.arraySync()).toEqual(concat([ks[1].sliceDim(2, 0, 2), next], 2).arraySync());
    kv.crop(-10);
    expect(kv.length).toBe(0);
    expect(() => kv.crop(1.5)).toThrow('KVCache.crop: maxLength must be an integer, got 1.5');
    kv.dispose();
  });

  it('a rolling window keeps the last positions and bounded memory', () => {
    const cache = new LayerKVCache({ initialCapacity: 2, window: 4 });
    const all: Tensor[] = [];
    for (let t = 0; t < 40; t++) {
      const k = randn([1, 1, 1, 2]);
      all.push(k);
      cache.append(k, k);
      expect(cache.length).toBeGreaterThanOrEqual(Math.min(t + 1, 4));
      expect(cache.capacity).toBeLessThanOrEqual(8);
    }
    const n = cache.length;
    expect(cache.keys?.arraySync()).toEqual(concat(all.slice(40 - n), 2).arraySync());
    expect(cache.position).toBe(40);
  });

  it('decoding holds memory flat inside tidy', () => {
    const kv = new KVCache({ numLayers: 2, initialCapacity: 64 });
    const step = () =>
      tidy(() => {
        for (let i = 0; i < 2; i++) kv.layer(i).append(randn([1, 2, 1, 4]), randn([1, 2, 1, 4]));
      });
    step();
    const before = memory().cpu;
    for (let t = 0; t < 20; t++) step();
    const after = memory().cpu;
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(kv.length).toBe(21);
    kv.dispose();
  });
});

describe('multi-query attention (one key/value head)', () => {
  it('multiQuery: true is numKeyValueHeads: 1, and its KV cache is numHeads times smaller', () => {
    const mqa = new GroupedQueryAttention({ hiddenSize: 32, numHeads: 8, multiQuery: true });
    expect(mqa.numKeyValueHeads).toBe(1);
    expect(mqa.k_proj.weight.shape).toEqual([4, 32]);
    const mha = new GroupedQueryAttention({ hiddenSize: 32, numHeads: 8 });
    // same weights for the query and output projections, shared k/v head = MHA with repeated k/v
    const x = randn([1, 6, 32]);
    const mqaCache = new LayerKVCache();
    const mhaCache = new LayerKVCache();
    mqa.forward(x, { cache: mqaCache });
    mha.forward(x, { cache: mhaCache });
    const elems = (c: LayerKVCache) => (c.keys?.size ?? 0) + (c.values?.size ?? 0);
    expect(mqaCache.keys?.shape).toEqual([1, 1, 6, 4]);
    expect(elems(mhaCache)).toBe(8 * elems(mqaCache));
  });

  it('equals multi-head attention whose k/v heads are all the same head', () => {
    const mqa = new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, multiQuery: true });
    const mha = new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4 });
    const sd = mqa.stateDict();
    const rep = (w: Tensor) => concat([w, w, w, w], 0);
    mha.loadStateDict({
      ...sd,
      'k_proj.weight': rep(sd['k_proj.weight']),
      'v_proj.weight': rep(sd['v_proj.weight']),
    });
    const x = randn([2, 5, 16]);
    const a = mqa.forward(x).output;
    const b = mha.forward(x).output;
    expect(mismatch(a.dataSync(), a.shape, { shape: [...b.shape], data: b.dataSync() })).toBeNull();
  });

  it('refuses multiQuery with another numKeyValueHeads', () => {
    expect(
      () => new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, numKeyValueHeads: 2, multiQuery: true }),
    ).toThrow(/multiQuery means one key\/value head, but numKeyValueHeads is 2/);
  });
});
