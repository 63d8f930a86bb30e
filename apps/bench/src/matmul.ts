import '@attnkit/backend-cpu';
import { Generator, matmul, randn, setBackend, type Tensor } from '@attnkit/tensor-core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/**
 * Square float32 matmul, n = 256 / 512 / 1024, in GFLOP/s (2·n³ / seconds): attnkit's CPU backend
 * beside @tensorflow/tfjs-backend-cpu in the same process, with the ratio. Each figure is the best
 * of several timed runs after a warm-up; results are read back (dataSync) inside the timing. A
 * second table times the single-row products of decoding ([1, k] @ W.T).
 */
export async function benchMatmul(): Promise<void> {
  setBackend('cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  console.log('\n## matmul: float32 n×n @ n×n, GFLOP/s (best of runs, one thread)');
  console.log('| n | attnkit backend-cpu | tfjs-backend-cpu 4.22 | ratio |');
  console.log('|---|---|---|---|');
  const g = new Generator(0);
  for (const n of [256, 512, 1024]) {
    const a = randn([n, n], { generator: g });
    const b = randn([n, n], { generator: g });
    const ours = bestSeconds(n, () => {
      const y: Tensor = matmul(a, b);
      y.dataSync();
      y.dispose();
    });
    a.dispose();
    b.dispose();
    const ta = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const tb = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    const theirs = bestSeconds(n, () => {
      const y = tf.matMul(ta, tb);
      y.dataSync();
      y.dispose();
    });
    ta.dispose();
    tb.dispose();
    const gOurs = (2 * n ** 3) / ours / 1e9;
    const gTheirs = (2 * n ** 3) / theirs / 1e9;
    console.log(`| ${n} | ${gOurs.toFixed(2)} | ${gTheirs.toFixed(2)} | ${(gOurs / gTheirs).toFixed(1)}x |`);
  }
  // Decoding multiplies one row by each weight matrix (x @ W.T with W [out, in], as nn.Linear).
  console.log('\n## matmul, one row (decoding): [1, k] @ W.T with W [n, k], GFLOP/s');
  console.log('| k × n | attnkit backend-cpu | tfjs-backend-cpu 4.22 | ratio |');
  console.log('|---|---|---|---|');
  for (const [k, n] of [
    [768, 768],
    [768, 3072],
    [3072, 768],
  ]) {
    const x = randn([1, k], { generator: g });
    const w = randn([n, k], { generator: g });
    const ours = bestSeconds(256, () => {
      const y = matmul(x, w.T);
      y.dataSync();
      y.dispose();
    });
    x.dispose();
    w.dispose();
    const tx = tf.randomNormal([1, k], 0, 1, 'float32', 3);
    const tw = tf.randomNormal([n, k], 0, 1, 'float32', 4);
    const theirs = bestSeconds(256, () => {
      const y = tf.matMul(tx, tw, false, true);
      y.dataSync();
      y.dispose();
    });
    tx.dispose();
    tw.dispose();
    const gOurs = (2 * k * n) / ours / 1e9;
    const gTheirs = (2 * k * n) / theirs / 1e9;
    console.log(
      `| ${k} × ${n} | ${gOurs.toFixed(2)} | ${gTheirs.toFixed(2)} | ${(gOurs / gTheirs).toFixed(1)}x |`,
    );
  }
}

/** Best wall time of `fn` in seconds: one warm-up, then runs until about a second (at least 3). */
function bestSeconds(n: number, fn: () => void): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  const start = performance.now();
  for (let i = 0; i < (n >= 1024 ? 3 : 8) || performance.now() - start < 1000; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
    if (i >= 20) break;
  }
  return best / 1000;
}
