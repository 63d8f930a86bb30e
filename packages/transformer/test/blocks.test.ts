// The 2017 blocks against torch's own nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (state
// dicts loaded as they are), ViT against the Hugging Face forward, and the feed-forward variants.
import '@attnkit/backend-cpu';
import { join } from 'node:path';
import { KVCache } from '@attnkit/attention';
import { concat, gelu, mul, randn, silu, type Tensor, tensor } from '@attnkit/tensor-core';
import { readSafetensors } from '@attnkit/tensor-core/io';
import { describe, expect, it } from 'vitest';
import {
  activation,
  DecoderBlock,
  EncoderBlock,
  FeedForward,
  loadPretrained,
  PreLNBlock,
  SwiGLU,
  ViTForImageClassification,
} from '../src/index.js';
import { closeness, fixtureNames, loadFixture } from './helpers.js';

const blockCases = fixtureNames().filter((n) => loadFixture(n).meta.model === 'block');

describe('EncoderBlock / DecoderBlock vs torch nn.Transformer*Layer', () => {
  it('has the four torch cases', () => expect(blockCases.length).toBe(4));
  for (const name of blockCases) {
    it(name, async () => {
      const fx = loadFixture(name);
      const m = fx.meta as Record<string, number | string | boolean>;
      const options = {
        dimFeedforward: m.dim_feedforward as number,
        activation: m.activation as 'relu',
        normFirst: m.norm_first as boolean,
        layerNormEps: m.layer_norm_eps as number,
        dropout: 0,
      };
      const state = await readSafetensors(join(fx.dir, 'state_dict.safetensors'));
      const x = fx.tensor('x');
      let y: Tensor;
      if (m.kind === 'encoder') {
        const block = new EncoderBlock(m.d_model as number, m.nhead as number, options).eval();
        block.loadStateDict(state); // strict: the names are torch's
        const kpm = fx.tensor('src_key_padding_mask').ne(0);
        y = block.forward(x, { keyPaddingMask: kpm });
      } else {
        const block = new DecoderBlock(m.d_model as number, m.nhead as number, options).eval();
        block.loadStateDict(state);
        const memory = fx.tensor('memory');
        const mkpm = fx.tensor('memory_key_padding_mask').ne(0);
        y = block.forward(x, memory, { memoryKeyPaddingMask: mkpm });
        // incremental decoding with a cache gives the same rows
        const cache = new KVCache({ numLayers: 1 });
        const rows: Tensor[] = [];
        for (let t = 0; t < x.shape[1]; t++) {
          rows.push(
            block.forward(x.sliceDim(1, t, t + 1), memory, {
              memoryKeyPaddingMask: mkpm,
              cache: cache.layer(0),
            }),
          );
        }
        const stepped = concat(rows, 1);
        expect(closeness(stepped.dataSync(), y.dataSync()).ratio).toBeLessThanOrEqual(1);
        cache.dispose();
      }
      const want = fx.array('output');
      expect(y.shape).toEqual(want.shape);
      const c = closeness(y.dataSync(), want.data);
      expect(c.ratio, `worst ${c.worst}`).toBeLessThanOrEqual(1);
    });
  }

  it('PreLNBlock is a causal pre-LN encoder block', () => {
    const block = new PreLNBlock(8, 2, { dimFeedforward: 16, dropout: 0 }).eval();
    expect(block.normFirst).toBe(true);
    expect(Object.keys(block.stateDict())).toContain('self_attn.in_proj_weight');
    const x = randn([1, 5, 8]);
    const full = block.forward(x).dataSync();
    // causal: the first 3 outputs do not depend on later tokens
    const prefix = block.forward(x.sliceDim(1, 0, 3)).dataSync();
    expect(closeness(prefix, full.slice(0, 24)).ratio).toBeLessThanOrEqual(1);
  });
});

describe('feed-forward', () => {
  it('FeedForward is linear2(act(linear1(x))) and SwiGLU is down(silu(gate) * up)', () => {
    const ff = new FeedForward(4, 6, { activation: 'gelu' });
    const x = randn([2, 4]);
    const h = gelu(x.matmul(ff.linear1.weight.T).add(ff.linear1.bias as Tensor));
    const want = h.matmul(ff.linear2.weight.T).add(ff.linear2.bias as Tensor);
    expect(closeness(ff.forward(x).dataSync(), want.dataSync()).ratio).toBeLessThanOrEqual(1);
    const sw = new SwiGLU(4, 6);
    expect(sw.gate_proj.bias).toBeNull();
    const want2 = mul(silu(x.matmul(sw.gate_proj.weight.T)), x.matmul(sw.up_proj.weight.T)).matmul(
      sw.down_proj.weight.T,
    );
    expect(closeness(sw.forward(x).dataSync(), want2.dataSync()).ratio).toBeLessThanOrEqual(1);
    expect(() => activation('gelu_2')).toThrow(/unknown activation 'gelu_2'/);
    // quick_gelu by hand: x·σ(1.702x)
    const q = activation('quick_gelu')(tensor([1])).dataSync()[0];
    expect(q).toBeCloseTo(1 / (1 + Math.exp(-1.702)), 6);
  });
});

describe('ViT vs the Hugging Face forward', () => {
  for (const name of ['vit-tiny', 'vit-noprefix']) {
    it(name, async () => {
      const fx = loadFixture(name);
      const model = (await loadPretrained(fx.dir)) as ViTForImageClassification;
      expect(model).toBeInstanceOf(ViTForImageClassification);
      const out = model.forward({ pixelValues: fx.tensor('pixel_values') });
      for (const [key, got] of [
        ['logits', out.logits],
        ['last_hidden_state', out.lastHiddenState],
      ] as const) {
        const want = fx.array(key);
        expect(got.shape).toEqual(want.shape);
        expect(closeness(got.dataSync(), want.data).ratio, key).toBeLessThanOrEqual(1);
      }
      expect(() => model.forward({ pixelValues: randn([1, 3, 5, 5]) })).toThrow(/pixelValues' must be \[B/);
      model.dispose();
    });
  }
});
