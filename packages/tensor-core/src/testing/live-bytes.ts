import type { Backend, Storage } from '../backend.js';

/** What {@link LiveBytesCounter.measure} counted during one call, in bytes above the live bytes at its start. */
export interface BytesMeasure {
  /** The most bytes of storage alive at once during the call. */
  peak: number;
  /** The bytes still alive when the call returned (what it kept). */
  after: number;
}

/** A backend wrapped by {@link countLiveBytes}, and what it counts. */
export interface LiveBytesCounter {
  /** The wrapper: register it (`registerBackend(name, () => counter.backend)`) and make it current. */
  readonly backend: Backend;
  /** Bytes of the storages the wrapper handed out and that are not freed yet. */
  readonly live: number;
  /** Runs `fn` (awaiting it when it returns a promise) and reports the peak and the kept bytes. */
  measure(fn: () => Promise<unknown>): Promise<BytesMeasure>;
  measure(fn: () => unknown): BytesMeasure;
}

/** Options of {@link countLiveBytes}. */
export interface LiveBytesOptions {
  /**
   * An optional kernel the wrapper reports missing (e.g. `'blockSparseAttention'`), so that
   * tensor-core takes its reference composition instead.
   */
  hide?: keyof Backend;
}

/**
 * Wraps `inner` in a backend named `name` that counts, exactly, the bytes of live storage: every
 * storage a method returns is added (its `byteLength`), every storage `free` releases is taken off,
 * and the peak between two points is kept. Memory tests use it to show that a computation never
 * holds more than it should (attention that never builds the L×L scores, a 16-bit load that never
 * builds the float32 model). Only storages made through the wrapper count: make it current before
 * creating the tensors to measure.
 */
export function countLiveBytes(
  inner: Backend,
  name: string,
  options: LiveBytesOptions = {},
): LiveBytesCounter {
  const sizes = new WeakMap<Storage, number>();
  let live = 0;
  let peak = 0;
  const count = (out: unknown) => {
    for (const s of Array.isArray(out) ? out : [out]) {
      // a storage: not a typed array (what `read` returns), and not counted yet (`write` may hand one back)
      if (
        s &&
        typeof s === 'object' &&
        typeof s.byteLength === 'number' &&
        !ArrayBuffer.isView(s) &&
        !sizes.has(s)
      ) {
        sizes.set(s, s.byteLength);
        live += s.byteLength;
        peak = Math.max(peak, live);
      }
    }
  };
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'name') return name;
      if (prop === options.hide) return undefined;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'free') {
        return (s: Storage) => {
          live -= sizes.get(s) ?? 0;
          sizes.delete(s);
          return value.call(target, s);
        };
      }
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        count(out);
        return out;
      };
    },
  });
  function measure(fn: () => Promise<unknown>): Promise<BytesMeasure>;
  function measure(fn: () => unknown): BytesMeasure;
  function measure(fn: () => unknown): BytesMeasure | Promise<BytesMeasure> {
    const start = live;
    peak = live;
    const done = () => ({ peak: peak - start, after: live - start });
    const out = fn();
    return out instanceof Promise ? out.then(done) : done();
  }
  return {
    backend,
    get live() {
      return live;
    },
    measure,
  };
}
