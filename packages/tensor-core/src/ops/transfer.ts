import type { Backend } from '../backend.js';
import { loadBackend } from '../registry.js';
import { Tensor } from '../tensor.js';
import { assertTensor } from './util.js';

/**
 * Copies a tensor to another backend (by name or instance), keeping its dtype (float16 included).
 * Reads are awaited, so it works from GPU backends too; a backend registered for asynchronous
 * initialisation (WebGPU) is initialised by the first call. The result has no gradient history.
 *
 * @example
 * ```ts
 * const g = await toBackend(x, 'webgpu');
 * ```
 */
export async function toBackend(x: Tensor, backend: string | Backend): Promise<Tensor> {
  assertTensor(x, 'input', 'toBackend');
  const target = typeof backend === 'string' ? await loadBackend(backend, 'toBackend') : backend;
  if (target === x.backend) return x.detach();
  const src = x.isContiguous && x.offset === 0 ? x : x.contiguous();
  // read raw storage bits so float16 stays float16
  const raw = await src.backend.read(src.storage, src.dtype);
  const data = raw.length === src.size ? raw : raw.slice(0, src.size);
  const out = Tensor.fromStorage(target, target.upload(data, src.dtype), [...x.shape], x.dtype);
  if (src !== x) src.dispose();
  return out;
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link toBackend}. */ to(backend: string | Backend): Promise<Tensor>;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).to = function (this: Tensor, b: string | Backend) {
  return toBackend(this, b);
};
