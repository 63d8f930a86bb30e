// Mixture-of-Experts against a float64 reference written out by hand (router softmax, top-k,
// renormalised weights, SwiGLU experts), the load-balancing loss against its formula, and gradients.
import '@attnkit/backend-cpu';
import { manualSeed, randn } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { loadBalancingLoss, MixtureOfExperts } from '../src/index.js';
import { closeness } from './helpers.js';

const silu = (v: number) => v / (1 + Math.exp(-v));

function matvec(w: Float32Array, rows: number, cols: number, x: ArrayLike<number>): number[] {
  const out = new Array<number>(rows).fill(0);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r] += w[r * cols + c] * x[c];
  return out;
}

describe('MixtureOfExperts', () => {
  it('matches a float64 reference and routes each token to its top-k experts', () => {
    manualSeed(5);
    const [E, F, n, k] = [6, 10, 4, 2];
    const moe = new MixtureOfExperts(E, F, { numExperts: n, topK: k }).eval();
    const x = randn([2, 3, E]);
    const { output, routerLogits, auxLoss } = moe.forward(x);
    expect(output.shape).toEqual([2, 3, E]);
    expect(routerLogits.shape).toEqual([6, n]);
    const xs = x.dataSync();
    const gw = moe.gate.weight.dataSync() as Float32Array;
    const want: number[] = [];
    const probsAll: number[][] = [];
    const chosenAll: number[][] = [];
    for (let t = 0; t < 6; t++) {
      const xt = Array.from(xs.slice(t * E, (t + 1) * E));
      const logits = matvec(gw, n, E, xt);
      const m = Math.max(...logits);
      const ex = logits.map((v) => Math.exp(v - m));
      const s = ex.reduce((a, b) => a + b, 0);
      const p = ex.map((v) => v / s);
      probsAll.push(p);
      const order = p
        .map((v, i) => [v, i])
        .sort((a, b) => b[0] - a[0])
        .slice(0, k);
      chosenAll.push(order.map((o) => o[1]));
      const norm = order.reduce((a, o) => a + o[0], 0);
      const y = new Array<number>(E).fill(0);
      for (const [pv, ei] of order) {
        const ex_ = moe.experts[ei];
        const h1 = matvec(ex_.w1.weight.dataSync() as Float32Array, F, E, xt);
        const h3 = matvec(ex_.w3.weight.dataSync() as Float32Array, F, E, xt);
        const h = h1.map((v, i) => silu(v) * h3[i]);
        const o = matvec(ex_.w2.weight.dataSync() as Float32Array, E, F, h);
        for (let i = 0; i < E; i++) y[i] += (pv / norm) * o[i];
      }
      want.push(...y);
    }
    expect(closeness(output.dataSync(), want).ratio).toBeLessThanOrEqual(1);
    // load-balancing loss: n · Σ_slot Σ_e f[slot, e] · P[e]
    let aux = 0;
    for (let slot = 0; slot < k; slot++) {
      for (let e = 0; e < n; e++) {
        const f = chosenAll.filter((c) => c[slot] === e).length / 6;
        const P = probsAll.reduce((a, p) => a + p[e], 0) / 6;
        aux += f * P;
      }
    }
    expect(auxLoss.itemSync()).toBeCloseTo(aux * n, 5);
    expect(loadBalancingLoss(routerLogits, n, k).itemSync()).toBeCloseTo(aux * n, 5);
    expect(() => loadBalancingLoss(routerLogits, 5, k)).toThrow(/routerLogits must be \[tokens, 5\]/);
  });

  it('sends gradients to the router and to the experts it used', () => {
    manualSeed(6);
    const moe = new MixtureOfExperts(4, 8, { numExperts: 3, topK: 1 });
    const x = randn([5, 4]);
    const { output, auxLoss } = moe.forward(x);
    output.sum().add(auxLoss.mul(0.1)).backward();
    const g = moe.gate.weight.grad?.dataSync() ?? [];
    expect(Array.from(g).some((v) => v !== 0)).toBe(true);
    const used = moe.experts.filter((e) => e.w2.weight.grad !== null);
    expect(used.length).toBeGreaterThan(0);
    expect(() => new MixtureOfExperts(4, 8, { numExperts: 2, topK: 3 })).toThrow(
      /topK must be an integer in \[1, numExperts = 2\]/,
    );
    expect(() => moe.forward(randn([2, 5]))).toThrow(/expected x \[\.\.\., 4\]/);
  });
});
