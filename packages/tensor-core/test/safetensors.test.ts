// safetensors reading and writing: PyTorch-written files, round trips of every dtype, the format's
// rules one by one, and >= 1,000 seeded malformed files (each parses consistently with its header or
// throws a SafetensorsError; nothing else escapes).
import './reference-backend.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Generator, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import {
  parseSafetensorsHeader,
  readSafetensors,
  readSafetensorsSync,
  readSafetensorsWithMetadata,
  SafetensorsError,
  saveSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
} from '@attnkit/tensor-core/io';
import { Linear, Sequential } from '@attnkit/tensor-core/nn';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));
interface Expected {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
}
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;
const num = (v: number | string) => (typeof v === 'string' ? Number(v.replace('inf', 'Infinity')) : v);

const DTYPE_MAP: Record<string, string> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'float32',
  F64: 'float32',
  I64: 'int32',
  I32: 'int32',
  I16: 'int32',
  I8: 'int32',
  U8: 'int32',
  BOOL: 'bool',
};

function liveTensors(): number {
  return memory().reference?.numTensors ?? 0;
}

function disposeAll(rec: Record<string, Tensor>): void {
  for (const t of Object.values(rec)) t.dispose();
}

function checkAgainstTorch(tensors: Record<string, Tensor>): void {
  expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
  for (const [name, exp] of Object.entries(expected.tensors)) {
    const t = tensors[name];
    expect(t.shape, name).toEqual(exp.shape);
    expect(t.dtype, name).toBe(DTYPE_MAP[exp.dtype]);
    const got = Array.from(t.dataSync());
    // F64 is rounded to float32; every other dtype converts exactly.
    const want = exp.values.map((v) =>
      exp.dtype === 'F64' ? Math.fround(num(v)) : exp.dtype === 'BOOL' ? Number(num(v)) : num(v),
    );
    expect(got, name).toEqual(want);
  }
}

describe('readSafetensors: files written by PyTorch (scripts/reference/safetensors_io.py)', () => {
  it('reads every dtype from a padded header, from a path', async () => {
    const before = liveTensors();
    const tensors = await readSafetensors(join(DIR, 'dtypes.safetensors'));
    checkAgainstTorch(tensors);
    disposeAll(tensors);
    expect(liveTensors()).toBe(before);
  });

  it('reads misaligned tensor data (odd header length) identically', async () => {
    const tensors = await readSafetensors(fixture('unaligned.safetensors'));
    checkAgainstTorch(tensors);
    disposeAll(tensors);
  });

  it('reads from ArrayBuffer, a Buffer with an offset, a Blob, a File, a Response and a file: URL', async () => {
    const bytes = fixture('dtypes.safetensors');
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const sources = [
      bytes.buffer,
      padded.subarray(3),
      new Blob([bytes]),
      new File([bytes], 'model.safetensors'),
      new Response(bytes),
      pathToFileURL(join(DIR, 'dtypes.safetensors')),
      pathToFileURL(join(DIR, 'dtypes.safetensors')).href,
    ];
    for (const src of sources) {
      const tensors = await readSafetensors(src as ArrayBuffer);
      checkAgainstTorch(tensors);
      disposeAll(tensors);
    }
  });

  it('returns __metadata__, stored dtypes and a note for F64', async () => {
    const r = await readSafetensorsWithMetadata(fixture('dtypes.safetensors'));
    expect(r.metadata).toEqual(expected.metadata);
    expect(r.storedDtypes['bfloat16.weight']).toBe('BF16');
    expect(r.storedDtypes['int64.ids']).toBe('I64');
    expect(r.notes.some((n) => n.includes('float64.weight') && n.includes('F64'))).toBe(true);
    disposeAll(r.tensors);
  });

  it('converts F16 to float32 on request', async () => {
    const t = await readSafetensors(fixture('dtypes.safetensors'), { float16: 'float32' });
    expect(t['float16.weight'].dtype).toBe('float32');
    expect(Array.from(t['float16.weight'].dataSync())).toEqual(expected.tensors['float16.weight'].values);
    disposeAll(t);
  });

  it('keeps BF16 as bfloat16 storage on request, and writes it back bit for bit', async () => {
    const bytes = new Uint8Array(fixture('dtypes.safetensors'));
    const t = await readSafetensors(bytes, { bfloat16: 'keep' });
    const w = t['bfloat16.weight'];
    expect(w.dtype).toBe('bfloat16');
    expect(Array.from(w.dataSync())).toEqual(expected.tensors['bfloat16.weight'].values);
    const back = readSafetensorsSync(writeSafetensorsSync({ w }));
    expect(back.storedDtypes.w).toBe('BF16');
    // the raw bits of the file's tensor are what was written
    const src = readSafetensorsSync(bytes);
    const raw = (name: string, file: Uint8Array) => {
      const n = new DataView(file.buffer, file.byteOffset).getUint32(0, true);
      const h = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)))[name].data_offsets;
      return file.subarray(8 + n + h[0], 8 + n + h[1]);
    };
    const written = writeSafetensorsSync({ w });
    expect(raw('w', written)).toEqual(raw('bfloat16.weight', bytes));
    expect(() => readSafetensorsSync(bytes, { bfloat16: 'half' as never })).toThrow(
      /option bfloat16 must be 'keep' or 'float32', got 'half'/,
    );
    disposeAll(t);
    disposeAll(back.tensors);
    disposeAll(src.tensors);
  });

  it('rejects an I64 value outside int32, naming the tensor and the value, creating no tensor', async () => {
    const before = liveTensors();
    await expect(readSafetensors(join(DIR, 'i64_overflow.safetensors'))).rejects.toThrow(
      /i64_overflow\.safetensors.*"big".*2147483648/,
    );
    expect(liveTensors()).toBe(before);
  });

  it('names a missing file', async () => {
    await expect(readSafetensors(join(DIR, 'nope.safetensors'))).rejects.toThrow(
      /nope\.safetensors.*cannot read/,
    );
  });

  it('rejects a source of the wrong type with a TypeError', async () => {
    await expect(readSafetensors(42 as unknown as ArrayBuffer)).rejects.toThrow(TypeError);
  });
});

describe('writeSafetensors: round trips', () => {
  it('round-trips float32, float16, int32 and bool tensors with their dtypes and metadata', async () => {
    const src = {
      w: tensor([
        [1.5, -2.25, 3],
        [1e-30, 3.4e38, -0],
      ]),
      h: tensor([0.5, -65504, 6e-8], [3], 'float16'),
      ids: tensor([1, -2147483648, 2147483647], [3], 'int32'),
      mask: tensor([true, false, true]),
      s: tensor(7),
      e: tensor([], [2, 0]),
    };
    const bytes = await writeSafetensors(src, { format: 'pt' });
    const back = await readSafetensorsWithMetadata(bytes);
    expect(back.metadata).toEqual({ format: 'pt' });
    for (const [k, t] of Object.entries(src)) {
      const b = back.tensors[k];
      expect(b.dtype, k).toBe(t.dtype);
      expect(b.shape, k).toEqual(t.shape);
      expect(Array.from(b.dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
    disposeAll(back.tensors);
    disposeAll(src);
  });

  it('stores each safetensors dtype on request and reads it back', () => {
    const f = tensor([1.5, -2, 0.15625, 1024, -0.5]);
    const i = tensor([0, 1, 100, 127, 5], [5], 'int32');
    const b = tensor([true, false, true, true, false]);
    const cases: [Tensor, string, string, number[]][] = [
      [f, 'F32', 'float32', [1.5, -2, 0.15625, 1024, -0.5]],
      [f, 'F16', 'float16', [1.5, -2, 0.15625, 1024, -0.5]],
      [f, 'BF16', 'float32', [1.5, -2, 0.15625, 1024, -0.5]],
      [f, 'F64', 'float32', [1.5, -2, 0.15625, 1024, -0.5]],
      [i, 'I8', 'int32', [0, 1, 100, 127, 5]],
      [i, 'I16', 'int32', [0, 1, 100, 127, 5]],
      [i, 'I32', 'int32', [0, 1, 100, 127, 5]],
      [i, 'I64', 'int32', [0, 1, 100, 127, 5]],
      [i, 'U8', 'int32', [0, 1, 100, 127, 5]],
      [i, 'U16', 'int32', [0, 1, 100, 127, 5]],
      [i, 'U32', 'int32', [0, 1, 100, 127, 5]],
      [i, 'U64', 'int32', [0, 1, 100, 127, 5]],
      [b, 'BOOL', 'bool', [1, 0, 1, 1, 0]],
      [b, 'U8', 'int32', [1, 0, 1, 1, 0]],
    ];
    for (const [t, stored, dtype, want] of cases) {
      const bytes = writeSafetensorsSync({ x: t }, null, { dtypes: { x: stored as 'F32' } });
      const header = parseSafetensorsHeader(bytes);
      expect(header.entries[0].dtype, stored).toBe(stored);
      const r = readSafetensorsSync(bytes);
      expect(r.tensors.x.dtype, stored).toBe(dtype);
      expect(Array.from(r.tensors.x.dataSync()), stored).toEqual(want);
      disposeAll(r.tensors);
    }
  });

  it('rounds float32 to BF16 to nearest even (hand-derived)', () => {
    // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties to even -> 1.
    // 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: -> 1 + 2^-6.
    // 1 + 2^-8 + 2^-20 is above halfway -> 1 + 2^-7.
    const t = tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8 + 2 ** -20)]);
    const r = readSafetensorsSync(writeSafetensorsSync({ t }, null, { dtypes: { t: 'BF16' } }));
    expect(Array.from(r.tensors.t.dataSync())).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, -(1 + 2 ** -7)]);
  });

  it('writes a transposed view in row-major order', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]).T;
    const r = readSafetensorsSync(writeSafetensorsSync({ x }));
    expect(r.tensors.x.shape).toEqual([3, 2]);
    expect(Array.from(r.tensors.x.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('lays the file out as the spec says: u64 LE header length (multiple of 8), aligned tensors', () => {
    const bytes = writeSafetensorsSync(
      {
        b: tensor([true]),
        a: tensor([1, 2], [2], 'int32'),
        c: tensor([1, 2, 3]),
        h: tensor([1], [1], 'float16'),
      },
      { k: 'v' },
    );
    const dv = new DataView(bytes.buffer);
    const n = dv.getUint32(0, true);
    expect(dv.getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ k: 'v' });
    expect(header.a).toEqual({ dtype: 'I32', shape: [2], data_offsets: [0, 8] });
    expect(header.c).toEqual({ dtype: 'F32', shape: [3], data_offsets: [8, 20] });
    expect(header.h).toEqual({ dtype: 'F16', shape: [1], data_offsets: [20, 22] });
    expect(header.b).toEqual({ dtype: 'BOOL', shape: [1], data_offsets: [22, 23] });
    expect(bytes.length).toBe(8 + n + 23);
    expect(new Float32Array(bytes.buffer.slice(8 + n + 8, 8 + n + 20))).toEqual(new Float32Array([1, 2, 3]));
  });

  it('keeps "__proto__" and other odd names as ordinary keys', () => {
    const rec: Record<string, Tensor> = {};
    Object.defineProperty(rec, '__proto__', { value: tensor([1]), enumerable: true });
    rec['a.b/c d'] = tensor([2]);
    const r = readSafetensorsSync(writeSafetensorsSync(rec));
    expect(Object.keys(r.tensors).sort()).toEqual(['__proto__', 'a.b/c d']);
    expect(Object.getPrototypeOf(r.tensors)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(r.tensors, '__proto__')?.value.dataSync())).toEqual([
      1,
    ]);
  });

  it('a model state dict survives writeSafetensors -> readSafetensors -> loadStateDict', async () => {
    const a = new Sequential(
      new Linear(5, 4, { generator: new Generator(1) }),
      new Linear(4, 2, { generator: new Generator(2) }),
    );
    const b = new Sequential(
      new Linear(5, 4, { generator: new Generator(3) }),
      new Linear(4, 2, { generator: new Generator(4) }),
    );
    const bytes = await writeSafetensors(a.stateDict(), { format: 'pt' });
    const loaded = await readSafetensors(bytes);
    expect(Object.keys(loaded).sort()).toEqual(['0.bias', '0.weight', '1.bias', '1.weight']);
    b.loadStateDict(loaded);
    for (const [k, t] of Object.entries(a.stateDict())) {
      expect(Array.from(b.stateDict()[k].dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
  });

  it('saves to a file (Node) that reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attnkit-st-'));
    const path = join(dir, 'x.safetensors');
    await saveSafetensors(path, { x: tensor([3, 4]) }, { format: 'pt' });
    const back = await readSafetensors(path);
    expect(Array.from(back.x.dataSync())).toEqual([3, 4]);
  });

  it('rejects bad arguments naming the tensor', () => {
    expect(() => writeSafetensorsSync({ x: tensor([1.5]) }, null, { dtypes: { x: 'I32' } })).toThrow(
      /"x" \(float32\) cannot be stored as I32/,
    );
    expect(() =>
      writeSafetensorsSync({ x: tensor([300], [1], 'int32') }, null, { dtypes: { x: 'U8' } }),
    ).toThrow(/"x" holds 300.*U8/);
    expect(() => writeSafetensorsSync({ x: tensor([1]) }, { n: 1 as unknown as string })).toThrow(
      /metadata\["n"\]/,
    );
    expect(() => writeSafetensorsSync({ __metadata__: tensor([1]) })).toThrow(/reserved/);
    expect(() => writeSafetensorsSync({ x: [1] as unknown as Tensor })).toThrow(/"x"\] is not a Tensor/);
    const d = tensor([1]);
    d.dispose();
    expect(() => writeSafetensorsSync({ d })).toThrow(/disposed/);
  });
});

// ---- malformed files --------------------------------------------------------------------------

/** Builds a file from a header object (or raw header text) and a data buffer. */
function build(header: unknown, data: Uint8Array | number, lengthOverride?: number | bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

const f32 = (shape: number[], begin: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)],
});

describe('readSafetensors: malformed input gives a clear SafetensorsError', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /0 bytes long/],
    ['7 bytes', new Uint8Array(7), /7 bytes long/],
    ['header length 0', build('', 0), /header length is 0/],
    ['header length past the end', build('{}', 0, 100), /header length 100 runs past the end/],
    ['header length 2^40', build('{}', 0, 2n ** 40n), /exceeds the limit/],
    ['header length 2^64-1', build('{}', 0, 2n ** 64n - 1n), /exceeds the limit/],
    ['not UTF-8', build('{"\xff"}', 0).map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    ['not starting with {', build(' {}', 0), /starting with '\{'/],
    ['bad JSON', build('{"a": {"dtype": "F32",}}', 0), /not valid JSON/],
    ['trailing JSON', build('{} {}', 0), /not valid JSON.*after/],
    ['JSON array', build('[1]', 0), /starting with '\{'/],
    ['deep nesting', build(`{"a":${'['.repeat(100_000)}`, 0), /deeper than/],
    [
      'duplicate keys',
      build(`{"a":${JSON.stringify(f32([1], 0))},"a":${JSON.stringify(f32([1], 4))}}`, 8),
      /duplicate key "a"/,
    ],
    ['entry not an object', build({ a: 5 }, 0), /tensor "a": expected an object/],
    ['missing dtype', build({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a": missing "dtype"/],
    ['unknown dtype', build({ a: { ...f32([1], 0), dtype: 'Q7' } }, 4), /tensor "a": unknown dtype "Q7"/],
    ['unsupported dtype', build({ a: { ...f32([1], 0), dtype: 'F8_E4M3' } }, 4), /F8_E4M3 is not supported/],
    ['negative dim', build({ a: { ...f32([1], 0), shape: [-1] } }, 4), /tensor "a": shape \[-1\]/],
    ['fractional dim', build({ a: { ...f32([1], 0), shape: [1.5] } }, 4), /tensor "a": shape \[1.5\]/],
    ['string dim', build({ a: { ...f32([1], 0), shape: ['1'] } }, 4), /tensor "a": shape \["1"\]/],
    [
      'huge shape',
      build({ a: { ...f32([1], 0), shape: [2 ** 30, 2 ** 30, 2 ** 30] } }, 4),
      /too many elements/,
    ],
    [
      'offsets not a pair',
      build({ a: { ...f32([1], 0), data_offsets: [0] } }, 4),
      /data_offsets must be \[begin, end\]/,
    ],
    ['negative offset', build({ a: { ...f32([1], 0), data_offsets: [-4, 0] } }, 4), /data_offsets must be/],
    ['reversed offsets', build({ a: { ...f32([0], 0), data_offsets: [4, 0] } }, 4), /end before they begin/],
    [
      'length != shape',
      build({ a: { ...f32([2], 0), data_offsets: [0, 4] } }, 4),
      /hold 4 bytes but shape \[2\] of F32 needs 8/,
    ],
    ['out of range', build({ a: f32([2], 0) }, 4), /run past the end of the data buffer \(4 bytes\)/],
    ['overlap', build({ a: f32([2], 0), b: f32([2], 4) }, 12), /overlap tensor/],
    ['gap', build({ a: f32([1], 0), b: f32([1], 8) }, 12), /gap of 4 bytes/],
    ['gap at start', build({ a: f32([1], 4) }, 8), /gap of 4 bytes after the header/],
    ['trailing bytes', build({ a: f32([1], 0) }, 8), /4 trailing bytes/],
    ['metadata not strings', build({ __metadata__: { n: 1 } }, 0), /__metadata__\["n"\] must be a string/],
    ['metadata an array', build({ __metadata__: ['x'] }, 0), /__metadata__ must be an object/],
    [
      'truncated data',
      fixture('dtypes.safetensors').subarray(0, 1000),
      /past the end of the data buffer|trailing/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const before = liveTensors();
      let err: unknown;
      try {
        readSafetensorsSync(bytes, {}, 'bad.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message).toMatch(/^readSafetensors\(bad\.safetensors\): /);
      expect((err as Error).message).toMatch(message);
      expect(liveTensors()).toBe(before);
    });
  }

  it('accepts the valid corner cases the spec allows: no tensors, empty tensors, scalars, null metadata', () => {
    expect(Object.keys(readSafetensorsSync(build('{}', 0)).tensors)).toEqual([]);
    const r = readSafetensorsSync(
      build(
        { __metadata__: null, e: { dtype: 'F32', shape: [0, 5], data_offsets: [0, 0] }, s: f32([], 0) },
        4,
      ),
    );
    expect(r.tensors.e.shape).toEqual([0, 5]);
    expect(r.tensors.s.shape).toEqual([]);
    expect(r.tensors.s.itemSync()).toBe(0);
  });
});

// ---- seeded fuzzing --------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG independent of the code under test. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Independent decoder: the values a tensor stored with `dtype` at `off` must have. */
function decodeRef(dtype: string, dv: DataView, off: number, n: number): number[] {
  const out: number[] = [];
  const tmp = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32':
        out.push(dv.getFloat32(off + 4 * i, true));
        break;
      case 'F64':
        out.push(Math.fround(dv.getFloat64(off + 8 * i, true)));
        break;
      case 'F16':
        out.push(halfToNumber(dv.getUint16(off + 2 * i, true)));
        break;
      case 'BF16':
        tmp.setUint32(0, dv.getUint16(off + 2 * i, true) * 65536);
        out.push(tmp.getFloat32(0));
        break;
      case 'I64':
      case 'U64':
        out.push(
          Number(dtype === 'I64' ? dv.getBigInt64(off + 8 * i, true) : dv.getBigUint64(off + 8 * i, true)),
        );
        break;
      case 'I32':
        out.push(dv.getInt32(off + 4 * i, true));
        break;
      case 'U32':
        out.push(dv.getUint32(off + 4 * i, true));
        break;
      case 'I16':
        out.push(dv.getInt16(off + 2 * i, true));
        break;
      case 'U16':
        out.push(dv.getUint16(off + 2 * i, true));
        break;
      case 'I8':
        out.push(dv.getInt8(off + i));
        break;
      case 'U8':
        out.push(dv.getUint8(off + i));
        break;
      case 'BOOL':
        out.push(dv.getUint8(off + i) ? 1 : 0);
        break;
      default:
        throw new Error(`decodeRef: ${dtype}`);
    }
  }
  return out;
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(r() * n);
  const headerLen = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
  const data = base.subarray(8 + headerLen);
  const rebuild = (text: string, d: Uint8Array = data) => build(text, d);
  const kind = pick(12);
  switch (kind) {
    case 0: // truncation
      return base.slice(0, pick(base.length));
    case 1: {
      // byte flip in the length field
      const out = base.slice();
      out[pick(8)] ^= 1 << pick(8);
      return out;
    }
    case 2: {
      // byte flip in the header
      const out = base.slice();
      out[8 + pick(headerLen)] ^= 1 << pick(8);
      return out;
    }
    case 3: {
      // a JSON-significant character written into the header
      const out = base.slice();
      out[8 + pick(headerLen)] = '{}[]:,"-0129e.  '.charCodeAt(pick(16));
      return out;
    }
    case 4:
    case 5: {
      // offset edits
      const h = JSON.parse(headerText);
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      if (!names.length) return base.slice(0, 4);
      const e = h[names[pick(names.length)]];
      const which = pick(2);
      const edits = [
        () => (e.data_offsets[which] += 1 + pick(8)),
        () => (e.data_offsets[which] -= 1 + pick(8)),
        () => (e.data_offsets = [e.data_offsets[1], e.data_offsets[0]]),
        () => (e.data_offsets[which] = 2 ** 53 + pick(3)),
        () => (e.data_offsets[which] = -1),
        () => (e.data_offsets[which] = 1.5),
        () => (e.data_offsets = [0, 0]),
        () => (e.data_offsets = [e.data_offsets[0]]),
        () => (e.data_offsets[which] = String(e.data_offsets[which])),
      ];
      edits[pick(edits.length)]();
      return rebuild(JSON.stringify(h));
    }
    case 6: {
      // shape edits
      const h = JSON.parse(headerText);
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      if (!names.length) return base.slice(0, 4);
      const e = h[names[pick(names.length)]];
      const edits = [
        () => e.shape.push(1),
        () => e.shape.push(2),
        () => e.shape.reverse(),
        () => (e.shape = []),
        () => (e.shape = [-1 * (1 + pick(3))]),
        () => (e.shape = [0.5]),
        () => (e.shape = [2 ** 31, 2 ** 31, 2 ** 31]),
        () => (e.shape = 'x'),
        () => {
          if (e.shape.length) e.shape[0] *= 2;
        },
      ];
      edits[pick(edits.length)]();
      return rebuild(JSON.stringify(h));
    }
    case 7: {
      // dtype edits
      const h = JSON.parse(headerText);
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      if (!names.length) return base.slice(0, 4);
      const all = [
        'F32',
        'F16',
        'BF16',
        'F64',
        'I8',
        'I16',
        'I32',
        'I64',
        'U8',
        'U16',
        'U32',
        'U64',
        'BOOL',
        'F8_E5M2',
        'f32',
        '',
        7,
      ];
      h[names[pick(names.length)]].dtype = all[pick(all.length)];
      return rebuild(JSON.stringify(h));
    }
    case 8: {
      // JSON structure edits
      const h = JSON.parse(headerText);
      const names = Object.keys(h);
      const name = names.length ? names[pick(names.length)] : 'x';
      const edits = [
        () => delete h[name],
        () => (h[name] = null),
        () => (h[name] = [1, 2]),
        () =>
          h[name] &&
          typeof h[name] === 'object' &&
          delete h[name][['dtype', 'shape', 'data_offsets'][pick(3)]],
        () => (h.__metadata__ = { a: pick(2) ? 'b' : 3 }),
        () => (h.__metadata__ = 'str'),
        () => (h[`${name}2`] = h[name]),
      ];
      edits[pick(edits.length)]();
      let text = JSON.stringify(h);
      if (pick(4) === 0 && names.length) text = text.replace('{', `{"${name}":{},`); // duplicate key
      return rebuild(text);
    }
    case 9: {
      // header length edits
      const out = base.slice();
      const dv = new DataView(out.buffer);
      const choices = [
        headerLen + 1,
        headerLen - 1,
        headerLen + 8,
        0,
        2 ** 32 + headerLen,
        99_999_999,
        base.length,
      ];
      dv.setBigUint64(0, BigInt(Math.max(0, choices[pick(choices.length)])), true);
      return out;
    }
    case 10: {
      // data edits: append or drop bytes
      const extra = 1 + pick(16);
      if (pick(2)) {
        const out = new Uint8Array(base.length + extra);
        out.set(base);
        return out;
      }
      return base.slice(0, Math.max(0, base.length - extra));
    }
    default: {
      // random bytes anywhere (data values may change; the file stays consistent)
      const out = base.slice();
      for (let i = 0; i < 1 + pick(4); i++) out[pick(out.length)] = pick(256);
      return out;
    }
  }
}

describe('readSafetensors: seeded malformed files', () => {
  it('1,200 mutations of valid files each parse consistently with their header or throw a SafetensorsError', () => {
    const bases = [
      fixture('dtypes.safetensors'),
      fixture('unaligned.safetensors'),
      writeSafetensorsSync(
        { a: tensor([1, 2, 3, 4], [2, 2]), b: tensor([7, 8], [2], 'int32'), c: tensor([true, false]) },
        { format: 'pt' },
        { dtypes: { b: 'I64' } },
      ),
      writeSafetensorsSync({ x: tensor([0.5, 0.25], [2], 'float16'), y: tensor([1e-3, 2e-3, 3e-3]) }, null, {
        dtypes: { y: 'BF16' },
      }),
    ];
    const before = liveTensors();
    let parsed = 0;
    let rejected = 0;
    const kinds = new Set<string>();
    for (let seed = 0; seed < 1200; seed++) {
      const r = rng(seed * 7919 + 17);
      const base = bases[seed % bases.length];
      const file = mutate(base, r);
      let result: ReturnType<typeof readSafetensorsSync> | undefined;
      try {
        result = readSafetensorsSync(file, {}, `fuzz-${seed}`);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) {
          throw new Error(
            `seed ${seed}: ${(e as Error)?.constructor?.name} escaped: ${(e as Error)?.message}`,
          );
        }
        expect((e as Error).message.startsWith(`readSafetensors(fuzz-${seed}): `)).toBe(true);
        kinds.add(
          (e as Error).message
            .replace(/^[^:]*: /, '')
            .replace(/"[^"]*"/g, '')
            .replace(/[0-9[\]].*$/, ''),
        );
        rejected++;
        continue;
      }
      // It parsed: every tensor must match what the header (read independently) describes.
      parsed++;
      const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
      const n = Number(dv.getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      expect(Object.keys(result.tensors).sort(), `seed ${seed}`).toEqual(names.sort());
      for (const name of names) {
        const { dtype, shape, data_offsets } = header[name];
        const t = result.tensors[name];
        expect(t.shape, `seed ${seed} ${name}`).toEqual(shape);
        const count = shape.reduce((a: number, b: number) => a * b, 1);
        const want = decodeRef(dtype, dv, 8 + n + data_offsets[0], count);
        expect(Array.from(t.dataSync()), `seed ${seed} ${name}`).toEqual(want);
      }
      disposeAll(result.tensors);
    }
    expect(parsed + rejected).toBe(1200);
    expect(rejected).toBeGreaterThan(600);
    expect(parsed).toBeGreaterThan(50);
    expect(kinds.size).toBeGreaterThan(10);
    expect(liveTensors()).toBe(before);
  });
});
