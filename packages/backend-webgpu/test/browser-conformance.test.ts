import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

// The conformance suite in headless Chromium: the suite and the backend are bundled for the browser
// with vite, served from a localhost page (WebGPU needs a secure context) and run there through
// navigator.gpu. Chromium comes from the system (Debian's chromium package); on machines without a
// GPU it runs WebGPU on its software Vulkan adapter.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '../../..');

describe('webgpu in headless Chromium', () => {
  it('passes the conformance suite on navigator.gpu, from a bundle free of the Node binding', async () => {
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'attnkit-webgpu-browser-'));
    let server: Server | null = null;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--enable-unsafe-webgpu'],
    });
    try {
      await build({
        configFile: false,
        logLevel: 'warn',
        resolve: {
          alias: [
            { find: /^@attnkit\/([a-z0-9-]+)$/, replacement: `${root}/packages/$1/src/index.ts` },
            {
              find: /^@attnkit\/([a-z0-9-]+)\/([a-z0-9-]+)$/,
              replacement: `${root}/packages/$1/src/$2/index.ts`,
            },
          ],
        },
        build: {
          outDir: out,
          emptyOutDir: true,
          minify: false,
          target: 'es2022',
          rollupOptions: {
            input: join(here, 'browser/entry.ts'),
            output: { entryFileNames: 'entry.js', inlineDynamicImports: true },
          },
        },
      });
      const files = readdirSync(out);
      const bundle = readFileSync(join(out, 'entry.js'), 'utf8');
      // The browser build must not pull in the Node package (`webgpu`, Dawn's native binding).
      expect(files).toEqual(['entry.js']);
      expect(bundle).not.toMatch(/dawn\.node/);
      const page = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>';
      const srv = createServer((req, res) => {
        if (req.url === '/entry.js') {
          res.setHeader('content-type', 'text/javascript');
          res.end(bundle);
        } else {
          res.setHeader('content-type', 'text/html');
          res.end(page);
        }
      });
      server = srv;
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      const { port } = srv.address() as AddressInfo;
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.waitForFunction(
        () => (window as { __attnkitResults?: unknown }).__attnkitResults !== undefined,
        null,
        {
          timeout: 560_000,
          polling: 500,
        },
      );
      const results = (await tab.evaluate(
        () => (window as unknown as { __attnkitResults: unknown }).__attnkitResults,
      )) as {
        adapter: string;
        total: number;
        failures: string[];
        error?: string;
      };
      expect(results.error).toBeUndefined();
      expect(results.adapter.length).toBeGreaterThan(0);
      expect(results.total).toBeGreaterThan(100);
      expect(results.failures).toEqual([]);
    } finally {
      await browser.close();
      server?.close();
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
