import type { BinaryOp, UnaryOp } from '@attnkit/tensor-core';
import type { ScalarType } from '../layout.js';

/** WGSL math shared by the unary/binary kernels (accurate over float32's whole range). */
export const MATH_FNS = /* wgsl */ `
fn erfc_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
fn erf_(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (0.1 + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0 + x2 / 9360.0))))));
  }
  return select(erfc_(-x) - 1.0, 1.0 - erfc_(x), x > 0.0);
}
fn tanh_(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a < 0.0005) { return x; }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn softplus_(x: f32) -> f32 {
  if (x > 20.0) { return x; }
  let e = exp(x);
  if (e < 1e-4) { return e * (1.0 - 0.5 * e); }
  return log(1.0 + e);
}
fn log_(x: f32) -> f32 {
  // Bit tests, not float compares: devices that flush subnormals to zero would see 0 here.
  let b = bitcast<u32>(x);
  let mag = b & 0x7fffffffu;
  if (mag > 0x7f800000u) { return x; }
  if (mag == 0u) { return ninf(); }
  if ((b & 0x80000000u) != 0u) { return qnan(); }
  if (mag == 0x7f800000u) { return x; }
  if (mag < 0x00800000u) { return log(f32(mag)) - 103.27892990343184; }
  return log(x);
}
fn sqrt_(x: f32) -> f32 {
  if (x < 0.0) { return qnan(); }
  if (is_inf(x)) { return x; }
  return sqrt(x);
}
fn rsqrt_(x: f32) -> f32 {
  if (x < 0.0) { return qnan(); }
  if (x == 0.0) { return pinf(); }
  if (is_inf(x)) { return 0.0; }
  return inverseSqrt(x);
}
fn exp_(x: f32) -> f32 {
  if (x > 88.72283) { return pinf(); }
  if (x < -103.97) { return 0.0; }
  return exp(x);
}
fn is_odd_int(b: f32) -> bool { return abs(b) < 16777216.0 && fract(b) == 0.0 && fract(b * 0.5) != 0.0; }
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return qnan(); }
  let odd = is_odd_int(b);
  if (a == 0.0) {
    if (b > 0.0) { return select(0.0, a, odd); }
    return select(pinf(), select(pinf(), ninf(), bitcast<u32>(a) == 0x80000000u), odd);
  }
  if (is_inf(b)) {
    let m = abs(a);
    if (m == 1.0) { return 1.0; }
    return select(0.0, pinf(), (m > 1.0) == (b > 0.0));
  }
  if (a < 0.0 && fract(b) != 0.0) { return qnan(); }
  let r = exp2(b * log2(abs(a)));
  return select(r, -r, a < 0.0 && odd);
}
fn powi_(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(-1, 1, (b & 1) == 0); }
    return 0;
  }
  var r = 1i; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) != 0) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}
fn fmod_(a: f32, b: f32) -> f32 {
  if (is_inf(b) && !is_inf(a)) {
    if (a == 0.0 || (a < 0.0) == (b < 0.0)) { return a; }
    return b;
  }
  let r = a - b * trunc(a / b);
  if (r != 0.0 && ((r < 0.0) != (b < 0.0))) { return r + b; }
  return r;
}
fn imod_(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) { return r + b; }
  return r;
}
fn idiv_(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } return a / b; }
// sin and cos: WGSL's built-ins only promise 2^-11 absolute error in [-pi, pi] (SwiftShader is
// that coarse), too coarse for rotary tables. Cody-Waite reduction by pi/2 with a three-part constant
// (the first part has 8 significant bits, so k * P1 is exact for |k| < 2^16), then the Cephes
// single-precision polynomials on [-pi/4, pi/4]: about 1 ulp for |x| < 8192.
fn sincos_(x: f32) -> vec2<f32> {
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.549789954891882e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let q = i32(k) & 3;
  if (q == 0) { return vec2<f32>(s, c); }
  if (q == 1) { return vec2<f32>(c, -s); }
  if (q == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}
fn sin_(x: f32) -> f32 { return sincos_(x).x; }
fn cos_(x: f32) -> f32 { return sincos_(x).y; }
fn fmax_(a: f32, b: f32) -> f32 { return select(b, a, a > b || is_nan(a)); }
fn fmin_(a: f32, b: f32) -> f32 { return select(b, a, a < b || is_nan(a)); }
`;

/** WGSL expression of a unary op on `x` of scalar type `t`, and its result type. */
export function unaryExpr(
  op: UnaryOp,
  t: ScalarType,
): { as: ScalarType; expr: (x: string) => string; result: ScalarType } {
  if (t === 'i32' && (op === 'neg' || op === 'abs' || op === 'sign')) {
    const e = {
      neg: (x: string) => `-${x}`,
      abs: (x: string) => `abs(${x})`,
      sign: (x: string) => `sign(${x})`,
    }[op];
    return { as: 'i32', expr: e, result: 'i32' };
  }
  if (op === 'not') return { as: 'u32', expr: (x) => `select(1u, 0u, ${x} != 0u)`, result: 'u32' };
  if (op === 'isnan') {
    if (t !== 'f32') return { as: t, expr: () => '0u', result: 'u32' };
    return { as: 'f32', expr: (x) => `select(0u, 1u, is_nan(${x}))`, result: 'u32' };
  }
  const f: Record<Exclude<UnaryOp, 'not' | 'isnan'>, (x: string) => string> = {
    neg: (x) => `-${x}`,
    abs: (x) => `abs(${x})`,
    sign: (x) => `select(sign(${x}), ${x}, is_nan(${x}))`,
    exp: (x) => `exp_(${x})`,
    log: (x) => `log_(${x})`,
    sqrt: (x) => `sqrt_(${x})`,
    rsqrt: (x) => `rsqrt_(${x})`,
    sin: (x) => `sin_(${x})`,
    cos: (x) => `cos_(${x})`,
    tanh: (x) => `tanh_(${x})`,
    sigmoid: (x) => `sigmoid_(${x})`,
    relu: (x) => `select(${x}, 0.0, ${x} < 0.0)`,
    gelu: (x) => `(0.5 * ${x} * erfc_(-${x} * 0.7071067811865476))`,
    gelu_tanh: (x) =>
      `(0.5 * ${x} * (1.0 + tanh_(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x}))))`,
    silu: (x) => `(${x} * sigmoid_(${x}))`,
    softplus: (x) => `softplus_(${x})`,
    erf: (x) => `erf_(${x})`,
    floor: (x) => `floor(${x})`,
    ceil: (x) => `ceil(${x})`,
    round: (x) => `round(${x})`,
    reciprocal: (x) => `(1.0 / ${x})`,
  };
  return { as: 'f32', expr: f[op], result: 'f32' };
}

const COMPARE: Partial<Record<BinaryOp, string>> = {
  eq: '==',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
};

/** WGSL expression of a binary op computed in scalar type `t`, and its result type. */
export function binaryExpr(
  op: BinaryOp,
  t: ScalarType,
): { expr: (a: string, b: string) => string; result: ScalarType } {
  const cmp = COMPARE[op];
  if (cmp) return { expr: (a, b) => `select(0u, 1u, ${a} ${cmp} ${b})`, result: 'u32' };
  const zero = t === 'f32' ? '0.0' : t === 'i32' ? '0i' : '0u';
  if (op === 'and')
    return { expr: (a, b) => `select(0u, 1u, ${a} != ${zero} && ${b} != ${zero})`, result: 'u32' };
  if (op === 'or')
    return { expr: (a, b) => `select(0u, 1u, ${a} != ${zero} || ${b} != ${zero})`, result: 'u32' };
  if (t === 'f32') {
    const f: Record<string, (a: string, b: string) => string> = {
      add: (a, b) => `(${a} + ${b})`,
      sub: (a, b) => `(${a} - ${b})`,
      mul: (a, b) => `(${a} * ${b})`,
      div: (a, b) => `(${a} / ${b})`,
      pow: (a, b) => `pow_(${a}, ${b})`,
      maximum: (a, b) => `fmax_(${a}, ${b})`,
      minimum: (a, b) => `fmin_(${a}, ${b})`,
      mod: (a, b) => `fmod_(${a}, ${b})`,
    };
    return { expr: f[op], result: 'f32' };
  }
  if (t === 'i32') {
    const f: Record<string, (a: string, b: string) => string> = {
      add: (a, b) => `(${a} + ${b})`,
      sub: (a, b) => `(${a} - ${b})`,
      mul: (a, b) => `(${a} * ${b})`,
      div: (a, b) => `idiv_(${a}, ${b})`,
      pow: (a, b) => `powi_(${a}, ${b})`,
      maximum: (a, b) => `max(${a}, ${b})`,
      minimum: (a, b) => `min(${a}, ${b})`,
      mod: (a, b) => `imod_(${a}, ${b})`,
    };
    return { expr: f[op], result: 'i32' };
  }
  // bool compute (torch semantics: add/maximum = or, mul/minimum = and, sub = xor)
  const f: Record<string, (a: string, b: string) => string> = {
    add: (a, b) => `(${a} | ${b})`,
    maximum: (a, b) => `(${a} | ${b})`,
    mul: (a, b) => `(${a} & ${b})`,
    minimum: (a, b) => `(${a} & ${b})`,
    sub: (a, b) => `(${a} ^ ${b})`,
    div: (a, b) => `select(0u, 1u, f32(${a}) / f32(${b}) != 0.0)`,
    pow: (a, b) => `select(${a}, 1u, ${b} == 0u)`,
    mod: (a, b) => `select(0u, ${a}, ${b} == 0u)`,
  };
  return { expr: f[op], result: 'u32' };
}
