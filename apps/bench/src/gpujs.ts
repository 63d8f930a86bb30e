import '@attnkit/backend-cpu';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { Generator, matmul, randn, setBackend, type Tensor } from '@attnkit/tensor-core';

/**
 * Square float32 matmul, n = 256 / 512, in GFLOP/s (2·n³ / seconds): attnkit's gpu.js backend
 * (in the mode gpu.js picks here: WebGL2 in a browser, headless-gl in Node with a display, else
 * gpu.js' CPU mode) beside attnkit's CPU backend in the same run. Each figure is the best of a
 * few timed runs after a warm-up run (which compiles the kernel); results are read back inside
 * the timing.
 */
export async function benchGpujs(): Promise<void> {
  const backend = await initGpuJs();
  console.log(`\n## matmul on gpu.js (mode ${backend.mode}) vs backend-cpu: float32 n×n @ n×n, GFLOP/s`);
  console.log('| n | attnkit backend-gpujs | attnkit backend-cpu | gpujs / cpu |');
  console.log('|---|---|---|---|');
  for (const n of [256, 512]) {
    const time = (name: string) => {
      setBackend(name);
      const g = new Generator(n);
      const a = randn([n, n], { generator: g });
      const b = randn([n, n], { generator: g });
      const s = bestSeconds(() => {
        const y: Tensor = matmul(a, b);
        // gpu.js reads synchronously in every mode; the CPU backend too.
        y.dataSync();
        y.dispose();
      });
      a.dispose();
      b.dispose();
      return (2 * n ** 3) / s / 1e9;
    };
    const gGpujs = time('gpujs');
    const gCpu = time('cpu');
    console.log(`| ${n} | ${gGpujs.toFixed(2)} | ${gCpu.toFixed(2)} | ${(gGpujs / gCpu).toFixed(2)}x |`);
  }
  setBackend('cpu');
}

/** Best wall time of `fn` in seconds: one warm-up, then at least 3 runs or about two seconds. */
function bestSeconds(fn: () => void): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  const start = performance.now();
  for (let i = 0; i < 3 || (performance.now() - start < 2000 && i < 10); i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best / 1000;
}
