/// <reference types="@webgpu/types" preserve="true" />

/** Options for acquiring a WebGPU device. */
export interface WebGPUDeviceOptions {
  /** Adapter preference passed to `requestAdapter` (default `high-performance`). */
  powerPreference?: GPUPowerPreference;
  /** Use this GPU object instead of `navigator.gpu` or the `webgpu` package. */
  gpu?: GPU;
  /** Use this adapter (skips `requestAdapter`). */
  adapter?: GPUAdapter;
  /** Use this already created device (skips `requestDevice`). */
  device?: GPUDevice;
  /** Request the `shader-f16` feature when the adapter offers it (default true). */
  shaderF16?: boolean;
}

/** A device together with the adapter it came from and a printable adapter description. */
export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter | null;
  /** The GPU object the adapter came from (kept referenced for the device's lifetime). */
  gpu: GPU | null;
  /** Human-readable adapter description: vendor, architecture, device, description. */
  adapterName: string;
}

/**
 * Finds the WebGPU entry point: `navigator.gpu` in browsers (and runtimes that expose it),
 * else the `webgpu` npm package (Dawn for Node), loaded lazily so browser bundles never include it.
 */
export async function findGPU(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // One Dawn instance per process, held for the process's lifetime: if the GPU object were garbage
  // collected, Dawn would stop processing events (mapAsync would never resolve) and crash on exit.
  nodeGPU ??= createNodeGPU().catch((e) => {
    nodeGPU = undefined;
    throw e;
  });
  return nodeGPU;
}

let nodeGPU: Promise<GPU> | undefined;

async function createNodeGPU(): Promise<GPU> {
  // A specifier in a variable keeps bundlers from pulling the Node-only package into browser builds.
  const specifier = 'webgpu';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ specifier);
  } catch (e) {
    throw new Error(
      `backend-webgpu: WebGPU is unavailable: navigator.gpu is absent and the 'webgpu' package (Dawn for Node) could not be loaded (${(e as Error).message}); install it with \`npm i webgpu\` or run in a browser with WebGPU enabled`,
    );
  }
  // Dawn's classes (GPUBufferUsage, GPUMapMode, ...) are expected as globals by WebGPU code.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod.create([]);
}

/** Describes an adapter for logs and benchmark reports. */
export function describeAdapter(adapter: GPUAdapter | null): string {
  const info = adapter?.info;
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  return parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

/**
 * True when the adapter is a fallback adapter (a software implementation run on the CPU), as its
 * `info.isFallbackAdapter` (or the older `adapter.isFallbackAdapter`) says.
 */
export function isFallbackAdapter(adapter: GPUAdapter | null): boolean {
  if (!adapter) return false;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return (
    info?.isFallbackAdapter === true ||
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true
  );
}

/** Requests an adapter and a device with the limits this backend uses raised to the adapter's maxima. */
export async function acquireDevice(options: WebGPUDeviceOptions = {}): Promise<AcquiredDevice> {
  if (options.device) {
    return {
      device: options.device,
      gpu: options.gpu ?? null,
      adapter: options.adapter ?? null,
      adapterName: describeAdapter(options.adapter ?? null),
    };
  }
  let adapter = options.adapter ?? null;
  let gpu = options.gpu ?? null;
  if (!adapter) {
    gpu ??= await findGPU();
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new Error(
        'backend-webgpu: requestAdapter() returned null: no WebGPU adapter is available on this machine (in Node, check that a Vulkan/Metal/D3D12 driver is installed)',
      );
    }
  }
  const features: GPUFeatureName[] = [];
  if ((options.shaderF16 ?? true) && adapter.features.has('shader-f16')) features.push('shader-f16');
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  return { device, gpu, adapter, adapterName: describeAdapter(adapter) };
}
