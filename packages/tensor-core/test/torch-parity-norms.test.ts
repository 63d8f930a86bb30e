// Parity with PyTorch (fixtures from scripts/reference/tensor_ops.py): forward values and the
// gradients of every differentiable input, for the norms, activations and softmax family.
// Tolerance: 1e-4 relative, plus 1e-5 absolute for values near zero.
import './reference-backend.js';
import {
  gelu,
  groupNorm,
  layerNorm,
  logSoftmax,
  noGrad,
  rmsNorm,
  setBackend,
  silu,
  softmax,
  softplus,
  type Tensor,
} from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import { closeTo, type Fixture, fixtureIndex, loadFixture } from './fixtures-loader.js';
import { PRIMITIVES_ONLY } from './primitives-backend.js';

const RTOL = 1e-4;
const ATOL = 1e-5;

type Runner = (fx: Fixture, t: Record<string, Tensor | null>) => Tensor;

/** One line per op: how to call ours with the fixture's inputs and args. */
const RUNNERS: Record<string, Runner> = {
  layerNorm: (fx, t) => layerNorm(t.input!, fx.arg('normalized_shape'), t.weight, t.bias, fx.arg('eps')),
  rmsNorm: (fx, t) => rmsNorm(t.input!, t.input!.shape[t.input!.rank - 1], t.weight, fx.arg('eps')),
  groupNorm: (fx, t) => groupNorm(t.input!, fx.arg('num_groups'), t.weight, t.bias, fx.arg('eps')),
  gelu: (fx, t) => gelu(t.input!, { approximate: fx.arg('approximate') }),
  silu: (_fx, t) => silu(t.input!),
  softplus: (fx, t) => softplus(t.input!, { beta: fx.arg('beta'), threshold: fx.arg('threshold') }),
  softmax: (fx, t) => softmax(t.input!, fx.arg('dim')),
  logSoftmax: (fx, t) => logSoftmax(t.input!, fx.arg('dim')),
};

const cases = fixtureIndex().filter((c) => c.op in RUNNERS);

describe('torch parity: norms, activations, softmax', () => {
  it('finds the fixture cases', () => {
    const ops = new Set(cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(Object.keys(RUNNERS).sort());
    expect(cases.length).toBeGreaterThanOrEqual(19);
  });

  for (const { name, op } of cases) {
    it.each(['reference', PRIMITIVES_ONLY])(
      `${name} (${op}) on %s: values and input gradients`,
      (backend) => {
        setBackend(backend);
        const fx = loadFixture(name);
        const inputs = fx.meta.inputs as string[];
        const differentiable = new Set((fx.meta.differentiable as string[]) ?? []);
        const t: Record<string, Tensor | null> = { weight: null, bias: null };
        for (const k of inputs) {
          t[k] = fx.tensor(k);
          if (differentiable.has(k)) t[k]!.requiresGrad = true;
        }
        const y = RUNNERS[op](fx, t);
        expect(closeTo(y.dataSync(), y.shape, fx.array('output'), RTOL, ATOL)).toBeNull();
        y.backward(fx.tensor('grad_output'));
        for (const k of differentiable) {
          const g = t[k]!.grad;
          expect(g, `grad of ${k}`).not.toBeNull();
          expect(
            closeTo(g!.dataSync(), g!.shape, fx.array(`grad_${k}`), RTOL, ATOL),
            `grad of ${k}`,
          ).toBeNull();
        }
        noGrad(() => {
          for (const v of Object.values(t)) v?.dispose();
        });
      },
    );
  }
});
