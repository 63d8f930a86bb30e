import { record } from '../autograd.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import { type DType, isFloat, isHalf, promoteTypes } from '../dtype.js';
import { opScope } from '../memory.js';
import { broadcastShapes } from '../shape.js';
import { reduceToShape, Tensor } from '../tensor.js';
import { traceMark, traceOp } from '../trace.js';
import { assertTensor, backendOf, broadcastTo, type TensorOrNumber, wrap } from './util.js';

// ---------------------------------------------------------------- unary

function unaryOp(
  op: UnaryOp,
  name: string,
  x: Tensor,
  grad?: (x: Tensor, y: Tensor, g: Tensor) => Tensor,
): Tensor {
  assertTensor(x, 'input', name);
  const mark = traceMark();
  const intOk = op === 'neg' || op === 'abs' || op === 'sign';
  let cast: DType | null = null;
  if (op === 'not') {
    if (x.dtype !== 'bool') throw new TypeError(`${name}: expected a bool tensor, got ${x.dtype}`);
  } else if (op === 'isnan') {
    if (isHalf(x.dtype)) cast = 'float32';
  } else if (!(intOk && x.dtype === 'int32')) {
    if (x.dtype === 'bool') throw new TypeError(`${name}: expected a float tensor, got bool`);
    if (x.dtype !== 'float32') cast = 'float32';
  }
  const outDtype: DType = op === 'isnan' ? 'bool' : (cast ?? x.dtype);
  const b = x.backend;
  // a cast input is an intermediate of the scope
  const y = opScope(() => wrap(b, b.unary(op, cast ? x.cast(cast) : x, outDtype), x.shape, outDtype));
  if (grad && isFloat(outDtype)) record(y, name, [x], (g) => [grad(x, y, g)]);
  if (mark >= 0) traceOp(mark, op, [x], y);
  return y;
}

/** -x */
export const neg = (x: Tensor): Tensor => unaryOp('neg', 'neg', x, (_x, _y, g) => neg(g));
/** |x| */
export const abs = (x: Tensor): Tensor => unaryOp('abs', 'abs', x, (x, _y, g) => mul(g, sign(x)));
/** sign(x): -1, 0 or 1. */
export const sign = (x: Tensor): Tensor => unaryOp('sign', 'sign', x);
/** e^x */
export const exp = (x: Tensor): Tensor => unaryOp('exp', 'exp', x, (_x, y, g) => mul(g, y));
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => unaryOp('log', 'log', x, (x, _y, g) => div(g, x));
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', 'sqrt', x, (_x, y, g) => div(mul(g, 0.5), y));
/** 1 / sqrt(x). */
export const rsqrt = (x: Tensor): Tensor =>
  unaryOp('rsqrt', 'rsqrt', x, (x, y, g) => mul(g, mul(div(y, x), -0.5)));
/** Sine. */
export const sin = (x: Tensor): Tensor => unaryOp('sin', 'sin', x, (x, _y, g) => mul(g, cos(x)));
/** Cosine. */
export const cos = (x: Tensor): Tensor => unaryOp('cos', 'cos', x, (x, _y, g) => neg(mul(g, sin(x))));
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor =>
  unaryOp('tanh', 'tanh', x, (_x, y, g) => mul(g, sub(1, mul(y, y))));
/** Logistic sigmoid 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor =>
  unaryOp('sigmoid', 'sigmoid', x, (_x, y, g) => mul(g, mul(y, sub(1, y))));
/** max(x, 0). */
export const relu = (x: Tensor): Tensor =>
  unaryOp('relu', 'relu', x, (x, _y, g) => mul(g, gt(x, 0).cast('float32')));
/** x * sigmoid(x) (SiLU / swish). */
export const silu = (x: Tensor): Tensor =>
  unaryOp('silu', 'silu', x, (x, _y, g) => {
    const s = sigmoid(x);
    return mul(g, mul(s, add(1, mul(x, sub(1, s)))));
  });
/** Options of {@link softplus}, as torch.nn.functional.softplus. */
export interface SoftplusOptions {
  /** Sharpness: softplus(x) = log(1 + e^(beta x)) / beta (default 1). */
  beta?: number;
  /** Above `beta * x > threshold` the result is x itself (default 20). */
  threshold?: number;
}

/**
 * log(1 + e^x), computed stably, as torch.nn.functional.softplus(x, beta, threshold):
 * `log(1 + e^(beta x)) / beta`, and x where `beta x > threshold`.
 */
export function softplus(x: Tensor, options: SoftplusOptions = {}): Tensor {
  const beta = options.beta ?? 1;
  const threshold = options.threshold ?? 20;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta === 0 || typeof threshold !== 'number') {
    throw new TypeError(
      `softplus: beta must be a non-zero finite number and threshold a number, got beta=${beta}, threshold=${threshold}`,
    );
  }
  if (beta === 1 && threshold === 20) {
    return unaryOp('softplus', 'softplus', x, (x, _y, g) => mul(g, sigmoid(x)));
  }
  assertTensor(x, 'input', 'softplus');
  const z = mul(x, beta);
  return where(gt(z, threshold), x, div(softplus(z), beta));
}
/** The error function. */
export const erf = (x: Tensor): Tensor =>
  unaryOp('erf', 'erf', x, (x, _y, g) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
/** Round down. */
export const floor = (x: Tensor): Tensor => unaryOp('floor', 'floor', x);
/** Round up. */
export const ceil = (x: Tensor): Tensor => unaryOp('ceil', 'ceil', x);
/** Round half to even (like torch.round). */
export const round = (x: Tensor): Tensor => unaryOp('round', 'round', x);
/** 1 / x */
export const reciprocal = (x: Tensor): Tensor =>
  unaryOp('reciprocal', 'reciprocal', x, (_x, y, g) => neg(mul(g, mul(y, y))));
/** Logical not of a bool tensor. */
export const logicalNot = (x: Tensor): Tensor => unaryOp('not', 'logicalNot', x);
/** True where x is NaN. */
export const isnan = (x: Tensor): Tensor => unaryOp('isnan', 'isnan', x);

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** 'none' (exact, with erf) or 'tanh' (the GPT-2 approximation), as torch. */
  approximate?: 'none' | 'tanh';
}

/**
 * Gaussian error linear unit, as torch.nn.functional.gelu: `x * Φ(x)` exactly, or the tanh
 * approximation `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))` with `{ approximate: 'tanh' }`.
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const approx = options.approximate ?? 'none';
  if (approx !== 'none' && approx !== 'tanh') {
    throw new TypeError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approx)}`);
  }
  if (approx === 'none') {
    return unaryOp('gelu', 'gelu', x, (x, _y, g) => {
      const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return mul(g, add(cdf, mul(x, pdf)));
    });
  }
  return unaryOp('gelu_tanh', 'gelu', x, (x, _y, g) => {
    const k = Math.sqrt(2 / Math.PI);
    const x2 = mul(x, x);
    const inner = mul(mul(x, add(mul(x2, 0.044715), 1)), k);
    const t = tanh(inner);
    const dinner = mul(add(mul(x2, 3 * 0.044715), 1), k);
    const d = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), dinner));
    return mul(g, d);
  });
}

// ---------------------------------------------------------------- binary

function binaryOp(
  op: BinaryOp,
  name: string,
  a: TensorOrNumber,
  b: TensorOrNumber,
  grad?: (a: Tensor, b: Tensor, y: Tensor, g: Tensor) => [Tensor | null, Tensor | null],
): Tensor {
  const isNum = (v: unknown) => typeof v === 'number';
  const mark = traceMark();
  if (!isNum(a)) assertTensor(a, 'input', name);
  if (!isNum(b)) assertTensor(b, 'other', name);
  const be = backendOf(name, a, b);
  const ta = a as Tensor;
  const tb = b as Tensor;
  // A JS number adopts the tensor's dtype (as torch's "wrapped numbers"), except that a non-integer
  // number with an int tensor computes in float32.
  const dtA: DType = isNum(a) ? scalarType(a as number, tb.dtype) : ta.dtype;
  const dtB: DType = isNum(b) ? scalarType(b as number, ta.dtype) : tb.dtype;
  let compute = promoteTypes(dtA, dtB);
  const logical = op === 'and' || op === 'or';
  const cmp = op === 'eq' || op === 'ne' || op === 'lt' || op === 'le' || op === 'gt' || op === 'ge';
  if (logical) {
    if (dtA !== 'bool' || dtB !== 'bool')
      throw new TypeError(`${name}: expected bool tensors, got ${dtA} and ${dtB}`);
  } else if (compute === 'bool' && !cmp) compute = 'int32';
  if ((op === 'div' || op === 'pow') && compute === 'int32') compute = 'float32';
  const outShape = isNum(a)
    ? [...tb.shape]
    : isNum(b)
      ? [...ta.shape]
      : broadcastShapes(name, ta.shape, tb.shape);
  const prep = (v: TensorOrNumber): Tensor | number => {
    if (typeof v === 'number') return v;
    const c = v.dtype === compute ? v : v.cast(compute);
    return broadcastTo(c, outShape);
  };
  const outDtype: DType = cmp || logical ? 'bool' : compute;
  // casts and broadcast views of the operands are intermediates of the scope
  const y = opScope(() =>
    wrap(be, be.binary(op, prep(a), prep(b), outShape, compute, outDtype), outShape, outDtype),
  );
  if (mark >= 0) traceOp(mark, op, [a as Tensor | number, b as Tensor | number], y, { compute });
  if (!grad || outDtype !== 'float32') return y;
  return record(y, name, [isNum(a) ? null : ta, isNum(b) ? null : tb], (g) => {
    const ga = isNum(a) ? fromScalarLike(a as number, g) : ta;
    const gb = isNum(b) ? fromScalarLike(b as number, g) : tb;
    const [da, db] = grad(ga, gb, y, g);
    return [
      da && !isNum(a) ? reduceToShape(da, ta.shape) : null,
      db && !isNum(b) ? reduceToShape(db, tb.shape) : null,
    ];
  });
}

function scalarType(v: number, other: DType): DType {
  if (other === 'bool') return Number.isInteger(v) ? 'int32' : 'float32';
  if (other === 'int32' && !Number.isInteger(v)) return 'float32';
  return isHalf(other) ? 'float32' : other;
}

function fromScalarLike(v: number, like: Tensor): Tensor {
  const b = like.backend;
  return wrap(b, b.fill([], v, 'float32'), [], 'float32');
}

/** a + b with broadcasting; numbers are accepted for either operand. */
export const add = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('add', 'add', a, b, (_a, _b, _y, g) => [g, g]);
/** a - b */
export const sub = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('sub', 'sub', a, b, (_a, _b, _y, g) => [g, neg(g)]);
/** a * b */
export const mul = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('mul', 'mul', a, b, (a, b, _y, g) => [mul(g, b), mul(g, a)]);
/** a / b (true division: always float). */
export const div = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('div', 'div', a, b, (_a, b, y, g) => [div(g, b), neg(div(mul(g, y), b))]);
/** a ** b */
export const pow = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('pow', 'pow', a, b, (a, b, y, g) => [
    mul(g, mul(b, pow(a, sub(b, 1)))),
    typeof b === 'number' ? null : mul(g, mul(y, log(a))),
  ]);
/** Elementwise maximum (gradient to the larger; split evenly on ties, as torch). */
export const maximum = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('maximum', 'maximum', a, b, (a, b, _y, g) => minMaxGrad(a, b, g, 'gt'));
/** Elementwise minimum. */
export const minimum = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('minimum', 'minimum', a, b, (a, b, _y, g) => minMaxGrad(a, b, g, 'lt'));
/** Python-style remainder (sign of the divisor), as torch.remainder. */
export const remainder = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('mod', 'remainder', a, b, (_a, b, y, g) => [g, neg(mul(g, floor(div(sub(_a, y), b))))]);

function minMaxGrad(a: Tensor, b: Tensor, g: Tensor, pick: 'gt' | 'lt'): [Tensor, Tensor] {
  const win = (pick === 'gt' ? gt(a, b) : lt(a, b)).cast('float32');
  const tie = mul(eq(a, b).cast('float32'), 0.5);
  return [mul(g, add(win, tie)), mul(g, sub(sub(1, win), tie))];
}

/** a == b (bool). */
export const eq = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('eq', 'eq', a, b);
/** a != b (bool). */
export const ne = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('ne', 'ne', a, b);
/** a < b (bool). */
export const lt = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('lt', 'lt', a, b);
/** a <= b (bool). */
export const le = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('le', 'le', a, b);
/** a > b (bool). */
export const gt = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('gt', 'gt', a, b);
/** a >= b (bool). */
export const ge = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('ge', 'ge', a, b);
/** Logical and of bool tensors. */
export const logicalAnd = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binaryOp('and', 'logicalAnd', a, b);
/** Logical or of bool tensors. */
export const logicalOr = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryOp('or', 'logicalOr', a, b);

/** Clamps into [min, max] (either bound may be omitted), as torch.clamp. */
export function clamp(x: Tensor, min?: TensorOrNumber | null, max?: TensorOrNumber | null): Tensor {
  assertTensor(x, 'input', 'clamp');
  if (min == null && max == null) throw new Error('clamp: at least one of min and max must be given');
  let y = x;
  if (min != null) y = maximumOneSided(y, min, 'clamp');
  if (max != null) {
    const z = minimumOneSided(y, max, 'clamp');
    y = z;
  }
  return y;
}

// torch's clamp passes the gradient where the input is inside the range (boundary included).
function maximumOneSided(x: Tensor, lo: TensorOrNumber, name: string): Tensor {
  return binaryOp('maximum', name, x, lo, (a, b, _y, g) => [
    mul(g, ge(a, b).cast('float32')),
    mul(g, lt(a, b).cast('float32')),
  ]);
}
function minimumOneSided(x: Tensor, hi: TensorOrNumber, name: string): Tensor {
  return binaryOp('minimum', name, x, hi, (a, b, _y, g) => [
    mul(g, le(a, b).cast('float32')),
    mul(g, gt(a, b).cast('float32')),
  ]);
}

/**
 * `condition ? a : b` elementwise with broadcasting (torch.where). Gradients flow to `a` where the
 * condition holds and to `b` elsewhere.
 */
export function where(condition: Tensor, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  assertTensor(condition, 'condition', 'where');
  if (condition.dtype !== 'bool')
    throw new TypeError(`where: condition must be a bool tensor, got ${condition.dtype}`);
  if (typeof a !== 'number') assertTensor(a, 'input', 'where');
  if (typeof b !== 'number') assertTensor(b, 'other', 'where');
  const be = backendOf('where', condition, a, b);
  const mark = traceMark();
  const dtA = typeof a === 'number' ? scalarType(a, typeof b === 'number' ? 'float32' : b.dtype) : a.dtype;
  const dtB = typeof b === 'number' ? scalarType(b, typeof a === 'number' ? 'float32' : a.dtype) : b.dtype;
  const dtype = promoteTypes(dtA, dtB);
  let shape = [...condition.shape];
  if (typeof a !== 'number') shape = broadcastShapes('where', shape, a.shape);
  if (typeof b !== 'number') shape = broadcastShapes('where', shape, b.shape);
  const prep = (v: TensorOrNumber) =>
    typeof v === 'number' ? v : broadcastTo(v.dtype === dtype ? v : v.cast(dtype), shape);
  const y = wrap(be, be.where(broadcastTo(condition, shape), prep(a), prep(b), shape, dtype), shape, dtype);
  if (mark >= 0) traceOp(mark, 'where', [condition, a, b], y);
  if (dtype !== 'float32') return y;
  return record(y, 'where', [typeof a === 'number' ? null : a, typeof b === 'number' ? null : b], (g) => [
    typeof a === 'number' ? null : reduceToShape(where(condition, g, 0), a.shape),
    typeof b === 'number' ? null : reduceToShape(where(condition, 0, g), b.shape),
  ]);
}

// ---------------------------------------------------------------- Tensor methods

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link add}. */ add(other: TensorOrNumber): Tensor;
    /** See {@link sub}. */ sub(other: TensorOrNumber): Tensor;
    /** See {@link mul}. */ mul(other: TensorOrNumber): Tensor;
    /** See {@link div}. */ div(other: TensorOrNumber): Tensor;
    /** See {@link pow}. */ pow(other: TensorOrNumber): Tensor;
    /** See {@link maximum}. */ maximum(other: TensorOrNumber): Tensor;
    /** See {@link minimum}. */ minimum(other: TensorOrNumber): Tensor;
    /** See {@link eq}. */ eq(other: TensorOrNumber): Tensor;
    /** See {@link ne}. */ ne(other: TensorOrNumber): Tensor;
    /** See {@link lt}. */ lt(other: TensorOrNumber): Tensor;
    /** See {@link le}. */ le(other: TensorOrNumber): Tensor;
    /** See {@link gt}. */ gt(other: TensorOrNumber): Tensor;
    /** See {@link ge}. */ ge(other: TensorOrNumber): Tensor;
    /** See {@link neg}. */ neg(): Tensor;
    /** See {@link abs}. */ abs(): Tensor;
    /** See {@link exp}. */ exp(): Tensor;
    /** See {@link log}. */ log(): Tensor;
    /** See {@link sqrt}. */ sqrt(): Tensor;
    /** See {@link rsqrt}. */ rsqrt(): Tensor;
    /** See {@link sin}. */ sin(): Tensor;
    /** See {@link cos}. */ cos(): Tensor;
    /** See {@link tanh}. */ tanh(): Tensor;
    /** See {@link sigmoid}. */ sigmoid(): Tensor;
    /** See {@link relu}. */ relu(): Tensor;
    /** See {@link gelu}. */ gelu(options?: GeluOptions): Tensor;
    /** See {@link silu}. */ silu(): Tensor;
    /** See {@link clamp}. */ clamp(min?: TensorOrNumber | null, max?: TensorOrNumber | null): Tensor;
  }
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
const binaries = { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge };
for (const [k, f] of Object.entries(binaries)) {
  proto[k] = function (this: Tensor, o: TensorOrNumber) {
    return f(this, o);
  };
}
const unaries = { neg, abs, exp, log, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, silu };
for (const [k, f] of Object.entries(unaries)) {
  proto[k] = function (this: Tensor) {
    return f(this);
  };
}
proto.gelu = function (this: Tensor, o?: GeluOptions) {
  return gelu(this, o);
};
proto.clamp = function (this: Tensor, lo?: TensorOrNumber | null, hi?: TensorOrNumber | null) {
  return clamp(this, lo, hi);
};
