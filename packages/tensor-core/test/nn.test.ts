import {
  crossEntropy,
  Generator,
  gelu,
  getBackend,
  mean,
  memory,
  ones,
  randn,
  registerBackend,
  std,
  sum,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@attnkit/tensor-core';
import {
  Conv2d,
  Dropout,
  Embedding,
  GroupNorm,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  Parameter,
  ReLU,
  RMSNorm,
  Sequential,
  withPlaceholderParameters,
} from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';
import { closeTo, loadFixture } from './fixtures-loader.js';
import { ReferenceBackend } from './reference-backend.js';

const maxAbs = (t: Tensor) => Math.max(...Array.from(t.dataSync(), Math.abs));

class Block extends Module {
  ln = new LayerNorm(4);
  fc = new Linear(4, 4);
  constructor() {
    super();
    this.registerBuffer('mask', ones([4]));
    this.registerBuffer('cache', zeros([2]), false);
  }
  override forward(x: Tensor): Tensor {
    return this.fc.forward(this.ln.forward(x));
  }
}

class Net extends Module {
  embed = new Embedding(10, 4);
  blocks = new ModuleList([new Block(), new Block()]);
  head = new Linear(4, 10, { bias: false });
  override forward(ids: Tensor): Tensor {
    let h = this.embed.forward(ids);
    for (const b of this.blocks) h = (b as Block).forward(h);
    return this.head.forward(h);
  }
}

describe('Module', () => {
  it('names parameters and buffers like torch (fields, ModuleList indices, persistent buffers)', () => {
    const net = new Net();
    // torch's order: a module's parameters, then its buffers, then its children in order.
    expect(Object.keys(net.stateDict())).toEqual([
      'embed.weight',
      'blocks.0.mask',
      'blocks.0.ln.weight',
      'blocks.0.ln.bias',
      'blocks.0.fc.weight',
      'blocks.0.fc.bias',
      'blocks.1.mask',
      'blocks.1.ln.weight',
      'blocks.1.ln.bias',
      'blocks.1.fc.weight',
      'blocks.1.fc.bias',
      'head.weight',
    ]);
    expect(net.namedParameters().map(([n]) => n)).toEqual(
      Object.keys(net.stateDict()).filter((k) => !k.endsWith('mask')),
    );
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'blocks.0.mask',
      'blocks.0.cache',
      'blocks.1.mask',
      'blocks.1.cache',
    ]);
    expect(net.numParameters()).toBe(40 + 2 * (4 + 4 + 16 + 4) + 40);
    expect(net.toString()).toContain('(head): Linear(in_features=4, out_features=10, bias=false)');
    net.dispose();
  });

  it('lists a shared (tied) parameter once but stateDict under both names', () => {
    const net = new Net();
    net.head.weight.dispose();
    net.head.weight = net.embed.weight;
    expect(net.parameters().filter((p) => p === net.embed.weight)).toHaveLength(1);
    const sd = net.stateDict();
    expect(sd['head.weight']).toBe(sd['embed.weight']);
    net.dispose();
  });

  it('loadStateDict copies values in place and keeps parameter identity', () => {
    const a = new Linear(3, 2);
    const b = new Linear(3, 2);
    const w = b.weight;
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.weight).toBe(w);
    expect(Array.from(b.weight.dataSync())).toEqual(Array.from(a.weight.dataSync()));
    expect(Array.from(b.bias!.dataSync())).toEqual(Array.from(a.bias!.dataSync()));
    a.dispose();
    b.dispose();
  });

  it('loads float16 checkpoints into float32 parameters', () => {
    const fc = new Linear(2, 1);
    const w = tensor([[0.5, -2]], undefined, 'float16');
    const bias = tensor([0.25], undefined, 'float16');
    fc.loadStateDict({ weight: w, bias });
    expect(fc.weight.dtype).toBe('float32');
    expect(Array.from(fc.weight.dataSync())).toEqual([0.5, -2]);
    expect(fc.bias!.itemSync()).toBe(0.25);
    for (const t of [w, bias]) t.dispose();
    fc.dispose();
  });

  it('strict loading lists missing, unexpected and mis-shaped keys in one error and writes nothing', () => {
    const fc = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));
    const before = Array.from(fc.stateDict()['2.weight'].dataSync());
    const sd = {
      '0.weight': zeros([2, 3]),
      '0.bias': zeros([3]),
      '2.weight': zeros([1, 2]),
      'extra.weight': zeros([1]),
    };
    let message = '';
    try {
      fc.loadStateDict(sd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('loadStateDict: cannot load the state dict into Sequential');
    expect(message).toContain('missing keys (1): 2.bias');
    expect(message).toContain('unexpected keys (1): extra.weight');
    expect(message).toContain('shape mismatches (1): 0.bias: checkpoint [3] vs model [2]');
    expect(Array.from(fc.stateDict()['2.weight'].dataSync())).toEqual(before);
    // Not strict: keys may differ, shapes may not.
    expect(() => fc.loadStateDict(sd, { strict: false })).toThrow(/shape mismatches \(1\): 0\.bias/);
    const ok = { '2.weight': zeros([1, 2]), extra: zeros([1]) };
    const res = fc.loadStateDict(ok, { strict: false });
    expect(res.missingKeys).toEqual(['0.weight', '0.bias', '2.bias']);
    expect(res.unexpectedKeys).toEqual(['extra']);
    expect(Array.from(fc.stateDict()['2.weight'].dataSync())).toEqual([0, 0]);
    for (const t of [...Object.values(sd), ...Object.values(ok)]) t.dispose();
    fc.dispose();
  });

  it('train()/eval() switch every submodule; Dropout follows', () => {
    const net = new Sequential(new Linear(4, 4), new Dropout(0.5, new Generator(1)));
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const x = ones([64, 4]);
    tidy(() => {
      const lin = (net.at(0) as Linear).forward(x);
      expect(Array.from(net.forward(x).dataSync())).toEqual(Array.from(lin.dataSync()));
    });
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    tidy(() => {
      const y = (net.at(1) as Dropout).forward(x);
      const vals = Array.from(y.dataSync());
      expect(vals.some((v) => v === 0)).toBe(true);
      expect(vals.every((v) => v === 0 || v === 2)).toBe(true);
    });
    x.dispose();
    net.dispose();
  });

  it('zeroGrad frees the gradients', () => {
    const fc = new Linear(2, 2);
    const x = ones([1, 2]);
    tidy(() => sum(fc.forward(x)).backward());
    expect(fc.weight.grad).not.toBeNull();
    const live = memory().reference.numTensors;
    fc.zeroGrad();
    expect(fc.weight.grad).toBeNull();
    expect(memory().reference.numTensors).toBe(live - 2);
    x.dispose();
    fc.dispose();
  });

  it('moves parameters and buffers to another backend with to()', async () => {
    const second = new ReferenceBackend('cpu-second');
    registerBackend('cpu-second', () => second, -1);
    const block = new Block();
    const w = Array.from(block.fc.weight.dataSync());
    await block.to('cpu-second');
    expect(block.fc.weight).toBeInstanceOf(Parameter);
    expect(block.fc.weight.backend).toBe(second);
    expect(block.fc.weight.requiresGrad).toBe(true);
    expect(block.buffers().every((b) => b.backend === second)).toBe(true);
    expect(Array.from(block.fc.weight.dataSync())).toEqual(w);
    expect(memory()['cpu-second'].numTensors).toBe(6);
    block.dispose();
    expect(memory()['cpu-second'].numTensors).toBe(0);
    await expect(block.to('nope')).rejects.toThrow(/Module.to: no backend named 'nope'/);
  });

  it('registration rejects wrong types', () => {
    const m = new Module();
    expect(() => m.registerParameter('w', zeros([1]) as unknown as Parameter)).toThrow(
      /registerParameter\('w'\): expected a Parameter or null, got Tensor \[1\]/,
    );
    expect(() => m.registerModule('a.b', null)).toThrow(/name must be a non-empty string without '\.'/);
    expect(() => new Parameter(tensor([1], undefined, 'int32'))).toThrow(
      /Parameter: parameters must be float tensors, got int32/,
    );
  });
});

describe('default initialisation (torch)', () => {
  it('Linear: kaiming-uniform(a=√5) weight and bias in ±1/√in, seeded', () => {
    const fc = new Linear(100, 200, { generator: new Generator(7) });
    const bound = 1 / Math.sqrt(100);
    expect(fc.weight.shape).toEqual([200, 100]);
    expect(maxAbs(fc.weight)).toBeLessThanOrEqual(bound);
    expect(maxAbs(fc.weight)).toBeGreaterThan(0.99 * bound);
    expect(maxAbs(fc.bias!)).toBeLessThanOrEqual(bound);
    // U(-b, b) has std b/√3.
    const s = tidy(() => std(fc.weight).itemSync());
    expect(s).toBeCloseTo(bound / Math.sqrt(3), 3);
    const again = new Linear(100, 200, { generator: new Generator(7) });
    expect(Array.from(again.weight.dataSync())).toEqual(Array.from(fc.weight.dataSync()));
    fc.dispose();
    again.dispose();
  });

  it('Conv2d: bound 1/√(in/groups·kh·kw)', () => {
    const conv = new Conv2d(8, 16, 3, { groups: 2, generator: new Generator(3) });
    expect(conv.weight.shape).toEqual([16, 4, 3, 3]);
    const bound = 1 / Math.sqrt(4 * 9);
    expect(maxAbs(conv.weight)).toBeLessThanOrEqual(bound);
    expect(maxAbs(conv.weight)).toBeGreaterThan(0.95 * bound);
    expect(maxAbs(conv.bias!)).toBeLessThanOrEqual(bound);
    tidy(() => {
      expect(conv.forward(randn([1, 8, 5, 5])).shape).toEqual([1, 16, 3, 3]);
    });
    conv.dispose();
  });

  it('Embedding: N(0, 1) with the padding row zero', () => {
    const emb = new Embedding(1000, 16, { paddingIdx: 3, generator: new Generator(5) });
    tidy(() => {
      expect(mean(emb.weight).itemSync()).toBeCloseTo(0, 1);
      expect(std(emb.weight).itemSync()).toBeCloseTo(1, 1);
      expect(Array.from(emb.weight.at(3).dataSync())).toEqual(new Array(16).fill(0));
    });
    emb.dispose();
  });

  it('norm layers start at weight 1, bias 0', () => {
    const ln = new LayerNorm([2, 3]);
    const rms = new RMSNorm(3, { eps: 1e-6 });
    const gn = new GroupNorm(2, 4);
    expect(Array.from(ln.weight!.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(ln.bias!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(rms.weight!.dataSync())).toEqual([1, 1, 1]);
    expect(Object.keys(gn.stateDict())).toEqual(['weight', 'bias']);
    expect(() => new GroupNorm(3, 4)).toThrow(/GroupNorm: numChannels 4 must be divisible by numGroups 3/);
    tidy(() => {
      // rms of [3, 4, 0]... x / sqrt(mean(x^2) + eps): mean(x^2) = 25/3
      const y = rms.forward(tensor([[3, 4, 0]]));
      const r = 1 / Math.sqrt(25 / 3 + 1e-6);
      expect(Array.from(y.dataSync())).toEqual([3 * r, 4 * r, 0].map((v) => expect.closeTo(v, 6)));
    });
    for (const m of [ln, rms, gn]) m.dispose();
  });
});

describe('composite model parity (torch)', () => {
  // loss = cross_entropy(linear(gelu(layer_norm(linear(x)))), target, label_smoothing=0.05):
  // loss and every gradient within rtol 1e-4 (atol 1e-5).
  it('MLP with LayerNorm, GELU and label-smoothed cross-entropy', () => {
    const fx = loadFixture('composite_mlp_layernorm_gelu_ce');
    class Mlp extends Module {
      fc1 = new Linear(6, 16);
      ln = new LayerNorm(16, { eps: fx.meta.eps as number });
      fc2 = new Linear(16, 4);
      override forward(x: Tensor): Tensor {
        return this.fc2.forward(gelu(this.ln.forward(this.fc1.forward(x))));
      }
    }
    const model = new Mlp();
    const names: Record<string, string> = {
      'fc1.weight': 'w1',
      'fc1.bias': 'b1',
      'ln.weight': 'ln_weight',
      'ln.bias': 'ln_bias',
      'fc2.weight': 'w2',
      'fc2.bias': 'b2',
    };
    tidy(() => {
      const sd: Record<string, Tensor> = {};
      for (const [k, f] of Object.entries(names)) sd[k] = fx.tensor(f);
      model.loadStateDict(sd);
      const x = fx.tensor('x');
      x.requiresGrad = true;
      const logits = model.forward(x);
      expect(closeTo(logits.dataSync(), logits.shape, fx.array('logits'), 1e-4, 1e-5)).toBeNull();
      const loss = crossEntropy(logits, fx.tensor('target'), {
        labelSmoothing: fx.meta.label_smoothing as number,
      });
      expect(closeTo(loss.dataSync(), loss.shape, fx.array('loss'), 1e-4, 1e-5)).toBeNull();
      loss.backward();
      expect(closeTo(x.grad!.dataSync(), x.shape, fx.array('grad_x'), 1e-4, 1e-5)).toBeNull();
      const sdm = model.stateDict();
      for (const [k, f] of Object.entries(names)) {
        const g = sdm[k].grad!;
        expect(closeTo(g.dataSync(), g.shape, fx.array(`grad_${f}`), 1e-4, 1e-5), k).toBeNull();
      }
      x.grad!.dispose();
    });
    model.zeroGrad();
    model.dispose();
  });
});

describe('Parameter from a 16-bit tensor, and placeholder parameters', () => {
  const be = () => memory()[getBackend().name] ?? { numTensors: 0, numBytes: 0 };
  it('new Parameter(a bfloat16 tensor) widens it and takes its place (no tensor leaks)', () => {
    const wide = tensor([1.5, -2, 3.25]);
    const half = wide.cast('bfloat16');
    wide.dispose();
    const before = be().numTensors;
    const p = new Parameter(half);
    expect(half.isDisposed).toBe(true);
    expect(p.dtype).toBe('float32');
    expect([...p.dataSync()]).toEqual([1.5, -2, 3.25]);
    expect(be().numTensors).toBe(before);
    p.dispose();
    expect(be().numTensors).toBe(before - 1);
  });

  it('withPlaceholderParameters: parameters share the largest storage made so far (garbage values)', () => {
    const before = be()?.numBytes ?? 0;
    const { result, placeholders } = withPlaceholderParameters(
      () => new Sequential(new Linear(16, 32), new Linear(32, 8), new Linear(8, 8)),
    );
    const params = result.parameters();
    expect(params.length).toBe(6);
    expect([...placeholders].sort()).toEqual([...params].sort());
    // one storage of 16·32 floats, shared by every later (smaller) parameter
    expect(be().numBytes - before).toBe(16 * 32 * 4);
    for (const p of placeholders) p.dispose();
    expect(be().numBytes).toBe(before);
    // outside the scope parameters own their storage again
    const own = new Linear(4, 4);
    expect(be().numBytes - before).toBe((16 + 4) * 4);
    own.dispose();
  });
});
