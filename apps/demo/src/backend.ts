// The backend switch: which attnkit engines this browser offers, and moving models onto the current one.
import '@attnkit/backend-cpu';
import '@attnkit/backend-gpujs';
import '@attnkit/backend-webgpu';
import { getBackend, useBackend } from '@attnkit/tensor-core';
import type { Module } from '@attnkit/tensor-core/nn';

/** The engines the switch can offer. */
export type BackendName = 'cpu' | 'webgpu' | 'gpujs';

/**
 * The backends this browser can run: cpu always; webgpu when `navigator.gpu` hands out an adapter;
 * gpujs always (WebGL2/WebGL shaders, or gpu.js' JavaScript mode where WebGL is missing).
 */
export async function offeredBackends(): Promise<BackendName[]> {
  const offered: BackendName[] = ['cpu'];
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu) {
    try {
      if (await gpu.requestAdapter()) offered.push('webgpu');
    } catch {
      // no adapter: webgpu is not offered
    }
  }
  offered.push('gpujs');
  return offered;
}

/** The name of the backend ops run on now. */
export function backendName(): string {
  return getBackend().name;
}

/** Makes `name` current (initialising it on first use). */
export async function switchBackend(name: BackendName): Promise<void> {
  await useBackend(name);
}

/** Moves a model's parameters and buffers onto the current backend (a no-op when they are there). */
export async function onCurrentBackend<M extends Module>(model: M): Promise<M> {
  const backend = getBackend();
  const first = model.parameters()[0];
  if (first && first.backend === backend) return model;
  return model.to(backend);
}
