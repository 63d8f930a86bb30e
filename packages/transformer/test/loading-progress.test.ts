// loadPretrained reports progress: transformers.js' progress_callback events through onProgress,
// and a progress line on a stream (progressBar), for folders and for downloads.
import '@attnkit/backend-cpu';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LoadProgress, loadPretrained } from '../src/index.js';
import { loadFixture } from './helpers.js';

describe('loadPretrained progress', () => {
  it('streams download progress per file, then done and ready', async () => {
    const fx = loadFixture('gpt2-tiny');
    const weights = readFileSync(join(fx.dir, 'model.safetensors'));
    const config = readFileSync(join(fx.dir, 'config.json'));
    const server = createServer((req, res) => {
      const body =
        req.url === '/m/config.json' ? config : req.url === '/m/model.safetensors' ? weights : null;
      if (!body) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': body.byteLength });
      // In chunks, so the download reports more than one progress event.
      const step = Math.ceil(body.byteLength / 4);
      for (let o = 0; o < body.byteLength; o += step) res.write(body.subarray(o, o + step));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const events: LoadProgress[] = [];
      const lines: string[] = [];
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`;
      const model = await loadPretrained(url, {
        onProgress: (e) => events.push(e),
        progressBar: { write: (s) => lines.push(s), isTTY: false },
      });
      const of = (file: string) => events.filter((e) => e.file === file).map((e) => e.status);
      expect(of('config.json')).toEqual(expect.arrayContaining(['initiate', 'done']));
      const w = events.filter((e) => e.file === 'model.safetensors');
      expect(w[0].status).toBe('initiate');
      const progress = w.filter((e) => e.status === 'progress');
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.every((e) => e.total === weights.byteLength)).toBe(true);
      expect(progress.at(-1)!.loaded).toBe(weights.byteLength);
      expect(progress.at(-1)!.progress).toBe(100);
      expect(w.at(-1)).toMatchObject({ status: 'done', loaded: weights.byteLength });
      expect(events.at(-1)).toMatchObject({ status: 'ready', model: 'GPT2LMHeadModel' });
      // Not a terminal: one line per file event (no per-chunk lines), ending with ready.
      expect(lines.some((l) => /progress/.test(l))).toBe(false);
      expect(lines.at(-1)).toMatch(/^loadPretrained .*: GPT2LMHeadModel ready\n$/);
      model.dispose();
    } finally {
      server.close();
    }
  });

  it('reports the files of a folder, and draws one updating line on a terminal', async () => {
    const fx = loadFixture('gpt2-tiny');
    const events: LoadProgress[] = [];
    const out: string[] = [];
    const model = await loadPretrained(fx.dir, {
      onProgress: (e) => events.push(e),
      progressBar: { write: (s) => out.push(s), isTTY: true },
    });
    const done = events.filter((e) => e.status === 'done');
    // every file the folder has and the loader reads (generation_config.json is optional)
    const read = ['config.json', 'generation_config.json', 'model.safetensors'].filter((f) =>
      existsSync(join(fx.dir, f)),
    );
    expect(done.map((e) => e.file)).toEqual(read);
    for (const e of done) expect(e.loaded).toBe(statSync(join(fx.dir, e.file as string)).size);
    expect(out.every((s) => s.startsWith('\r'))).toBe(true);
    expect(out.at(-1)).toMatch(/GPT2LMHeadModel ready\n$/);
    model.dispose();
  });
});
