import { noGrad } from '../autograd.js';
import { fromValues } from '../creation.js';
import { setBackend } from '../registry.js';
import type { ConformanceCase, RefArray } from './case.js';
import { convCases } from './cases/conv.js';
import { elementwiseCases } from './cases/elementwise.js';
import { lossCases } from './cases/loss.js';
import { opCases } from './cases/ops.js';
import { poolCases } from './cases/pool.js';

/** The test functions the suite needs (vitest's or jest's describe/it/expect work as they are). */
export interface TestApi {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => void | Promise<void>) => void;
}

/** Options of {@link defineConformanceSuite}. */
export interface ConformanceOptions {
  /** Multiplies every case's tolerances (1 on the CPU; e.g. 100 for a GPU backend at 1e-3). */
  toleranceScale?: number;
  /** Only run cases whose op is listed. */
  only?: string[];
}

/** Every case of the suite, in one table. */
export const conformanceCases: ConformanceCase[] = [
  ...elementwiseCases,
  ...opCases,
  ...convCases,
  ...poolCases,
  ...lossCases,
];

/**
 * Defines the backend conformance suite: one describe per op, one test per case, each comparing the
 * backend's values (and gradients, by float64 central differences) with a float64 reference.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import '@attnkit/backend-cpu';
 * import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
 * defineConformanceSuite('cpu', { describe, it });
 * ```
 */
export function defineConformanceSuite(
  backend: string,
  api: TestApi,
  options: ConformanceOptions = {},
): void {
  const scale = options.toleranceScale ?? 1;
  const byOp = new Map<string, ConformanceCase[]>();
  for (const c of conformanceCases) {
    if (options.only && !options.only.includes(c.op)) continue;
    if (!byOp.has(c.op)) byOp.set(c.op, []);
    byOp.get(c.op)!.push(c);
  }
  for (const [op, cases] of byOp) {
    api.describe(`${backend}: ${op}`, () => {
      for (const c of cases) {
        api.it(c.name, async () => {
          setBackend(backend);
          await checkCase(c, scale);
        });
      }
    });
  }
}

/** Runs one case: values, then gradients. Throws an Error describing the first mismatch. */
export async function checkCase(c: ConformanceCase, scale = 1): Promise<void> {
  const rtol = (c.rtol ?? 1e-5) * scale;
  const atol = (c.atol ?? 1e-6) * scale;
  const made = c.inputs.map((r) => fromValues(r.data, r.shape, r.dtype ?? 'float32'));
  try {
    const wantGrad = new Set(c.grad ?? []);
    for (const i of wantGrad) made[i].requiresGrad = true;
    const xs = c.view ? c.view(made) : made;
    if (c.needsSyncRead !== undefined && !made[0]?.backend.readSync) {
      let message = '';
      try {
        c.run(...xs).dispose();
      } catch (e) {
        message = String((e as Error).message);
      }
      if (!message.includes(c.needsSyncRead)) {
        throw new Error(
          `${c.op} (${c.name}): expected an error containing '${c.needsSyncRead}' on a backend without readSync, got '${message || 'no error'}'`,
        );
      }
      return;
    }
    const y = c.run(...xs);
    const expected = c.ref(...c.inputs);
    compare(`${c.op} (${c.name}) value`, await y.data(), y.shape, expected, rtol, atol);
    if (wantGrad.size) {
      // Upstream gradient: fixed pseudo-random weights, so every output element matters.
      const w = new Float64Array(expected.data.length).map((_, i) => Math.sin(i * 1.7 + 0.3) + 1.5);
      const wT = fromValues(w, expected.shape, 'float32');
      y.backward(wT);
      for (const i of wantGrad) {
        const num = numericGrad(c, i, w);
        const g = made[i].grad;
        if (!g) throw new Error(`${c.op} (${c.name}): input ${i} got no gradient`);
        compare(
          `${c.op} (${c.name}) grad of input ${i}`,
          await g.data(),
          g.shape,
          num,
          rtol * 100,
          atol * 100,
        );
      }
      wT.dispose();
    }
  } finally {
    noGrad(() => {
      for (const t of made) {
        t.grad?.dispose();
        t.dispose();
      }
    });
  }
}

function numericGrad(c: ConformanceCase, i: number, w: Float64Array): RefArray {
  const x = c.inputs[i];
  const out = new Float64Array(x.data.length);
  for (let k = 0; k < x.data.length; k++) {
    const h = 1e-6 * Math.max(1, Math.abs(x.data[k]));
    const plus = c.inputs.map((r, j) => (j === i ? { ...r, data: r.data.slice() } : r));
    plus[i].data[k] += h;
    const minus = c.inputs.map((r, j) => (j === i ? { ...r, data: r.data.slice() } : r));
    minus[i].data[k] -= h;
    const yp = c.ref(...plus).data;
    const ym = c.ref(...minus).data;
    // Difference each output before weighting, so large unrelated outputs do not swamp it.
    let s = 0;
    for (let q = 0; q < yp.length; q++) s += (yp[q] - ym[q]) * w[q];
    out[k] = s / (2 * h);
  }
  return { shape: [...x.shape], data: out };
}

function compare(
  what: string,
  got: ArrayLike<number>,
  shape: readonly number[],
  want: RefArray,
  rtol: number,
  atol: number,
): void {
  if (shape.length !== want.shape.length || shape.some((s, i) => s !== want.shape[i])) {
    throw new Error(`${what}: shape [${shape.join(',')}] != expected [${want.shape.join(',')}]`);
  }
  for (let i = 0; i < want.data.length; i++) {
    const g = got[i];
    const e = want.data[i];
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    if (e === g) continue;
    if (!(Math.abs(g - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}: element ${i} is ${g}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}
