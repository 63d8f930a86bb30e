// Op tracing: while `traceOps(fn)` runs, every op records its name, its tensor (and number)
// inputs, its outputs and its attributes, so an exporter can replay the forward pass as another
// graph (ONNX). Only the outermost op is kept: an op built from other ops (layerNorm's fallback,
// attention's reference path) records itself, not its parts. When nothing traces, an op pays one
// comparison (`traceMark()` returns -1 and the op skips `traceOp`).
import type { Tensor } from './tensor.js';

/** One op a traced function ran. */
export interface TracedOp {
  /** The op's name (`add`, `matmul`, `reshape`, `attention`, ...). */
  readonly op: string;
  /** Its inputs in order: tensors, JS numbers (scalar operands), or null (an absent optional input). */
  readonly inputs: readonly (Tensor | number | null)[];
  /** Its outputs. */
  readonly outputs: readonly Tensor[];
  /** Its attributes (axes, shapes, eps, ...): numbers, strings, booleans or arrays of numbers. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** The ops of a trace and the values of the tensors they read that no traced op made. */
export interface Trace {
  /** The ops, in the order they ran (outermost ops only). */
  readonly ops: TracedOp[];
  /**
   * Values of the tensors the ops read that no recorded op produced (parameters, inputs,
   * host-made constants), read when first used (float16 as float32), so that tensors freed later
   * keep their values.
   */
  readonly constants: Map<Tensor, ArrayLike<number>>;
}

interface Active extends Trace {
  produced: Set<Tensor>;
}

let active: Active | null = null;

/** True while {@link traceOps} records. */
export function isTracing(): boolean {
  return active !== null;
}

/**
 * @internal Ops call this first: the position of the op in the trace, or -1 when nothing traces
 * (then the op skips {@link traceOp}).
 */
export function traceMark(): number {
  return active === null ? -1 : active.ops.length;
}

/**
 * @internal Records an op that started at `mark` (from {@link traceMark}); the ops it ran inside
 * are dropped, so the trace holds the outermost op only.
 */
export function traceOp(
  mark: number,
  op: string,
  inputs: readonly (Tensor | number | null)[],
  outputs: Tensor | readonly Tensor[],
  attrs: Record<string, unknown> = {},
): void {
  if (active === null || mark < 0) return;
  const { ops, produced, constants } = active;
  for (let i = mark; i < ops.length; i++) for (const t of ops[i].outputs) produced.delete(t);
  ops.length = mark;
  for (const t of inputs) {
    if (t === null || typeof t === 'number' || produced.has(t) || constants.has(t)) continue;
    if (!t.backend.readSync) {
      throw new Error(
        `traceOps: the '${t.backend.name}' backend cannot read synchronously; trace on the CPU`,
      );
    }
    constants.set(t, t.dataSync());
  }
  const outs = (outputs as Tensor).isTensor === true ? [outputs as Tensor] : (outputs as Tensor[]);
  for (const t of outs) produced.add(t);
  ops.push({ op, inputs, outputs: outs, attrs });
}

/**
 * Runs `fn` and returns its result with the ops it ran, in order (outermost ops only), and the
 * values of the tensors they read that no op produced (parameters, inputs, constants made on the
 * host). Traces do not nest; the tensors must live on a backend that reads synchronously (the CPU).
 *
 * @example
 * ```ts
 * const x = randn([2, 3]);
 * const w = randn([3, 4]);
 * const { result, ops } = traceOps(() => add(matmul(x, w), 1));
 * ops.map((o) => o.op); // => ['matmul', 'add']
 * ```
 */
export function traceOps<T>(fn: () => T): Trace & { result: T } {
  if (active !== null) throw new Error('traceOps: a trace is already running (traces do not nest)');
  const trace: Active = { ops: [], constants: new Map(), produced: new Set() };
  active = trace;
  try {
    return { result: fn(), ops: trace.ops, constants: trace.constants };
  } finally {
    active = null;
  }
}
