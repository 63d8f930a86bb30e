// Browser side of browser-conformance.test.ts: runs the backend conformance suite on backend-webgpu
// through navigator.gpu and publishes the results on window for the Node side to collect.
import { initWebGPU } from '@attnkit/backend-webgpu';
import { defineConformanceSuite, WGSL_PRECISION } from '@attnkit/tensor-core/testing';

interface Results {
  adapter: string;
  total: number;
  failures: string[];
  error?: string;
}

const w = window as unknown as { __attnkitResults?: Results };
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

async function main(): Promise<Results> {
  const backend = await initWebGPU();
  const failures: string[] = [];
  for (const t of tests) {
    try {
      await t.fn();
    } catch (e) {
      failures.push(`${t.name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { adapter: backend.adapterName, total: tests.length, failures };
}

main().then(
  (r) => {
    w.__attnkitResults = r;
  },
  (e) => {
    w.__attnkitResults = { adapter: '', total: tests.length, failures: [], error: String(e?.stack ?? e) };
  },
);
