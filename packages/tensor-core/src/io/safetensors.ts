import type { DType, TypedArray } from '../dtype.js';
import { isFloat, isHalf, toBfloat16Bits, toFloat16Bits } from '../dtype.js';
import { opScope } from '../memory.js';
import { getBackend } from '../registry.js';
import { Tensor } from '../tensor.js';
import { type JsonObject, JsonSyntaxError, type JsonValue, parseJsonStrict } from './json.js';

/**
 * Element types of the safetensors format that attnkit reads. Each maps to an attnkit dtype:
 * `F32` → float32; `F16` → float16 (kept as float16 storage); `BF16` → float32 (or bfloat16
 * storage with `{ bfloat16: 'keep' }`); `F64` → float32
 * (F64 loses precision: a note is recorded); `I32`, `I8`, `I16`, `U8`, `U16` → int32;
 * `I64`, `U32`, `U64` → int32 when every value fits (else an error); `BOOL` → bool.
 */
export type SafetensorsDType =
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F64'
  | 'I8'
  | 'I16'
  | 'I32'
  | 'I64'
  | 'U8'
  | 'U16'
  | 'U32'
  | 'U64'
  | 'BOOL';

/** Bytes per element of each readable safetensors dtype. */
const ELEMENT_BYTES: Record<SafetensorsDType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I8: 1,
  I16: 2,
  I32: 4,
  I64: 8,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
};

/** Dtypes the format defines that attnkit cannot hold (named in errors as "unsupported", not "unknown"). */
const UNSUPPORTED = new Set([
  'F8_E5M2',
  'F8_E4M3',
  'F8_E4M3FN',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
  'C128',
]);

/** The largest header accepted, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Thrown for a malformed or unsupported safetensors file; the message names the file and tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** One tensor as described by a safetensors header. */
export interface SafetensorsEntry {
  /** Tensor name (the header key). */
  name: string;
  /** Element type as stored in the file. */
  dtype: SafetensorsDType;
  /** Shape (row-major). */
  shape: number[];
  /** Byte range `[begin, end)` relative to the start of the data buffer (the byte after the header). */
  dataOffsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Tensors in header order. */
  entries: SafetensorsEntry[];
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

const hasOwn = (o: object, k: string) => Object.hasOwn(o, k);

function describeJson(v: JsonValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

/**
 * Parses and validates the header of a safetensors file held in `bytes` (the whole file), without
 * reading tensor data. Every rule of the format is checked: the 8-byte little-endian header length
 * (at most {@link MAX_HEADER_BYTES}, within the file), a UTF-8 JSON object starting with `{`, no
 * duplicate keys, `__metadata__` a string-to-string map, each entry's dtype, shape (non-negative
 * integers) and `data_offsets` (`[begin, end]`, byte length = elements × dtype size), and the
 * offsets tiling the data buffer exactly (no overlap, no gap, nothing past the end, nothing left over).
 *
 * @param bytes the whole file
 * @param where a name for error messages (file path, URL)
 * @throws {SafetensorsError} naming the file, the tensor and the problem
 */
export function parseSafetensorsHeader(bytes: Uint8Array, where = '<buffer>'): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`readSafetensors(${where}): ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected the file as a Uint8Array');
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes long; a safetensors file starts with an 8-byte header length`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER_BYTES) {
    fail(
      `header length ${hi ? `${hi}*2^32+${lo}` : headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes (corrupt length field?)`,
    );
  }
  if (headerLen === 0) fail('header length is 0; expected a JSON object');
  if (8 + headerLen > bytes.length) {
    fail(
      `header length ${headerLen} runs past the end of the file (${bytes.length} bytes, so at most ${bytes.length - 8}): truncated file or corrupt length field`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (text[0] !== '{')
    fail(`header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  let json: JsonValue;
  try {
    json = parseJsonStrict(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return fail(`header is not valid JSON: ${e.message}`);
    throw e;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail(`header must be a JSON object, got ${describeJson(json)}`);
  }
  const obj = json as JsonObject;
  const dataStart = 8 + headerLen;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const meta = obj.__metadata__;
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) {
      fail(`__metadata__ must be an object of strings, got ${describeJson(meta)}`);
    }
    for (const [k, v] of Object.entries(meta as JsonObject)) {
      if (typeof v !== 'string') fail(`__metadata__["${k}"] must be a string, got ${describeJson(v)}`);
      Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }

  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(obj)) {
    if (name === '__metadata__') continue;
    const bad = (msg: string): never => fail(`tensor "${name}": ${msg}`);
    if (info === null || typeof info !== 'object' || Array.isArray(info)) {
      bad(`expected an object {dtype, shape, data_offsets}, got ${describeJson(info)}`);
    }
    const e = info as JsonObject;
    for (const key of ['dtype', 'shape', 'data_offsets']) if (!hasOwn(e, key)) bad(`missing "${key}"`);
    const dtype = e.dtype;
    if (typeof dtype !== 'string') return bad(`dtype must be a string, got ${describeJson(dtype)}`);
    if (!hasOwn(ELEMENT_BYTES, dtype)) {
      if (UNSUPPORTED.has(dtype)) bad(`dtype ${dtype} is not supported by attnkit`);
      bad(`unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(ELEMENT_BYTES).join(', ')}`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape)) return bad(`shape must be an array of integers, got ${describeJson(shape)}`);
    let count = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        bad(`shape [${shape.map((x) => JSON.stringify(x)).join(',')}] must hold non-negative integers`);
      }
      count *= d as number;
      if (count > Number.MAX_SAFE_INTEGER) bad(`shape [${shape.join(',')}] has too many elements`);
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      return bad(`data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) bad(`data_offsets [${begin}, ${end}] end before they begin`);
    const size = ELEMENT_BYTES[dtype as SafetensorsDType];
    if (end - begin !== count * size) {
      bad(
        `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(',')}] of ${dtype} needs ${count * size} (${count} × ${size})`,
      );
    }
    if (end > dataLength) {
      bad(
        `data_offsets [${begin}, ${end}] run past the end of the data buffer (${dataLength} bytes): truncated file or corrupt offsets`,
      );
    }
    entries.push({
      name,
      dtype: dtype as SafetensorsDType,
      shape: shape as number[],
      dataOffsets: [begin, end],
    });
  }

  // The offsets must tile the data buffer exactly.
  const sorted = [...entries].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let expected = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    const [begin, end] = e.dataOffsets;
    if (begin < expected) {
      fail(
        `tensor "${e.name}": data_offsets [${begin}, ${end}] overlap tensor "${prev?.name}" (which ends at ${expected})`,
      );
    }
    if (begin > expected) {
      fail(
        `tensor "${e.name}": data_offsets [${begin}, ${end}] leave a gap of ${begin - expected} bytes after ${prev ? `tensor "${prev.name}"` : 'the header'} (offsets must be contiguous from 0)`,
      );
    }
    expected = end;
    prev = e;
  }
  if (expected !== dataLength) {
    fail(
      `the data buffer holds ${dataLength} bytes but the tensors cover only ${expected}: ${dataLength - expected} trailing bytes (corrupt header or appended data)`,
    );
  }
  return { entries, metadata, dataStart };
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** F16 tensors: keep them as float16 storage (default) or convert to float32. */
  float16?: 'keep' | 'float32';
  /** BF16 tensors: convert to float32 (default) or keep them as bfloat16 storage. */
  bfloat16?: 'keep' | 'float32';
}

/** @internal Refuses read options that are not objects, unknown keys and bad values, by name. */
export function checkReadOptions(fn: string, options: unknown): asserts options is ReadSafetensorsOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      `${fn}: options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'float16' && key !== 'bfloat16') {
      throw new TypeError(`${fn}: unknown option '${key}'; the read options are: float16, bfloat16`);
    }
    if (value !== undefined && value !== 'keep' && value !== 'float32') {
      throw new TypeError(
        `${fn}: option ${key} must be 'keep' or 'float32', got ${typeof value === 'string' ? `'${value}'` : String(value)}`,
      );
    }
  }
}

/** What {@link readSafetensorsWithMetadata} returns. */
export interface SafetensorsContents {
  /** The tensors by name (the record {@link readSafetensors} returns). */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** Each tensor's dtype as stored in the file. */
  storedDtypes: Record<string, SafetensorsDType>;
  /** Notes on lossy or widening conversions (F64 → float32, ...), one per affected tensor. */
  notes: string[];
}

/**
 * A typed array over `n` elements at byte `off` of `bytes`: a view when the address is aligned,
 * else a view over a fresh aligned copy. `copied` says which, so callers copy at most once.
 */
type NumArray = Float32Array | Float64Array | Int16Array | Int32Array | Uint16Array | Uint32Array;

function elements<T extends NumArray>(
  Ctor: { new (buf: ArrayBufferLike, off: number, len: number): T; BYTES_PER_ELEMENT: number },
  bytes: Uint8Array,
  off: number,
  n: number,
): { arr: T; copied: boolean } {
  const abs = bytes.byteOffset + off;
  if (abs % Ctor.BYTES_PER_ELEMENT === 0) return { arr: new Ctor(bytes.buffer, abs, n), copied: false };
  const copy = bytes.slice(off, off + n * Ctor.BYTES_PER_ELEMENT);
  return { arr: new Ctor(copy.buffer, 0, n), copied: true };
}

interface Decoded {
  data: TypedArray;
  dtype: DType;
  note?: string;
}

/** Converts one validated entry's bytes into a fresh host array the backend may adopt. */
function decode(
  e: SafetensorsEntry,
  data: Uint8Array,
  where: string,
  options: ReadSafetensorsOptions,
): Decoded {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const off = e.dataOffsets[0];
  const fresh = <T extends TypedArray>(r: { arr: T; copied: boolean }): T =>
    r.copied ? r.arr : (r.arr.slice() as T);
  const narrow = (
    what: string,
    get: (i: number) => number,
    lo: number,
    hi: number,
    loLabel: string,
  ): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = get(i);
      if (v < lo || v > hi || Number.isNaN(v)) {
        throw new SafetensorsError(
          `readSafetensors(${where}): tensor "${e.name}" (${e.dtype}) holds ${what === 'bigint' ? String(v) : v} at flat index ${i}, outside the int32 range [${loLabel}, 2147483647]; attnkit holds integers as int32`,
        );
      }
      out[i] = v;
    }
    return out;
  };
  switch (e.dtype) {
    case 'F32':
      return { data: fresh(elements(Float32Array, data, off, n)), dtype: 'float32' };
    case 'F16': {
      const bits = elements(Uint16Array, data, off, n);
      if (options.float16 === 'float32') {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(bits.arr[i]);
        return { data: out, dtype: 'float32' };
      }
      return { data: fresh(bits), dtype: 'float16' };
    }
    case 'BF16': {
      if (options.bfloat16 === 'keep')
        return { data: fresh(elements(Uint16Array, data, off, n)), dtype: 'bfloat16' };
      const bits = elements(Uint16Array, data, off, n).arr;
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = bits[i] << 16;
      return { data: out, dtype: 'float32' };
    }
    case 'F64': {
      const src = elements(Float64Array, data, off, n).arr;
      const out = new Float32Array(n);
      out.set(src);
      return {
        data: out,
        dtype: 'float32',
        note: `tensor "${e.name}": F64 converted to float32 (attnkit computes in float32; precision beyond float32 is lost)`,
      };
    }
    case 'I32':
      return { data: fresh(elements(Int32Array, data, off, n)), dtype: 'int32' };
    case 'I8': {
      const src = new Int8Array(data.buffer, data.byteOffset + off, n);
      return { data: Int32Array.from(src), dtype: 'int32' };
    }
    case 'U8': {
      const src = data.subarray(off, off + n);
      return { data: Int32Array.from(src), dtype: 'int32' };
    }
    case 'I16':
      return { data: Int32Array.from(elements(Int16Array, data, off, n).arr), dtype: 'int32' };
    case 'U16':
      return { data: Int32Array.from(elements(Uint16Array, data, off, n).arr), dtype: 'int32' };
    case 'U32': {
      const src = elements(Uint32Array, data, off, n).arr;
      return { data: narrow('number', (i) => src[i], 0, 2147483647, '0'), dtype: 'int32' };
    }
    case 'I64':
    case 'U64': {
      // Little-endian pairs (low word, high word); an int64 fits int32 when high == sign of low.
      const w = elements(Int32Array, data, off, 2 * n).arr;
      const signed = e.dtype === 'I64';
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = w[2 * i];
        const hi = w[2 * i + 1];
        if (signed ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
          const big = signed
            ? (BigInt(hi) << 32n) | BigInt(lo >>> 0)
            : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
          throw new SafetensorsError(
            `readSafetensors(${where}): tensor "${e.name}" (${e.dtype}) holds ${big} at flat index ${i}, outside the int32 range [${signed ? '-2147483648' : '0'}, 2147483647]; attnkit holds integers as int32`,
          );
        }
        out[i] = lo;
      }
      return { data: out, dtype: 'int32' };
    }
    case 'BOOL': {
      const src = data.subarray(off, off + n);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] ? 1 : 0;
      return { data: out, dtype: 'bool' };
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Decodes a whole safetensors file held in memory (synchronous). See {@link readSafetensors} for
 * sources that need reading first (paths, URLs, Blobs, Responses).
 *
 * @param bytes the file's bytes
 * @param where a name for error messages
 * @throws {SafetensorsError} on malformed input, before any tensor is created
 */
export function readSafetensorsSync(
  bytes: ArrayBuffer | ArrayBufferView,
  options: ReadSafetensorsOptions = {},
  where = '<buffer>',
): SafetensorsContents {
  checkReadOptions('readSafetensorsSync', options);
  const u8 = toBytes(bytes, 'readSafetensorsSync');
  const header = parseSafetensorsHeader(u8, where);
  const data = u8.subarray(header.dataStart);
  const decoded: [SafetensorsEntry, Decoded][] = [];
  for (const e of header.entries) decoded.push([e, decode(e, data, where, options)]);
  // Everything validated and converted: now upload (one copy per tensor into the backend).
  const backend = getBackend();
  const tensors: Record<string, Tensor> = {};
  const storedDtypes: Record<string, SafetensorsDType> = {};
  const notes: string[] = [];
  for (const [e, d] of decoded) {
    const t = Tensor.fromStorage(backend, backend.upload(d.data, d.dtype), e.shape, d.dtype);
    // defineProperty: a tensor named "__proto__" is an ordinary own key.
    Object.defineProperty(tensors, e.name, {
      value: t,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    Object.defineProperty(storedDtypes, e.name, {
      value: e.dtype,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    if (d.note) notes.push(d.note);
  }
  return { tensors, metadata: header.metadata, storedDtypes, notes };
}

function toBytes(bytes: unknown, fn: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (typeof SharedArrayBuffer !== 'undefined' && bytes instanceof SharedArrayBuffer)
    return new Uint8Array(bytes);
  throw new TypeError(
    `${fn}: expected an ArrayBuffer or a typed array of the file's bytes, got ${bytes === null ? 'null' : typeof bytes === 'object' ? (bytes.constructor?.name ?? 'object') : typeof bytes}`,
  );
}

// ---------------------------------------------------------------- writing

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * Stored dtype per tensor name, when it should differ from the tensor's own (float32 → F32,
   * float16 → F16, bfloat16 → BF16, int32 → I32, bool → BOOL). Floats may be stored as F32, F16, BF16 or F64;
   * int32 and bool as any integer type (values are range-checked) and bool also as BOOL.
   */
  dtypes?: Record<string, SafetensorsDType>;
}

/** Tensors to write: a record (like a state dict) or a Map. */
export type TensorRecord = Record<string, Tensor> | Map<string, Tensor>;

const DEFAULT_STORED: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  bool: 'BOOL',
  int8: 'I8',
};

const INT_RANGE: Partial<Record<SafetensorsDType, [number, number]>> = {
  I8: [-128, 127],
  U8: [0, 255],
  I16: [-32768, 32767],
  U16: [0, 65535],
  I32: [-2147483648, 2147483647],
  U32: [0, 4294967295],
  I64: [-(2 ** 53), 2 ** 53],
  U64: [0, 2 ** 53],
};

function checkWriteArgs(
  fn: string,
  tensors: unknown,
  metadata: unknown,
  options: WriteSafetensorsOptions,
): [string, Tensor, SafetensorsDType][] {
  if (tensors === null || typeof tensors !== 'object') {
    throw new TypeError(
      `${fn}: tensors must be a record or Map of name → Tensor, got ${tensors === null ? 'null' : typeof tensors}`,
    );
  }
  const list: [string, Tensor][] =
    tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, Tensor>);
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new TypeError(`${fn}: metadata must be a record of strings, got ${typeof metadata}`);
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new TypeError(
          `${fn}: metadata["${k}"] must be a string (safetensors metadata is text-to-text), got ${typeof v}`,
        );
      }
    }
  }
  const dtypes = options.dtypes ?? {};
  const out: [string, Tensor, SafetensorsDType][] = [];
  for (const [name, t] of list) {
    if (name === '__metadata__')
      throw new Error(`${fn}: "__metadata__" is reserved and cannot name a tensor`);
    if (!t || (t as { isTensor?: boolean }).isTensor !== true) {
      throw new TypeError(`${fn}: tensors["${name}"] is not a Tensor`);
    }
    if (t.isDisposed) throw new Error(`${fn}: tensors["${name}"] was disposed`);
    const stored = Object.hasOwn(dtypes, name) ? dtypes[name] : DEFAULT_STORED[t.dtype];
    if (!hasOwn(ELEMENT_BYTES, stored)) {
      throw new Error(
        `${fn}: tensor "${name}": unknown stored dtype ${JSON.stringify(stored)}; expected one of ${Object.keys(ELEMENT_BYTES).join(', ')}`,
      );
    }
    const isFloatSrc = isFloat(t.dtype);
    const isFloatDst = stored === 'F32' || stored === 'F16' || stored === 'BF16' || stored === 'F64';
    if (isFloatSrc !== isFloatDst || (stored === 'BOOL' && t.dtype !== 'bool')) {
      throw new Error(
        `${fn}: tensor "${name}" (${t.dtype}) cannot be stored as ${stored}; cast it first (floats store as F32/F16/BF16/F64, int32 and bool as integer types, bool as BOOL)`,
      );
    }
    out.push([name, t, stored]);
  }
  for (const name of Object.keys(dtypes)) {
    if (!out.some(([n]) => n === name))
      throw new Error(`${fn}: options.dtypes names "${name}", which is not among the tensors`);
  }
  return out;
}

/** Encodes one tensor's host values (row-major) in the stored dtype. */
function encode(
  name: string,
  values: TypedArray,
  raw16: Uint16Array | null,
  stored: SafetensorsDType,
  fn: string,
): Uint8Array {
  const n = values.length;
  switch (stored) {
    case 'F32':
      return new Uint8Array(Float32Array.from(values).buffer);
    case 'F64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'F16': {
      const out = raw16 ?? new Uint16Array(n);
      if (!raw16) for (let i = 0; i < n; i++) out[i] = toFloat16Bits(values[i]);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'BF16': {
      const out = raw16 ?? new Uint16Array(n);
      if (!raw16) for (let i = 0; i < n; i++) out[i] = toBfloat16Bits(values[i]); // round to nearest even
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    default: {
      const [lo, hi] = INT_RANGE[stored] as [number, number];
      for (let i = 0; i < n; i++) {
        if (values[i] < lo || values[i] > hi) {
          throw new Error(
            `${fn}: tensor "${name}" holds ${values[i]} at flat index ${i}, outside the range of ${stored} [${lo}, ${hi}]`,
          );
        }
      }
      const size = ELEMENT_BYTES[stored];
      const buf = new ArrayBuffer(n * size);
      const dv = new DataView(buf);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (stored === 'I8' || stored === 'U8') dv.setUint8(i, v & 0xff);
        else if (stored === 'I16' || stored === 'U16') dv.setUint16(2 * i, v & 0xffff, true);
        else if (stored === 'I32' || stored === 'U32') dv.setUint32(4 * i, v >>> 0, true);
        else dv.setBigInt64(8 * i, BigInt(v), true);
      }
      return new Uint8Array(buf);
    }
  }
}

function assemble(
  parts: [string, readonly number[], SafetensorsDType, Uint8Array][],
  metadata: Record<string, string> | undefined | null,
): Uint8Array {
  // Larger elements first, then by name: every tensor stays aligned to its element size.
  parts.sort((a, b) => ELEMENT_BYTES[b[2]] - ELEMENT_BYTES[a[2]] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = { ...metadata };
  let off = 0;
  for (const [name, shape, dtype, bytes] of parts) {
    Object.defineProperty(header, name, {
      value: { dtype, shape: [...shape], data_offsets: [off, off + bytes.length] },
      enumerable: true,
    });
    off += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + off);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, , , bytes] of parts) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

/** The bit patterns of a float16 (bfloat16) tensor stored as F16 (BF16), or null for another pair. */
function rawHalf(t: Tensor, stored: SafetensorsDType): Uint16Array | null {
  const same = (t.dtype === 'float16' && stored === 'F16') || (t.dtype === 'bfloat16' && stored === 'BF16');
  if (!same || !isHalf(t.dtype) || !t.backend.readSync) return null;
  return opScope(() => {
    const c = t.contiguous();
    const raw = c.backend.readSync?.(c.storage, c.dtype) as Uint16Array;
    return raw.length === t.size ? raw : raw.slice(0, t.size);
  });
}

/**
 * Serializes tensors to the safetensors format (reads them with `await data()`, so it works on
 * every backend). Tensors are laid out largest element size first, then by name, and the header
 * is padded with spaces to a multiple of 8 bytes, so every tensor is aligned in the file.
 *
 * @param tensors name → Tensor (a state dict)
 * @param metadata optional `__metadata__` string map (e.g. `{ format: 'pt' }`)
 * @param options stored dtype per tensor, when it should differ from the tensor's
 * @example
 * ```ts
 * const bytes = await writeSafetensors({ weight: randn([2, 3]) }, { format: 'pt' });
 * const back = await readSafetensors(bytes);
 * back.weight.shape; // => [2, 3]
 * ```
 */
export async function writeSafetensors(
  tensors: TensorRecord,
  metadata?: Record<string, string> | null,
  options: WriteSafetensorsOptions = {},
): Promise<Uint8Array> {
  const list = checkWriteArgs('writeSafetensors', tensors, metadata, options);
  const parts: [string, readonly number[], SafetensorsDType, Uint8Array][] = [];
  for (const [name, t, stored] of list) {
    const raw = rawHalf(t, stored);
    const values = raw ? new Float32Array(0) : await t.data();
    parts.push([name, t.shape, stored, encode(name, values, raw, stored, 'writeSafetensors')]);
  }
  return assemble(parts, metadata);
}

/** Synchronous {@link writeSafetensors}, for backends that read synchronously (the CPU). */
export function writeSafetensorsSync(
  tensors: TensorRecord,
  metadata?: Record<string, string> | null,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const list = checkWriteArgs('writeSafetensorsSync', tensors, metadata, options);
  const parts: [string, readonly number[], SafetensorsDType, Uint8Array][] = [];
  for (const [name, t, stored] of list) {
    const raw = rawHalf(t, stored);
    const values = raw ? new Float32Array(0) : t.dataSync();
    parts.push([name, t.shape, stored, encode(name, values, raw, stored, 'writeSafetensorsSync')]);
  }
  return assemble(parts, metadata);
}
