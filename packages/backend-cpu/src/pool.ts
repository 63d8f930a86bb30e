/**
 * The worker pool: threads that run the kernels of gemm.wat on rectangles of one product, over
 * the heap's shared memory (worker_threads in Node, Web Workers in cross-origin-isolated pages).
 *
 * The calling thread and the workers talk through int32 control words at the bottom of the
 * memory, with no messages per call:
 * - the caller writes one task per worker into that worker's slot (kernel, arguments, the
 *   generation it belongs to), bumps the generation word and wakes the workers (Atomics.notify);
 * - it runs the first task itself, then takes back every task that no worker has taken yet (a
 *   worker still waking up) and runs it too, then waits until the done counter reaches the
 *   number of tasks the workers took (spinning briefly, then Atomics.wait in Node; spinning on a
 *   browser's main thread, where waiting is not allowed);
 * - each worker waits on the generation word, takes its slot's task when the slot carries the new
 *   generation (a compare-and-swap of the slot's generation word, against the caller's taking it
 *   back), runs it and bumps the done counter.
 * A worker that sleeps through a short product thus never delays it: the caller does that work
 * itself, as on one thread.
 * Workers start asynchronously; until a worker reports ready, the caller gives it no work, so the
 * first products of a session may run on fewer threads (with the same results: every kernel
 * sums each output element in the same order whatever the split).
 *
 * Kernels: a task calls one export of gemm.wat with int32 arguments, then applies the linear
 * epilogue's activation to its output rectangle: gelu_tanh (GPT-2's MLP) with gemm.wat's SIMD
 * loop, the others in JavaScript (the functions of math.ts).
 */
import { attentionUnits } from './kernels/attention-threads.js';
import { convUnits } from './kernels/conv2d-threads.js';
import { GEMM_WASM, GEMM_WASM_UNSHARED } from './kernels/gemm-wasm.js';
import { erfc, gelu, geluTanh, sigmoid } from './math.js';

/**
 * Kernels a task can run, by index: exports of gemm.wat, `attention`, the JavaScript driver of
 * kernels/attention-threads.ts (which calls gemm.wat for its tile products), `conv`, conv2d's
 * im2col and direct loops (kernels/conv2d-threads.ts), `gemm_cols`, gemm over column chunks
 * claimed one at a time ({@link gemmColumns}), and `gemv_cols`, the same for the matrix-vector
 * kernels ({@link gemvColumns}), and `gemm_pcols`, gemm_packed's column chunks (also
 * {@link gemmColumns}).
 */
export const KERNELS = [
  'gemm',
  'gemv_t',
  'gemv_n',
  'gemv_q8',
  'dequant_q8',
  'gemv_h',
  'widen_h',
  'attention',
  'conv',
  'gemm_cols',
  'gemv_cols',
  'pack_b',
  'gemm_packed',
  'gemm_pcols',
] as const;
export type KernelName = (typeof KERNELS)[number];

/** Activation codes of the epilogue (0: none). */
export const ACTIVATIONS = ['', 'relu', 'gelu', 'gelu_tanh', 'silu', 'sigmoid', 'tanh'] as const;
/** The code of gelu_tanh, which the epilogue runs with gemm.wat's `gelu_tanh` (SIMD) instead of JavaScript. */
const GELU_TANH = ACTIVATIONS.indexOf('gelu_tanh');

/** A kernel call on one rectangle of the output, then `act` over c[m, n] (row stride ldc). */
export interface Task {
  kernel: KernelName;
  args: number[];
  act: number;
  c: number;
  ldc: number;
  m: number;
  n: number;
}

// Control words (int32 indices).
const GEN = 0;
const DONE = 1;
const QUIT = 2;
const FAILED = 3;
const CLAIM = 4; // the next column chunk of a gemm_cols or gemv_cols product
const READY = 16; // READY + id: 1 once worker id runs
const SLOT = 128; // SLOT + id * SLOT_INTS: [gen, kernel, act, c, ldc, m, n, nargs, ...args]
const SLOT_INTS = 32;
/**
 * Milliseconds a worker spins on the generation word after its last task before it sleeps
 * (Atomics.wait): waking a sleeping thread costs tens of microseconds, about the time a decode
 * step's small operations take between two products. Spinning longer helped GPT-2 decoding on a
 * quiet machine (0.5 ms: int8 about 10% faster per token) but costs a core that other processes
 * of a busy machine could use; the caller takes back what a sleeping worker has not started, so
 * the spin is a speed-up, never needed for progress.
 */
const WORKER_SPIN_MS = 0.5;
/** A slot's generation word once its worker took the task. */
const TAKEN = -1;
/** A slot's generation word once the caller took the task back (no worker had started it). */
const RECLAIMED = -2;
/** Milliseconds the caller spins for running workers to finish before it sleeps. */
const CALLER_SPIN_MS = 0.5;
/** Most workers a pool runs (the control area holds this many slots). */
export const MAX_WORKERS = 60;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let modules: { shared: WebAssembly.Module | null; unshared: WebAssembly.Module | null } | undefined;

/** The compiled gemm.wat module for a shared (or an ordinary) memory, or null without WebAssembly SIMD. */
export function gemmModule(shared: boolean): WebAssembly.Module | null {
  if (!modules) {
    const compile = (b64: string) => {
      try {
        return new WebAssembly.Module(decode(b64));
      } catch {
        return null;
      }
    };
    modules = {
      shared: typeof SharedArrayBuffer === 'undefined' ? null : compile(GEMM_WASM),
      unshared: compile(GEMM_WASM_UNSHARED),
    };
  }
  return shared ? modules.shared : modules.unshared;
}

/** The exports of gemm.wat, typed. */
export interface GemmExports {
  gemm: (...args: number[]) => void;
  gemv_t: (...args: number[]) => void;
  gemv_n: (...args: number[]) => void;
  gemv_q8: (...args: number[]) => void;
  dequant_q8: (...args: number[]) => void;
  gemv_h: (...args: number[]) => void;
  widen_h: (...args: number[]) => void;
  attn_row: (...args: number[]) => void;
  pack_b: (...args: number[]) => void;
  gemm_packed: (...args: number[]) => void;
  gelu_tanh: (c: number, ldc: number, m: number, n: number) => void;
  binary_f32: (op: number, a: number, b: number, out: number, n: number) => void;
  layer_norm: (x: number, out: number, rows: number, n: number, w: number, b: number, eps: number) => void;
  gemm_ws_bytes: () => number;
}

/**
 * Applies activation `act` to f[c/4 + i*ldc + j] for i < m, j < n (shared by the caller and the
 * workers): gelu_tanh with the kernels' SIMD loop, the others with `fns`, one element at a time.
 */
function applyActivation(
  f: Float32Array,
  act: number,
  c: number,
  ldc: number,
  m: number,
  n: number,
  fns: ((x: number) => number)[],
  kernels: { gelu_tanh: (c: number, ldc: number, m: number, n: number) => void },
): void {
  if (act === 0) return;
  if (act === GELU_TANH) {
    kernels.gelu_tanh(c, ldc, m, n);
    return;
  }
  const g = fns[act];
  const base = c >>> 2; // unsigned: c may come from the Int32Array control block (heaps past 2 GiB)
  for (let i = 0; i < m; i++) {
    const row = base + i * ldc;
    for (let j = 0; j < n; j++) f[row + j] = g(f[row + j]);
  }
}

/**
 * `gemm` over column chunks that the threads of one product claim one at a time from a shared
 * counter (ctl[CLAIM], zeroed by the caller before the product), so that a thread that starts
 * late (a worker waking up) or runs slower takes fewer chunks. `args` are gemm's for the whole
 * product but the workspace; chunk i covers columns i·chunk .. (i+1)·chunk (a multiple of 8), and
 * `activate(act, c, ldc, m, n)` then runs the epilogue's activation on its rectangle. Each column
 * is summed in the same order whoever computes it, so the result does not depend on the claims.
 * With `packed` (`gemm_pcols`) the kernel is gemm_packed and B's three arguments are the packed
 * copy, its padded width and 0: a chunk passes its first column in the third instead of moving
 * B's address.
 */
function gemmColumns(
  ctl: Int32Array,
  gemm: (...a: number[]) => void,
  packed: boolean,
  activate: (act: number, c: number, ldc: number, m: number, n: number) => void,
  a: number,
  sam: number,
  sak: number,
  b: number,
  sbk: number,
  sbn: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  bias: number,
  ws: number,
  chunk: number,
  act: number,
): void {
  for (;;) {
    const j0 = Atomics.add(ctl, 4, 1) * chunk; // 4: CLAIM
    if (j0 >= n) return;
    const nn = Math.min(chunk, n - j0);
    const bias0 = bias ? bias + j0 * 4 : 0;
    if (packed) gemm(a, sam, sak, b, sbk, j0, c + j0 * 4, ldc, m, k, nn, bias0, ws);
    else gemm(a, sam, sak, b + j0 * sbn * 4, sbk, sbn, c + j0 * 4, ldc, m, k, nn, bias0, ws);
    activate(act, c + j0 * 4, ldc, m, nn);
  }
}

/** The matrix-vector kernels {@link gemvColumns} runs, by code: its `kind` argument. */
export const GEMV_KINDS = ['gemv_t', 'gemv_q8', 'gemv_h'] as const;

/**
 * A matrix-vector product `x @ Wᵀ` (W [n, k] by rows: gemv_t's float32, gemv_q8's int8 with
 * scales, gemv_h's 16-bit floats) over chunks of `chunk` output columns (rows of W) that the
 * threads claim one at a time from ctl[CLAIM], as {@link gemmColumns} does for gemm: a worker that
 * wakes late takes fewer chunks instead of holding up the product. `args` are the kernel's
 * arguments for all n columns; a chunk gets them moved to its first row of W (and of the scales),
 * its columns of y and of the bias. Each output element is summed by the same code in the same
 * order whatever the chunks (the kernels' rows are independent), so the claims change no bit.
 */
function gemvColumns(
  ctl: Int32Array,
  ex: Record<string, (...a: number[]) => void>,
  activate: (act: number, c: number, ldc: number, m: number, n: number) => void,
  kind: number,
  chunk: number,
  n: number,
  act: number,
  ...a: number[]
): void {
  // each kernel called with its arguments spelled out: no array copied per chunk
  for (;;) {
    const j0 = Atomics.add(ctl, 4, 1) * chunk; // 4: CLAIM
    if (j0 >= n) return;
    const nn = Math.min(chunk, n - j0);
    const bias = a[a.length - 1] ? a[a.length - 1] + j0 * 4 : 0;
    if (kind === 0) {
      // gemv_t: x, ldx, w, ldw, y, ldy, m, k, n, bias (W float32)
      ex.gemv_t(a[0], a[1], a[2] + j0 * a[3] * 4, a[3], a[4] + j0 * 4, a[5], a[6], a[7], nn, bias);
      activate(act, a[4] + j0 * 4, a[5], a[6], nn);
    } else if (kind === 1) {
      // gemv_q8: x, ldx, w, ldw, scales, groups, gsize, y, ldy, m, n, bias (W int8, ldw bytes)
      ex.gemv_q8(
        a[0],
        a[1],
        a[2] + j0 * a[3],
        a[3],
        a[4] + j0 * a[5] * 4,
        a[5],
        a[6],
        a[7] + j0 * 4,
        a[8],
        a[9],
        nn,
        bias,
      );
      activate(act, a[7] + j0 * 4, a[8], a[9], nn);
    } else {
      // gemv_h: x, ldx, w, ldw, k, kind, y, ldy, m, n, bias (W 16-bit)
      ex.gemv_h(a[0], a[1], a[2] + j0 * a[3] * 2, a[3], a[4], a[5], a[6] + j0 * 4, a[7], a[8], nn, bias);
      activate(act, a[6] + j0 * 4, a[7], a[8], nn);
    }
  }
}

/** The activation functions by code, in the same form the workers get them. */
const ACT_FNS: ((x: number) => number)[] = [
  (x) => x,
  (x) => (x > 0 || Number.isNaN(x) ? x : 0),
  gelu,
  geluTanh,
  (x) => x * sigmoid(x),
  sigmoid,
  Math.tanh,
];

/**
 * The worker's program, as source text: it is run with `new Worker(text, { eval: true })` in Node
 * and from a Blob URL in browsers, so the package needs no separate worker file (bundlers and test
 * runners that transform sources cannot break it). The activation functions are math.ts's own,
 * inlined by their source text.
 */
function workerSource(): string {
  return `'use strict';
const TWO_OVER_SQRT_PI = 1.1283791670955126;
${erfc.toString()}
${gelu.toString()}
${geluTanh.toString()}
${sigmoid.toString()}
${applyActivation.toString()}
${gemmColumns.toString()}
${gemvColumns.toString()}
${attentionUnits.toString()}
${convUnits.toString()}
const GELU_TANH = ${GELU_TANH};
const ACT_FNS = [(x) => x, (x) => (x > 0 || Number.isNaN(x) ? x : 0), gelu, geluTanh, (x) => x * sigmoid(x), sigmoid, Math.tanh];
const KERNELS = ${JSON.stringify(KERNELS)};
function start(msg) {
  const { id, module, memory } = msg;
  const ex = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
  const ctl = new Int32Array(memory.buffer, 0, ${SLOT + MAX_WORKERS * SLOT_INTS});
  let f = new Float32Array(memory.buffer);
  const activate = (act, c, ldc, m, n) => {
    if (!act) return;
    if (f.buffer.byteLength !== memory.buffer.byteLength) f = new Float32Array(memory.buffer);
    applyActivation(f, act, c, ldc, m, n, ACT_FNS, ex);
  };
  const fns = KERNELS.map((k) =>
    k === 'attention'
      ? (...a) => attentionUnits(memory, ex, ...a)
      : k === 'conv'
        ? (...a) => convUnits(memory, ...a)
        : k === 'gemm_cols'
          ? (...a) => gemmColumns(ctl, ex.gemm, false, activate, ...a)
          : k === 'gemv_cols'
            ? (...a) => gemvColumns(ctl, ex, activate, ...a)
            : k === 'gemm_pcols'
              ? (...a) => gemmColumns(ctl, ex.gemm_packed, true, activate, ...a)
              : ex[k],
  );
  const slot = ${SLOT} + id * ${SLOT_INTS};
  let seen = Atomics.load(ctl, ${GEN});
  Atomics.store(ctl, ${READY} + id, 1);
  for (;;) {
    let g = Atomics.load(ctl, ${GEN});
    if (g === seen) {
      // spin a while before sleeping: a decode step hands out a product every few tens of
      // microseconds, and a sleeping worker takes longer than that to wake
      const until = performance.now() + ${WORKER_SPIN_MS};
      for (let spin = 1; g === seen; spin++) {
        g = Atomics.load(ctl, ${GEN});
        if ((spin & 255) === 0 && performance.now() > until) break;
      }
    }
    if (g === seen) {
      if (Atomics.load(ctl, ${QUIT})) return;
      Atomics.wait(ctl, ${GEN}, seen, 500);
      continue;
    }
    seen = g;
    // take the task, unless the caller took it back (it ran it itself) or it is not ours
    if (Atomics.compareExchange(ctl, slot, g, ${TAKEN}) !== g) continue;
    try {
      const nargs = ctl[slot + 7];
      const args = [];
      for (let i = 0; i < nargs; i++) args.push(ctl[slot + 8 + i]);
      fns[ctl[slot + 1]](...args);
      activate(ctl[slot + 2], ctl[slot + 3], ctl[slot + 4], ctl[slot + 5], ctl[slot + 6]);
    } catch (e) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
if (typeof require === 'function') require('node:worker_threads').parentPort.once('message', start);
else self.onmessage = (e) => start(e.data);
`;
}

interface NodeWorker {
  postMessage(msg: unknown): void;
  unref(): void;
  terminate(): Promise<number>;
  on(ev: string, fn: (...a: unknown[]) => void): void;
}
interface NodeProcess {
  getBuiltinModule?: (id: string) => unknown;
  versions?: { node?: string };
}

function nodeModule<T>(id: string): T | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  if (!p?.versions?.node || typeof p.getBuiltinModule !== 'function') return null;
  return (p.getBuiltinModule(id) as T) ?? null;
}

/** Cores this host offers: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export function availableCores(): number {
  const os = nodeModule<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

type AnyWorker = NodeWorker | Worker;

/** A pool of workers over one shared memory. */
export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly workers: AnyWorker[] = [];
  private readonly exports: GemmExports;
  private f: Float32Array;
  private readonly canWait: boolean;
  private gen = 0;
  /** Tasks the caller took back and ran itself because no worker had started them (a statistic). */
  reclaimed = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
  ) {
    this.ctl = new Int32Array(memory.buffer, 0, SLOT + MAX_WORKERS * SLOT_INTS);
    this.exports = new WebAssembly.Instance(module, { env: { mem: memory } })
      .exports as unknown as GemmExports;
    this.f = new Float32Array(memory.buffer);
    this.gen = Atomics.load(this.ctl, GEN);
    let canWait = true;
    try {
      Atomics.wait(this.ctl, QUIT + 1, 1, 0);
    } catch {
      canWait = false; // a browser's main thread: spin instead
    }
    this.canWait = canWait;
  }

  /** The calling thread's instance of the kernels. */
  get kernels(): GemmExports {
    return this.exports;
  }

  /** Workers started so far (ready or starting). */
  get size(): number {
    return this.workers.length;
  }

  /** Starts workers until `count` exist (at most MAX_WORKERS); returns false where workers cannot be made. */
  ensureWorkers(count: number): boolean {
    const want = Math.min(count, MAX_WORKERS);
    while (this.workers.length < want) {
      const w = this.spawn(this.workers.length);
      if (!w) return false;
      this.workers.push(w);
    }
    return true;
  }

  /** Workers that have started and are waiting for tasks, among the first `count`. */
  readyWorkers(count: number): number {
    let n = 0;
    for (let i = 0; i < Math.min(count, this.workers.length); i++) if (Atomics.load(this.ctl, READY + i)) n++;
    return n;
  }

  /** Resolves once the first `count` workers run (polls the ready words). */
  async whenReady(count: number): Promise<void> {
    const want = Math.min(count, this.workers.length);
    while (this.readyWorkers(want) < want) await new Promise((r) => setTimeout(r, 2));
  }

  private spawn(id: number): AnyWorker | null {
    const msg = { id, module: this.module, memory: this.memory };
    const wt = nodeModule<{ Worker: new (src: string, opts: { eval: boolean }) => NodeWorker }>(
      'node:worker_threads',
    );
    if (wt) {
      const w = new wt.Worker(workerSource(), { eval: true });
      w.unref();
      w.on('error', () => Atomics.store(this.ctl, FAILED, 1));
      w.postMessage(msg);
      return w;
    }
    if (typeof Worker === 'undefined' || typeof Blob === 'undefined') return null;
    const url = URL.createObjectURL(new Blob([workerSource()], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.postMessage(msg);
    return w;
  }

  /**
   * Runs `tasks[0]` on the calling thread and the others on ready workers 0.., and returns when all
   * are done. The caller passes at most `readyWorkers(...) + 1` tasks.
   *
   * @throws when a task fails (a WebAssembly trap, an exception): the error of the calling thread's
   *   task, or one saying that a worker's failed. It is thrown only once every task of the call has
   *   finished, so no worker still writes into the memory and the next call starts clean.
   */
  run(tasks: readonly Task[]): void {
    const others = tasks.length - 1;
    Atomics.store(this.ctl, CLAIM, 0);
    if (others > 0) {
      const gen = this.gen >= 0x3fffffff || this.gen < 0 ? 1 : this.gen + 1; // positive: not TAKEN or RECLAIMED
      this.gen = gen;
      Atomics.store(this.ctl, DONE, 0);
      for (let t = 1; t < tasks.length; t++) {
        const task = tasks[t];
        const s = SLOT + (t - 1) * SLOT_INTS;
        const c = this.ctl;
        c[s + 1] = KERNELS.indexOf(task.kernel);
        c[s + 2] = task.act;
        c[s + 3] = task.c;
        c[s + 4] = task.ldc;
        c[s + 5] = task.m;
        c[s + 6] = task.n;
        c[s + 7] = task.args.length;
        for (let i = 0; i < task.args.length; i++) c[s + 8 + i] = task.args[i];
        Atomics.store(c, s, gen);
      }
      Atomics.store(this.ctl, GEN, gen);
      Atomics.notify(this.ctl, GEN);
    }
    let failure: { error: unknown } | null = null;
    try {
      this.runHere(tasks[0]);
    } catch (error) {
      failure = { error }; // thrown once the workers' tasks are done too
    }
    if (others > 0) {
      // Tasks no worker has taken yet (it is still waking up) are taken back and run here: that
      // costs the task itself, where waiting would cost the rest of the wake-up and then the task.
      let taken = 0;
      for (let t = 1; t < tasks.length; t++) {
        const s = SLOT + (t - 1) * SLOT_INTS;
        if (Atomics.compareExchange(this.ctl, s, this.gen, RECLAIMED) !== this.gen) {
          taken++;
          continue;
        }
        this.reclaimed++;
        try {
          this.runHere(tasks[t]);
        } catch (error) {
          failure ??= { error };
        }
      }
      // the workers that took theirs are running them: spin a little, then sleep
      const until = performance.now() + CALLER_SPIN_MS;
      for (let spin = 1; ; spin++) {
        const d = Atomics.load(this.ctl, DONE);
        if (d >= taken) break;
        if (this.canWait && (spin & 255) === 0 && performance.now() > until)
          Atomics.wait(this.ctl, DONE, d, 50);
      }
      if (Atomics.load(this.ctl, FAILED)) {
        Atomics.store(this.ctl, FAILED, 0);
        failure ??= { error: new Error('backend-cpu: a worker thread failed while running a kernel') };
      }
    }
    if (failure) throw failure.error;
  }

  /** Runs one task on the calling thread. */
  runHere(task: Task): void {
    if (task.kernel === 'attention') {
      const [params, start, step, scratch, ws] = task.args;
      attentionUnits(this.memory, this.exports, params, start, step, scratch, ws);
    } else if (task.kernel === 'conv') {
      const [params, start, step] = task.args;
      convUnits(this.memory, params, start, step);
    } else if (task.kernel === 'gemm_cols' || task.kernel === 'gemm_pcols') {
      const [a, sam, sak, b, sbk, sbn, c, ldc, m, k, n, bias, ws, chunk, act] = task.args;
      const packed = task.kernel === 'gemm_pcols';
      gemmColumns(
        this.ctl,
        packed ? this.exports.gemm_packed : this.exports.gemm,
        packed,
        this.activate.bind(this),
        a,
        sam,
        sak,
        b,
        sbk,
        sbn,
        c,
        ldc,
        m,
        k,
        n,
        bias,
        ws,
        chunk,
        act,
      );
    } else if (task.kernel === 'gemv_cols') {
      const activate = this.activate.bind(this);
      const [kind, chunk, n, act, ...args] = task.args;
      gemvColumns(
        this.ctl,
        this.exports as unknown as Record<string, (...a: number[]) => void>,
        activate,
        kind,
        chunk,
        n,
        act,
        ...args,
      );
    } else (this.exports[task.kernel] as (...a: number[]) => void)(...task.args);
    this.activate(task.act, task.c, task.ldc, task.m, task.n);
  }

  /** The epilogue's activation `act` over the rectangle c[m, n] (row stride ldc); 0: none. */
  private activate(act: number, c: number, ldc: number, m: number, n: number): void {
    if (!act) return;
    if (this.f.buffer.byteLength !== this.memory.buffer.byteLength)
      this.f = new Float32Array(this.memory.buffer);
    applyActivation(this.f, act, c, ldc, m, n, ACT_FNS, this.exports);
  }

  /** Stops every worker. */
  async terminate(): Promise<void> {
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.notify(this.ctl, GEN);
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => (w as NodeWorker).terminate()));
    for (let i = 0; i < MAX_WORKERS; i++) Atomics.store(this.ctl, READY + i, 0);
    Atomics.store(this.ctl, QUIT, 0);
  }
}
