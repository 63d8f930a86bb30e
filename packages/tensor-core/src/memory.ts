import type { Backend, Storage } from './backend.js';
import type { Tensor } from './tensor.js';

/** A storage shared by a tensor and its views; freed when the last one is disposed. */
export class StorageRef {
  refs = 0;
  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
  ) {}
  retain(): void {
    if (this.refs === 0) track(this.backend.name, 0, this.storage.byteLength);
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) {
      track(this.backend.name, 0, -this.storage.byteLength);
      this.backend.free(this.storage);
    }
  }
}

interface Counts {
  tensors: number;
  bytes: number;
}
const counts = new Map<string, Counts>();

function track(backend: string, tensors: number, bytes: number): void {
  let c = counts.get(backend);
  if (!c) {
    c = { tensors: 0, bytes: 0 };
    counts.set(backend, c);
  }
  c.tensors += tensors;
  c.bytes += bytes;
}

/** @internal Called by Tensor on creation and disposal. */
export function trackTensor(t: Tensor, delta: 1 | -1): void {
  track(t.backend.name, delta, 0);
  if (delta === 1) scopes[scopes.length - 1]?.add(t);
}

/** Live tensors and bytes of one backend. */
export interface MemoryInfo {
  /** Tensors not yet disposed. */
  numTensors: number;
  /** Bytes of their storages (a storage shared by views counts once). */
  numBytes: number;
  /** Bytes the backend holds beyond live storages (pools, caches), when it reports them. */
  overheadBytes: number;
}

/**
 * Live tensors and bytes per backend. Long loops must keep these flat: wrap each step in
 * {@link tidy} or dispose what you create.
 *
 * @example
 * ```ts
 * const x = randn([2, 3]);
 * const before = memory().cpu.numTensors;
 * tidy(() => {
 *   add(x, 1); // freed when tidy returns (a tensor the callback returns would be kept)
 * });
 * memory().cpu.numTensors === before; // => true
 * ```
 */
export function memory(backends?: Iterable<Backend>): Record<string, MemoryInfo> {
  const out: Record<string, MemoryInfo> = {};
  for (const [name, c] of counts) out[name] = { numTensors: c.tensors, numBytes: c.bytes, overheadBytes: 0 };
  for (const b of backends ?? []) {
    out[b.name] ??= { numTensors: 0, numBytes: 0, overheadBytes: 0 };
    out[b.name].overheadBytes = b.memoryOverhead?.() ?? 0;
  }
  return out;
}

const scopes: Set<Tensor>[] = [];

/** Something tidy can keep: a tensor, or arrays/objects of them. */
export type TensorContainer = Tensor | TensorContainer[] | { [key: string]: TensorContainer } | unknown;

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (found in
 * arrays and plain objects) and those marked with {@link keep}. Like tfjs' tidy.
 *
 * @example
 * ```ts
 * const x = randn([2, 3]);
 * const w = randn([3, 4]);
 * const y = tidy(() => relu(matmul(x, w)).sum()); // the matmul result is freed, y stays
 * y.shape; // => []
 * ```
 */
export function tidy<T>(fn: () => T): T {
  return scoped(fn, 'tidy');
}

/**
 * The scope an op or a layer runs its body in: like {@link tidy}, every tensor created inside is
 * freed at the end except those returned, unless a returned tensor carries a gradient graph. Then
 * the intermediates stay alive (a gradient rule may read them) and belong to the enclosing scope,
 * as any graph does until `backward` and the user's `tidy` or `dispose`. So op code never frees by
 * hand: inference frees at once, training keeps exactly what the graph may need.
 *
 * @example
 * ```ts
 * function gatedMlp(x: Tensor, w1: Tensor, w2: Tensor): Tensor {
 *   return opScope(() => matmul(silu(matmul(x, w1)), w2)); // the hidden activations are freed under noGrad
 * }
 * ```
 */
export function opScope<T>(fn: () => T): T {
  return scoped(fn, 'op');
}

/**
 * Runs `fn` in a new scope, then frees what it created except the returned tensors ('tidy'), or
 * except everything when a returned tensor carries a gradient graph ('op'); survivors move to the
 * enclosing scope.
 */
function scoped<T>(fn: () => T, kind: 'tidy' | 'op'): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (kind === 'tidy' && result instanceof Promise) {
    throw new Error(
      'tidy: the function returned a Promise; tidy only scopes synchronous code (await outside tidy)',
    );
  }
  const kept = new Set<Tensor>();
  collect(result, kept, 0);
  let keepAll = false;
  if (kind === 'op') for (const t of kept) if (t.gradFn) keepAll = true;
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepAll || kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collect(x: unknown, out: Set<Tensor>, depth: number): void {
  if (x === null || typeof x !== 'object' || depth > 8) return;
  if ((x as { isTensor?: boolean }).isTensor === true) {
    out.add(x as Tensor);
    return;
  }
  if (Array.isArray(x)) for (const v of x) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(x) === Object.prototype)
    for (const v of Object.values(x)) collect(v, out, depth + 1);
}

/** Keeps `t` alive past the enclosing {@link tidy} scopes; returns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
