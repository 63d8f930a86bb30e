// traceOps records the outermost ops a function runs, with their inputs, outputs and attributes,
// and the values of the tensors no recorded op produced; nothing is recorded outside a trace.
import './reference-backend.js';
import { describe, expect, it } from 'vitest';
import {
  add,
  isTracing,
  layerNorm,
  matmul,
  softmax,
  type Tensor,
  tensor,
  traceMark,
  traceOps,
} from '../src/index.js';

describe('traceOps', () => {
  it('records the outermost ops in order, with attributes and host-made inputs', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    const w = tensor([
      [1, 0],
      [0, 2],
    ]);
    const { result, ops, constants } = traceOps(() =>
      softmax(add(layerNorm(matmul(x, w), [2]), 1), -1).reshape([4]),
    );
    expect(ops.map((o) => o.op)).toEqual(['matmul', 'layerNorm', 'add', 'softmax', 'reshape']);
    // layerNorm's own mean/sub/mul are not recorded: only the op the caller ran
    expect(ops[1].attrs).toEqual({ axes: 1, eps: 1e-5 });
    expect(ops[2].inputs[1]).toBe(1);
    expect(ops[2].attrs).toEqual({ compute: 'float32' });
    expect(ops[3].attrs).toEqual({ axis: 1 });
    expect(ops[4].attrs).toEqual({ shape: [4] });
    expect(ops[4].outputs[0]).toBe(result);
    // each op reads the previous op's output
    for (let i = 1; i < ops.length; i++) expect(ops[i].inputs[0]).toBe(ops[i - 1].outputs[0]);
    // x and w were made outside the trace: their values are kept
    expect([...constants.keys()]).toEqual([x, w]);
    expect(Array.from(constants.get(w) as ArrayLike<number>)).toEqual([1, 0, 0, 2]);
  });

  it('records nothing outside a trace and refuses nested traces', () => {
    expect(isTracing()).toBe(false);
    expect(traceMark()).toBe(-1);
    const x: Tensor = tensor([1, 2]);
    expect(() => traceOps(() => traceOps(() => add(x, 1)))).toThrow(/already running/);
    expect(isTracing()).toBe(false);
    const { ops } = traceOps(() => {
      expect(isTracing()).toBe(true);
      return x.sliceDim(0, 1).permute([0]).expand([3]);
    });
    expect(ops.map((o) => [o.op, o.attrs])).toEqual([
      ['slice', { dim: 0, start: 1, end: 2, step: 1 }],
      ['permute', { perm: [0] }],
      ['expand', { shape: [3] }],
    ]);
  });
});
