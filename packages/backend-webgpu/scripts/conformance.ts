// Runs the backend conformance suite on backend-webgpu outside vitest (for GPU machines without the
// repo's dev tooling): `node .bench-out/webgpu/webgpu-conformance.mjs` after bundling with scripts/bundle.mjs.
// Prints the adapter, one line per failure, and a summary; exits 1 when any case fails.
import { initWebGPU } from '@attnkit/backend-webgpu';
import { defineConformanceSuite, WGSL_PRECISION } from '@attnkit/tensor-core/testing';

const tests: { name: string; fn: () => void | Promise<void> }[] = [];
const prefix: string[] = [];
defineConformanceSuite(
  'webgpu',
  {
    describe: (name, fn) => {
      prefix.push(name);
      fn();
      prefix.pop();
    },
    it: (name, fn) => {
      tests.push({ name: [...prefix, name].join(' > '), fn });
    },
  },
  { precision: WGSL_PRECISION },
);
const backend = await initWebGPU();
console.log(`adapter: ${backend.adapterName}`);
let failed = 0;
const t0 = performance.now();
for (const t of tests) {
  try {
    await t.fn();
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}: ${(e as Error).message.split('\n')[0]}`);
  }
}
console.log(
  `${tests.length - failed}/${tests.length} passed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
process.exit(failed ? 1 : 0);
