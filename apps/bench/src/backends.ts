import '@attnkit/backend-cpu';
import { existsSync } from 'node:fs';
import { initGpuJs } from '@attnkit/backend-gpujs';
import { initWebGPU } from '@attnkit/backend-webgpu';
import { type Backend, findBackend } from '@attnkit/tensor-core';

/** A backend a suite runs on, with what the tables print about it. */
export interface BenchBackend {
  /** Registry name (`setBackend(name)`). */
  name: string;
  /** What the tables print: the name plus the adapter or gpu.js mode. */
  label: string;
  /**
   * True where this machine runs the backend in software (WebGPU on a CPU Vulkan driver such as
   * SwiftShader, gpu.js in its CPU mode): suites then cap their workloads, and print the caps, unless
   * ATTNKIT_BENCH_FULL=1.
   */
  slow: boolean;
}

/** Every backend the suites can run on, and why the others are missing. */
export interface BenchBackends {
  available: BenchBackend[];
  unavailable: { name: string; reason: string }[];
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

let found: Promise<BenchBackends> | undefined;

/**
 * The backends of the attention, transformer and diffusion suites, set up once per process: cpu,
 * webgpu when a WebGPU adapter is found (Dawn in Node; with ATTNKIT_SWIFTSHADER=1 and no
 * VK_ICD_FILENAMES, Chromium's SwiftShader driver), and gpujs. ATTNKIT_BENCH_BACKENDS=cpu,webgpu
 * picks a subset.
 */
export function benchBackends(): Promise<BenchBackends> {
  found ??= setUp();
  return found;
}

async function setUp(): Promise<BenchBackends> {
  const wanted = (process.env.ATTNKIT_BENCH_BACKENDS ?? 'cpu,webgpu,gpujs')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: BenchBackends = { available: [], unavailable: [] };
  for (const name of wanted) {
    try {
      if (name === 'cpu') {
        out.available.push({ name, label: 'cpu', slow: false });
      } else if (name === 'webgpu') {
        const b = (await webgpu()) as Backend & { adapterName?: string };
        const adapter = b.adapterName ?? 'unknown adapter';
        // vendor / architecture is enough to tell adapters apart in a table
        const short = adapter.split(' / ').slice(0, 2).join(' / ');
        out.available.push({ name, label: `webgpu (${short})`, slow: SOFTWARE_ADAPTER.test(adapter) });
      } else if (name === 'gpujs') {
        // Importing the package registers 'gpujs' lazily: findBackend gives it once initialised.
        const b = (findBackend('gpujs') as (Backend & { mode?: string }) | undefined) ?? (await initGpuJs());
        out.available.push({ name, label: `gpujs (${b.mode} mode)`, slow: b.mode === 'cpu' });
      } else {
        out.unavailable.push({ name, reason: 'not a backend these suites know (cpu, webgpu, gpujs)' });
      }
    } catch (e) {
      out.unavailable.push({ name, reason: (e as Error).message.split('\n')[0] });
    }
  }
  return out;
}

async function webgpu(): Promise<Backend> {
  // Importing the package registers 'webgpu' lazily: findBackend gives it once initialised.
  const ready = findBackend('webgpu');
  if (ready) return ready;
  const softwareIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && process.env.ATTNKIT_SWIFTSHADER && existsSync(softwareIcd)) {
    process.env.VK_ICD_FILENAMES = softwareIcd; // before Dawn loads
  }
  return initWebGPU();
}

/** True when ATTNKIT_BENCH_FULL=1: no per-backend caps, even on software backends. */
export function fullWorkload(): boolean {
  return process.env.ATTNKIT_BENCH_FULL === '1';
}

/** Prints the "unavailable" lines under a suite's table. */
export function printUnavailable(b: BenchBackends): void {
  for (const u of b.unavailable) console.log(`(backend ${u.name} unavailable: ${u.reason})`);
}
