// Building an ONNX graph (onnx.proto field numbers) node by node: initializers from typed arrays,
// nodes with attributes, inputs and outputs with symbolic dims, serialised to a ModelProto.
import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;

/** An attribute value: an int, a float (`{ f }`), ints, floats (`{ floats }`) or a string (`{ s }`). */
export type AttrValue = number | number[] | { f: number } | { floats: number[] } | { s: string };

function tensorProto(name: string, dims: readonly number[], type: number, raw: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  if (dims.length) w.packedInts(1, dims);
  return w.int(2, type).bytes(8, name).bytes(9, raw).finish();
}

function attribute(name: string, v: AttrValue): Uint8Array {
  const w = new ProtoWriter().bytes(1, name);
  if (typeof v === 'number') return w.int(20, 2).int(3, v).finish();
  if (Array.isArray(v)) return w.int(20, 7).packedInts(8, v).finish();
  if ('f' in v) return w.int(20, 1).float(2, v.f).finish();
  if ('floats' in v) return w.int(20, 6).packedFloats(7, v.floats).finish();
  return w.int(20, 3).bytes(4, v.s).finish();
}

function valueInfo(name: string, type: number, dims: readonly (number | string)[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.bytes(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, type).bytes(2, shape.finish()).finish();
  const typeProto = new ProtoWriter().bytes(1, tensorType).finish();
  return new ProtoWriter().bytes(1, name).bytes(2, typeProto).finish();
}

/** An ONNX graph under construction (opset 17, default domain). */
export class OnnxGraph {
  private nodes: Uint8Array[] = [];
  private inits: Uint8Array[] = [];
  private inputs: Uint8Array[] = [];
  private outputs: Uint8Array[] = [];
  private counter = 0;
  private consts = new Map<string, string>();

  /** A fresh value name. */
  fresh(prefix = 't'): string {
    return `${prefix}_${this.counter++}`;
  }

  /** A float32 initializer. */
  float(name: string, data: Float32Array, dims: readonly number[]): string {
    this.inits.push(
      tensorProto(name, dims, ONNX_FLOAT, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    );
    return name;
  }

  /** An initializer of any element type from its little-endian values (int32, bool as bytes, ...). */
  typed(
    name: string,
    type: number,
    data: Int32Array | Uint8Array | Float32Array,
    dims: readonly number[],
  ): string {
    this.inits.push(
      tensorProto(name, dims, type, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    );
    return name;
  }

  /** A scalar constant of an int32 or bool type, shared between uses. */
  scalarOf(type: number, v: number): string {
    const key = `${type}:${v}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const data = type === ONNX_BOOL ? Uint8Array.of(v ? 1 : 0) : Int32Array.of(v);
    const name = this.typed(this.fresh('const_s'), type, data, []);
    this.consts.set(key, name);
    return name;
  }

  /** An int64 constant (1-D, or a scalar with `scalar`), shared between uses. */
  int64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar}:${values.join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.fresh('const_i64');
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.inits.push(
      tensorProto(name, scalar ? [] : [values.length], ONNX_INT64, new Uint8Array(data.buffer)),
    );
    this.consts.set(key, name);
    return name;
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(v: number): string {
    const key = `f32:${v}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.fresh('const_f32');
    this.inits.push(tensorProto(name, [], ONNX_FLOAT, new Uint8Array(Float32Array.of(v).buffer)));
    this.consts.set(key, name);
    return name;
  }

  /** Adds a node with one output; returns the output name. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    output?: string,
  ): string {
    return this.nodeN(op, inputs, 1, attrs, output ? [output] : undefined)[0];
  }

  /** Adds a node with `n` outputs. */
  nodeN(
    op: string,
    inputs: readonly string[],
    n: number,
    attrs: Record<string, AttrValue> = {},
    outputs?: string[],
  ): string[] {
    const outs = outputs ?? Array.from({ length: n }, () => this.fresh(op.toLowerCase()));
    const w = new ProtoWriter();
    for (const i of inputs) w.bytes(1, i);
    for (const o of outs) w.bytes(2, o);
    w.bytes(3, this.fresh(`${op}_node`)).bytes(4, op);
    for (const [k, v] of Object.entries(attrs)) w.bytes(5, attribute(k, v));
    this.nodes.push(w.finish());
    return outs;
  }

  /** Declares a graph input. */
  input(name: string, type: number, dims: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares a graph output. */
  output(name: string, type: number, dims: readonly (number | string)[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** The serialised ModelProto (IR version 8, opset 17). */
  toModel(graphName: string, producer = 'attnkit'): Uint8Array {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.bytes(1, n);
    g.bytes(2, graphName);
    for (const t of this.inits) g.bytes(5, t);
    for (const i of this.inputs) g.bytes(11, i);
    for (const o of this.outputs) g.bytes(12, o);
    const opset = new ProtoWriter().bytes(1, '').int(2, 17).finish();
    return new ProtoWriter()
      .int(1, 8)
      .bytes(2, producer)
      .bytes(3, '0.0.0')
      .bytes(7, g.finish())
      .bytes(8, opset)
      .finish();
  }
}
