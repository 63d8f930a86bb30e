// ONNX export by tracing: the model's own forward runs twice under tensor-core's traceOps, at two
// different input sizes, and the ops it records become ONNX nodes. Parameters become initializers
// under their Hugging Face names; tensors the exporter feeds in are bound to graph inputs (or to
// small graphs computing them, such as position ids 0 .. T-1). Comparing the two traces tells
// which shape values depend on the input sizes: those are read from the inputs at run time
// (Shape), the others are constants. A value the host computed from the input sizes that matches
// no input dimension, or a trace that takes another path at the other size, is refused by name.
import { type Tensor, type TracedOp, traceOps } from '@attnkit/tensor-core';
import { ONNX_BOOL, ONNX_FLOAT, ONNX_INT32, ONNX_INT64, OnnxGraph } from './graph.js';

/** A tensor of the forward pass and the ONNX value it stands for. */
export interface BoundTensor {
  /** The tensor fed to the forward pass in this trace. */
  tensor: Tensor;
  /** Builds the ONNX value (a graph input, or nodes computing it); called once, for the first trace. */
  value: (g: OnnxGraph) => string;
}

/** A graph input: its name, ONNX element type and dims (names for the dynamic ones). */
export interface GraphInput {
  name: string;
  type: number;
  dims: readonly (number | string)[];
  /** Its sizes in this trace (number for every dim), to match dynamic shape values against. */
  shape: readonly number[];
}

/** What one traced run feeds and returns. */
export interface TraceRun {
  /** Graph inputs, in declaration order. */
  inputs: GraphInput[];
  /** Tensors of the forward bound to ONNX values. */
  bound: BoundTensor[];
  /** Runs the forward pass (inside the trace) and returns the graph outputs by name, in order. */
  forward: () => [string, Tensor][];
}

const ONNX_TYPE: Record<string, number> = {
  float32: ONNX_FLOAT,
  float16: ONNX_FLOAT, // exported graphs compute in float32 (the loader's float16 weights widen)
  bfloat16: ONNX_FLOAT,
  int32: ONNX_INT32,
  bool: ONNX_BOOL,
};

function onnxType(t: Tensor, who: string): number {
  const ty = ONNX_TYPE[t.dtype];
  if (ty === undefined) throw new Error(`${who}: tensors of dtype ${t.dtype} have no ONNX export`);
  return ty;
}

const UNARY: Record<string, string> = {
  neg: 'Neg',
  abs: 'Abs',
  sign: 'Sign',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  sin: 'Sin',
  cos: 'Cos',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  relu: 'Relu',
  softplus: 'Softplus',
  erf: 'Erf',
  floor: 'Floor',
  ceil: 'Ceil',
  round: 'Round',
  reciprocal: 'Reciprocal',
  not: 'Not',
  isnan: 'IsNaN',
};

const BINARY: Record<string, string> = {
  add: 'Add',
  sub: 'Sub',
  mul: 'Mul',
  div: 'Div',
  pow: 'Pow',
  maximum: 'Max',
  minimum: 'Min',
  eq: 'Equal',
  lt: 'Less',
  le: 'LessOrEqual',
  gt: 'Greater',
  ge: 'GreaterOrEqual',
  and: 'And',
  or: 'Or',
};

const INT64_MAX = Number.MAX_SAFE_INTEGER;
const LOWEST = -3.4028234663852886e38;

/** One dimension source: an ONNX value and the axis whose size it gives, with its size in each trace. */
interface DimSource {
  name: string;
  axis: number;
  v1: number;
  v2: number;
}

/**
 * Traces `run` at two input sizes (`first` and `second` build the runs) and writes the ONNX model.
 * `who` names the caller in errors.
 */
export function traceToOnnx(
  who: string,
  graphName: string,
  params: Map<Tensor, string>,
  first: () => TraceRun,
  second: () => TraceRun,
): Uint8Array {
  const r1 = first();
  const r2 = second();
  const t1 = traceOps(r1.forward);
  const t2 = traceOps(r2.forward);
  try {
    return emit(who, graphName, params, r1, t1, r2, t2);
  } finally {
    for (const [, t] of [...t1.result, ...t2.result]) if (!params.has(t)) t.dispose();
  }
}

function emit(
  who: string,
  graphName: string,
  params: Map<Tensor, string>,
  r1: TraceRun,
  t1: { ops: TracedOp[]; constants: Map<Tensor, ArrayLike<number>>; result: [string, Tensor][] },
  r2: TraceRun,
  t2: { ops: TracedOp[]; constants: Map<Tensor, ArrayLike<number>>; result: [string, Tensor][] },
): Uint8Array {
  const g = new OnnxGraph();
  const names = new Map<Tensor, string>();
  const sources: DimSource[] = [];
  r1.inputs.forEach((inp, i) => {
    g.input(inp.name, inp.type, inp.dims);
    inp.shape.forEach((v1, axis) => {
      sources.push({ name: inp.name, axis, v1, v2: r2.inputs[i].shape[axis] });
    });
  });
  for (const b of r1.bound) names.set(b.tensor, b.value(g));
  const { ops: ops1 } = t1;
  const ops2 = t2.ops;
  if (ops1.length !== ops2.length) {
    const at = ops1.findIndex((o, i) => ops2[i]?.op !== o.op);
    throw new Error(
      `${who}: the forward pass runs different ops at two input sizes (${ops1.length} and ${ops2.length} ops; they part at op ${at}: ${ops1[at]?.op} / ${ops2[at]?.op}), so it cannot be traced`,
    );
  }
  const shapeCache = new Map<string, string>();
  const dimOf = (name: string, axis: number): string => {
    const key = `${name}:${axis}`;
    let v = shapeCache.get(key);
    if (!v) {
      v = g.node('Shape', [name], { start: axis, end: axis + 1 });
      shapeCache.set(key, v);
    }
    return v;
  };
  const symbols = (v1: number, v2: number): string | number => {
    const s = r1.inputs.find((inp, i) => inp.shape.some((d, a) => d === v1 && r2.inputs[i].shape[a] === v2));
    if (!s) return `dim_${v1}_${v2}`;
    const a = s.shape.findIndex((d, k) => d === v1 && r2.inputs[r1.inputs.indexOf(s)].shape[k] === v2);
    return s.dims[a];
  };

  // only the ops the outputs depend on are exported (a forward may compute more, such as a loss)
  const needed = new Set<Tensor>(t1.result.map(([, t]) => t));
  const live = ops1.map(() => false);
  for (let i = ops1.length - 1; i >= 0; i--) {
    if (!ops1[i].outputs.some((o) => needed.has(o))) continue;
    live[i] = true;
    for (const x of ops1[i].inputs) if (x !== null && typeof x !== 'number') needed.add(x);
  }

  ops1.forEach((op, i) => {
    const op2 = ops2[i];
    if (op2.op !== op.op) {
      throw new Error(
        `${who}: the forward pass takes another path at a second input size (op ${i} is ${op.op} / ${op2.op}), so it cannot be traced`,
      );
    }
    if (!live[i]) return;
    const ctx = `op ${i} (${op.op})`;
    // the inputs as ONNX values
    const local: DimSource[] = [];
    const inputs = op.inputs.map((x, j) => {
      const y = op2.inputs[j];
      if (x === null || typeof x === 'number') {
        if (x !== y && !(typeof x === 'number' && typeof y === 'number')) {
          throw new Error(`${who}: ${ctx} takes different inputs at two input sizes`);
        }
        return x;
      }
      const x2 = y as Tensor;
      let name = names.get(x);
      if (name === undefined) name = constant(x, x2);
      x.shape.forEach((v1, axis) => {
        local.push({ name: name as string, axis, v1, v2: x2.shape[axis] });
      });
      return name;
    });

    /** An int64 [1] value for a size that is v1 in trace 1 and v2 in trace 2. */
    const dim = (v1: number, v2: number): string => {
      if (v1 === v2) return g.int64([v1]);
      const all = [...local, ...sources];
      const s = all.find((d) => d.v1 === v1 && d.v2 === v2);
      if (!s) {
        // an input dimension plus a constant (BART's positions start at an offset of 2): the
        // smallest such offset, its own inputs' dimensions first
        const shifted = all
          .filter((d) => d.v1 !== d.v2 && v1 - d.v1 === v2 - d.v2)
          .sort((p, q) => Math.abs(v1 - p.v1) - Math.abs(v1 - q.v1))[0];
        if (shifted) return g.node('Add', [dimOf(shifted.name, shifted.axis), g.int64([v1 - shifted.v1])]);
        throw new Error(
          `${who}: ${ctx} uses a size computed on the host (${v1} at one input size, ${v2} at the other) that matches no input dimension, so it cannot be exported`,
        );
      }
      return dimOf(s.name, s.axis);
    };
    const scalarNum = (x: number, j: number, type: number): string => {
      const y = op2.inputs[j] as number;
      if (x === y || Number.isNaN(x)) return typed(g, x, type);
      const d = g.node('Squeeze', [dim(x, y)]);
      return type === ONNX_INT64 ? d : g.node('Cast', [d], { to: type });
    };
    const val = (j: number, type: number): string => {
      const x = inputs[j];
      if (typeof x === 'number') return scalarNum(x, j, type);
      const t = op.inputs[j] as Tensor;
      return onnxType(t, who) === type ? (x as string) : g.node('Cast', [x as string], { to: type });
    };
    const out = op.outputs[0];
    const outType = out ? onnxType(out, who) : ONNX_FLOAT;
    const set = (v: string, k = 0) => names.set(op.outputs[k], v);
    const a = op.attrs;
    const differs = (key: string) => JSON.stringify(a[key]) !== JSON.stringify(op2.attrs[key]);
    for (const key of Object.keys(a)) {
      const dynamicOk = ['shape', 'start', 'end'].includes(key);
      if (!dynamicOk && differs(key)) {
        throw new Error(
          `${who}: ${ctx} has attribute ${key} = ${JSON.stringify(a[key])} at one input size and ${JSON.stringify(op2.attrs[key])} at the other, so it cannot be exported`,
        );
      }
    }
    const x0 = op.inputs[0] as Tensor;
    const x0b = op2.inputs[0] as Tensor;

    if (op.op in UNARY) {
      set(g.node(UNARY[op.op], [val(0, outType)]));
    } else if (op.op === 'rsqrt') {
      set(g.node('Reciprocal', [g.node('Sqrt', [val(0, outType)])]));
    } else if (op.op === 'silu') {
      const x = val(0, outType);
      set(g.node('Mul', [x, g.node('Sigmoid', [x])]));
    } else if (op.op === 'gelu') {
      const x = val(0, outType);
      const e = g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2)])]);
      set(g.node('Mul', [g.node('Mul', [x, g.scalar(0.5)]), g.node('Add', [e, g.scalar(1)])]));
    } else if (op.op === 'gelu_tanh') {
      set(geluTanh(g, val(0, outType)));
    } else if (op.op in BINARY || op.op === 'ne' || op.op === 'mod') {
      const ct = ONNX_TYPE[a.compute as string];
      const l = val(0, ct);
      const r = val(1, ct);
      if (op.op === 'ne') set(g.node('Not', [g.node('Equal', [l, r])]));
      else if (op.op === 'mod') {
        if (ct !== ONNX_INT32) throw new Error(`${who}: ${ctx}: a float remainder has no ONNX export here`);
        // Python's remainder (sign of the divisor): ((l mod r) + r) mod r with C's fmod semantics
        const m = g.node('Mod', [l, r], { fmod: 1 });
        set(g.node('Mod', [g.node('Add', [m, r]), r], { fmod: 1 }));
      } else set(g.node(BINARY[op.op], [l, r]));
    } else if (op.op === 'where') {
      set(g.node('Where', [val(0, ONNX_BOOL), val(1, outType), val(2, outType)]));
    } else if (op.op === 'matmul') {
      set(g.node('MatMul', [val(0, ONNX_FLOAT), val(1, ONNX_FLOAT)]));
    } else if (op.op === 'linear') {
      const w = g.node('Transpose', [val(1, ONNX_FLOAT)], { perm: [1, 0] });
      let y = g.node('MatMul', [val(0, ONNX_FLOAT), w]);
      if (inputs[2] !== null) y = g.node('Add', [y, val(2, ONNX_FLOAT)]);
      set(activation(g, y, a.activation as string | null, who));
    } else if (op.op === 'layerNorm') {
      const n = a.axes as number;
      const ns = x0.shape.slice(x0.rank - n);
      const w = inputs[1] !== null ? val(1, ONNX_FLOAT) : g.float(g.fresh('ones'), ones(ns), ns);
      const ins = [val(0, ONNX_FLOAT), w];
      if (inputs[2] !== null) ins.push(val(2, ONNX_FLOAT));
      set(g.node('LayerNormalization', ins, { axis: -n, epsilon: { f: a.eps as number } }));
    } else if (op.op === 'rmsNorm') {
      const n = a.axes as number;
      const x = val(0, ONNX_FLOAT);
      const axes = Array.from({ length: n }, (_, k) => -1 - k);
      const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { axes, keepdims: 1 });
      const r = g.node('Sqrt', [g.node('Add', [ms, g.scalar(a.eps as number)])]);
      let y = g.node('Div', [x, r]);
      if (inputs[1] !== null) y = g.node('Mul', [y, val(1, ONNX_FLOAT)]);
      set(y);
    } else if (op.op === 'softmax' || op.op === 'logSoftmax') {
      set(
        g.node(op.op === 'softmax' ? 'Softmax' : 'LogSoftmax', [val(0, ONNX_FLOAT)], {
          axis: a.axis as number,
        }),
      );
    } else if (op.op === 'attention') {
      if (op.outputs.length > 1)
        throw new Error(`${who}: ${ctx}: attention weights have no ONNX export here`);
      set(attention(g, op, inputs as (string | null)[], val));
    } else if (op.op === 'embedding') {
      set(g.node('Gather', [val(1, outType), inputs[0] as string], { axis: 0 }));
    } else if (op.op === 'indexSelect') {
      set(g.node('Gather', [val(0, outType), inputs[1] as string], { axis: a.dim as number }));
    } else if (op.op === 'gather') {
      set(g.node('GatherElements', [val(0, outType), inputs[1] as string], { axis: a.dim as number }));
    } else if (op.op === 'concat') {
      set(
        g.node(
          'Concat',
          op.inputs.map((_, j) => val(j, outType)),
          { axis: a.dim as number },
        ),
      );
    } else if (op.op === 'topk') {
      const [v, idx] = g.nodeN('TopK', [val(0, ONNX_FLOAT), g.int64([a.k as number])], 2, {
        axis: a.dim as number,
        largest: a.largest ? 1 : 0,
        sorted: 1,
      });
      set(v, 0);
      set(g.node('Cast', [idx], { to: ONNX_INT32 }), 1);
    } else if (op.op === 'sum' || op.op === 'max' || op.op === 'min') {
      const axes = a.axes as number[];
      const keepdims = a.keepdim ? 1 : 0;
      const x = val(0, outType);
      if (op.op === 'sum') set(g.node('ReduceSum', axes.length ? [x, g.int64(axes)] : [x], { keepdims }));
      else set(g.node(op.op === 'max' ? 'ReduceMax' : 'ReduceMin', [x], { axes, keepdims }));
    } else if (op.op === 'argmax' || op.op === 'argmin') {
      const am = g.node(
        op.op === 'argmax' ? 'ArgMax' : 'ArgMin',
        [val(0, x0.dtype === 'int32' ? ONNX_INT32 : ONNX_FLOAT)],
        {
          axis: a.axis as number,
          keepdims: a.keepdim ? 1 : 0,
        },
      );
      set(g.node('Cast', [am], { to: ONNX_INT32 }));
    } else if (op.op === 'conv2d') {
      const [sh, sw] = a.stride as number[];
      const [ph, pw] = a.padding as number[];
      set(
        g.node('Conv', [val(0, ONNX_FLOAT), val(1, ONNX_FLOAT)], {
          strides: [sh, sw],
          pads: [ph, pw, ph, pw],
          dilations: a.dilation as number[],
          group: a.groups as number,
        }),
      );
    } else if (op.op === 'identity') {
      set(val(0, outType));
    } else if (op.op === 'cast') {
      set(val(0, outType));
    } else if (op.op === 'reshape') {
      set(
        g.node('Reshape', [
          inputs[0] as string,
          reshapeTarget(g, x0, x0b, a.shape as number[], op2.attrs.shape as number[], dim),
        ]),
      );
    } else if (op.op === 'permute') {
      set(g.node('Transpose', [inputs[0] as string], { perm: a.perm as number[] }));
    } else if (op.op === 'expand') {
      const s1 = a.shape as number[];
      const s2 = op2.attrs.shape as number[];
      const lead = s1.length - x0.rank;
      const parts = s1.map((v1, k) => {
        const v2 = s2[k];
        // a dim the input already has broadcasts as 1
        if (k >= lead && x0.shape[k - lead] === v1 && x0b.shape[k - lead] === v2) return g.int64([1]);
        return dim(v1, v2);
      });
      set(g.node('Expand', [inputs[0] as string, concatInts(g, parts)]));
    } else if (op.op === 'slice') {
      const d = a.dim as number;
      const n1 = x0.shape[d];
      const n2 = x0b.shape[d];
      const start = dim(a.start as number, op2.attrs.start as number);
      const e1 = a.end as number;
      const e2 = op2.attrs.end as number;
      const end = e1 === n1 && e2 === n2 ? g.int64([INT64_MAX]) : dim(e1, e2);
      set(g.node('Slice', [inputs[0] as string, start, end, g.int64([d]), g.int64([a.step as number])]));
    } else {
      throw new Error(`${who}: ${ctx}: the op '${op.op}' has no ONNX translation`);
    }
  });

  for (const [name, t] of t1.result) {
    let v = names.get(t);
    if (v === undefined) v = constant(t, t2.result.find(([n]) => n === name)?.[1] as Tensor);
    g.node('Identity', [v], {}, name);
    const t2b = t2.result.find(([n]) => n === name)?.[1] as Tensor;
    g.output(
      name,
      onnxType(t, who),
      t.shape.map((v1, k) => (v1 === t2b.shape[k] ? v1 : symbols(v1, t2b.shape[k]))),
    );
  }
  return g.toModel(graphName);

  /** A tensor no traced op made: a parameter (an initializer under its name) or a host-made constant. */
  /**
   * A host-made int32 ramp `start .. start + n − 1` (an arange of positions) whose length follows an
   * input dimension (or a dimension plus a constant): emitted as ONNX Range over that dimension.
   */
  function rampOf(x: Tensor, data: ArrayLike<number>, x2: Tensor, data2: ArrayLike<number>): string | null {
    if (x.dtype !== 'int32' || x.rank !== 1 || x2.rank !== 1 || x.shape[0] === x2.shape[0]) return null;
    const start = rampStart(data);
    if (start === null || rampStart(data2) !== start) return null;
    const [n1, n2] = [x.shape[0], x2.shape[0]];
    const s =
      sources.find((d) => d.v1 === n1 && d.v2 === n2) ??
      sources.find((d) => d.v1 !== d.v2 && n1 - d.v1 === n2 - d.v2);
    if (!s) return null;
    let n = dimOf(s.name, s.axis);
    if (n1 !== s.v1) n = g.node('Add', [n, g.int64([n1 - s.v1])]);
    const end = g.node('Add', [n, g.int64([start])]);
    const range = g.node('Range', [g.int64([start], true), g.node('Squeeze', [end]), g.int64([1], true)]);
    return g.node('Cast', [range], { to: ONNX_INT32 });
  }

  function constant(x: Tensor, x2: Tensor): string {
    const known = params.get(x);
    const data = t1.constants.get(x) ?? (x.dataSync() as ArrayLike<number>);
    let name: string;
    if (known !== undefined) name = constTensor(g, known, x, data);
    else {
      const data2 = t2.constants.get(x2) ?? (x2.dataSync() as ArrayLike<number>);
      const ramp = rampOf(x, data, x2, data2);
      if (ramp) {
        names.set(x, ramp);
        return ramp;
      }
      if (x.shape.length !== x2.shape.length || x.shape.some((s, k) => s !== x2.shape[k])) {
        throw new Error(
          `${who}: a ${x.dtype} tensor made on the host has shape [${x.shape.join(', ')}] at one input size and [${x2.shape.join(', ')}] at the other (it depends on the input size), so it cannot be exported`,
        );
      }
      for (let k = 0; k < data.length; k++) {
        if (data[k] !== data2[k] && !(Number.isNaN(data[k]) && Number.isNaN(data2[k]))) {
          throw new Error(
            `${who}: a ${x.dtype} tensor [${x.shape.join(', ')}] made on the host has other values at another input (it depends on the input), so it cannot be exported`,
          );
        }
      }
      name = constTensor(g, g.fresh('const'), x, data);
    }
    names.set(x, name);
    return name;
  }
}

/** Whether `data` is `start, start + 1, ..., start + n − 1`; returns `start`, or null. */
function rampStart(data: ArrayLike<number>): number | null {
  if (data.length === 0) return null;
  for (let k = 1; k < data.length; k++) if (data[k] !== data[0] + k) return null;
  return data[0];
}

function constTensor(g: OnnxGraph, name: string, x: Tensor, data: ArrayLike<number>): string {
  if (x.dtype === 'int32') return g.typed(name, ONNX_INT32, Int32Array.from(data), x.shape);
  if (x.dtype === 'bool')
    return g.typed(
      name,
      ONNX_BOOL,
      Uint8Array.from(data, (v) => (v ? 1 : 0)),
      x.shape,
    );
  return g.float(name, Float32Array.from(data), x.shape);
}

function typed(g: OnnxGraph, v: number, type: number): string {
  if (type === ONNX_FLOAT) return g.scalar(v);
  if (type === ONNX_INT64) return g.int64([v], true);
  if (type === ONNX_INT32) return g.scalarOf(ONNX_INT32, v);
  if (type === ONNX_BOOL) return g.scalarOf(ONNX_BOOL, v ? 1 : 0);
  throw new Error(`exportOnnx: no scalar of ONNX type ${type}`);
}

function ones(shape: readonly number[]): Float32Array {
  return new Float32Array(shape.reduce((p, s) => p * s, 1)).fill(1);
}

function concatInts(g: OnnxGraph, parts: string[]): string {
  return parts.length === 1 ? parts[0] : g.node('Concat', parts, { axis: 0 });
}

/** Reshape's target: constants, 0 (keep the input's dim), -1 (the one dim left) or sizes read at run time. */
function reshapeTarget(
  g: OnnxGraph,
  x1: Tensor,
  x2: Tensor,
  s1: number[],
  s2: number[],
  dim: (v1: number, v2: number) => string,
): string {
  const spec: (number | null)[] = s1.map((v1, k) => {
    const v2 = s2[k];
    if (v1 === v2) return v1 === 0 ? null : v1;
    if (x1.shape[k] === v1 && x2.shape[k] === v2) return 0;
    return null;
  });
  const open = spec.filter((s) => s === null).length;
  if (open === 0 && !spec.includes(0)) return g.int64(spec as number[]);
  if (open <= 1 && !s1.includes(0)) return g.int64(spec.map((s) => s ?? -1));
  const parts = spec.map((s, k) => (s === null ? dim(s1[k], s2[k]) : g.int64([s])));
  return concatInts(g, parts);
}

function geluTanh(g: OnnxGraph, x: string): string {
  const x3 = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [
    g.node('Add', [x, g.node('Mul', [x3, g.scalar(0.044715)])]),
    g.scalar(Math.sqrt(2 / Math.PI)),
  ]);
  return g.node('Mul', [
    g.node('Mul', [x, g.scalar(0.5)]),
    g.node('Add', [g.node('Tanh', [inner]), g.scalar(1)]),
  ]);
}

function activation(g: OnnxGraph, y: string, act: string | null, who: string): string {
  if (act === null) return y;
  if (act === 'relu') return g.node('Relu', [y]);
  if (act === 'sigmoid') return g.node('Sigmoid', [y]);
  if (act === 'tanh') return g.node('Tanh', [y]);
  if (act === 'silu') return g.node('Mul', [y, g.node('Sigmoid', [y])]);
  if (act === 'gelu') {
    const e = g.node('Erf', [g.node('Mul', [y, g.scalar(Math.SQRT1_2)])]);
    return g.node('Mul', [g.node('Mul', [y, g.scalar(0.5)]), g.node('Add', [e, g.scalar(1)])]);
  }
  if (act === 'gelu_tanh') return geluTanh(g, y);
  throw new Error(`${who}: the linear activation '${act}' has no ONNX translation`);
}

/**
 * softmax(q kᵀ · scale + mask) v as tensor-core's attention computes it: grouped-query heads,
 * a bool (true = attend) or additive mask, causal masking aligned bottom-right, sliding windows,
 * and zeros for a query that sees no key.
 */
function attention(
  g: OnnxGraph,
  op: TracedOp,
  inputs: (string | null)[],
  val: (j: number, type: number) => string,
): string {
  const [q, k, v] = op.inputs as Tensor[];
  const a = op.attrs;
  const rank = q.rank;
  const d = q.shape[rank - 1];
  const scale = (a.scale as number | null) ?? 1 / Math.sqrt(d);
  let kk = val(1, ONNX_FLOAT);
  let vv = val(2, ONNX_FLOAT);
  if (rank === 4 && k.shape[1] !== q.shape[1]) {
    const rep = q.shape[1] / k.shape[1];
    const repeat = (t: string, dd: number) => {
      const u = g.node('Unsqueeze', [t, g.int64([2])]);
      const ex = g.node('Expand', [u, g.int64([1, 1, rep, 1, 1])]);
      return g.node('Reshape', [ex, g.int64([0, q.shape[1], -1, dd])]);
    };
    kk = repeat(kk, k.shape[3]);
    vv = repeat(vv, v.shape[3]);
  }
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  let s = g.node('Mul', [
    g.node('MatMul', [val(0, ONNX_FLOAT), g.node('Transpose', [kk], { perm })]),
    g.scalar(scale),
  ]);
  let allowed: string | null = null;
  const mask = op.inputs[3] as Tensor | null;
  if (mask) {
    if (mask.dtype === 'bool') allowed = inputs[3] as string;
    else s = g.node('Add', [s, val(3, ONNX_FLOAT)]);
  }
  const causal = a.causal === true;
  const window = a.windowSize as number | null;
  if (causal || window !== null) {
    const lq = g.node('Shape', [val(0, ONNX_FLOAT)], { start: rank - 2, end: rank - 1 });
    const lk = g.node('Shape', [kk], { start: rank - 2, end: rank - 1 });
    const zero = g.int64([0], true);
    const one = g.int64([1], true);
    const shift = g.node('Sub', [lk, lq]);
    const rows = g.node('Unsqueeze', [
      g.node('Add', [g.node('Range', [zero, g.node('Squeeze', [lq]), one]), shift]),
      g.int64([1]),
    ]); // [Lq, 1]: each query's position
    const cols = g.node('Unsqueeze', [g.node('Range', [zero, g.node('Squeeze', [lk]), one]), g.int64([0])]); // [1, Lk]
    let vis: string | null = null;
    if (causal) vis = g.node('LessOrEqual', [cols, rows]);
    if (window !== null) {
      const w = g.int64([window], true);
      const inWin = causal
        ? g.node('Greater', [cols, g.node('Sub', [rows, w])])
        : g.node('Less', [g.node('Abs', [g.node('Sub', [cols, rows])]), w]);
      vis = vis ? g.node('And', [vis, inWin]) : inWin;
    }
    allowed = allowed ? g.node('And', [allowed, vis as string]) : vis;
  }
  if (allowed) s = g.node('Where', [allowed, s, g.scalar(LOWEST)]);
  let out = g.node('MatMul', [g.node('Softmax', [s], { axis: -1 }), vv]);
  if (allowed) {
    // a query that sees no key gives zeros (its scores are all LOWEST)
    const any = g.node('ReduceMax', [g.node('Cast', [allowed], { to: ONNX_FLOAT })], {
      axes: [-1],
      keepdims: 1,
    });
    out = g.node('Mul', [out, any]);
  }
  return out;
}
