// Seeded fuzzing of readSafetensors against headers that claim more than the file holds (issue 22:
// "never an allocation driven by a header's claimed size beyond the file's real size"). 1,000 small
// valid files get their header rewritten with inflated shapes, offsets and header lengths, or their
// bytes truncated; every read must end in a SafetensorsError naming the source or in tensors whose
// bytes fit in the file, and the process may not grow its ArrayBuffer memory by anything near the
// claimed sizes (up to 2^60 bytes). The other rules of the format are fuzzed in safetensors.test.ts.
import './reference-backend.js';
import { memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { readSafetensorsSync, SafetensorsError, writeSafetensorsSync } from '@attnkit/tensor-core/io';
import { describe, expect, it } from 'vitest';

/** mulberry32, independent of the code under test. */
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

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, BOOL: 1, U8: 1, F64: 8 };
const HUGE = [2 ** 20, 2 ** 28, 2 ** 31, 2 ** 32 + 4, 2 ** 40, 2 ** 52, 2 ** 60];

function split(file: Uint8Array) {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  return { header, data: file.subarray(8 + n) };
}

function join(header: unknown, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** One mutation that inflates what the header claims (or shrinks what the file holds). */
function inflate(base: Uint8Array, r: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(r() * n);
  const { header, data } = split(base);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const e = header[names[pick(names.length)]];
  const huge = HUGE[pick(HUGE.length)];
  const bytes = BYTES[e.dtype] ?? 4;
  switch (pick(7)) {
    case 0: // a shape with a huge element count and offsets that agree with it
      e.shape = [huge];
      e.data_offsets = [e.data_offsets[0], e.data_offsets[0] + huge * bytes];
      return join(header, data);
    case 1: // a multi-dimensional huge shape whose product overflows 2^53
      e.shape = [huge, huge, 3];
      return join(header, data);
    case 2: // a huge end offset only
      e.data_offsets = [e.data_offsets[0], huge];
      return join(header, data);
    case 3: // both offsets huge (a far-away window of plausible length)
      e.data_offsets = [huge, huge + (e.data_offsets[1] - e.data_offsets[0])];
      return join(header, data);
    case 4: // a header length far beyond the file
      return join(header, data, BigInt(huge));
    case 5: {
      // the data section cut short: every claimed size now exceeds what is there
      return join(header, data.subarray(0, pick(data.length)));
    }
    default: {
      // a zero in the shape with huge offsets, or a huge dim next to a zero
      e.shape = pick(2) ? [0, huge] : [huge, 0];
      if (pick(2)) e.data_offsets = [e.data_offsets[0], huge];
      return join(header, data);
    }
  }
}

describe('readSafetensors: headers claiming more than the file holds', () => {
  it('1,000 seeded inflations end in a SafetensorsError or in-file tensors, without claimed-size allocations', () => {
    const bases = [
      writeSafetensorsSync({ a: tensor([1, 2, 3, 4], [2, 2]), b: tensor([5, 6], [2], 'int32') }),
      writeSafetensorsSync({ x: tensor([0.5, 0.25], [2], 'float16'), y: tensor([true, false, true]) }),
      writeSafetensorsSync(
        { w: tensor([1, 2, 3, 4, 5, 6], [3, 2]) },
        { format: 'pt' },
        { dtypes: { w: 'BF16' } },
      ),
    ];
    const liveBefore = memory().numTensors;
    const buffersBefore = process.memoryUsage().arrayBuffers;
    let peakGrowth = 0;
    let rejected = 0;
    let parsed = 0;
    for (let seed = 0; seed < 1000; seed++) {
      const r = rng(seed * 104729 + 3);
      const file = inflate(bases[seed % bases.length], r);
      let tensors: Record<string, Tensor> | undefined;
      try {
        tensors = readSafetensorsSync(file, {}, `claims-${seed}`).tensors;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) {
          throw new Error(
            `seed ${seed}: ${(e as Error)?.constructor?.name} escaped: ${(e as Error)?.message}`,
          );
        }
        expect((e as Error).message.startsWith(`readSafetensors(claims-${seed}): `)).toBe(true);
        rejected++;
      }
      if (tensors) {
        // Parsed (a zero-size tensor, say): what it holds must fit in the file's bytes, 4x at most
        // for 1-byte dtypes read as 4-byte values.
        let held = 0;
        for (const t of Object.values(tensors)) held += t.size * 4;
        expect(held, `seed ${seed}`).toBeLessThanOrEqual(4 * file.length);
        for (const t of Object.values(tensors)) t.dispose();
        parsed++;
      }
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().arrayBuffers - buffersBefore);
    }
    expect(rejected + parsed).toBe(1000);
    expect(rejected).toBeGreaterThan(900);
    // The smallest claim is 2^20 elements (4 MiB); the largest 2^60 bytes. Nothing of that size was
    // allocated: ArrayBuffer memory never grew by 64 MiB (the 1,000 small files themselves are ~100 KB).
    expect(peakGrowth).toBeLessThan(64 * 2 ** 20);
    expect(memory().numTensors).toBe(liveBefore);
  });
});
