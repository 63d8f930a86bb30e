// Smoke test of the demo web app in a real browser: build apps/demo with Vite (against the BUILT
// packages, as a user gets them), serve it with `vite preview` on a free localhost port, and drive
// Debian's headless Chromium through playwright-core (no browser download). Run after `pnpm build`
// (the root `test` script builds first).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const demo = join(root, 'apps/demo');
const CHROMIUM = '/usr/bin/chromium'; // Debian's package; no browser download

let outDir = '';
let server: PreviewServer | undefined;
let browser: Browser | undefined;
let page: Page;
let url = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `demo test: no Chromium at ${CHROMIUM}; install Debian's package (apt-get install -y chromium)`,
    );
  }
  outDir = mkdtempSync(join(tmpdir(), 'attnkit-demo-'));
  await build({ root: demo, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  // Port 0: the OS picks a free port; the server reports the one it got.
  server = await preview({
    root: demo,
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('demo test: vite preview has no TCP address');
  url = `http://127.0.0.1:${address.port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('demo app in headless Chromium', () => {
  it('renders the title and the tokenizer page first', async () => {
    await page.goto(url);
    await expect.poll(() => page.locator('#app-title').textContent()).toBe('attnkit');
    expect(await page.title()).toBe('attnkit demo');
    await page.waitForSelector('body[data-ready="tokenizer"]');
    expect(await page.locator('section#tokenizer h2').textContent()).toBe('Tokens');
    expect(await page.locator('nav a').allTextContents()).toEqual([
      'Tokens',
      'Tensors',
      'Attention',
      'Generation',
      'Diffusion',
    ]);
  });

  it('tokenizes typed text into coloured tokens with their ids', async () => {
    await page.selectOption('#tok-encoding', 'cl100k_base');
    await page.fill('#tok-input', 'hello world');
    // Reference ids: tiktoken / js-tiktoken 1.0.21, cl100k_base.encode('hello world').
    await expect
      .poll(() => page.locator('#tok-output .token .id').allTextContents())
      .toEqual(['15339', '1917']);
    expect(await page.locator('#tok-output .token .piece').allTextContents()).toEqual(['hello', '·world']);
    expect(await page.locator('#tok-stats').textContent()).toBe('2 tokens · 11 characters · 11 bytes');

    await page.fill('#tok-input', 'Attention is all you need.');
    // Reference: js-tiktoken 1.0.21, cl100k_base.
    await expect
      .poll(() => page.locator('#tok-output .token .id').allTextContents())
      .toEqual(['70429', '374', '682', '499', '1205', '13']);
  });

  it('shows a causal attention map whose first query attends only to itself', async () => {
    await page.click('nav a[data-page="attention"]');
    await page.waitForSelector('body[data-ready="attention"]');
    const rows = page.locator('#attention-map tr');
    expect(await rows.count()).toBe(7); // header + 6 queries
    const first = await rows.nth(1).locator('td').allTextContents();
    // Softmax over the one visible key is exactly 1; every later key is masked (empty cell).
    expect(first).toEqual(['1.00', '', '', '', '', '']);
    const last = (await rows.nth(6).locator('td').allTextContents()).map(Number);
    expect(last).toHaveLength(6);
    expect(last.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
  });

  it('raised no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
