// What the Chromium tests of the demo app share (demo-chromium, demo-views-chromium,
// demo-cfg-chromium and demo-whisper-chromium .test.ts): build apps/demo with Vite against the
// BUILT packages, as a user gets them (run after `pnpm build`; the root `test` script builds
// first), serve the build with `vite preview` on a free localhost port, and drive Debian's headless
// Chromium through playwright-core (no browser download). Every test gets a page of its own, and
// after every test the page must have logged no error and thrown nothing.
//
// A test file calls `useDemoApp(...)` once at its top level, then uses `page`, `url` and `browser`:
// ES module bindings that the hooks set, so they always name the current test's page.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

/** The repository root. */
export const root = fileURLToPath(new URL('..', import.meta.url));
const demo = join(root, 'apps/demo');
const CHROMIUM = '/usr/bin/chromium'; // Debian's package; no browser download
// Screenshots land here (git-ignored), for a person to look at.
const ARTIFACTS = join(root, 'tests/.artifacts');

/** The page of the current test: a new one for every test (see `useDemoApp`). */
export let page: Page;
/** Where the built app is served, e.g. `http://127.0.0.1:41234/`. */
export let url = '';
/** The Chromium every test of the file shares (a page or context of its own per test). */
export let browser: Browser;
/** The errors and console errors of the pages `watch`ed in the current test. */
export const pageErrors: string[] = [];

let outDir = '';
let server: PreviewServer | undefined;

/** How the test file wants Chromium and the build. */
export interface DemoAppOptions {
  /** Names the temporary build folder, `<tmp>/attnkit-<name>-XXXXXX`. */
  name: string;
  /** WebGPU on Chromium's software Vulkan adapter (SwiftShader) where the machine has no GPU. Default true. */
  webgpu?: boolean;
  /** More Chromium flags, after the common ones. */
  args?: string[];
}

/**
 * Registers the hooks of a demo test file: before all tests, builds the app, serves it and
 * launches Chromium; before each test, opens a fresh page (CI shuffles the order of the tests, and
 * a view keeps what the previous test typed: going to the same URL with another hash does not
 * reload the document); after each, checks that no watched page logged an error and closes the
 * page; after all, closes the browser and the server and removes the build.
 */
export function useDemoApp(options: DemoAppOptions): void {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `demo test: no Chromium at ${CHROMIUM}; install Debian's package (apt-get install -y chromium)`,
      );
    }
    outDir = mkdtempSync(join(tmpdir(), `attnkit-${options.name}-`));
    await build({ root: demo, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    ({ server, url } = await serve());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        ...(options.webgpu === false ? [] : ['--enable-unsafe-webgpu']),
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        ...(options.args ?? []),
      ],
    });
  }, 300_000);

  beforeEach(async () => {
    pageErrors.length = 0;
    page = await browser.newPage();
    watch(page);
  });

  // Whatever a test did, the page logged no error and threw nothing.
  afterEach(async () => {
    try {
      expect(pageErrors).toEqual([]);
    } finally {
      await page?.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });
}

/** Serves the built app on a free localhost port (port 0: the OS picks); returns the server and its URL. */
export async function serve(): Promise<{ server: PreviewServer; url: string }> {
  const s = await preview({
    root: demo,
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const address = s.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('demo test: vite preview has no TCP address');
  return { server: s, url: `http://127.0.0.1:${address.port}/` };
}

/** Collects the page's errors and console errors into `pageErrors`. */
export function watch(p: Page): void {
  p.on('pageerror', (err) => pageErrors.push(err.message));
  p.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
}

/** Saves a full-page screenshot of `p` (the current test's page by default) to tests/.artifacts/demo-<name>.png. */
export async function screenshot(name: string, p: Page = page): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: join(ARTIFACTS, `demo-${name}.png`), fullPage: true });
}
