/**
 * A PNG encoder written from the PNG specification (RFC 2083 / W3C PNG): 8-bit RGBA, no interlace,
 * per-row filter 'Sub', zlib stream from CompressionStream (browsers, Node ≥ 18) or node:zlib, with a
 * synchronous stored-blocks encoder that needs neither.
 */

import { nodeFiles, platform } from '@attnkit/tensor-core/platform';
import type { RgbaImage } from './rgba.js';

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

let crcTable: Uint32Array | null = null;
/** CRC-32 (ISO 3309, polynomial 0xEDB88320) as PNG chunks use. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Adler-32, the checksum that ends a zlib stream. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function checkImage(op: string, image: RgbaImage): void {
  const { width, height, data } = image ?? ({} as RgbaImage);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${op}: image width and height must be positive integers, got ${width}×${height}`);
  }
  if (!data || data.length !== width * height * 4) {
    throw new Error(
      `${op}: image.data must hold width × height × 4 = ${width * height * 4} bytes, got ${data?.length}`,
    );
  }
}

/** Scanlines with filter type 1 (Sub): each byte minus the byte 4 to its left. */
function filtered(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  const stride = width * 4;
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const s = y * stride;
    out[o] = 1;
    for (let i = 0; i < stride; i++) out[o + 1 + i] = (data[s + i] - (i >= 4 ? data[s + i - 4] : 0)) & 0xff;
  }
  return out;
}

/** A zlib stream of stored (uncompressed) deflate blocks. */
function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let k = 0; k < blocks; k++) {
    const start = k * 65535;
    const len = Math.min(65535, raw.length - start);
    out[o++] = k === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(raw.subarray(start, start + len), o);
    o += len;
  }
  const a = adler32(raw);
  out[o++] = a >>> 24;
  out[o++] = (a >>> 16) & 0xff;
  out[o++] = (a >>> 8) & 0xff;
  out[o++] = a & 0xff;
  return out;
}

async function zlibCompress(raw: Uint8Array): Promise<Uint8Array> {
  const CS = (
    globalThis as { CompressionStream?: new (f: string) => TransformStream<Uint8Array, Uint8Array> }
  ).CompressionStream;
  if (CS) {
    const stream = new Blob([raw as BlobPart]).stream().pipeThrough(new CS('deflate'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  if (platform === 'node') return nodeFiles('encodePng').deflate(raw);
  return zlibStored(raw);
}

function assemble(image: RgbaImage, idat: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, image.width);
  dv.setUint32(4, image.height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const chunks: [string, Uint8Array][] = [
    ['IHDR', ihdr],
    ['IDAT', idat],
    ['IEND', new Uint8Array(0)],
  ];
  const total = SIGNATURE.length + chunks.reduce((s, [, d]) => s + 12 + d.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  let o = SIGNATURE.length;
  for (const [type, data] of chunks) {
    view.setUint32(o, data.length);
    for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
    out.set(data, o + 8);
    view.setUint32(o + 8 + data.length, crc32(out, o + 4, o + 8 + data.length));
    o += 12 + data.length;
  }
  return out;
}

/**
 * Encodes an RGBA image as PNG bytes (deflate-compressed with the platform's zlib).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const [image] = await tensorToRgba(rand([1, 3, 16, 16]).mul(2).sub(1)); // [-1, 1] → RGBA
 * const png = await encodePng(image);
 * Array.from(png.subarray(1, 4), (c) => String.fromCharCode(c)).join(''); // => 'PNG'
 * await writeFile(join(tmpdir(), 'sample.png'), png);                       // Node
 * const url = URL.createObjectURL(await pngBlob(image)); // browser: a Blob of type image/png
 * ```
 */
export async function encodePng(image: RgbaImage): Promise<Uint8Array> {
  checkImage('encodePng', image);
  return assemble(image, await zlibCompress(filtered(image)));
}

/** Synchronous PNG encoding with stored (uncompressed) deflate blocks: larger files, no zlib needed. */
export function encodePngSync(image: RgbaImage): Uint8Array {
  checkImage('encodePngSync', image);
  return assemble(image, zlibStored(filtered(image)));
}

/** Writes an RGBA image as a PNG file (Node only). */
export async function savePng(path: string | URL, image: RgbaImage): Promise<void> {
  const bytes = await encodePng(image);
  await nodeFiles('savePng').writeFile(path, bytes);
}

/** A PNG `Blob` of the image (browsers; also Node ≥ 18), e.g. for `URL.createObjectURL`. */
export async function pngBlob(image: RgbaImage): Promise<Blob> {
  return new Blob([(await encodePng(image)) as BlobPart], { type: 'image/png' });
}
