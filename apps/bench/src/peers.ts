/**
 * WebAssembly peers for the CPU tables: onnxruntime-web (a one-node MatMul graph), TensorFlow.js'
 * wasm backend (XNNPACK) and jax-js' wasm device, each behind a uniform "multiply these two
 * matrices and read the result" call, so that suites can interleave them with attnkit.
 */

/** A square matmul contender: `run()` multiplies its two n×n inputs and reads the result back. */
export interface Contender {
  label: string;
  run: () => Promise<void> | void;
  dispose: () => Promise<void> | void;
}

// ---- a minimal ONNX writer: ModelProto with one MatMul node (protobuf by hand) ----
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (no: number, bytes: number[]) => [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
const int = (no: number, v: number) => [...varint(no << 3), ...varint(v)];
const str = (no: number, s: string) => field(no, [...new TextEncoder().encode(s)]);

function valueInfo(name: string, shape: number[]): number[] {
  const dims = shape.flatMap((d) => field(1, int(1, d)));
  return [...str(1, name), ...field(2, field(1, [...int(1, 1), ...field(2, dims)]))];
}

/** An ONNX model computing Y = A @ B for A [m, k], B [k, n] (float32, opset 17). */
export function onnxMatMul(m: number, k: number, n: number): Uint8Array {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'Y'), ...str(4, 'MatMul')];
  const graph = [
    ...field(1, node),
    ...str(2, 'matmul'),
    ...field(11, valueInfo('A', [m, k])),
    ...field(11, valueInfo('B', [k, n])),
    ...field(12, valueInfo('Y', [m, n])),
  ];
  return new Uint8Array([...int(1, 8), ...field(8, [...str(1, ''), ...int(2, 17)]), ...field(7, graph)]);
}

// biome-ignore lint/suspicious/noExplicitAny: optional peers, loaded by name
type Any = any;

async function load(spec: string): Promise<Any> {
  return import(spec).catch(() => null);
}

/** onnxruntime-web (wasm) with `threads` threads, or null when it cannot be imported. */
export async function ortMatmul(
  a: Float32Array,
  b: Float32Array,
  n: number,
  threads: number,
): Promise<Contender | null> {
  const ort = await load('onnxruntime-web');
  if (!ort) return null;
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(onnxMatMul(n, n, n));
  const feeds = { A: new ort.Tensor('float32', a, [n, n]), B: new ort.Tensor('float32', b, [n, n]) };
  return {
    label: `onnxruntime-web 1.30 wasm, ${threads} threads`,
    run: async () => {
      const out = await session.run(feeds);
      out.Y.data;
    },
    dispose: () => session.release?.(),
  };
}

/** @tensorflow/tfjs-backend-wasm (XNNPACK), or null when it cannot be imported. */
export async function tfjsWasmMatmul(a: Float32Array, b: Float32Array, n: number): Promise<Contender | null> {
  const tf = await load('@tensorflow/tfjs-core');
  const wasm = await load('@tensorflow/tfjs-backend-wasm');
  if (!tf || !wasm) return null;
  if (!(await tf.setBackend('wasm'))) return null;
  await tf.ready();
  const threads = wasm.getThreadsCount?.() ?? 1;
  const ta = tf.tensor(a, [n, n]);
  const tb = tf.tensor(b, [n, n]);
  return {
    label: `tfjs-backend-wasm 4.22 (${threads} thread${threads === 1 ? '' : 's'})`,
    run: async () => {
      await tf.setBackend('wasm');
      const y = tf.matMul(ta, tb);
      y.dataSync();
      y.dispose();
    },
    dispose: () => {
      ta.dispose();
      tb.dispose();
    },
  };
}

/** @jax-js/jax on its wasm device, or null when it cannot be imported. */
export async function jaxMatmul(a: Float32Array, b: Float32Array, n: number): Promise<Contender | null> {
  const jax = await load('@jax-js/jax');
  if (!jax) return null;
  const devices: string[] = await jax.init('wasm');
  if (!devices.includes('wasm')) return null;
  jax.defaultDevice('wasm');
  const np = jax.numpy;
  const ja = np.array(a).reshape([n, n]);
  const jb = np.array(b).reshape([n, n]);
  // jax-js starts Web Workers where the host has them and SharedArrayBuffer; Node has no Worker global.
  const threads =
    typeof (globalThis as { Worker?: unknown }).Worker === 'undefined'
      ? '1 thread: no Web Workers in Node'
      : 'its worker pool';
  return {
    label: `@jax-js/jax 0.1.25 wasm (${threads})`,
    run: async () => {
      const y = np.matmul(ja.ref, jb.ref);
      y.dataSync();
    },
    dispose: () => {
      ja.dispose?.();
      jb.dispose?.();
    },
  };
}
