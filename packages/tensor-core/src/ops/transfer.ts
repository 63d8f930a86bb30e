import type { Backend } from '../backend.js';
import { isHalf } from '../dtype.js';
import { opScope, tidy } from '../memory.js';
import { loadBackend } from '../registry.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { assertTensor, broadcastTo } from './util.js';

/**
 * Writes `src` (a number, or a tensor broadcastable to `dst`'s shape, any dtype) into the
 * elements of `dst` in place, and returns `dst`: torch's `dst.copy_(src)`. `dst` may be a view
 * (a slice of a larger buffer: a KV cache writes each step this way); `src` may overlap it (it is
 * copied first then). A tensor on another backend is read synchronously when its backend can.
 * The write is not recorded by autograd (like an assignment under torch.no_grad()).
 *
 * @example
 * ```ts
 * const k = ones([1, 4, 3, 16]);
 * const buf = zeros([1, 4, 64, 16]);
 * copyInto(buf.narrow(2, 0, 3), k); // the first 3 positions now hold k [1, 4, 3, 16]
 * buf.sum(); // => 192
 * ```
 */
export function copyInto(dst: Tensor, src: Tensor | number, op = 'copyInto'): Tensor {
  assertTensor(dst, 'dst', op);
  if (typeof src === 'number') {
    dst.backend.write(dst, src);
    return dst;
  }
  assertTensor(src, 'src', op);
  const n = Math.max(src.rank, dst.rank);
  for (let i = 0; i < n; i++) {
    const a = src.shape[src.rank - n + i] ?? 1;
    const d = dst.shape[dst.rank - n + i] ?? 1;
    if (src.rank > dst.rank || (a !== d && a !== 1)) {
      throw new Error(`${op}: cannot copy a tensor of shape ${fmt(src.shape)} into ${fmt(dst.shape)}`);
    }
  }
  tidy(() => {
    const b = dst.backend;
    let s = src;
    if (src.backend !== b) {
      const data = isHalf(src.dtype) ? src.cast('float32') : src;
      s = Tensor.fromStorage(b, b.upload(data.dataSync(), data.dtype), data.shape, data.dtype);
    } else if (src.storage === dst.storage) {
      // overlapping ranges of one storage: read everything before writing
      s = Tensor.fromStorage(b, b.copy(src, src.dtype), src.shape, src.dtype);
    }
    b.write(dst, broadcastTo(s, dst.shape));
  });
  return dst;
}

/**
 * Copies a tensor to another backend (by name or instance), keeping its dtype (float16 and bfloat16 included).
 * Reads are awaited, so it works from GPU backends too; a backend registered for asynchronous
 * initialisation (WebGPU) is initialised by the first call. The result has no gradient history.
 *
 * @example
 * ```ts
 * import '@attnkit/backend-webgpu';
 * await useBackend('webgpu');
 * setBackend('cpu');
 * const x = tensor([1, 2]);
 * const g = await toBackend(x, 'webgpu');
 * g.backend.name; // => 'webgpu'
 * ```
 */
export async function toBackend(x: Tensor, backend: string | Backend): Promise<Tensor> {
  assertTensor(x, 'input', 'toBackend');
  const target = typeof backend === 'string' ? await loadBackend(backend, 'toBackend') : backend;
  if (target === x.backend) return x.detach();
  // a contiguous copy when needed (its own scope keeps it past the synchronous part only)
  const src = x.isContiguous && x.offset === 0 ? x : opScope(() => x.detach().contiguous());
  try {
    // read raw storage bits so float16 and bfloat16 stay 16-bit
    const raw = await src.backend.read(src.storage, src.dtype);
    const data = raw.length === src.size ? raw : raw.slice(0, src.size);
    return Tensor.fromStorage(target, target.upload(data, src.dtype), [...x.shape], x.dtype);
  } finally {
    if (src !== x) src.dispose(); // an async read outlives any scope: freed when it is done
  }
}

declare module '../tensor.js' {
  interface Tensor {
    /** See {@link toBackend}. */ to(backend: string | Backend): Promise<Tensor>;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).to = function (this: Tensor, b: string | Backend) {
  return toBackend(this, b);
};

declare module '../tensor.js' {
  interface Tensor {
    /** Writes `src` into this tensor in place; see {@link copyInto}. Returns this tensor. */
    copy_(src: Tensor | number): this;
  }
}
(Tensor.prototype as unknown as Record<string, unknown>).copy_ = function (
  this: Tensor,
  src: Tensor | number,
) {
  return copyInto(this, src, 'copy_');
};
