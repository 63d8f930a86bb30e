// Scalar math the kernels share, accurate to float32 over the whole range.

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** Complementary error function with relative error below 1.2e-7 everywhere (Chebyshev fit). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Error function; a Taylor series near 0 keeps relative accuracy for tiny inputs. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 0.5) {
    const x2 = x * x;
    // x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360
    return (
      TWO_OVER_SQRT_PI *
      x *
      (1 + x2 * (-1 / 3 + x2 * (1 / 10 + x2 * (-1 / 42 + x2 * (1 / 216 + x2 * (-1 / 1320 + x2 / 9360))))))
    );
  }
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

/** Exact GELU, x·Φ(x), written with erfc so that large negative inputs keep relative accuracy. */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * Math.SQRT1_2);
}

/** GELU, tanh approximation (GPT-2's gelu_new). */
export function geluTanh(x: number): number {
  const k = 0.7978845608028654; // sqrt(2/pi)
  return 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x * x * x)));
}

/** Logistic sigmoid, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** torch.nn.functional.softplus with beta 1 and threshold 20. */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/** Round half to even, like torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
