import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findGPU, initWebGPU, type WebGPUBackend } from '@attnkit/backend-webgpu';
import { Generator, layerNorm, matmul, randn, setBackend, softmax, type Tensor } from '@attnkit/tensor-core';
import { WebGPUBackend as TfjsWebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { measure } from './cli/measure.js';

/**
 * WebGPU suite: float32 n×n matmul (n = 256/512/1024) in GFLOP/s and row-wise softmax / layerNorm
 * in ms, attnkit's backend-webgpu beside @tensorflow/tfjs-backend-webgpu on the same adapter (the
 * same GPU object), with ratios. Every timed call includes the readback of the result, which is
 * what forces the GPU work to finish. In Node the `webgpu` package (Dawn) provides WebGPU; without
 * a GPU, set VK_ICD_FILENAMES to a software Vulkan driver (SwiftShader).
 *
 * Run standalone: `node dist/webgpu.js` or the bundle built with
 * `npx vite build --ssr src/webgpu.ts` (see apps/bench/README or the issue notes).
 */
export async function benchWebgpu(): Promise<void> {
  const softwareIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (typeof navigator === 'undefined' && !process.env.VK_ICD_FILENAMES && process.env.ATTNKIT_SWIFTSHADER) {
    if (existsSync(softwareIcd)) process.env.VK_ICD_FILENAMES = softwareIcd;
  }
  const gpu = await findGPU();
  // tfjs-backend-webgpu looks for navigator.gpu: hand it the same GPU object.
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(g.navigator ?? {}), gpu },
      configurable: true,
    });
  }
  // tfjs-backend-webgpu registers itself at import time only when navigator.gpu already exists
  // (not so in Node, where the GPU object comes from the webgpu package): register it the same way.
  if (!tf.findBackendFactory('webgpu')) {
    tf.registerBackend(
      'webgpu',
      async () => {
        const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
        if (!adapter) throw new Error('benchWebgpu: no WebGPU adapter for tfjs');
        const l = adapter.limits;
        const device = await adapter.requestDevice({
          requiredLimits: {
            maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
            maxBufferSize: l.maxBufferSize,
            maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          },
        });
        return new TfjsWebGPUBackend(device, adapter.info);
      },
      3,
    );
  }
  const backend: WebGPUBackend = await initWebGPU({ gpu });
  setBackend('webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  const quick = process.env.ATTNKIT_BENCH_QUICK === '1';
  console.log(`\n## webgpu: adapter ${backend.adapterName}`);
  console.log(`(shader-f16: ${backend.hasShaderF16}; tfjs backend: ${tf.getBackend()})`);

  console.log(
    '\n## webgpu matmul: float32 n×n @ n×n, GFLOP/s (median; each timed call runs the product `reps` times and reads the last result)',
  );
  console.log('| n | attnkit backend-webgpu | tfjs-backend-webgpu 4.22 | ratio | reps |');
  console.log('|---|---|---|---|---|');
  const gen = new Generator(0);
  const sizes = (process.env.ATTNKIT_BENCH_SIZES ?? '256,512,1024').split(',').map(Number);
  for (const n of sizes) {
    const a = randn([n, n], { generator: gen });
    const b = randn([n, n], { generator: gen });
    const ta = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const tb = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    // Products per timed call: enough to hide the readback on fast GPUs, one on slow adapters.
    const reps = await repsFor(async () => {
      const y = matmul(a, b);
      await y.data();
      y.dispose();
    });
    const opts = { warmup: 1, minRuns: quick ? 1 : 3, minTimeMs: quick ? 0 : 300 };
    const ours = await measure(async () => {
      let y: Tensor | null = null;
      for (let r = 0; r < reps; r++) {
        y?.dispose();
        y = matmul(a, b);
      }
      await y?.data();
      y?.dispose();
    }, opts);
    const theirs = await measure(async () => {
      let y: tf.Tensor | null = null;
      for (let r = 0; r < reps; r++) {
        y?.dispose();
        y = tf.matMul(ta, tb);
      }
      await y?.data();
      y?.dispose();
    }, opts);
    for (const t of [a, b]) t.dispose();
    for (const t of [ta, tb]) t.dispose();
    const gOurs = (2 * n ** 3 * reps) / (ours.medianMs / 1e3) / 1e9;
    const gTheirs = (2 * n ** 3 * reps) / (theirs.medianMs / 1e3) / 1e9;
    console.log(
      `| ${n} | ${gOurs.toFixed(2)} | ${gTheirs.toFixed(2)} | ${(gOurs / gTheirs).toFixed(2)}x | ${reps} |`,
    );
  }

  console.log(
    '\n## webgpu softmax / layerNorm over the last dim, ms (median; result read back in each call)',
  );
  console.log('| op | shape | attnkit backend-webgpu | tfjs-backend-webgpu 4.22 | speed-up |');
  console.log('|---|---|---|---|---|');
  const rowsShapes: [number, number][] = [
    [512, 1024],
    [2048, 768],
  ];
  for (const [rows, d] of rowsShapes) {
    const x = randn([rows, d], { generator: gen });
    const w = randn([d], { generator: gen });
    const bias = randn([d], { generator: gen });
    const tx = tf.randomNormal([rows, d], 0, 1, 'float32', 5);
    const tw = tf.randomNormal([d], 0, 1, 'float32', 6);
    const tbias = tf.randomNormal([d], 0, 1, 'float32', 7);
    const opts = { warmup: 2, minRuns: quick ? 2 : 5, minTimeMs: quick ? 0 : 300 };
    const sm = await measure(async () => {
      const y = softmax(x, -1);
      await y.data();
      y.dispose();
    }, opts);
    const tsm = await measure(async () => {
      const y = tf.softmax(tx);
      await y.data();
      y.dispose();
    }, opts);
    console.log(
      `| softmax | ${rows}×${d} | ${sm.medianMs.toFixed(2)} | ${tsm.medianMs.toFixed(2)} | ${(tsm.medianMs / sm.medianMs).toFixed(2)}x |`,
    );
    const ln = await measure(async () => {
      const y = layerNorm(x, [d], w, bias, 1e-5);
      await y.data();
      y.dispose();
    }, opts);
    // tfjs has no layerNorm op: the usual composition from moments.
    const tln = await measure(async () => {
      const y = tf.tidy(() => {
        const { mean, variance } = tf.moments(tx, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(tx, mean), tf.rsqrt(tf.add(variance, 1e-5))), tw), tbias);
      });
      await y.data();
      y.dispose();
    }, opts);
    console.log(
      `| layerNorm | ${rows}×${d} | ${ln.medianMs.toFixed(2)} | ${tln.medianMs.toFixed(2)} | ${(tln.medianMs / ln.medianMs).toFixed(2)}x |`,
    );
    for (const t of [x, w, bias]) t.dispose();
    for (const t of [tx, tw, tbias]) t.dispose();
  }
}

/** Products per timed call so that one call takes about 200 ms (1 when a single call already does). */
async function repsFor(once: () => Promise<void>): Promise<number> {
  await once();
  const t0 = performance.now();
  await once();
  const ms = performance.now() - t0;
  return Math.max(1, Math.min(50, Math.round(200 / Math.max(ms, 0.01))));
}

// Standalone: `node webgpu.js` (also the bundled .mjs) runs the suite.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchWebgpu().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
