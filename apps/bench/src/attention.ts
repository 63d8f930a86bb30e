import '@attnkit/backend-cpu';
import { scaledDotProductAttention } from '@attnkit/attention';
import {
  type Backend,
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

/**
 * Attention forward, B = 1, H = 12, d = 64: the reference decomposition ("plain": q kᵀ, mask,
 * softmax, · v, which materialises [B, H, L, L]) beside the backend's fused flash-style kernel
 * (tiles of keys with an online softmax), causal and not.
 *
 * Two tables:
 *  1. time (median ms) for L = 128 … 2048, with the speed ratio;
 *  2. peak memory for L = 256 … 4096: the most bytes of backend storage alive at once during one
 *     forward (inputs included), read from a counting wrapper around the backend, so the figure is
 *     exact and not a sample of the process heap. Plain grows with L² (the score matrices); flash
 *     grows with L (q, k, v and the output; its scratch is a few KiB and not counted).
 *
 * Environment: ATTN_BENCH_MAX_TIME_L (default 2048) and ATTN_BENCH_MAX_MEM_L (default 4096) cap
 * the lengths, e.g. for a quick run.
 */
export async function benchAttention(): Promise<void> {
  const maxTimeL = Number(process.env.ATTN_BENCH_MAX_TIME_L ?? 2048);
  const maxMemL = Number(process.env.ATTN_BENCH_MAX_MEM_L ?? 4096);
  const base = getBackend();
  const counter = countingBackend(base);
  registerBackend(counter.backend.name, () => counter.backend, -1);
  setBackend(counter.backend.name);
  const H = 12;
  const d = 64;
  const g = new Generator(0);
  try {
    console.log(`\n## attention forward: B = 1, H = ${H}, d = ${d}, float32, backend ${base.name}`);
    console.log('plain = reference decomposition (materialises L×L scores); flash = fused tiled kernel');
    console.log('\n### time, median ms of one forward (read back included)');
    console.log('| L | plain | flash | flash speed-up | plain causal | flash causal | speed-up |');
    console.log('|---|---|---|---|---|---|---|');
    for (let L = 128; L <= maxTimeL; L *= 2) {
      const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, d], { generator: g }));
      const runs = L >= 1024 ? 3 : 5;
      const row: number[] = [];
      for (const causal of [false, true]) {
        for (const implementation of ['reference', 'fused'] as const) {
          row.push(
            medianMs(runs, () => {
              noGrad(() =>
                tidy(() => scaledDotProductAttention(q, k, v, { causal, implementation }).dataSync()),
              );
            }),
          );
        }
      }
      console.log(
        `| ${L} | ${row[0].toFixed(1)} | ${row[1].toFixed(1)} | ${(row[0] / row[1]).toFixed(2)}x | ` +
          `${row[2].toFixed(1)} | ${row[3].toFixed(1)} | ${(row[2] / row[3]).toFixed(2)}x |`,
      );
      for (const t of [q, k, v]) t.dispose();
    }

    console.log('\n### peak memory of one forward (MiB of live backend storage, inputs q/k/v included)');
    console.log('| L | plain | flash | plain / flash | flash ÷ L (KiB per position) |');
    console.log('|---|---|---|---|---|');
    for (let L = 256; L <= maxMemL; L *= 2) {
      const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, d], { generator: g }));
      const peaks: number[] = [];
      for (const implementation of ['reference', 'fused'] as const) {
        counter.resetPeak();
        noGrad(() =>
          tidy(() => scaledDotProductAttention(q, k, v, { causal: true, implementation }).dataSync()),
        );
        peaks.push(counter.peak);
      }
      const mib = (b: number) => (b / 2 ** 20).toFixed(1);
      console.log(
        `| ${L} | ${mib(peaks[0])} | ${mib(peaks[1])} | ${(peaks[0] / peaks[1]).toFixed(1)}x | ${(peaks[1] / L / 1024).toFixed(1)} |`,
      );
      for (const t of [q, k, v]) t.dispose();
    }
  } finally {
    setBackend(base.name);
  }
}

function medianMs(runs: number, fn: () => void): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Wraps a backend so that every storage it hands out and frees is counted: `live` bytes now and the
 * `peak` since the last reset. Calls go straight to the wrapped backend.
 */
function countingBackend(inner: Backend): { backend: Backend; readonly peak: number; resetPeak(): void } {
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
      if (prop === 'name') return `${target.name}-counted`;
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
