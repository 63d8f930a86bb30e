import '@attnkit/backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync, crc32 as zlibCrc32 } from 'node:zlib';
import { Generator, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  adler32,
  crc32,
  DDIMScheduler,
  DDPMPipeline,
  DDPMScheduler,
  encodePng,
  encodePngSync,
  makeImageGrid,
  type RgbaImage,
  savePng,
  tensorToRgba,
  UNet2DModel,
} from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/models/', import.meta.url));

/** Reads a PNG by the specification (independent of the encoder): chunks, CRCs, zlib, unfiltering. */
function decodePng(bytes: Uint8Array): { width: number; height: number; data: Uint8Array; types: string[] } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (o < bytes.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    types.push(type);
    const body = bytes.subarray(o + 8, o + 8 + len);
    expect(dv.getUint32(o + 8 + len), `${type} CRC`).toBe(zlibCrc32(bytes.subarray(o + 4, o + 8 + len)));
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8);
      height = dv.getUint32(o + 12);
      expect(Array.from(body.subarray(8))).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(body);
    o += 12 + len;
  }
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * 4;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= 4 ? data[y * stride + i - 4] : 0;
      const b = y > 0 ? data[(y - 1) * stride + i] : 0;
      const c = i >= 4 && y > 0 ? data[(y - 1) * stride + i - 4] : 0;
      let v: number;
      if (f === 0) v = x;
      else if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      data[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, data, types };
}

function testImage(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 5) * 11) & 0xff;
  return { width: w, height: h, data };
}

describe('PNG', () => {
  it('crc32 and adler32 match zlib and the Adler-32 definition', () => {
    const b = new TextEncoder().encode('The quick brown fox jumps over the lazy dog');
    expect(crc32(b)).toBe(zlibCrc32(b));
    expect(crc32(b)).toBe(0x414fa339);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  it('encodePng round-trips through an independent decoder (zlib inflate, every filter handled)', async () => {
    for (const [w, h] of [
      [1, 1],
      [7, 5],
      [64, 40],
    ]) {
      const im = testImage(w, h);
      const png = await encodePng(im);
      const d = decodePng(png);
      expect(d.types).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect([d.width, d.height]).toEqual([w, h]);
      expect(Array.from(d.data)).toEqual(Array.from(im.data));
    }
  });

  it('encodePngSync (stored blocks, > 64 KiB so several blocks) decodes to the same pixels', () => {
    const im = testImage(200, 100); // 80 100 bytes of scanlines
    const png = encodePngSync(im);
    const d = decodePng(png);
    expect(Array.from(d.data)).toEqual(Array.from(im.data));
    expect(() => encodePngSync({ width: 2, height: 2, data: new Uint8ClampedArray(3) })).toThrow(
      /encodePngSync: image.data must hold width × height × 4 = 16 bytes, got 3/,
    );
  });

  it('savePng writes a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attnkit-png-'));
    try {
      const im = testImage(3, 2);
      await savePng(join(dir, 'a.png'), im);
      const d = decodePng(new Uint8Array(readFileSync(join(dir, 'a.png'))));
      expect(Array.from(d.data)).toEqual(Array.from(im.data));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('tensorToRgba', () => {
  it('maps [-1, 1] to bytes as diffusers (x/2 + 0.5, clamp, round(·255)); gray and RGB', async () => {
    const gray = tensor([-1, 0, 1, 2, -0.5, 0.25], [1, 1, 2, 3]);
    const [g] = await tensorToRgba(gray);
    expect([g.width, g.height]).toEqual([3, 2]);
    const expected = [0, 128, 255, 255, 64, 159]; // round(255·(x/2+0.5)) clamped: 0.5→127.5→128, 0.25→0.625→159.4→159
    expect(Array.from(g.data.filter((_, i) => i % 4 === 0))).toEqual(expected);
    expect(Array.from(g.data.filter((_, i) => i % 4 === 3))).toEqual([255, 255, 255, 255, 255, 255]);
    const c3 = tensor([1, -1, 0], [1, 3, 1, 1]);
    const [im] = await tensorToRgba(c3);
    expect(Array.from(im.data)).toEqual([255, 0, 128, 255]);
    const [la] = await tensorToRgba(tensor([0, -1], [1, 2, 1, 1]));
    expect(Array.from(la.data)).toEqual([128, 128, 128, 0]);
    await expect(tensorToRgba(tensor([1, 2, 3, 4, 5], [1, 5, 1, 1]))).rejects.toThrow(
      /expected images \[B, C, H, W\] with C = 1, 2, 3 or 4/,
    );
    const grid = makeImageGrid([g, g, g], 2);
    expect([grid.width, grid.height]).toEqual([6, 4]);
  });
});

describe('DDPMPipeline', () => {
  const tinyUnet = async () => UNet2DModel.fromPretrained(`${fixtures}unet2d_tiny`);

  it('a seeded run is deterministic, calls onStep every step, and returns RGBA images', async () => {
    const unet = await tinyUnet();
    const run = async (seed: number) => {
      const steps: number[] = [];
      const pipe = new DDPMPipeline(unet, new DDPMScheduler({ numTrainTimesteps: 1000 }));
      const out = await pipe.generate({
        batchSize: 2,
        generator: new Generator(seed),
        numInferenceSteps: 8,
        onStep: async (info) => {
          steps.push(info.timestep);
          expect(info.sample.shape).toEqual([2, 2, 8, 8]);
          if (info.step === info.numSteps - 1)
            expect((await tensorToRgba(info.predOriginalSample)).length).toBe(2);
        },
      });
      const values = Array.from(out.sample.dataSync());
      out.sample.dispose();
      return { steps, values, images: out.images };
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.steps).toEqual([875, 750, 625, 500, 375, 250, 125, 0]);
    expect(a.values).toEqual(b.values);
    expect(a.values).not.toEqual(c.values);
    expect(a.images.length).toBe(2);
    expect(a.images[0].data.length).toBe(8 * 8 * 4);
    expect(Array.from(a.images[0].data)).toEqual(Array.from(b.images[0].data));
    unet.dispose();
  });

  it('holds memory flat over a 50-step DDIM sampling loop', async () => {
    const unet = await tinyUnet();
    const pipe = new DDPMPipeline(unet, new DDIMScheduler());
    const counts: number[] = [];
    const out = await pipe.generate({
      generator: new Generator(0),
      numInferenceSteps: 50,
      eta: 0.5,
      onStep: () => {
        counts.push(memory().cpu.numTensors);
      },
    });
    expect(counts.length).toBe(50);
    expect(counts[49]).toBe(counts[1]);
    out.sample.dispose();
    unet.dispose();
  });

  it('loads a diffusers pipeline folder (unet/ + scheduler/) and validates options', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attnkit-ddpm-'));
    const { cpSync, mkdirSync, writeFileSync } = await import('node:fs');
    try {
      cpSync(`${fixtures}unet2d_tiny`, join(dir, 'unet'), { recursive: true });
      mkdirSync(join(dir, 'scheduler'));
      writeFileSync(
        join(dir, 'scheduler', 'scheduler_config.json'),
        JSON.stringify({
          _class_name: 'DDIMScheduler',
          num_train_timesteps: 1000,
          beta_schedule: 'linear',
          clip_sample: true,
        }),
      );
      const pipe = await DDPMPipeline.fromPretrained(dir);
      expect(pipe.scheduler.className).toBe('DDIMScheduler');
      const out = await pipe.generate({ numInferenceSteps: 2, generator: new Generator(1) });
      expect(out.sample.shape).toEqual([1, 2, 8, 8]);
      out.sample.dispose();
      await expect(pipe.generate({ batchSize: 0 })).rejects.toThrow(
        /DDPMPipeline.generate: batchSize must be a positive integer, got 0/,
      );
      pipe.unet.dispose();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

export type { Tensor };
