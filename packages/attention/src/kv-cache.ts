// Key/value caches for autoregressive decoding. Each layer keeps one preallocated buffer for keys and
// one for values, [B, Hkv, capacity, D]; new steps are written in place (tensor-core's `copyInto`
// on a slice of the buffer) and the capacity doubles when full, so a step costs O(new tokens)
// amortised instead of re-copying the whole history.
import {
  type Backend,
  copyInto,
  indexSelect,
  keep,
  noGrad,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '@attnkit/tensor-core';
import { assertPositiveInt, assertTensorArg, fmtShape } from './internal.js';

/** Options of {@link LayerKVCache} and {@link KVCache}. */
export interface KVCacheOptions {
  /** Positions allocated on the first append (default 64, or the first append's length if larger). */
  initialCapacity?: number;
  /**
   * Sliding window: positions older than the last `window` before a step may be dropped. The cache
   * keeps at least the last `window` positions (plus the new ones), compacting in amortised O(1)
   * per token, so its memory stays about 2 × window; run attention with `windowSize: window` and
   * `causal: true` to mask what it still holds beyond the window. {@link LayerKVCache.position}
   * still counts every token seen (the RoPE offset).
   */
  window?: number;
}

/** Keys and values visible after an append: views [B, Hkv, length, D] of the cache's buffers. */
export interface CachedKeysValues {
  keys: Tensor;
  values: Tensor;
}

/**
 * One layer's KV cache. `append(k, v)` writes [B, Hkv, T, D] new keys/values after the cached ones
 * and returns views of everything cached, ready for {@link scaledDotProductAttention} with
 * `causal: true` (bottom-right alignment puts the T new queries at the end).
 *
 * The returned views share the cache's storage: they stay valid (and unchanged) while the cache only
 * grows; after `trim` or `reset` later appends overwrite positions those views may cover. The cache
 * holds inference state, outside autograd.
 *
 * @example
 * ```ts
 * const [q, k, v] = [randn([1, 8, 12, 64]), randn([1, 8, 12, 64]), randn([1, 8, 12, 64])];
 * const [kStep, vStep] = [randn([1, 8, 1, 64]), randn([1, 8, 1, 64])];
 * const cache = new LayerKVCache();
 * const { keys, values } = cache.append(k, v);          // the prompt
 * scaledDotProductAttention(q, keys, values, { causal: true });
 * cache.append(kStep, vStep).keys.shape;                // => [1, 8, 13, 64]
 * ```
 */
export class LayerKVCache {
  private keyBuf: Tensor | null = null;
  private valueBuf: Tensor | null = null;
  private len = 0;
  private seen = 0;
  private readonly initialCapacity: number;
  private readonly window: number | null;

  constructor(options: KVCacheOptions = {}) {
    const init = options.initialCapacity ?? 64;
    assertPositiveInt(init, 'initialCapacity', 'LayerKVCache');
    this.initialCapacity = init;
    this.window = null;
    if (options.window !== undefined && options.window !== null) {
      assertPositiveInt(options.window, 'window', 'LayerKVCache');
      this.window = options.window;
    }
  }

  /** Cached positions. */
  get length(): number {
    return this.len;
  }
  /** Tokens appended since the last reset, i.e. the position of the next token (RoPE offset). */
  get position(): number {
    return this.seen;
  }
  /** Positions the buffers can hold before growing. */
  get capacity(): number {
    return this.keyBuf ? this.keyBuf.shape[2] : 0;
  }

  /** Keys [B, Hkv, length, D] cached so far (a view), or null when empty. */
  get keys(): Tensor | null {
    return this.keyBuf && this.len > 0 ? this.keyBuf.sliceDim(2, 0, this.len) : null;
  }
  /** Values [B, Hkv, length, Dv] cached so far (a view), or null when empty. */
  get values(): Tensor | null {
    return this.valueBuf && this.len > 0 ? this.valueBuf.sliceDim(2, 0, this.len) : null;
  }

  /** Appends keys [B, Hkv, T, D] and values [B, Hkv, T, Dv]; returns views of all cached positions. */
  append(k: Tensor, v: Tensor): CachedKeysValues {
    const who = 'LayerKVCache.append';
    assertTensorArg(k, 'k', who);
    assertTensorArg(v, 'v', who);
    if (
      k.rank !== 4 ||
      v.rank !== 4 ||
      k.shape[0] !== v.shape[0] ||
      k.shape[1] !== v.shape[1] ||
      k.shape[2] !== v.shape[2]
    ) {
      throw new Error(
        `${who}: expected k [B, Hkv, T, D] and v [B, Hkv, T, Dv] with equal B, Hkv, T; got ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`,
      );
    }
    if (k.backend !== v.backend) throw new Error(`${who}: k and v live on different backends`);
    const [b, h, t, d] = k.shape;
    const dv = v.shape[3];
    if (this.keyBuf && this.valueBuf) {
      const [cb, ch, , cd] = this.keyBuf.shape;
      const differs =
        cb !== b ||
        ch !== h ||
        cd !== d ||
        this.valueBuf.shape[3] !== dv ||
        this.keyBuf.backend !== k.backend;
      if (differs && this.len === 0) this.dispose();
      else if (differs) {
        throw new Error(
          `${who}: the cache holds [${cb}, ${ch}, *, ${cd}] keys and [*, *, *, ${this.valueBuf.shape[3]}] values; got k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} (reset() to change shapes)`,
        );
      }
    }
    const backend = k.backend;
    if (this.window !== null && this.len + t > this.capacity && this.len > this.window) {
      this.dropOldest(this.len - this.window);
    }
    this.reserve(backend, b, h, d, dv, this.len + t);
    const kb = this.keyBuf as Tensor;
    const vb = this.valueBuf as Tensor;
    tidy(() => {
      copyInto(kb.narrow(2, this.len, t), k);
      copyInto(vb.narrow(2, this.len, t), v);
    });
    this.len += t;
    this.seen += t;
    return { keys: kb.sliceDim(2, 0, this.len), values: vb.sliceDim(2, 0, this.len) };
  }

  /** Keeps the first `length` cached positions (e.g. to roll back rejected speculative tokens). */
  trim(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.len) {
      throw new RangeError(`LayerKVCache.trim: length must be an integer in [0, ${this.len}], got ${length}`);
    }
    this.seen -= this.len - length;
    this.len = length;
  }

  /** Sliding window this cache keeps (null: everything). */
  get windowSize(): number | null {
    return this.window;
  }

  /**
   * Keeps batch rows `rows` of the cache, in that order (a row may repeat): beam search reorders its
   * hypotheses this way. In place; the position and the window are kept.
   */
  selectRows(rows: readonly number[]): void {
    const who = 'LayerKVCache.selectRows';
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new TypeError(`${who}: 'rows' must be a non-empty array of batch indices`);
    }
    if (!this.keyBuf || !this.valueBuf) return;
    const b = this.keyBuf.shape[0];
    if (rows.some((j) => !Number.isInteger(j) || j < 0 || j >= b)) {
      throw new RangeError(`${who}: rows [${rows.join(', ')}] are out of range for a cache of batch ${b}`);
    }
    noGrad(() => {
      const kb = this.keyBuf as Tensor;
      const vb = this.valueBuf as Tensor;
      const idx = tensor(rows, [rows.length], { dtype: 'int32', backend: kb.backend });
      this.keyBuf = keep(indexSelect(kb, 0, idx));
      this.valueBuf = keep(indexSelect(vb, 0, idx));
      idx.dispose();
      kb.dispose();
      vb.dispose();
    });
  }

  /**
   * Keeps the first `maxLength` positions (as transformers' `DynamicCache.crop`): a negative
   * `maxLength` removes that many from the end, and a cache no longer than it is left as it is.
   * Speculative decoding rolls back rejected draft tokens with it.
   */
  crop(maxLength: number): void {
    if (!Number.isInteger(maxLength))
      throw new RangeError(`LayerKVCache.crop: maxLength must be an integer, got ${maxLength}`);
    const keep = maxLength < 0 ? Math.max(0, this.len + maxLength) : maxLength;
    if (keep < this.len) this.trim(keep);
  }

  /** Empties the cache (keeps the buffers for reuse when the shapes match). */
  reset(): void {
    this.len = 0;
    this.seen = 0;
  }

  /** Frees the buffers. */
  dispose(): void {
    this.keyBuf?.dispose();
    this.valueBuf?.dispose();
    this.keyBuf = null;
    this.valueBuf = null;
    this.len = 0;
    this.seen = 0;
  }

  /** Bytes held by the buffers. */
  get byteLength(): number {
    return (this.keyBuf?.size ?? 0) * 4 + (this.valueBuf?.size ?? 0) * 4;
  }

  private reserve(backend: Backend, b: number, h: number, d: number, dv: number, need: number): void {
    const cap = this.capacity;
    if (this.keyBuf && need <= cap) return;
    const next = Math.max(cap * 2, this.initialCapacity, need);
    const kNew = zeros([b, h, next, d], { backend });
    const vNew = zeros([b, h, next, dv], { backend });
    const [kOld, vOld, len] = [this.keyBuf, this.valueBuf, this.len];
    if (kOld && vOld && len > 0) {
      tidy(() => {
        copyInto(kNew.narrow(2, 0, len), kOld.narrow(2, 0, len));
        copyInto(vNew.narrow(2, 0, len), vOld.narrow(2, 0, len));
      });
    }
    this.keyBuf?.dispose();
    this.valueBuf?.dispose();
    this.keyBuf = keep(kNew);
    this.valueBuf = keep(vNew);
  }

  /** Drops the `n` oldest positions by moving the rest to the front (rolling window). */
  private dropOldest(n: number): void {
    if (!this.keyBuf || !this.valueBuf) return;
    const keepN = this.len - n;
    if (keepN <= 0) {
      this.len = 0;
      return;
    }
    const len = this.len;
    tidy(() => {
      // source and destination ranges may overlap: copyInto reads the source first then
      for (const buf of [this.keyBuf as Tensor, this.valueBuf as Tensor]) {
        copyInto(buf.narrow(2, 0, keepN), buf.narrow(2, n, len - n));
      }
    });
    this.len = keepN;
  }
}

/**
 * KV caches for every layer of a model, created on first use: `cache.layer(i)`.
 *
 * @example
 * ```ts
 * const blocks = Array.from({ length: 12 }, () => new GroupedQueryAttention({ hiddenSize: 64, numHeads: 4, numKeyValueHeads: 2 }));
 * let x = randn([1, 5, 64]);
 * const cache = new KVCache({ numLayers: 12 });
 * for (const [i, block] of blocks.entries()) x = block.forward(x, { cache: cache.layer(i) }).output;
 * cache.position; // => 5
 * cache.reset(); // next prompt
 * ```
 */
export class KVCache {
  private readonly layers: LayerKVCache[] = [];
  private readonly options: KVCacheOptions;

  constructor(options: KVCacheOptions & { numLayers?: number } = {}) {
    this.options = { initialCapacity: options.initialCapacity, window: options.window };
    const n = options.numLayers ?? 0;
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`KVCache: numLayers must be a non-negative integer, got ${n}`);
    for (let i = 0; i < n; i++) this.layers.push(new LayerKVCache(this.options));
  }

  /** The cache of layer `i` (created on first use). */
  layer(i: number): LayerKVCache {
    if (!Number.isInteger(i) || i < 0)
      throw new RangeError(`KVCache.layer: index must be a non-negative integer, got ${i}`);
    while (this.layers.length <= i) this.layers.push(new LayerKVCache(this.options));
    return this.layers[i];
  }
  /** Number of layers created so far. */
  get numLayers(): number {
    return this.layers.length;
  }
  /** Cached positions (of layer 0). */
  get length(): number {
    return this.layers[0]?.length ?? 0;
  }
  /** Position of the next token (of layer 0): the RoPE offset for the next step. */
  get position(): number {
    return this.layers[0]?.position ?? 0;
  }
  /** Trims every layer to its first `length` positions. */
  trim(length: number): void {
    for (const l of this.layers) l.trim(length);
  }
  /** Sliding window of the layers (null: they keep everything). */
  get windowSize(): number | null {
    return this.options.window ?? null;
  }
  /** Keeps batch rows `rows` of every layer, in that order (beam search); in place. */
  selectRows(rows: readonly number[]): void {
    for (const l of this.layers) l.selectRows(rows);
  }

  /** Crops every layer to its first `maxLength` positions (negative: drops that many); see {@link LayerKVCache.crop}. */
  crop(maxLength: number): void {
    if (!Number.isInteger(maxLength))
      throw new RangeError(`KVCache.crop: maxLength must be an integer, got ${maxLength}`);
    for (const l of this.layers) l.crop(maxLength);
  }
  /** Empties every layer. */
  reset(): void {
    for (const l of this.layers) l.reset();
  }
  /** Frees every layer's buffers. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
  /** Bytes held by all layers. */
  get byteLength(): number {
    return this.layers.reduce((s, l) => s + l.byteLength, 0);
  }
}
