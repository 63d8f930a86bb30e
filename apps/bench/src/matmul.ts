import { CpuBackend } from '@attnkit/backend-cpu';
import {
  findBackend,
  Generator,
  matmul,
  randn,
  registerBackend,
  setBackend,
  type Tensor,
  tensor,
} from '@attnkit/tensor-core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';
import { type Contender, jaxMatmul, ortMatmul, tfjsWasmMatmul } from './peers.js';

/**
 * Square float32 matmul, n = 256 / 512 / 1024, in GFLOP/s (2·n³ / seconds), side by side in one
 * process: attnkit's CPU backend with every core and with one thread, onnxruntime-web (wasm, 2
 * threads), @tensorflow/tfjs-backend-wasm, @jax-js/jax (wasm device) and
 * @tensorflow/tfjs-backend-cpu (n = 256 only: it is plain JavaScript). The contenders run
 * interleaved, one call each per round, and each figure is the best round (results are read back
 * inside the timing), so a load that comes and goes hits them all alike. A second table times the
 * single-row products of decoding ([1, k] @ W.T). `--quick`: n = 64 / 128 / 256, 3 rounds.
 */
export async function benchMatmul(): Promise<void> {
  const cores = new CpuBackend().threads;
  registerBackend('cpu-1-thread', () => new CpuBackend({ threads: 1 }));
  await (findBackend('cpu') as CpuBackend | undefined)?.ready();
  const ORT_THREADS = 2;
  console.log(
    `\n## matmul: float32 n×n @ n×n, GFLOP/s (best of interleaved rounds; attnkit with ${cores} threads and with 1)`,
  );
  const header: string[] = [];
  const rows: string[] = [];
  const g = new Generator(0);
  const sizes = settings.quick ? [64, 128, 256] : [256, 512, 1024];
  for (const n of sizes) {
    const ha = randn([n, n], { generator: g }).dataSync() as Float32Array;
    const hb = randn([n, n], { generator: g }).dataSync() as Float32Array;
    const contenders: Contender[] = [];
    for (const [name, label] of [
      ['cpu', `attnkit backend-cpu, ${cores} threads`],
      ['cpu-1-thread', 'attnkit backend-cpu, 1 thread'],
    ] as const) {
      setBackend(name);
      const a = tensor(ha, [n, n]);
      const b = tensor(hb, [n, n]);
      contenders.push({
        label,
        run: () => {
          setBackend(name);
          const y: Tensor = matmul(a, b);
          y.dataSync();
          y.dispose();
        },
        dispose: () => {
          a.dispose();
          b.dispose();
        },
      });
    }
    setBackend('cpu');
    const peers = [
      await ortMatmul(ha, hb, n, ORT_THREADS),
      await tfjsWasmMatmul(ha, hb, n),
      await jaxMatmul(ha, hb, n),
      n <= 256 ? await tfjsCpuMatmul(ha, hb, n) : null,
    ];
    for (const p of peers) if (p) contenders.push(p);
    const best = await interleaved(contenders, settings.quick ? 3 : n >= 1024 ? 5 : 10);
    for (const c of contenders) await c.dispose();
    if (header.length === 0)
      header.push(...contenders.filter((c) => !c.label.startsWith('tfjs-backend-cpu')).map((c) => c.label));
    const gflops = (label: string) => {
      const i = contenders.findIndex((c) => c.label === label);
      return i < 0 ? Number.NaN : (2 * n ** 3) / (best[i] / 1000) / 1e9;
    };
    const ours = gflops(contenders[0].label);
    for (const c of contenders)
      record({
        suite: 'matmul',
        case: `n=${n}`,
        implementation: c.label,
        metric: 'GFLOP/s',
        value: gflops(c.label),
        unit: 'GFLOP/s',
        params: { n },
      });
    const ort = contenders.find((c) => c.label.startsWith('onnxruntime'));
    const tfCpu = contenders.find((c) => c.label.startsWith('tfjs-backend-cpu'));
    rows.push(
      `| ${n} | ${header.map((h) => gflops(h).toFixed(1)).join(' | ')} | ${tfCpu ? gflops(tfCpu.label).toFixed(2) : '-'} | ${ort ? `${(ours / gflops(ort.label)).toFixed(2)}x` : 'n/a'} |`,
    );
  }
  console.log(
    `| n | ${header.join(' | ')} | tfjs-backend-cpu 4.22 | attnkit (${cores} threads) / onnxruntime-web |`,
  );
  console.log(`|---|${header.map(() => '---|').join('')}---|---|`);
  for (const r of rows) console.log(r);
  setBackend('cpu');
  await tf.setBackend('cpu');
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
    for (const [implementation, value] of [
      ['attnkit backend-cpu', gOurs],
      ['tfjs-backend-cpu 4.22', gTheirs],
    ] as const)
      record({
        suite: 'matmul',
        case: `one row, k=${k} n=${n}`,
        implementation,
        metric: 'one-row GFLOP/s',
        value,
        unit: 'GFLOP/s',
        params: { k, n },
      });
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
  const minMs = settings.quick ? 100 : 1000;
  for (let i = 0; i < (n >= 1024 ? 3 : 8) || performance.now() - start < minMs; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
    if (i >= 20) break;
  }
  return best / 1000;
}

/** tfjs-backend-cpu (plain JavaScript) as a contender. */
async function tfjsCpuMatmul(a: Float32Array, b: Float32Array, n: number): Promise<Contender> {
  await tf.setBackend('cpu');
  const ta = tf.tensor(a, [n, n]);
  const tb = tf.tensor(b, [n, n]);
  return {
    label: 'tfjs-backend-cpu 4.22',
    run: async () => {
      await tf.setBackend('cpu');
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

/** Best time in ms of each contender over `rounds` rounds of one call each (after one warm-up round). */
export async function interleaved(contenders: readonly Contender[], rounds: number): Promise<number[]> {
  const best = contenders.map(() => Number.POSITIVE_INFINITY);
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const t0 = performance.now();
      await contenders[i].run();
      const dt = performance.now() - t0;
      if (r >= 0) best[i] = Math.min(best[i], dt);
    }
  }
  return best;
}
