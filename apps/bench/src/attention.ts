import { scaledDotProductAttention } from '@attnkit/attention';
import {
  type Backend,
  findBackend,
  Generator,
  getBackend,
  noGrad,
  randn,
  registerBackend,
  type Storage,
  setBackend,
  type Tensor,
  tidy,
} from '@attnkit/tensor-core';
import { benchBackends, fullWorkload, printUnavailable } from './backends.js';
import { progressStep, progressTotal } from './cli/progress.js';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';

/**
 * Attention forward, B = 1, H = 12, d = 64, on every backend of {@link benchBackends} (cpu, webgpu,
 * gpujs): the reference decomposition ("plain": q kᵀ, mask, softmax, · v, which materialises
 * [B, H, L, L]) beside the backend's fused flash-style kernel (tiles of keys with an online
 * softmax), causal and not. Backends without a fused kernel print "n/a" for flash.
 *
 * Two tables:
 *  1. time (median ms of one forward, `await data()` included so asynchronous backends finish
 *     their work) for L = 128 … 2048, with the speed ratio;
 *  2. peak memory for L = 256 … 4096: the most bytes of backend storage alive at once during one
 *     forward (inputs included), read from a counting wrapper around the backend, so the figure is
 *     exact and not a sample of the process heap. Plain grows with L² (the score matrices); flash
 *     grows with L (q, k, v and the output; its scratch is a few KiB and not counted).
 *
 * Environment: ATTN_BENCH_MAX_TIME_L (default 2048) and ATTN_BENCH_MAX_MEM_L (default 4096) cap
 * the lengths on every backend; on software backends (SwiftShader, gpu.js CPU mode) the caps are
 * ATTN_BENCH_SLOW_MAX_TIME_L (default 512) and ATTN_BENCH_SLOW_MAX_MEM_L (default 1024) unless
 * ATTNKIT_BENCH_FULL=1. The tables say where a cap applied. `--quick` caps them at 512 and 1024 and
 * times 2 runs.
 */
export async function benchAttention(): Promise<void> {
  const maxTimeL = Number(process.env.ATTN_BENCH_MAX_TIME_L ?? (settings.quick ? 512 : 2048));
  const maxMemL = Number(process.env.ATTN_BENCH_MAX_MEM_L ?? (settings.quick ? 1024 : 4096));
  const slowTimeL = Number(process.env.ATTN_BENCH_SLOW_MAX_TIME_L ?? 512);
  const slowMemL = Number(process.env.ATTN_BENCH_SLOW_MAX_MEM_L ?? 1024);
  const backends = await benchBackends();
  const original = getBackend().name;
  const H = 12;
  const d = 64;
  console.log(`\n## attention forward: B = 1, H = ${H}, d = ${d}, float32, on each backend`);
  console.log('plain = reference decomposition (materialises L×L scores); flash = fused tiled kernel');
  const counted = new Map<string, ReturnType<typeof countingBackend>>();
  const caps = new Map<string, { time: number; mem: number }>();
  for (const b of backends.available) {
    const counter = countingBackend(findBackend(b.name) as Backend);
    registerBackend(counter.backend.name, () => counter.backend, -1);
    counted.set(b.name, counter);
    const capped = b.slow && !fullWorkload();
    caps.set(b.name, {
      time: capped ? Math.min(maxTimeL, slowTimeL) : maxTimeL,
      mem: capped ? Math.min(maxMemL, slowMemL) : maxMemL,
    });
  }
  const lengths = (from: number, cap: number) => {
    let n = 0;
    for (let L = from; L <= cap; L *= 2) n++;
    return n;
  };
  for (const b of backends.available) {
    const { time, mem } = caps.get(b.name)!;
    progressTotal(lengths(128, time) * 4 + lengths(256, mem) * 2);
  }
  const capNote = (cap: number, max: number) =>
    cap < max ? ` (capped at L = ${cap}: runs in software here; ATTNKIT_BENCH_FULL=1 lifts the cap)` : '';
  try {
    console.log('\n### time, median ms of one forward (read back included)');
    console.log('| backend | L | plain | flash | flash speed-up | plain causal | flash causal | speed-up |');
    console.log('|---|---|---|---|---|---|---|---|');
    const notes: string[] = [];
    for (const b of backends.available) {
      const counter = counted.get(b.name)!;
      const cap = caps.get(b.name)!.time;
      const note = capNote(cap, maxTimeL);
      if (note) notes.push(`${b.label}${note}`);
      setBackend(counter.backend.name);
      const fused = typeof counter.backend.attention === 'function';
      const g = new Generator(0);
      for (let L = 128; L <= cap; L *= 2) {
        const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, d], { generator: g }));
        const runs = settings.quick ? 2 : L >= 1024 || b.slow ? 3 : 5;
        const row: (number | null)[] = [];
        for (const causal of [false, true]) {
          for (const implementation of ['reference', 'fused'] as const) {
            const label = `${b.label} L=${L} ${implementation === 'fused' ? 'flash' : 'plain'}${causal ? ' causal' : ''}`;
            if (implementation === 'fused' && !fused) {
              row.push(null);
              progressStep(label);
              continue;
            }
            const ms = await medianMs(runs, async () => {
              const y = noGrad(() =>
                tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation })),
              );
              await y.data();
              y.dispose();
            });
            row.push(ms);
            record({
              suite: 'attention',
              case: `L=${L}${causal ? ' causal' : ''}`,
              implementation: `${b.label} ${implementation === 'fused' ? 'flash' : 'plain'}${causal ? ' causal' : ''}`,
              metric: 'time',
              value: ms,
              unit: 'ms',
              params: { L, backend: b.name, causal: String(causal) },
            });
            progressStep(label);
          }
        }
        const ms = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));
        const ratio = (a: number | null, f: number | null) =>
          a === null || f === null ? 'n/a' : `${(a / f).toFixed(2)}x`;
        console.log(
          `| ${b.label} | ${L} | ${ms(row[0])} | ${ms(row[1])} | ${ratio(row[0], row[1])} | ` +
            `${ms(row[2])} | ${ms(row[3])} | ${ratio(row[2], row[3])} |`,
        );
        for (const t of [q, k, v]) t.dispose();
      }
    }
    for (const n of notes) console.log(`- ${n}`);

    console.log(
      '\n### peak memory of one causal forward (MiB of live backend storage, inputs q/k/v included)',
    );
    console.log('| backend | L | plain | flash | plain / flash | flash ÷ L (KiB per position) |');
    console.log('|---|---|---|---|---|---|');
    notes.length = 0;
    for (const b of backends.available) {
      const counter = counted.get(b.name)!;
      const cap = caps.get(b.name)!.mem;
      const note = capNote(cap, maxMemL);
      if (note) notes.push(`${b.label}${note}`);
      setBackend(counter.backend.name);
      const fused = typeof counter.backend.attention === 'function';
      const g = new Generator(1);
      for (let L = 256; L <= cap; L *= 2) {
        const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, d], { generator: g }));
        const peaks: (number | null)[] = [];
        for (const implementation of ['reference', 'fused'] as const) {
          progressStep(`${b.label} L=${L} ${implementation === 'fused' ? 'flash' : 'plain'} memory`);
          if (implementation === 'fused' && !fused) {
            peaks.push(null);
            continue;
          }
          counter.resetPeak();
          const y = noGrad(() =>
            tidy(() => scaledDotProductAttention(q, k, v, { causal: true, implementation })),
          );
          await y.data();
          y.dispose();
          peaks.push(counter.peak);
          record({
            suite: 'attention',
            case: `L=${L} causal`,
            implementation: `${b.label} ${implementation === 'fused' ? 'flash' : 'plain'}`,
            metric: 'peak memory',
            value: counter.peak / 2 ** 20,
            unit: 'MiB',
            params: { L, backend: b.name },
          });
        }
        const mib = (x: number | null) => (x === null ? 'n/a' : (x / 2 ** 20).toFixed(1));
        const [p, f] = peaks;
        console.log(
          `| ${b.label} | ${L} | ${mib(p)} | ${mib(f)} | ${p !== null && f !== null ? `${(p / f).toFixed(1)}x` : 'n/a'} | ` +
            `${f !== null ? (f / L / 1024).toFixed(1) : 'n/a'} |`,
        );
        for (const t of [q, k, v]) t.dispose();
      }
    }
    for (const n of notes) console.log(`- ${n}`);
    printUnavailable(backends);
  } finally {
    setBackend(original);
  }
}

/** Median wall time of `fn` over `runs` awaited calls, after one warm-up call. */
export async function medianMs(runs: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up (shader compilation on GPU backends)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Wraps a backend so that every storage it hands out and frees is counted: `live` bytes now and the
 * `peak` since the last reset. Calls go straight to the wrapped backend. The wrapper is named
 * `<backend>-<suffix>`.
 */
export function countingBackend(
  inner: Backend,
  suffix = 'counted',
): { backend: Backend; readonly peak: number; readonly live: number; resetPeak(): void } {
  const sizes = new WeakMap<Storage, number>();
  let live = 0;
  let peak = 0;
  const count = (s: Storage) => {
    if (!sizes.has(s)) {
      sizes.set(s, s.byteLength);
      live += s.byteLength;
      if (live > peak) peak = live;
    }
    return s;
  };
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'name') return `${target.name}-${suffix}`;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'free') {
        return (s: Storage) => {
          const n = sizes.get(s);
          if (n !== undefined) {
            live -= n;
            sizes.delete(s);
          }
          return value.call(target, s);
        };
      }
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        if (Array.isArray(out)) for (const s of out) if (isStorage(s)) count(s);
        if (isStorage(out)) count(out);
        return out;
      };
    },
  });
  return {
    backend,
    get peak() {
      return peak;
    },
    get live() {
      return live;
    },
    resetPeak() {
      peak = live;
    },
  };
}

function isStorage(x: unknown): x is Storage {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Storage).byteLength === 'number' &&
    !ArrayBuffer.isView(x)
  );
}

export type { Tensor };
