// gpu.js on WebGL2 in headless Chromium (SwiftShader when there is no GPU): the whole backend
// conformance suite, with GLSL ES 3.00's documented precision (GLSL_ES_3_PRECISION), and a forward
// of the tiny GPT-2 fixture against its PyTorch logits (scripts/reference/transformer_gen_refs.py:
// float64 torch re-implementing transformers' GPT2LMHeadModel; 1e-3 relative, 1e-4 absolute, the
// GPU parity tolerance). Node only runs gpu.js' CPU mode; this is where its WebGL kernels are tested.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium'; // Debian's package; no browser download
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'packages/transformer/test/fixtures/gpt2-tiny');

describe('gpu.js (WebGL2) in headless Chromium', () => {
  it('passes the conformance suite and runs the tiny GPT-2 within 1e-3 of its PyTorch reference', async () => {
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'attnkit-gpujs-webgl2-'));
    let server: Server | null = null;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--ignore-gpu-blocklist', '--enable-unsafe-swiftshader'],
    });
    try {
      await build({
        configFile: false,
        logLevel: 'warn',
        resolve: {
          alias: [
            { find: /^@attnkit\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
            {
              find: /^@attnkit\/([a-z0-9-]+)\/([a-z0-9-]+)$/,
              replacement: `${root}packages/$1/src/$2/index.ts`,
            },
          ],
        },
        build: {
          outDir: out,
          emptyOutDir: true,
          minify: false,
          target: 'es2022',
          rollupOptions: {
            input: join(root, 'tests/browser/gpujs-webgl2-entry.ts'),
            output: { entryFileNames: 'entry.js', inlineDynamicImports: true },
          },
        },
      });
      const bundle = readFileSync(join(out, 'entry.js'), 'utf8');
      const page = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>';
      const srv = createServer((req, res) => {
        const url = req.url ?? '/';
        if (url === '/entry.js') {
          res.setHeader('content-type', 'text/javascript');
          res.end(bundle);
        } else if (url.startsWith('/gpt2-tiny/')) {
          const file = join(fixture, url.slice('/gpt2-tiny/'.length).replace(/[^a-z0-9._-]/gi, ''));
          if (existsSync(file)) res.end(readFileSync(file));
          else {
            res.statusCode = 404;
            res.end();
          }
        } else {
          res.setHeader('content-type', 'text/html');
          res.end(page);
        }
      });
      server = srv;
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      const { port } = srv.address() as AddressInfo;
      const tab = await browser.newPage();
      // Module scripts run long synchronous stretches: wait for the navigation only, not "load".
      await tab.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'commit' });
      await tab.waitForFunction(
        () => (window as { __attnkitResults?: unknown }).__attnkitResults !== undefined,
        null,
        { timeout: 560_000, polling: 1000 },
      );
      const results = (await tab.evaluate(
        () => (window as unknown as { __attnkitResults: unknown }).__attnkitResults,
      )) as {
        mode: string;
        total: number;
        failures: string[];
        gptWorst: number;
        gptElements: number;
        error?: string;
      };
      expect(results.error).toBeUndefined();
      expect(results.mode).toBe('webgl2');
      expect(results.total).toBeGreaterThan(400);
      expect(results.failures).toEqual([]);
      expect(results.gptElements).toBe(12 * 64);
      expect(results.gptWorst).toBeLessThanOrEqual(1);
    } finally {
      await browser.close();
      server?.close();
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
