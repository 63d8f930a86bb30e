// freeze / unfreeze by parameter name, and countParameters: frozen parameters get no gradient.
import './reference-backend.js';
import { randn, sum, type Tensor, tidy } from '@attnkit/tensor-core';
import { countParameters, freeze, Linear, Module, unfreeze } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';

class Net extends Module {
  emb = new Linear(3, 4);
  layers = [new Linear(4, 4), new Linear(4, 4)];
  head = new Linear(4, 2, { bias: false });
  override forward(x: Tensor): Tensor {
    let h = this.emb.forward(x);
    for (const l of this.layers) h = l.forward(h);
    return this.head.forward(h);
  }
}

describe('freeze', () => {
  it('freezes by RegExp, name prefix and predicate; frozen parameters get no gradient', () => {
    const net = new Net();
    expect(freeze(net, /^layers\.0\./)).toEqual(['layers.0.weight', 'layers.0.bias']);
    expect(freeze(net, 'emb')).toEqual(['emb.weight', 'emb.bias']);
    expect(freeze(net, (n, p) => n.startsWith('layers.1') && p.rank === 1)).toEqual(['layers.1.bias']);
    expect(countParameters(net)).toEqual({ trainable: 16 + 8, total: 16 + 2 * 20 + 8, fraction: 24 / 64 });
    tidy(() => sum(net.forward(randn([5, 3]))).backward());
    for (const [n, p] of net.namedParameters()) expect(p.grad !== null, n).toBe(p.requiresGrad);
    net.zeroGrad();
    expect(unfreeze(net).length).toBe(7);
    expect(countParameters(net).fraction).toBe(1);
    freeze(net);
    expect(countParameters(net).trainable).toBe(0);
  });

  it('names the pattern that matches nothing and shows how parameters are named', () => {
    const net = new Net();
    expect(() => freeze(net, /^encoder\./)).toThrow(
      /freeze: pattern \/\^encoder\\.\/ matches no parameter of Net; its parameters are named like emb\.weight, emb\.bias/,
    );
    expect(() => unfreeze(net, '')).toThrow(/pattern must be a RegExp, a non-empty name prefix/);
    expect(countParameters(net).fraction).toBe(1);
  });
});
