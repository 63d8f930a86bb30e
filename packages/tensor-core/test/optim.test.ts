import './reference-backend.js';
import { Generator, memory, mul, sub, sum, type Tensor, tensor, tidy, zeros } from '@attnkit/tensor-core';
import { Linear, Parameter } from '@attnkit/tensor-core/nn';
import {
  Adam,
  AdamW,
  clipGradNorm,
  clipGradValue,
  cosineWithWarmupLambda,
  getCosineScheduleWithWarmup,
  getLinearScheduleWithWarmup,
  LambdaLR,
  SGD,
} from '@attnkit/tensor-core/optim';
import { describe, expect, it } from 'vitest';
import { closeTo, type FixtureArray, fixtureIndex, loadFixture } from './fixtures-loader.js';

// Optimizer trajectories against torch.optim (scripts/reference/tensor_ops.py): five steps on
// sum(0.5 * a * (p - center)^2), gradients from our autograd, parameters within rtol 1e-5 (atol 1e-6).
const RTOL = 1e-5;
const ATOL = 1e-6;

function slice(a: FixtureArray, i: number): FixtureArray {
  const [, ...shape] = a.shape;
  const n = shape.reduce((x, y) => x * y, 1);
  return { shape, data: a.data.slice(i * n, (i + 1) * n), dtype: a.dtype };
}

type H = Record<string, unknown>;
function makeOptimizer(op: string, p: Tensor, h: H) {
  const betas = h.betas as [number, number] | undefined;
  if (op === 'SGD') {
    return new SGD([p], {
      lr: h.lr as number,
      momentum: h.momentum as number,
      dampening: h.dampening as number,
      weightDecay: h.weight_decay as number,
      nesterov: h.nesterov as boolean,
    });
  }
  const o = { lr: h.lr as number, betas, eps: h.eps as number, weightDecay: h.weight_decay as number };
  return op === 'Adam' ? new Adam([p], o) : new AdamW([p], o);
}

const optCases = fixtureIndex().filter((c) => ['SGD', 'Adam', 'AdamW'].includes(c.op));

describe('optimizer trajectories match torch.optim', () => {
  it('covers SGD, Adam and AdamW', () => {
    expect(new Set(optCases.map((c) => c.op))).toEqual(new Set(['SGD', 'Adam', 'AdamW']));
  });
  for (const { name, op } of optCases) {
    it(name, () => {
      const fx = loadFixture(name);
      const p = new Parameter(fx.tensor('param0'));
      const a = fx.tensor('a');
      const center = fx.tensor('center');
      const opt = makeOptimizer(op, p, fx.meta.hyperparameters as H);
      const steps = fx.meta.steps as number;
      for (let i = 0; i < steps; i++) {
        tidy(() => {
          opt.zeroGrad();
          const d = sub(p, center);
          sum(mul(mul(a, mul(d, d)), 0.5)).backward();
          expect(
            closeTo(p.grad!.dataSync(), p.shape, slice(fx.array('grads'), i), RTOL, ATOL),
            `grad ${i}`,
          ).toBeNull();
          opt.step();
        });
        expect(
          closeTo(p.dataSync(), p.shape, slice(fx.array('params'), i), RTOL, ATOL),
          `step ${i}`,
        ).toBeNull();
      }
      opt.zeroGrad();
      opt.dispose();
      p.dispose();
      a.dispose();
      center.dispose();
    });
  }
});

const schedCases = fixtureIndex().filter((c) => ['cosineWithWarmup', 'linearWithWarmup'].includes(c.op));

describe('learning-rate schedules match transformers', () => {
  it('covers cosine and linear', () => {
    expect(new Set(schedCases.map((c) => c.op))).toEqual(new Set(['cosineWithWarmup', 'linearWithWarmup']));
  });
  for (const { name, op } of schedCases) {
    it(name, () => {
      const fx = loadFixture(name);
      const m = fx.meta as Record<string, number | number[]>;
      const p = new Parameter(zeros([1]));
      const opt = new AdamW([p], { lr: m.base_lr as number });
      const sched =
        op === 'cosineWithWarmup'
          ? getCosineScheduleWithWarmup(
              opt,
              m.num_warmup_steps as number,
              m.num_training_steps as number,
              m.num_cycles as number,
            )
          : getLinearScheduleWithWarmup(opt, m.num_warmup_steps as number, m.num_training_steps as number);
      const want = m.lr_values as number[];
      expect(want.length).toBe(fx.array('step').data.length);
      for (let i = 0; i < want.length; i++) {
        expect(opt.lr, `step ${i}`).toBeCloseTo(want[i], 12);
        expect(sched.getLastLr()[0]).toBe(opt.lr);
        sched.step();
      }
      p.dispose();
    });
  }

  it('scales each parameter group from its own base rate', () => {
    const a = new Parameter(zeros([1]));
    const b = new Parameter(zeros([1]));
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    const sched = new LambdaLR(opt, (s) => 1 / (s + 1));
    sched.step();
    expect(sched.getLastLr()).toEqual([0.05, 0.25]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.05, 0.25]);
    expect(cosineWithWarmupLambda(10, 110)(60)).toBeCloseTo(0.5, 12);
    a.dispose();
    b.dispose();
  });
});

describe('clipGradNorm', () => {
  it('returns the total 2-norm and scales gradients to maxNorm', () => {
    const a = new Parameter(zeros([2]));
    const b = new Parameter(zeros([1]));
    a.grad = tensor([3, 0]);
    b.grad = tensor([4]);
    const norm = clipGradNorm([a, b], 1);
    expect(norm.itemSync()).toBeCloseTo(5, 6);
    // scaled by 1 / (5 + 1e-6)
    const k = 1 / (5 + 1e-6);
    expect(Array.from(a.grad.dataSync())).toEqual([Math.fround(3 * k), 0].map((v) => expect.closeTo(v, 6)));
    expect(b.grad.itemSync()).toBeCloseTo(4 * k, 6);
    norm.dispose();
    const small = clipGradNorm([a, b], 10);
    expect(small.itemSync()).toBeCloseTo(1, 5);
    expect(b.grad.itemSync()).toBeCloseTo(4 * k, 6); // unchanged below the limit
    small.dispose();
    const inf = clipGradNorm([a, b], 10, Number.POSITIVE_INFINITY);
    expect(inf.itemSync()).toBeCloseTo(4 * k, 6);
    inf.dispose();
    clipGradValue([a, b], 0.5);
    expect(Array.from(a.grad.dataSync())).toEqual([0.5, 0]);
    expect(b.grad.itemSync()).toBe(0.5);
    for (const p of [a, b]) {
      p.grad?.dispose();
      p.dispose();
    }
  });

  it('rejects a negative maxNorm', () => {
    expect(() => clipGradNorm([], -1)).toThrow(/clipGradNorm: maxNorm must be a number >= 0, got -1/);
  });
});

describe('optimizer validation and memory', () => {
  it('names the problem in bad hyperparameters', () => {
    const p = new Parameter(zeros([2]));
    expect(() => new AdamW([p], { lr: -1 })).toThrow(/AdamW: lr must be a number >= 0, got -1/);
    expect(() => new Adam([p], { lr: 0.1, betas: [1, 0.9] })).toThrow(/Adam: betas must be in \[0, 1\)/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(
      /SGD: nesterov momentum needs momentum > 0/,
    );
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/SGD: got an empty parameter list/);
    p.dispose();
  });

  it('updates in place: parameter identity and memory stay the same across steps', () => {
    const fc = new Linear(3, 2);
    const w = fc.weight;
    const opt = new AdamW(fc.parameters(), { lr: 0.01 });
    const x = tensor([[1, 2, 3]]);
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        sum(fc.forward(x)).backward();
        opt.step();
      });
    step();
    const before = memory().reference;
    const w0 = Array.from(w.dataSync());
    for (let i = 0; i < 20; i++) step();
    expect(memory().reference).toEqual(before);
    expect(fc.weight).toBe(w);
    expect(Array.from(w.dataSync())).not.toEqual(w0);
    opt.zeroGrad();
    opt.dispose();
    fc.dispose();
    x.dispose();
  });
});

describe('optimizer state dict', () => {
  it('resuming from stateDict() continues the same trajectory', () => {
    const g = new Generator(3);
    const a = new Linear(3, 2, { generator: g });
    const b = new Linear(3, 2);
    b.loadStateDict(a.stateDict());
    const x = tensor([[1, -2, 0.5]]);
    const optA = new AdamW(a.parameters(), { lr: 0.05 });
    const train = (m: Linear, o: AdamW, n: number) => {
      for (let i = 0; i < n; i++) {
        tidy(() => {
          o.zeroGrad();
          sum(mul(m.forward(x), m.forward(x))).backward();
          o.step();
        });
      }
    };
    train(a, optA, 3);
    b.loadStateDict(a.stateDict());
    const optB = new AdamW(b.parameters(), { lr: 0.5 });
    optB.loadStateDict(optA.stateDict());
    expect(optB.lr).toBe(0.05);
    train(a, optA, 4);
    train(b, optB, 4);
    expect(Array.from(b.weight.dataSync())).toEqual(Array.from(a.weight.dataSync()));
    expect(() => new AdamW([b.weight], { lr: 1 }).loadStateDict(optA.stateDict())).toThrow(
      /Optimizer.loadStateDict: the state has 1 groups and 2 parameters; this optimizer has 1 and 1/,
    );
    for (const o of [optA, optB]) {
      o.zeroGrad();
      o.dispose();
    }
    a.dispose();
    b.dispose();
    x.dispose();
  });
});
