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
  /**
   * @deprecated Multiplies every tolerance: a blanket factor hides real errors (a 5% gradient error
   * passed at 100). Tolerances are derived per case; declare kernel-specific slack in `precision`.
   */
  toleranceScale?: number;
  /** Extra error the backend's kernels are documented to have, by op (see {@link KernelPrecision}). */
  precision?: KernelPrecision;
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
 * // in a test file, with vitest's describe and it (here a stand-in that counts the cases)
 * import '@attnkit/backend-cpu';
 * import { defineConformanceSuite } from '@attnkit/tensor-core/testing';
 * let cases = 0;
 * const describe = (_name: string, body: () => void) => body();
 * const it = () => {
 *   cases++;
 * };
 * defineConformanceSuite('cpu', { describe, it });
 * cases > 100; // => true
 * ```
 */
export function defineConformanceSuite(
  backend: string,
  api: TestApi,
  options: ConformanceOptions = {},
): void {
  const check = { toleranceScale: options.toleranceScale, precision: options.precision };
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
          await checkCase(c, check);
        });
      }
    });
  }
}

/**
 * How a backend's kernels may differ from correctly rounded float32 arithmetic beyond the suite's
 * derived bound, by op (the case's `op`), each entry justified by a kernel's documented precision
 * (see {@link WGSL_PRECISION}). Applied per op, never as a blanket factor.
 */
export interface KernelPrecision {
  /** Extra ULPs (of float32: 2^-23 relative) at the expected value e, by op. */
  ulps?: Record<string, (e: number) => number>;
  /** Extra absolute error, by op, for builtins specified by an absolute bound. */
  abs?: Record<string, number>;
  /**
   * The kernels may flush subnormal inputs (GLSL ES 3.00 allows it): a result anywhere between the
   * references on the inputs as given, with subnormals read as 0 and as the smallest normal passes.
   */
  flushesSubnormals?: boolean;
}

/**
 * WGSL's documented accuracy of the builtins attnkit's WebGPU kernels use where it is weaker than
 * the suite's rule (WGSL spec, "Floating Point Accuracy", f32):
 * - `exp`: 3 + 2|x| ULP, x = ln e.
 * - `pow(x, y)`: inherited from exp2(y * log2(x)): exp2's 3 + 2|t| ULP at t = y log2 x = log2 e, plus
 *   log2's 3 ULP carried through t (about 2.1 |t| ULP at e).
 * - `tanh`: inherited from sinh(x) / cosh(x), i.e. from exp: over gelu's tanh argument (|x| <= 10 for
 *   |input| <= 5) about 2^-18 absolute, which gelu's gradient multiplies by up to about 4: 2^-16.
 * - `sin`, `cos`: 2^-11 absolute inside [-pi, pi] (the cases stay within [-6, 6]: after range
 *   reduction the same bound).
 */
export const WGSL_PRECISION: KernelPrecision = {
  ulps: {
    exp: (e) => 3 + 2 * Math.abs(Math.log(Math.abs(e) || 1)),
    pow: (e) => 3 + 4.1 * Math.abs(Math.log2(Math.abs(e) || 1)),
  },
  abs: { gelu: 2 ** -16, sin: 2 ** -11, cos: 2 ** -11 },
};

/**
 * GLSL ES 3.00's documented accuracy (section 4.5.1, highp), for gpu.js on WebGL2: `exp` 3 + 2|x| ULP,
 * `pow` inherited from exp2(y * log2(x)) (as in WGSL above), trigonometric functions of undefined
 * precision (WGSL's 2^-11 absolute is used as the documented GPU figure), and subnormal values that
 * may be flushed to zero.
 */
export const GLSL_ES_3_PRECISION: KernelPrecision = {
  ulps: WGSL_PRECISION.ulps,
  abs: { sin: 2 ** -11, cos: 2 ** -11 },
  flushesSubnormals: true,
};

/** Unit roundoff of float32 (half an ULP at 1). */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;
/**
 * Roundings (of u each) every element may differ by beyond the propagated rounding: a correctly rounded float32 op
 * rounds once (u); a composite op (a norm, erf, a softmax) rounds a handful of times on the way.
 */
const BASE_ROUNDINGS = 8;
/**
 * Absolute error of one rounding in float32's subnormal range (half the smallest subnormal, 2^-150):
 * results near 1e-44 cannot be closer than this to the float64 reference.
 */
const SUBNORMAL_HALF_SPACING = 2 ** -150;
/** Cases whose float inputs exceed this many elements need declared rtol/atol (the Jacobian is too costly). */
const MAX_DERIVED_INPUTS = 4096;

/**
 * Runs one case: values, then gradients. Throws an Error describing the first mismatch.
 *
 * Tolerances are derived per element from float32 error bounds, the same rule on every backend.
 * The float32-rounded inputs x feed both the tensors and the float64 reference e = f(x); central
 * differences of the reference give its Jacobian J. For an output e_i that reduces n_i inputs
 * (n_i = the nonzeros of row i of J: the reduction length) the allowed error is
 *
 *   |got_i - e_i| <= u * (n_i * cond_i + BASE_ROUNDINGS * (|e_i| + max_k |e_k|)),
 *   cond_i = sum_j |J_ij| |x_j|,
 *
 * u = 2^-24: each float32 rounding perturbs a value by at most u relatively, the op's condition
 * (cond_i) carries input-sized perturbations to the output, and a reduction of n terms rounds n times
 * (the classic gamma_n bound); the normwise term admits the few ULPs of the largest output that
 * rounding of internal quantities the reference cannot see (interpolation weights, 1 + erf in a
 * gradient) leaves on small outputs. Gradients g = w^T J (w the fixed upstream gradient) get the
 * same rule with m_j = sum_i |w_i J_ij| in place of cond and the column's nonzeros as the length,
 * plus sum_i |w_i d2y_i/dx_j2| |y_i| / |J_ij| for backward formulas that reuse the rounded output. Cases
 * may declare `rtol`/`atol` instead (inputs too large for a Jacobian, or a bound the rule cannot
 * see, like a float16 round trip); a backend adds ULPs only for the ops its kernels' documented
 * precision needs ({@link KernelPrecision}).
 */
export async function checkCase(
  c: ConformanceCase,
  scaleOrOptions: number | { toleranceScale?: number; precision?: KernelPrecision } = 1,
): Promise<void> {
  const opts = typeof scaleOrOptions === 'number' ? { toleranceScale: scaleOrOptions } : scaleOrOptions;
  const scale = opts.toleranceScale ?? 1;
  const extraUlps = opts.precision?.ulps?.[c.op];
  const extraAbs = opts.precision?.abs?.[c.op] ?? 0;
  /** The rule's non-propagated part at expected value e, for outputs of largest magnitude `norm`. */
  const kernel = (e: number) =>
    (extraUlps ? 2 * FLOAT32_UNIT_ROUNDOFF * extraUlps(e) * Math.abs(e) : 0) + extraAbs;
  const local = (e: number, norm: number) =>
    BASE_ROUNDINGS * (FLOAT32_UNIT_ROUNDOFF * (Math.abs(e) + norm) + SUBNORMAL_HALF_SPACING) + kernel(e);
  // The reference sees exactly the values the tensors hold.
  const inputs = c.inputs.map((r) => ({
    ...r,
    data: (r.dtype ?? 'float32') === 'float32' ? r.data.map(Math.fround) : r.data.slice(),
  }));
  const made = inputs.map((r) => fromValues(r.data, r.shape, r.dtype ?? 'float32'));
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
    const expected = c.ref(...inputs);
    // Upstream gradient: fixed pseudo-random weights (float32 values), so every output element matters.
    const w = new Float64Array(expected.data.length).map((_, i) =>
      Math.fround(Math.sin(i * 1.7 + 0.3) + 1.5),
    );
    const valueNorm = maxAbs(expected.data);
    const declared = c.rtol !== undefined || c.atol !== undefined;
    const b = declared && !wantGrad.size ? null : derivedBounds(c, inputs, expected, w, [...wantGrad]);
    if (!declared && !b) {
      throw new Error(
        `${c.op} (${c.name}): inputs too large to derive the bound (over ${MAX_DERIVED_INPUTS} float elements): declare rtol/atol`,
      );
    }
    const valueTol = (i: number, e: number) =>
      declared || !b
        ? ((c.atol ?? 0) + (c.rtol ?? 0) * Math.abs(e) + kernel(e)) * scale
        : (b.value[i] + local(e, valueNorm)) * scale;
    // Kernels that may flush subnormal inputs read them as anything from 0 to the smallest normal
    // (SwiftShader's WebGL log does the latter): the references at both ends bound the result.
    const subnormal = (v: number) => v !== 0 && Math.abs(v) < 2 ** -126;
    const hull =
      opts.precision?.flushesSubnormals && inputs.some((r) => r.data.some(subnormal))
        ? [0, 2 ** -126].map((to) =>
            c.ref(
              ...inputs.map((r) => ({
                ...r,
                data: r.data.map((v) => (subnormal(v) ? Math.sign(v) * to : v)),
              })),
            ),
          )
        : [];
    compare(`${c.op} (${c.name}) value`, await y.data(), y.shape, expected, valueTol, hull);
    if (wantGrad.size) {
      if (!b)
        throw new Error(`${c.op} (${c.name}): gradient cases need inputs small enough for derived bounds`);
      const wT = fromValues(w, expected.shape, 'float32');
      y.backward(wT);
      for (const i of wantGrad) {
        const g = made[i].grad;
        if (!g) throw new Error(`${c.op} (${c.name}): input ${i} got no gradient`);
        const grad = b.grads.get(i)!;
        const gradNorm = maxAbs(grad.value.data);
        compare(
          `${c.op} (${c.name}) grad of input ${i}`,
          await g.data(),
          g.shape,
          grad.value,
          (j, e) => (grad.tol[j] + local(e, gradNorm)) * scale,
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

interface Bounds {
  /** Propagated part of each output's bound: u * n_i * cond_i. */
  value: Float64Array;
  /** Per input with a checked gradient: the finite-difference gradient and its bound's propagated part. */
  grads: Map<number, { value: RefArray; tol: Float64Array }>;
}

/**
 * The float64 reference's Jacobian by central differences, one float input element at a time,
 * folded into the quantities of the bound (never stored whole). Null when the inputs are too large.
 */
function derivedBounds(
  c: ConformanceCase,
  inputs: RefArray[],
  expected: RefArray,
  w: Float64Array,
  gradInputs: number[],
): Bounds | null {
  const floatInputs = inputs.flatMap((r, i) => ((r.dtype ?? 'float32') === 'float32' ? [i] : []));
  const total = floatInputs.reduce((s, i) => s + inputs[i].data.length, 0);
  if (total > MAX_DERIVED_INPUTS) return null;
  const nOut = expected.data.length;
  const e = expected.data;
  const cond = new Float64Array(nOut);
  const reach = new Float64Array(nOut);
  const grads = new Map<number, { value: RefArray; tol: Float64Array }>();
  for (const i of floatInputs) {
    const x = inputs[i];
    const g = new Float64Array(x.data.length);
    const tol = new Float64Array(x.data.length);
    for (let k = 0; k < x.data.length; k++) {
      const xk = x.data[k];
      if (!Number.isFinite(xk)) continue;
      const h = 1e-6 * Math.max(1, Math.abs(xk));
      x.data[k] = xk + h;
      const yp = c.ref(...inputs).data;
      x.data[k] = xk - h;
      const ym = c.ref(...inputs).data;
      x.data[k] = xk;
      // Difference each output before weighting, so large unrelated outputs do not swamp it.
      let s = 0;
      let mag = 0;
      let saved = 0;
      let n = 0;
      for (let q = 0; q < nOut; q++) {
        const d = (yp[q] - ym[q]) / (2 * h);
        if (d === 0 || !Number.isFinite(d)) continue;
        cond[q] += Math.abs(d * xk);
        reach[q]++;
        s += d * w[q];
        mag += Math.abs(d * w[q]);
        // A backward pass that reuses the rounded forward output (sigmoid's y(1 - y), tanh's 1 - y^2)
        // sees y off by u|y|: that moves the derivative by |d2y/dx2| * u|y| / |dy/dx|.
        const d2 = (yp[q] - 2 * e[q] + ym[q]) / (h * h);
        if (Number.isFinite(d2)) saved += Math.abs((w[q] * d2 * e[q]) / d);
        n++;
      }
      g[k] = s;
      tol[k] = FLOAT32_UNIT_ROUNDOFF * (n * mag + saved);
    }
    if (gradInputs.includes(i)) grads.set(i, { value: { shape: [...x.shape], data: g }, tol });
  }
  const value = cond.map((v, q) => FLOAT32_UNIT_ROUNDOFF * reach[q] * v);
  return { value, grads };
}

/** The largest finite magnitude (the normwise part of a bound). */
function maxAbs(xs: Float64Array): number {
  let m = 0;
  for (const v of xs) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

function compare(
  what: string,
  got: ArrayLike<number>,
  shape: readonly number[],
  want: RefArray,
  tol: (i: number, expected: number) => number,
  hull: RefArray[] = [],
): void {
  if (shape.length !== want.shape.length || shape.some((s, i) => s !== want.shape[i])) {
    throw new Error(`${what}: shape [${shape.join(',')}] != expected [${want.shape.join(',')}]`);
  }
  for (let i = 0; i < want.data.length; i++) {
    const g = got[i];
    const e = want.data[i];
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    if (e === g) continue;
    const t = tol(i, e);
    const ends = [e, ...hull.map((h) => h.data[i])];
    const between = hull.length > 0 && g >= Math.min(...ends) - t && g <= Math.max(...ends) + t;
    if (!(Math.abs(g - e) <= t) && !between) {
      throw new Error(
        `${what}: element ${i} is ${g}, expected ${e} (allowed error ${t.toPrecision(3)}, ${(Math.abs(g - e) / t).toPrecision(3)}x that)`,
      );
    }
  }
}
