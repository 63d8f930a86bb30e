// Kernel source generation. Every kernel is a JavaScript function string in the subset gpu.js
// translates to GLSL (or runs as JavaScript in its CPU mode). Layouts (shapes, strides, offsets)
// are baked into the source as integer literals, so one compiled kernel serves one layout; the
// backend caches compiled kernels by their source and sizes.
//
// Index arithmetic stays in float-safe form: a quotient is `Math.floor((r + 0.5) / s)`, exact
// for every index below 2^22 even where the device's division is not correctly rounded.

import type { DType, UnaryOp } from '@attnkit/tensor-core';

/** A layout as the code generator needs it. */
export interface Layout {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Integer literal (parenthesised when negative). */
export const lit = (v: number): string => (v < 0 ? `(${v})` : String(v));

/**
 * Statements that split the flat index held in variable `src` into coordinates `${p}0..${p}{r-1}`
 * of `shape` (row-major). Dimensions of size 1 get the literal coordinate 0.
 */
export function coords(shape: readonly number[], src: string, p = 'c'): string[] {
  const out: string[] = [];
  const rank = shape.length;
  if (rank === 0) return out;
  let rem = src;
  for (let d = rank - 1; d >= 1; d--) {
    const s = shape[d];
    if (s === 1) {
      out.push(`const ${p}${d} = 0;`);
      continue;
    }
    out.push(`const ${p}q${d} = Math.floor((${rem} + 0.5) / ${s});`);
    out.push(`const ${p}${d} = ${rem} - ${p}q${d} * ${s};`);
    rem = `${p}q${d}`;
  }
  out.push(shape[0] === 1 ? `const ${p}0 = 0;` : `const ${p}0 = ${rem};`);
  return out;
}

/**
 * The offset expression `offset + Σ c_d * stride_d` over the given dims (default: all), skipping
 * broadcast (stride 0) and size-1 dimensions.
 */
export function offsetExpr(l: Layout, p = 'c', dims?: readonly number[]): string {
  const terms: string[] = [String(l.offset)];
  const ds = dims ?? l.shape.map((_, i) => i);
  for (const d of ds) {
    if (l.strides[d] === 0 || l.shape[d] === 1) continue;
    terms.push(l.strides[d] === 1 ? `${p}${d}` : `${p}${d} * ${lit(l.strides[d])}`);
  }
  return terms.join(' + ');
}

/** Expression converting the value expression `v` of dtype `from` to dtype `to` (float16 and bfloat16 are rounded on the host). */
export function castExpr(v: string, from: DType, to: DType): string {
  if (from === to || to === 'float32' || to === 'float16' || to === 'bfloat16') return v;
  if (to === 'bool') return `(${v} !== 0 ? 1 : 0)`;
  // to int32: truncate toward zero; NaN and infinities become 0 (as the CPU backend).
  if (from === 'bool' || from === 'int32') return v;
  return `(Math.abs(${v}) < Infinity ? (${v} >= 0 ? Math.floor(${v}) : Math.ceil(${v})) : 0)`;
}

/**
 * Statements computing unary op `op` of variable `v` into a new variable `y`. Formulas follow the
 * CPU backend's scalar math (stable sigmoid, erfc-based GELU, torch's softplus threshold,
 * round-half-to-even).
 */
export function unaryCode(op: UnaryOp, v: string, y: string): string[] {
  const erfcCode = (x: string, out: string): string[] => [
    // Chebyshev fit of erfc, relative error below 1.2e-7 everywhere.
    `const ${out}z = Math.abs(${x});`,
    `const ${out}t = 1 / (1 + 0.5 * ${out}z);`,
    `const ${out}r = ${out}t * Math.exp(-${out}z * ${out}z - 1.26551223 + ${out}t * (1.00002368 + ${out}t * (0.37409196 + ${out}t * (0.09678418 + ${out}t * (-0.18628806 + ${out}t * (0.27886807 + ${out}t * (-1.13520398 + ${out}t * (1.48851587 + ${out}t * (-0.82215223 + ${out}t * 0.17087277)))))))));`,
    `const ${out} = ${x} >= 0 ? ${out}r : 2 - ${out}r;`,
  ];
  const sig = (x: string) =>
    `(${x} >= 0 ? 1 / (1 + Math.exp(-${x})) : Math.exp(${x}) / (1 + Math.exp(${x})))`;
  switch (op) {
    case 'neg':
      return [`const ${y} = -${v};`];
    case 'abs':
      return [`const ${y} = Math.abs(${v});`];
    case 'sign':
      return [`const ${y} = ${v} > 0 ? 1 : (${v} < 0 ? -1 : ${v} * 0);`];
    case 'exp':
    case 'log':
    case 'sqrt':
    case 'sin':
    case 'cos':
    case 'tanh':
    case 'floor':
    case 'ceil':
      return [`const ${y} = Math.${op}(${v});`];
    case 'rsqrt':
      return [`const ${y} = 1 / Math.sqrt(${v});`];
    case 'sigmoid':
      return [`const ${y} = ${sig(v)};`];
    case 'relu':
      return [`const ${y} = ${v} > 0 ? ${v} : ${v} * 0;`];
    case 'silu':
      return [`const ${y} = ${v} * ${sig(v)};`];
    case 'gelu':
      return [...erfcCode(`(-${v} * 0.7071067811865476)`, `${y}e`), `const ${y} = 0.5 * ${v} * ${y}e;`];
    case 'gelu_tanh':
      return [
        `const ${y} = 0.5 * ${v} * (1 + Math.tanh(0.7978845608028654 * (${v} + 0.044715 * ${v} * ${v} * ${v})));`,
      ];
    case 'softplus':
      return [
        `const ${y} = ${v} > 20 ? ${v} : (${v} < -15 ? Math.exp(${v}) : Math.log(1 + Math.exp(${v})));`,
      ];
    case 'erf':
      // Taylor series near 0 keeps relative accuracy for tiny inputs; erfc elsewhere.
      return [
        `const ${y}s = ${v} * ${v};`,
        `const ${y}a = 1.1283791670955126 * ${v} * (1 + ${y}s * (-1 / 3 + ${y}s * (1 / 10 + ${y}s * (-1 / 42 + ${y}s * (1 / 216 + ${y}s * (-1 / 1320 + ${y}s / 9360))))));`,
        ...erfcCode(v, `${y}c`),
        `const ${y} = Math.abs(${v}) < 0.5 ? ${y}a : 1 - ${y}c;`,
      ];
    case 'round':
      return [
        `const ${y}f = Math.floor(${v} + 0.5);`,
        `const ${y} = (${y}f - ${v} === 0.5 && Math.floor(${y}f / 2) * 2 !== ${y}f) ? ${y}f - 1 : ${y}f;`,
      ];
    case 'reciprocal':
      return [`const ${y} = 1 / ${v};`];
    case 'not':
      return [`const ${y} = ${v} !== 0 ? 0 : 1;`];
    case 'isnan':
      return [`const ${y} = ${v} !== ${v} ? 1 : 0;`];
  }
}

/** Statements computing binary op `op` of `a` and `b` into a new variable `y`. */
export function binaryCode(op: string, a: string, b: string, y: string): string[] {
  switch (op) {
    case 'add':
      return [`const ${y} = ${a} + ${b};`];
    case 'sub':
      return [`const ${y} = ${a} - ${b};`];
    case 'mul':
      return [`const ${y} = ${a} * ${b};`];
    case 'div':
      return [`const ${y} = ${a} / ${b};`];
    case 'pow':
      // Negative bases with integral exponents take the sign of the odd power (GLSL's pow is
      // undefined for negative bases).
      return [
        `const ${y}n = ${a} < 0 && Math.floor(${b}) === ${b};`,
        `const ${y}s = ${y}n && Math.floor(${b} / 2) * 2 !== ${b} ? -1 : 1;`,
        `const ${y} = ${y}n ? ${y}s * Math.pow(-${a}, ${b}) : Math.pow(${a}, ${b});`,
      ];
    case 'maximum':
      return [`const ${y} = (${a} > ${b} || ${a} !== ${a}) ? ${a} : ${b};`];
    case 'minimum':
      return [`const ${y} = (${a} < ${b} || ${a} !== ${a}) ? ${a} : ${b};`];
    case 'mod':
      return [
        `const ${y}r = ${a} % ${b};`,
        `const ${y} = (${y}r !== 0 && (${y}r < 0) !== (${b} < 0)) ? ${y}r + ${b} : ${y}r;`,
      ];
    case 'eq':
      return [`const ${y} = ${a} === ${b} ? 1 : 0;`];
    case 'ne':
      return [`const ${y} = ${a} !== ${b} ? 1 : 0;`];
    case 'lt':
      return [`const ${y} = ${a} < ${b} ? 1 : 0;`];
    case 'le':
      return [`const ${y} = ${a} <= ${b} ? 1 : 0;`];
    case 'gt':
      return [`const ${y} = ${a} > ${b} ? 1 : 0;`];
    case 'ge':
      return [`const ${y} = ${a} >= ${b} ? 1 : 0;`];
    case 'and':
      return [`const ${y} = (${a} !== 0 && ${b} !== 0) ? 1 : 0;`];
    case 'or':
      return [`const ${y} = (${a} !== 0 || ${b} !== 0) ? 1 : 0;`];
  }
  throw new Error(`gpujs backend: unknown binary op '${op}'`);
}

/** Wraps body statements into a gpu.js kernel function string. */
export function kernelSource(args: readonly string[], body: readonly string[], result: string): string {
  return `function (${args.join(', ')}) {\n  const t = this.thread.x;\n  ${body.join('\n  ')}\n  return ${result};\n}`;
}
