// Scaling laws (Kaplan et al. 2020, "Scaling Laws for Neural Language Models"; Hoffmann et al.
// 2022, "Training Compute-Optimal Large Language Models"): the loss of a model of N parameters, or
// trained on D tokens, follows a saturating power law L(x) = E + A / x^alpha. fitPowerLaw fits
// E, A and alpha by nonlinear least squares (Levenberg-Marquardt, written out for three
// parameters) and gives each one a standard error from the Jacobian at the optimum.

/** A power law `L(x) = E + A / x^alpha` fitted to points, with standard errors. */
export interface PowerLawFit {
  /** Irreducible loss: the limit as x grows. */
  E: number;
  /** Scale of the reducible part. */
  A: number;
  /** Exponent: the reducible loss falls as x^-alpha. */
  alpha: number;
  /**
   * Standard errors of E, A and alpha: square roots of the diagonal of s²·(JᵀJ)⁻¹, J the Jacobian
   * of the model at the fit and s² = rss / (n − 3) (as scipy's curve_fit).
   */
  stdErr: { E: number; A: number; alpha: number };
  /** That covariance matrix, rows and columns in the order E, A, alpha. */
  covariance: number[][];
  /** Residual sum of squares at the fit. */
  rss: number;
  /** Degrees of freedom: points − 3. */
  dof: number;
  /** Levenberg-Marquardt iterations run. */
  iterations: number;
  /** Whether the relative change of rss fell below the tolerance before maxIterations. */
  converged: boolean;
}

/** Options of {@link fitPowerLaw}. */
export interface FitPowerLawOptions {
  /** Starting point; by default the best of a grid over alpha (E and A solved linearly for each). */
  init?: { E: number; A: number; alpha: number };
  /** Iteration limit (200). */
  maxIterations?: number;
  /** Stop when rss changes by less than this fraction (1e-12). */
  tolerance?: number;
}

/** `E + A / x^alpha`: the fitted law at `x`. */
export function powerLaw(fit: Pick<PowerLawFit, 'E' | 'A' | 'alpha'>, x: number): number {
  return fit.E + fit.A * x ** -fit.alpha;
}

/** Solves the small dense system `M v = b` by Gaussian elimination with partial pivoting. */
function solve(M: number[][], b: number[]): number[] {
  const n = b.length;
  const a = M.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    if (a[c][c] === 0) throw new Error('fitPowerLaw: singular normal equations');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

/** The inverse of a small dense matrix, column by column. */
function inverse(M: number[][]): number[][] {
  const n = M.length;
  const cols = Array.from({ length: n }, (_, j) =>
    solve(
      M,
      Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)),
    ),
  );
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));
}

/** For a fixed alpha the law is linear in E and A: their least-squares values and the rss. */
function linearPart(lx: number[], y: number[], alpha: number): { E: number; A: number; rss: number } {
  const n = y.length;
  let su = 0;
  let suu = 0;
  let sy = 0;
  let suy = 0;
  for (let i = 0; i < n; i++) {
    const u = Math.exp(-alpha * lx[i]);
    su += u;
    suu += u * u;
    sy += y[i];
    suy += u * y[i];
  }
  const det = n * suu - su * su;
  const A = det === 0 ? 0 : (n * suy - su * sy) / det;
  const E = (sy - A * su) / n;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i] - E - A * Math.exp(-alpha * lx[i])) ** 2;
  return { E, A, rss };
}

/**
 * Fits `y ≈ E + A / x^alpha` by nonlinear least squares: Levenberg-Marquardt on (E, ln A, alpha)
 * (A stays positive), started from the best point of a grid over alpha. Standard errors come from
 * the covariance s²·(JᵀJ)⁻¹ with J the Jacobian in (E, A, alpha) at the optimum.
 *
 * @throws TypeError when x and y are not equal-length arrays of finite numbers; RangeError when an x
 *   is not positive or there are fewer than 4 points (3 parameters and their errors need 4)
 * @example
 * ```ts
 * const fit = fitPowerLaw([1e4, 3e4, 1e5, 3e5, 1e6], [3.1, 2.7, 2.4, 2.2, 2.05]);
 * console.log(fit.alpha, '±', fit.stdErr.alpha);
 * ```
 */
export function fitPowerLaw(
  x: readonly number[],
  y: readonly number[],
  options: FitPowerLawOptions = {},
): PowerLawFit {
  const op = 'fitPowerLaw';
  if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) {
    throw new TypeError(
      `${op}: x and y must be arrays of the same length, got ${Array.isArray(x) ? x.length : typeof x} and ${Array.isArray(y) ? y.length : typeof y}`,
    );
  }
  const n = x.length;
  if (n < 4) throw new RangeError(`${op}: need at least 4 points to fit E, A, alpha with errors, got ${n}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      throw new TypeError(`${op}: point ${i} (${x[i]}, ${y[i]}) is not a pair of finite numbers`);
    }
    if (x[i] <= 0)
      throw new RangeError(`${op}: x must be positive (a size, a token count), got x[${i}] = ${x[i]}`);
  }
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-12;
  const lx = x.map(Math.log);
  const ys = [...y];

  // start: the best alpha on a log grid, with E and A solved linearly for each
  let start = options.init;
  if (!start) {
    let best = { E: 0, A: 0, alpha: 0, rss: Number.POSITIVE_INFINITY };
    for (let k = 0; k <= 240; k++) {
      const alpha = 10 ** (-3 + (k / 240) * 4); // 1e-3 .. 10
      const lin = linearPart(lx, ys, alpha);
      if (lin.A > 0 && lin.rss < best.rss) best = { ...lin, alpha };
    }
    if (!Number.isFinite(best.rss)) {
      throw new RangeError(
        `${op}: the points do not fall with x (no alpha gives A > 0); a power law does not fit`,
      );
    }
    start = best;
  }
  if (!(start.A > 0)) throw new RangeError(`${op}: init.A must be positive, got ${start.A}`);

  // Levenberg-Marquardt on p = (E, ln A, alpha); f_i = E + exp(ln A - alpha ln x_i)
  let p = [start.E, Math.log(start.A), start.alpha];
  const residuals = (q: number[]) => ys.map((v, i) => v - q[0] - Math.exp(q[1] - q[2] * lx[i]));
  const sumSq = (r: number[]) => r.reduce((s, v) => s + v * v, 0);
  let r = residuals(p);
  let rss = sumSq(r);
  let lambda = 1e-3;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const J = lx.map((l) => {
      const t = Math.exp(p[1] - p[2] * l);
      return [1, t, -l * t];
    });
    const JtJ = [0, 1, 2].map((a) => [0, 1, 2].map((b) => J.reduce((s, row) => s + row[a] * row[b], 0)));
    const Jtr = [0, 1, 2].map((a) => J.reduce((s, row, i) => s + row[a] * r[i], 0));
    let improved = false;
    for (let tries = 0; tries < 30 && !improved; tries++) {
      const damped = JtJ.map((row, a) => row.map((v, b) => (a === b ? v * (1 + lambda) + 1e-300 : v)));
      let delta: number[];
      try {
        delta = solve(damped, Jtr);
      } catch {
        lambda *= 10;
        continue;
      }
      const q = p.map((v, k) => v + delta[k]);
      const rq = residuals(q);
      const rssQ = sumSq(rq);
      if (Number.isFinite(rssQ) && rssQ <= rss) {
        converged = rss - rssQ <= tolerance * Math.max(rss, 1e-300);
        p = q;
        r = rq;
        rss = rssQ;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
      } else lambda *= 10;
    }
    if (!improved) converged = true; // no step lowers rss: a minimum to working precision
  }

  const E = p[0];
  const A = Math.exp(p[1]);
  const alpha = p[2];
  // covariance in (E, A, alpha): s² (JᵀJ)⁻¹ with J = ∂f/∂(E, A, alpha)
  const Jd = lx.map((l) => {
    const u = Math.exp(-alpha * l);
    return [1, u, -A * l * u];
  });
  const JtJ = [0, 1, 2].map((a) => [0, 1, 2].map((b) => Jd.reduce((s, row) => s + row[a] * row[b], 0)));
  const dof = n - 3;
  const s2 = rss / dof;
  let covariance: number[][];
  try {
    covariance = inverse(JtJ).map((row) => row.map((v) => v * s2));
  } catch {
    covariance = [0, 1, 2].map(() => [Number.NaN, Number.NaN, Number.NaN]);
  }
  const se = (k: number) => Math.sqrt(Math.max(0, covariance[k][k]));
  return {
    E,
    A,
    alpha,
    stdErr: { E: se(0), A: se(1), alpha: se(2) },
    covariance,
    rss,
    dof,
    iterations,
    converged,
  };
}
