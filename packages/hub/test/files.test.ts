import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type FileSource,
  fileBytes,
  openFiles,
  parseJsonObject,
  readJson,
  readText,
  readWeightFiles,
} from '../src/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

// One checkpoint-like folder, served three ways (folder, file: URL, http) plus a map of files.
const dir = mkdtempSync(join(tmpdir(), 'attnkit-hub-'));
const FILES: Record<string, string> = {
  'config.json': '{"model_type":"gpt2","n_embd":8}',
  'unet/config.json': '{"in_channels":4}',
  'bad.json': '{"a":',
  'list.json': '[1,2]',
  'nan.json': '{"x": NaN, "y": -Infinity, "s": "NaN stays"}',
};
for (const [name, text] of Object.entries(FILES)) {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
}

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    if (name === 'boom') {
      res.writeHead(500, 'Internal Server Error').end();
      return;
    }
    if (!(name in FILES)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(req.method === 'HEAD' ? undefined : FILES[name]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const sources: [string, () => FileSource][] = [
  ['a folder path', () => openFiles(dir, 'load')],
  ['a file: URL', () => openFiles(pathToFileURL(dir), 'load')],
  ['an http URL base', () => openFiles(base, 'load')],
  [
    'a record of files',
    () => openFiles(Object.fromEntries(Object.entries(FILES).map(([k, v]) => [k, enc(v)])), 'load'),
  ],
  [
    'a Map of Blobs, ArrayBuffers and Responses',
    () =>
      openFiles(
        new Map<string, Blob | ArrayBuffer | Response>([
          ['config.json', new Blob([FILES['config.json']])],
          ['unet/config.json', enc(FILES['unet/config.json']).buffer as ArrayBuffer],
          ['bad.json', new Response(FILES['bad.json'])],
          ['list.json', new Blob([FILES['list.json']])],
          ['nan.json', new Blob([FILES['nan.json']])],
        ]),
        'load',
      ),
  ],
];

describe.each(sources)('openFiles(%s)', (_, open) => {
  it('reads files by name, null for absent ones, and sub-folders', async () => {
    const src = open();
    expect(dec(await src.read('config.json'))).toBe(FILES['config.json']);
    expect(await src.read('absent.json')).toBeNull();
    expect(await src.has('config.json')).toBe(true);
    expect(await src.has('absent.json')).toBe(false);
    const unet = src.sub('unet');
    expect(dec(await unet.read('config.json'))).toBe(FILES['unet/config.json']);
    expect(await readJson(unet, 'config.json', 'load')).toEqual({ in_channels: 4 });
  });

  it('parses JSON objects with errors naming the file and the source', async () => {
    const src = open();
    expect(await readJson(src, 'config.json', 'load')).toEqual({ model_type: 'gpt2', n_embd: 8 });
    await expect(readJson(src, 'bad.json', 'load')).rejects.toThrow(
      /^load\(.+\): bad\.json is not valid JSON/,
    );
    await expect(readJson(src, 'list.json', 'load')).rejects.toThrow(
      /list\.json must hold a JSON object, got an array of length 2/,
    );
    await expect(readJson(src, 'absent.json', 'load')).rejects.toThrow(/absent\.json is missing/);
    expect(await readJson(src, 'absent.json', 'load', { optional: true })).toBeNull();
    expect(await readText(src, 'absent.json', 'load', { optional: true })).toBeNull();
    // Python's json.dump writes NaN / Infinity: read as null, strings untouched
    expect(await readJson(src, 'nan.json', 'load')).toEqual({ x: null, y: null, s: 'NaN stays' });
  });

  it('refuses names that climb out of the source', async () => {
    await expect(open().read('../etc/passwd')).rejects.toThrow(/without '\.\.'/);
  });
});

describe('openFiles errors', () => {
  it('names a missing folder and a file given as a folder', async () => {
    await expect(openFiles(join(dir, 'nope'), 'load').read('config.json')).rejects.toThrow(
      /load: the folder '.*nope' does not exist/,
    );
    await expect(openFiles(join(dir, 'config.json'), 'load').read('config.json')).rejects.toThrow(
      /is not a folder/,
    );
  });

  it('reports an HTTP failure other than 404 with its status', async () => {
    await expect(openFiles(base, 'load').read('boom')).rejects.toThrow(/HTTP 500/);
  });

  it('refuses sources of the wrong kind, naming the function', () => {
    expect(() => openFiles(42 as never, 'loadPretrained')).toThrow(
      /^loadPretrained: 'source' must be .* got number 42/,
    );
    expect(() => openFiles('' as never, 'loadPretrained')).toThrow(TypeError);
    expect(() => openFiles(new Uint8Array(3) as never, 'loadPretrained')).toThrow(/got one file/);
  });

  it('names a map entry that is not a file', async () => {
    await expect(openFiles({ 'config.json': 5 as never }, 'load').read('config.json')).rejects.toThrow(
      /load: cannot read 'config\.json': .*got number 5/,
    );
    await expect(fileBytes(new Response('x', { status: 403 }), 'f')).rejects.toThrow(/HTTP status 403/);
  });

  it('parseJsonObject names the function and file', () => {
    expect(() => parseJsonObject('{', 'config.json', 'fromConfigJson')).toThrow(ConfigError);
    expect(() => parseJsonObject('null', 'config.json', 'f')).toThrow(
      /f: config.json must hold a JSON object, got null/,
    );
  });
});

describe('readWeightFiles', () => {
  // A fake parser: each "file" is JSON { name: value }; values are disposable records.
  const made: { name: string; disposed: boolean }[] = [];
  const parse = (bytes: Uint8Array) => {
    const rec = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, number>;
    const out: Record<string, { v: number; dispose(): void }> = {};
    for (const [k, v] of Object.entries(rec)) {
      const item = { name: k, disposed: false };
      made.push(item);
      out[k] = { v, dispose: () => (item.disposed = true) };
    }
    return out;
  };
  const files = (o: Record<string, unknown>) =>
    openFiles(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, enc(JSON.stringify(v))])), 'load');
  const values = (r: Record<string, { v: number }>) =>
    Object.fromEntries(Object.entries(r).map(([k, t]) => [k, t.v]));

  it('reads the single file when present', async () => {
    const src = files({ 'model.safetensors': { a: 1 }, 'model.safetensors.index.json': { weight_map: {} } });
    expect(values(await readWeightFiles(src, 'load', parse))).toEqual({ a: 1 });
  });

  it('merges the shards of the index; a tensor stored twice keeps its first copy', async () => {
    const src = files({
      'model.safetensors.index.json': { weight_map: { a: 's1', b: 's2', c: 's2' } },
      s1: { a: 1, b: 9 },
      s2: { b: 2, c: 3 },
    });
    expect(values(await readWeightFiles(src, 'load', parse))).toEqual({ a: 1, b: 9, c: 3 });
    expect(made.filter((m) => m.name === 'b').map((m) => m.disposed)).toEqual([false, true]);
  });

  it('uses the later names (diffusers) and their indexes', async () => {
    const names = ['diffusion_pytorch_model.safetensors', 'model.safetensors'];
    expect(
      values(await readWeightFiles(files({ 'model.safetensors': { z: 5 } }), 'load', parse, { names })),
    ).toEqual({ z: 5 });
    const src = files({
      'diffusion_pytorch_model.safetensors.index.json': { weight_map: { q: 'p' } },
      p: { q: 4 },
    });
    expect(values(await readWeightFiles(src, 'load', parse, { names }))).toEqual({ q: 4 });
  });

  it('names a missing shard, tensors missing from their shards and a missing weights file; frees what it read', async () => {
    made.length = 0;
    await expect(
      readWeightFiles(
        files({ 'model.safetensors.index.json': { weight_map: { a: 's1', b: 's2' } }, s1: { a: 1 } }),
        'load',
        parse,
      ),
    ).rejects.toThrow(/the shard 's2' listed in model\.safetensors\.index\.json is missing/);
    expect(made.every((m) => m.disposed)).toBe(true);
    await expect(
      readWeightFiles(
        files({ 'model.safetensors.index.json': { weight_map: { a: 's1', x: 's1' } }, s1: { a: 1 } }),
        'load',
        parse,
      ),
    ).rejects.toThrow(/tensors listed in model\.safetensors\.index\.json are not in their shards: x/);
    await expect(
      readWeightFiles(files({ 'model.safetensors.index.json': { nope: 1 } }), 'load', parse),
    ).rejects.toThrow(/has no "weight_map" object/);
    await expect(readWeightFiles(files({}), 'load', parse)).rejects.toThrow(
      /found neither model\.safetensors nor model\.safetensors\.index\.json/,
    );
  });
});
