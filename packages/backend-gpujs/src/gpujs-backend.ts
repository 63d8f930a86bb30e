import {
  type Backend,
  type BinaryOp,
  type Conv2dParams,
  contiguousStrides,
  type DType,
  halfDecoder,
  halfEncoder,
  isHalf,
  type Operand,
  type ReduceOp,
  type Storage,
  sizeOf,
  type TypedArray,
  type UnaryOp,
  type View,
} from '@attnkit/tensor-core';
import {
  binaryCode,
  castExpr,
  coords,
  kernelSource,
  type Layout,
  lit,
  offsetExpr,
  unaryCode,
} from './codegen.js';
import type { GpuJsInstance, GpuJsKernel, GpuJsTexture } from './gpujs-types.js';

/**
 * A gpu.js storage: float32 values, held as a host `Float32Array` (gpu.js' CPU mode) or as a
 * gpu.js texture on the device (WebGL modes, kernels run with `pipeline: true`). Every dtype is
 * held as float32 values: int32 exactly up to 2^24 in magnitude, bool as 0/1, float16 and bfloat16 decoded.
 */
export class GpuJsStorage implements Storage {
  /** @internal */
  constructor(
    /** The values: a host array or a device texture. Replaced (never mutated) by `write`. */
    public data: Float32Array | GpuJsTexture,
    /** Number of elements. */
    readonly length: number,
    /** @internal the cached kernel that produced `data`, if any (for deferred kernel disposal). */
    public producer: KernelEntry | null = null,
  ) {}
  /** Bytes held on the device (4 per element). */
  get byteLength(): number {
    return this.length * 4;
  }
}

/** @internal A compiled kernel in the cache, with the number of live outputs it produced. */
export interface KernelEntry {
  kernel: GpuJsKernel;
  live: number;
  retired: boolean;
}

/** Options of {@link GpuJsBackend}. */
export interface GpuJsBackendOptions {
  /** Maximum number of compiled kernels kept (least recently used are dropped; default 512). */
  maxKernels?: number;
}

type Data = Float32Array | GpuJsTexture;

/** Longest loop a GL kernel runs per thread in a reduction. */
const REDUCE_CHUNK = 8192;

const isHost = (d: Data): d is Float32Array => d instanceof Float32Array;

/** Rounds every value to the nearest float16 or bfloat16 (what such a storage holds). */
function roundToHalf(a: Float32Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  const dec = halfDecoder(dtype);
  const enc = halfEncoder(dtype);
  for (let i = 0; i < a.length; i++) a[i] = dec(enc(a[i]));
  return a;
}

/** `value` as a storage of `dtype` holds it (rounded for float16 and bfloat16). */
const asStored = (value: number, dtype: DType): number =>
  isHalf(dtype) ? halfDecoder(dtype)(halfEncoder(dtype)(value)) : value;

const layoutKey = (l: Layout) => `${l.shape.join(',')}/${l.strides.join(',')}/${l.offset}`;

/**
 * The gpu.js backend: every primitive of the Backend interface as a gpu.js kernel generated for
 * the operands' layouts (views are indexed with their strides in the kernel; nothing is copied
 * to make them contiguous) and cached by source and sizes. gpu.js runs kernels as WebGL shaders
 * (WebGL2 in browsers, headless-gl in Node) or, without a GL context, as JavaScript (its CPU mode).
 *
 * gpu.js computes in float32: int32 tensors are exact up to 2^24 in magnitude, float16 and
 * bfloat16 tensors are decoded on upload and rounded on the host when cast to those dtypes.
 */
export class GpuJsBackend implements Backend {
  readonly interfaceVersion = 1 as const;
  readonly name = 'gpujs';
  /** The gpu.js instance the kernels run on. */
  readonly gpu: GpuJsInstance;
  /** gpu.js' mode: `webgl2`, `webgl`, `headlessgl` or `cpu`. */
  readonly mode: string;
  private readonly kernels = new Map<string, KernelEntry>();
  private readonly maxKernels: number;
  private readonly device: boolean;
  private compiled = 0;

  constructor(gpu: GpuJsInstance, options: GpuJsBackendOptions = {}) {
    this.gpu = gpu;
    this.mode = gpu.mode;
    this.device = gpu.mode !== 'cpu';
    this.maxKernels = options.maxKernels ?? 512;
  }

  /** Number of kernels compiled so far (a cache miss compiles one). */
  get kernelsCompiled(): number {
    return this.compiled;
  }

  // ---------------------------------------------------------------- kernel plumbing

  private kernelFor(
    source: string,
    n: number,
    inputs: readonly Data[],
    sizes: readonly number[],
  ): KernelEntry {
    const key = `${source}|${n}|${sizes.join(',')}|${inputs.map((d) => (isHost(d) ? 'a' : 't')).join('')}`;
    let e = this.kernels.get(key);
    if (e) {
      this.kernels.delete(key);
      this.kernels.set(key, e);
      return e;
    }
    const kernel = this.gpu.createKernel(source, {
      output: [n],
      pipeline: this.device,
      immutable: true,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: 1 << 30,
    });
    this.compiled++;
    e = { kernel, live: 0, retired: false };
    this.kernels.set(key, e);
    while (this.kernels.size > this.maxKernels) {
      const [oldKey, old] = this.kernels.entries().next().value as [string, KernelEntry];
      this.kernels.delete(oldKey);
      old.retired = true;
      this.maybeDestroy(old);
    }
    return e;
  }

  private maybeDestroy(e: KernelEntry): void {
    // gpu.js' destroy deletes the textures the kernel created: wait until none is live.
    if (e.retired && (e.live === 0 || !this.device)) e.kernel.destroy();
  }

  /**
   * Runs a kernel source over `n` output elements; `args` are storages (their data is passed) or
   * numbers (uniforms). Returns a new storage.
   */
  private run(source: string, n: number, args: readonly (GpuJsStorage | number)[]): GpuJsStorage {
    if (n === 0) return new GpuJsStorage(new Float32Array(0), 0);
    const datas: Data[] = [];
    const sizes: number[] = [];
    const callArgs = args.map((a) => {
      if (typeof a === 'number') return a;
      // gpu.js rejects empty arrays; kernels never read an empty input, so pass one zero.
      const d = a.length === 0 ? new Float32Array(1) : a.data;
      datas.push(d);
      sizes.push(a.length);
      return d;
    });
    const e = this.kernelFor(source, n, datas, sizes);
    const out = e.kernel(...callArgs);
    if (isHost(out)) return new GpuJsStorage(out, n);
    e.live++;
    return new GpuJsStorage(out, n, e);
  }

  private release(data: Data, producer: KernelEntry | null): void {
    if (!isHost(data)) data.delete();
    if (producer) {
      producer.live--;
      this.maybeDestroy(producer);
    }
  }

  private host(s: GpuJsStorage): Float32Array {
    if (isHost(s.data)) return s.data;
    const a = s.data.toArray();
    return a instanceof Float32Array && a.length === s.length
      ? a
      : Float32Array.from({ length: s.length }, (_, i) => a[i]);
  }

  private fromHost(values: Float32Array): GpuJsStorage {
    const n = values.length;
    if (!this.device || n === 0) return new GpuJsStorage(values, n);
    // Upload once into a texture, so every kernel sees textures only.
    const src = new GpuJsStorage(values, n);
    return this.run(kernelSource(['x'], [], 'x[t]'), n, [src]);
  }

  // ---------------------------------------------------------------- storage

  upload(data: TypedArray, dtype: DType): Storage {
    let values: Float32Array;
    if (isHalf(dtype)) {
      const dec = halfDecoder(dtype);
      values = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) values[i] = dec(data[i]);
    } else if (data instanceof Float32Array) {
      values = data;
    } else {
      values = Float32Array.from(data);
    }
    return this.fromHost(values);
  }

  async read(storage: Storage, dtype: DType): Promise<TypedArray> {
    return this.readSync(storage, dtype);
  }

  /** Reads a storage back to the host (gpu.js reads are synchronous in every mode). */
  readSync(storage: Storage, dtype: DType): TypedArray {
    const s = storage as GpuJsStorage;
    const v = this.host(s);
    switch (dtype) {
      case 'float32':
        return v === s.data ? v.slice() : v;
      case 'int32':
        return Int32Array.from(v);
      case 'bool':
        return Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
      case 'float16':
      case 'bfloat16':
        return Uint16Array.from(v, halfEncoder(dtype));
      case 'int8':
        return Int8Array.from(v);
    }
  }

  free(storage: Storage): void {
    const s = storage as GpuJsStorage;
    this.release(s.data, s.producer);
    s.producer = null;
  }

  /** Compiled kernels are held by gpu.js; their size is not observable, so this reports 0. */
  memoryOverhead(): number {
    return 0;
  }

  // ---------------------------------------------------------------- primitives

  fill(shape: readonly number[], value: number, dtype: DType): Storage {
    const n = sizeOf(shape);
    let v = value;
    if (isHalf(dtype)) v = asStored(value, dtype);
    else if (dtype === 'bool') v = value ? 1 : 0;
    else if (dtype === 'int32') v = Number.isFinite(value) ? Math.trunc(value) : 0;
    if (!this.device) return new GpuJsStorage(new Float32Array(n).fill(v), n);
    return this.run(kernelSource(['v'], [], 'v'), n, [v]);
  }

  copy(x: View, to: DType): Storage {
    const n = sizeOf(x.shape);
    const body = [...coords(x.shape, 't'), `const v = x[${offsetExpr(x)}];`];
    const out = this.run(kernelSource(['x'], body, castExpr('v', x.dtype, to)), n, [
      x.storage as GpuJsStorage,
    ]);
    return isHalf(to) && x.dtype !== to ? this.roundHalf(out, to) : out;
  }

  private roundHalf(s: GpuJsStorage, dtype: 'float16' | 'bfloat16'): GpuJsStorage {
    const values = roundToHalf(this.host(s).slice(), dtype);
    this.free(s);
    return this.fromHost(values);
  }

  private writeMaps = new Map<string, Float32Array>();

  /** For each storage element: its flat index in the view `dst`, or -1 (built on the host, cached). */
  private writeMap(dst: View, length: number): Float32Array {
    const key = `${layoutKey(dst)}|${length}`;
    let m = this.writeMaps.get(key);
    if (m) return m;
    m = new Float32Array(length).fill(-1);
    const n = sizeOf(dst.shape);
    const rank = dst.shape.length;
    const c = new Array<number>(rank).fill(0);
    for (let i = 0; i < n; i++) {
      let o = dst.offset;
      for (let d = 0; d < rank; d++) o += c[d] * dst.strides[d];
      m[o] = i;
      for (let d = rank - 1; d >= 0; d--) {
        if (++c[d] < dst.shape[d]) break;
        c[d] = 0;
      }
    }
    if (this.writeMaps.size >= 64) this.writeMaps.delete(this.writeMaps.keys().next().value as string);
    this.writeMaps.set(key, m);
    return m;
  }

  write(dst: View, src: Operand): void {
    const target = dst.storage as GpuJsStorage;
    if (sizeOf(dst.shape) === 0 || target.length === 0) return;
    let srcStorage: GpuJsStorage | null = null;
    let srcView: View | null = null;
    let tmp: GpuJsStorage | null = null;
    let value = 0;
    if (typeof src === 'number') {
      value = src;
      if (isHalf(dst.dtype)) value = asStored(src, dst.dtype);
      else if (dst.dtype === 'bool') value = src ? 1 : 0;
      else if (dst.dtype === 'int32') value = Number.isFinite(src) ? Math.trunc(src) : 0;
    } else if (isHalf(dst.dtype) && src.dtype !== dst.dtype) {
      tmp = this.copy(src, dst.dtype) as GpuJsStorage;
      srcStorage = tmp;
      srcView = { ...src, storage: tmp, strides: contiguousStrides(src.shape), offset: 0, dtype: dst.dtype };
    } else {
      srcStorage = src.storage as GpuJsStorage;
      srcView = src;
    }
    const map = this.fromHost(this.writeMap(dst, target.length));
    const body = ['const k = m[t];', 'const kk = k < 0 ? 0 : k;'];
    let val = 'v';
    if (srcView) {
      body.push(...coords(dst.shape, 'kk'), `const sv = s[${offsetExpr(srcView)}];`);
      val = castExpr('sv', srcView.dtype, dst.dtype);
    }
    const args = srcStorage ? ['old', 'm', 's'] : ['old', 'm', 'v'];
    const out = this.run(kernelSource(args, body, `k < 0 ? old[t] : ${val}`), target.length, [
      target,
      map,
      srcStorage ?? value,
    ]);
    this.free(map);
    if (tmp) this.free(tmp);
    this.release(target.data, target.producer);
    target.data = out.data;
    target.producer = out.producer;
  }

  unary(op: UnaryOp, x: View, outDtype: DType): Storage {
    const out = this.unaryRaw(op, x, outDtype);
    return isHalf(outDtype) ? this.roundHalf(out, outDtype) : out;
  }

  private unaryRaw(op: UnaryOp, x: View, outDtype: DType): GpuJsStorage {
    const body = [...coords(x.shape, 't'), `const v = x[${offsetExpr(x)}];`, ...unaryCode(op, 'v', 'y')];
    return this.run(
      kernelSource(['x'], body, castExpr('y', 'float32', outDtype === 'int32' ? 'int32' : 'float32')),
      sizeOf(x.shape),
      [x.storage as GpuJsStorage],
    );
  }

  binary(
    op: BinaryOp,
    a: Operand,
    b: Operand,
    outShape: readonly number[],
    computeDtype: DType,
    outDtype: DType,
  ): Storage {
    const body = coords(outShape, 't');
    const args: string[] = [];
    const vals: (GpuJsStorage | number)[] = [];
    const operand = (o: Operand, name: string): string => {
      args.push(name);
      if (typeof o === 'number') {
        vals.push(o);
        return name;
      }
      vals.push(o.storage as GpuJsStorage);
      body.push(`const ${name}v = ${name}[${offsetExpr(o)}];`);
      return `${name}v`;
    };
    const av = operand(a, 'a');
    const bv = operand(b, 'b');
    body.push(...binaryCode(op, av, bv, 'y'));
    const result = outDtype === 'int32' && computeDtype !== 'int32' ? castExpr('y', 'float32', 'int32') : 'y';
    const out = this.run(kernelSource(args, body, result), sizeOf(outShape), vals);
    return isHalf(outDtype) ? this.roundHalf(out, outDtype) : out;
  }

  where(cond: View, a: Operand, b: Operand, outShape: readonly number[], dtype: DType): Storage {
    const body = [...coords(outShape, 't'), `const cv = c[${offsetExpr(cond)}];`];
    const args = ['c'];
    const vals: (GpuJsStorage | number)[] = [cond.storage as GpuJsStorage];
    const operand = (o: Operand, name: string): string => {
      args.push(name);
      if (typeof o === 'number') {
        vals.push(asStored(o, dtype));
        return name;
      }
      vals.push(o.storage as GpuJsStorage);
      body.push(`const ${name}v = ${name}[${offsetExpr(o)}];`);
      return `${name}v`;
    };
    const av = operand(a, 'a');
    const bv = operand(b, 'b');
    return this.run(kernelSource(args, body, `cv !== 0 ? ${av} : ${bv}`), sizeOf(outShape), vals);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], _outDtype: DType): Storage {
    const rank = x.shape.length;
    if (rank === 0)
      return op === 'argmax' || op === 'argmin' ? this.fill([], 0, 'int32') : this.copy(x, x.dtype);
    const outShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const count = axes.reduce((p, d) => p * x.shape[d], 1);
    if (this.device && count > REDUCE_CHUNK && op !== 'argmax' && op !== 'argmin') {
      return this.reduceChunked(op, x, kept, axes, count);
    }
    const body = [...coords(outShape, 't'), `const base = ${offsetExpr(x, 'c', kept)};`];
    // One loop per reduced axis: gpu.js types loop counters as integers, so no index division
    // happens inside the loops. `j` is the flat position within the reduced block (for arg ops).
    const open: string[] = [];
    const close: string[] = [];
    const rel: string[] = [];
    const flat: string[] = [];
    axes.forEach((ax, q) => {
      open.push(`${'  '.repeat(q)}for (let e${q} = 0; e${q} < ${x.shape[ax]}; e${q}++) {`);
      close.unshift(`${'  '.repeat(q)}}`);
      if (x.strides[ax] !== 0) rel.push(`e${q} * ${lit(x.strides[ax])}`);
      const below = axes.slice(q + 1).reduce((p, d) => p * x.shape[d], 1);
      flat.push(below === 1 ? `e${q}` : `e${q} * ${below}`);
    });
    const pad = '  '.repeat(axes.length);
    const loop = (inside: string[]) => [
      ...open,
      `${pad}const v = x[base + ${rel.join(' + ') || '0'}];`,
      ...inside.map((l) => `${pad}${l}`),
      ...close,
    ];
    let result = 'acc';
    switch (op) {
      case 'sum':
      case 'prod':
        body.push(`let acc = ${op === 'sum' ? 0 : 1};`, ...loop([op === 'sum' ? 'acc += v;' : 'acc *= v;']));
        break;
      case 'max':
      case 'min': {
        const cmp = op === 'max' ? '>' : '<';
        body.push(
          `let acc = ${op === 'max' ? '-Infinity' : 'Infinity'};`,
          'let done = 0;',
          ...loop([
            `if (done === 0 && (v ${cmp} acc || v !== v)) {`,
            '  acc = v;',
            '  if (v !== v) { done = 1; }',
            '}',
          ]),
        );
        break;
      }
      case 'argmax':
      case 'argmin': {
        const cmp = op === 'argmax' ? '>' : '<';
        body.push(
          'let bv = x[base];',
          'let best = 0;',
          ...loop([
            `if (bv === bv && (v !== v || v ${cmp} bv)) {`,
            '  bv = v;',
            `  best = ${flat.join(' + ')};`,
            '}',
          ]),
        );
        result = 'best';
        break;
      }
    }
    return this.run(kernelSource(['x'], body, result), sizeOf(outShape), [x.storage as GpuJsStorage]);
  }

  /**
   * Long reductions on a GL device run in passes of at most REDUCE_CHUNK elements per thread
   * (drivers cap shader loop lengths; Mesa's stops at 65535 iterations): reduced axes are moved
   * last and made contiguous, each chunk is reduced to a partial, and the partials are reduced.
   */
  private reduceChunked(
    op: 'sum' | 'prod' | 'max' | 'min',
    x: View,
    kept: readonly number[],
    axes: readonly number[],
    count: number,
  ): Storage {
    const perm = [...kept, ...axes];
    const moved: View = {
      storage: x.storage,
      dtype: x.dtype,
      offset: x.offset,
      shape: perm.map((d) => x.shape[d]),
      strides: perm.map((d) => x.strides[d]),
    };
    const cont = this.copy(moved, x.dtype) as GpuJsStorage;
    const outer = kept.reduce((p, d) => p * x.shape[d], 1);
    const chunks = Math.ceil(count / REDUCE_CHUNK);
    const step =
      op === 'sum'
        ? 'acc += v;'
        : op === 'prod'
          ? 'acc *= v;'
          : `if (done === 0 && (v ${op === 'max' ? '>' : '<'} acc || v !== v)) { acc = v; if (v !== v) { done = 1; } }`;
    const init = { sum: '0', prod: '1', max: '-Infinity', min: 'Infinity' }[op];
    const body = [
      `const o = Math.floor((t + 0.5) / ${chunks});`,
      `const ch = t - o * ${chunks};`,
      `let acc = ${init};`,
      'let done = 0;',
      `for (let i = 0; i < ${REDUCE_CHUNK}; i++) {`,
      `  const j = ch * ${REDUCE_CHUNK} + i;`,
      `  if (j < ${count}) {`,
      `    const v = x[o * ${count} + j];`,
      `    ${step}`,
      '  }',
      '}',
    ];
    const partial = this.run(kernelSource(['x'], body, 'acc'), outer * chunks, [cont]);
    this.free(cont);
    const out = this.reduce(
      op,
      { storage: partial, dtype: x.dtype, shape: [outer, chunks], strides: [chunks, 1], offset: 0 },
      [1],
      x.dtype,
    );
    this.free(partial);
    return out;
  }

  matmul(a: View, b: View, batch: readonly number[], m: number, k: number, n: number): Storage {
    const rank = batch.length;
    const outShape = [...batch, m, n];
    const bdims = batch.map((_, i) => i);
    const [sam, sak] = [a.strides[rank], a.strides[rank + 1]];
    const [sbk, sbn] = [b.strides[rank], b.strides[rank + 1]];
    const i = `c${rank}`;
    const j = `c${rank + 1}`;
    const body = [
      ...coords(outShape, 't'),
      `const ao = ${offsetExpr({ ...a, shape: [...batch, 1, 1] }, 'c', bdims)} + ${i} * ${lit(sam)};`,
      `const bo = ${offsetExpr({ ...b, shape: [...batch, 1, 1] }, 'c', bdims)} + ${j} * ${lit(sbn)};`,
      'let acc = 0;',
      `for (let p = 0; p < ${k}; p++) {`,
      `  acc += a[ao + p * ${lit(sak)}] * b[bo + p * ${lit(sbk)}];`,
      '}',
    ];
    return this.run(kernelSource(['a', 'b'], body, 'acc'), sizeOf(outShape), [
      a.storage as GpuJsStorage,
      b.storage as GpuJsStorage,
    ]);
  }

  gather(x: View, dim: number, index: View): Storage {
    const others = index.shape.map((_, d) => d).filter((d) => d !== dim);
    const body = [
      ...coords(index.shape, 't'),
      `const iv = ix[${offsetExpr(index)}];`,
      `const j = iv < 0 ? iv + ${x.shape[dim]} : iv;`,
      `const xo = ${offsetExpr({ ...x, shape: index.shape }, 'c', others)} + j * ${lit(x.strides[dim])};`,
    ];
    return this.run(kernelSource(['x', 'ix'], body, 'x[xo]'), sizeOf(index.shape), [
      x.storage as GpuJsStorage,
      index.storage as GpuJsStorage,
    ]);
  }

  scatterAdd(target: View, dim: number, index: View, src: View): Storage {
    const shape = target.shape;
    const others = shape.map((_, d) => d).filter((d) => d !== dim);
    const body = [...coords(shape, 't'), `const base = tg[${offsetExpr(target)}];`];
    // Coordinates outside the index tensor's extent receive nothing; clamp them for the reads.
    const inside = others.filter((d) => index.shape[d] < shape[d]).map((d) => `c${d} < ${index.shape[d]}`);
    for (const d of others) {
      body.push(
        `const k${d} = ${index.shape[d] < shape[d] ? `Math.min(c${d}, ${index.shape[d] - 1})` : `c${d}`};`,
      );
    }
    const io = offsetExpr({ ...index, shape: index.shape.map((s, d) => (d === dim ? 1 : s)) }, 'k', others);
    const so = offsetExpr({ ...src, shape: index.shape.map((s, d) => (d === dim ? 1 : s)) }, 'k', others);
    body.push(
      'let acc = 0;',
      `for (let q = 0; q < ${index.shape[dim]}; q++) {`,
      `  const iv = ix[${io} + q * ${lit(index.strides[dim])}];`,
      `  const j = iv < 0 ? iv + ${shape[dim]} : iv;`,
      `  if (j === c${dim}) {`,
      `    acc += s[${so} + q * ${lit(src.strides[dim])}];`,
      '  }',
      '}',
    );
    const result = inside.length ? `(${inside.join(' && ')}) ? base + acc : base` : 'base + acc';
    return this.run(kernelSource(['tg', 'ix', 's'], body, result), sizeOf(shape), [
      target.storage as GpuJsStorage,
      index.storage as GpuJsStorage,
      src.storage as GpuJsStorage,
    ]);
  }

  cumulative(op: 'cumsum' | 'cumprod', x: View, dim: number): Storage {
    const others = x.shape.map((_, d) => d).filter((d) => d !== dim);
    const body = [
      ...coords(x.shape, 't'),
      `const base = ${offsetExpr(x, 'c', others)};`,
      `let acc = ${op === 'cumsum' ? 0 : 1};`,
      `for (let q = 0; q < ${x.shape[dim]}; q++) {`,
      `  if (q <= c${dim}) {`,
      `    acc ${op === 'cumsum' ? '+=' : '*='} x[base + q * ${lit(x.strides[dim])}];`,
      '  }',
      '}',
    ];
    return this.run(kernelSource(['x'], body, 'acc'), sizeOf(x.shape), [x.storage as GpuJsStorage]);
  }

  /**
   * Bitonic sort along the last dim: each row is padded to a power of two, keys are (class, value,
   * original index) so the order is total and stable, and each of the log²(P)/2 compare-exchange
   * stages is one kernel pass over values and one over indices.
   */
  sort(x: View, descending: boolean): [Storage, Storage] {
    const n = sizeOf(x.shape);
    const rank = x.shape.length;
    const len = rank ? x.shape[rank - 1] : 1;
    const rows = len === 0 ? 0 : n / len;
    if (n === 0) return [new GpuJsStorage(new Float32Array(0), 0), new GpuJsStorage(new Float32Array(0), 0)];
    let p2 = 1;
    while (p2 < len) p2 *= 2;
    const total = rows * p2;
    const padShape = rank ? [...x.shape.slice(0, -1), p2] : [p2];
    // Initial padded values and indices.
    const initBody = [
      ...coords(padShape, 't'),
      `const last = c${padShape.length - 1};`,
      `const cl = last < ${len} ? last : 0;`,
    ];
    const xs = x.storage as GpuJsStorage;
    const xo = [String(x.offset)];
    for (let d = 0; d < rank - 1; d++)
      if (x.strides[d] !== 0 && x.shape[d] !== 1) xo.push(`c${d} * ${lit(x.strides[d])}`);
    if (rank) xo.push(`cl * ${lit(x.strides[rank - 1])}`);
    let vals = this.run(
      kernelSource(['x'], [...initBody, `const v = x[${xo.join(' + ')}];`], `last < ${len} ? v : 0`),
      total,
      [xs],
    );
    let idx = this.run(kernelSource(['x'], [...initBody], 'last'), total, [xs]);
    // Class: 0 for NaN when descending (NaN first), 1 for numbers, 2 for NaN ascending, 3 for padding.
    const cls = (v: string, i: string) =>
      `(${i} >= ${len} ? 3 : (${v} !== ${v} ? ${descending ? 0 : 2} : 1))`;
    const before = (av: string, ai: string, bv: string, bi: string) =>
      `(ca < cb || (ca === cb && ((${av} ${descending ? '>' : '<'} ${bv}) || (!(${av} ${descending ? '<' : '>'} ${bv}) && ${ai} < ${bi}))))`;
    const stageBody = [
      `const row = Math.floor((t + 0.5) / ${p2});`,
      `const p = t - row * ${p2};`,
      'const bit = Math.floor((p + 0.5) / j) - Math.floor((p + 0.5) / (2 * j)) * 2;',
      'const q = bit === 0 ? t + j : t - j;',
      'const up = Math.floor((p + 0.5) / k) - Math.floor((p + 0.5) / (2 * k)) * 2;',
      'const sv = v[t];',
      'const si = ix[t];',
      'const ov = v[q];',
      'const oi = ix[q];',
      `const ca = ${cls('sv', 'si')};`,
      `const cb = ${cls('ov', 'oi')};`,
      `const selfFirst = ${before('sv', 'si', 'ov', 'oi')} ? 1 : 0;`,
      // lower slot of an ascending block (or upper slot of a descending one) keeps the smaller
      'const wantFirst = bit === up ? 1 : 0;',
      'const keep = selfFirst === wantFirst ? 1 : 0;',
    ];
    const valSrc = kernelSource(['v', 'ix', 'k', 'j'], stageBody, 'keep === 1 ? sv : ov');
    const idxSrc = kernelSource(['v', 'ix', 'k', 'j'], stageBody, 'keep === 1 ? si : oi');
    for (let k = 2; k <= p2; k *= 2) {
      for (let j = k / 2; j >= 1; j /= 2) {
        const nv = this.run(valSrc, total, [vals, idx, k, j]);
        const ni = this.run(idxSrc, total, [vals, idx, k, j]);
        this.free(vals);
        this.free(idx);
        vals = nv;
        idx = ni;
      }
    }
    if (p2 === len) return [vals, idx];
    const outBody = [`const row = Math.floor((t + 0.5) / ${len});`, `const src = t + row * ${p2 - len};`];
    const ov = this.run(kernelSource(['v'], outBody, 'v[src]'), n, [vals]);
    const oi = this.run(kernelSource(['v'], outBody, 'v[src]'), n, [idx]);
    this.free(vals);
    this.free(idx);
    return [ov, oi];
  }

  conv2d(x: View, w: View, p: Conv2dParams): Storage {
    const [nb, cin, h, wd] = x.shape;
    const [co, cg, kh, kw] = w.shape;
    const [sh, sw] = p.stride;
    const [ph, pw] = p.padding;
    const [dh, dw] = p.dilation;
    const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
    const ow = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    const opg = co / p.groups;
    void cin;
    const outShape = [nb, co, oh, ow];
    const [xs0, xs1, xs2, xs3] = x.strides;
    const [ws0, ws1, ws2, ws3] = w.strides;
    const body = [
      ...coords(outShape, 't'),
      `const g = Math.floor((c1 + 0.5) / ${opg});`,
      `const xb = ${x.offset} + c0 * ${lit(xs0)} + g * ${cg * xs1};`,
      `const wb = ${w.offset} + c1 * ${lit(ws0)};`,
      'let acc = 0;',
      `for (let ci = 0; ci < ${cg}; ci++) {`,
      `  for (let u = 0; u < ${kh}; u++) {`,
      `    const ih = c2 * ${sh} - ${ph} + u * ${dh};`,
      `    if (ih >= 0 && ih < ${h}) {`,
      `      for (let r = 0; r < ${kw}; r++) {`,
      `        const iw = c3 * ${sw} - ${pw} + r * ${dw};`,
      `        if (iw >= 0 && iw < ${wd}) {`,
      `          acc += x[xb + ci * ${lit(xs1)} + ih * ${lit(xs2)} + iw * ${lit(xs3)}] * w[wb + ci * ${lit(ws1)} + u * ${lit(ws2)} + r * ${lit(ws3)}];`,
      '        }',
      '      }',
      '    }',
      '  }',
      '}',
    ];
    return this.run(kernelSource(['x', 'w'], body, 'acc'), sizeOf(outShape), [
      x.storage as GpuJsStorage,
      w.storage as GpuJsStorage,
    ]);
  }
}
