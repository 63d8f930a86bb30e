// Smoke test of the demo web app in a real browser: build apps/demo with Vite (against the BUILT
// packages, as a user gets them), serve it with `vite preview` on a free localhost port, and drive
// Debian's headless Chromium through playwright-core (no browser download). Run after `pnpm build`
// (the root `test` script builds first).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

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

/**
 * Opens the app fresh (each test stands alone, in any order: CI shuffles them) and, unless it is
 * the first page, goes to `name` through the navigation bar.
 */
async function open(name: 'tokenizer' | 'attention' | 'generation' | 'diffusion'): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="tokenizer"]');
  if (name === 'tokenizer') return;
  await page.click(`nav a[data-page="${name}"]`);
  await page.waitForSelector(`body[data-ready="${name}"]`);
}

// Whatever a test did, the page logged no error and threw nothing.
afterEach(() => {
  expect(pageErrors).toEqual([]);
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
    await open('tokenizer');
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
    await open('attention');
    const rows = page.locator('#attention-map tr');
    expect(await rows.count()).toBe(7); // header + 6 queries
    const first = await rows.nth(1).locator('td').allTextContents();
    // Softmax over the one visible key is exactly 1; every later key is masked (empty cell).
    expect(first).toEqual(['1.00', '', '', '', '', '']);
    const last = (await rows.nth(6).locator('td').allTextContents()).map(Number);
    expect(last).toHaveLength(6);
    expect(last.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
  });

  it('streams text from the embedded tiny GPT, every character in its vocabulary', async () => {
    // The model's alphabet, read from the shipped asset (not from the page).
    const vocab: string[] = JSON.parse(
      readFileSync(join(root, 'packages/transformer/assets/tiny-gpt/vocab.json'), 'utf8'),
    ).chars;
    expect(vocab.length).toBeGreaterThan(20);
    await open('generation');
    expect(await page.locator('#gpt-info').textContent()).toContain('350,784 parameters');
    // The page starts generating 200 characters on its own (temperature 0.8, top-p 0.95, seed 7).
    await page.waitForSelector('#gpt-output[data-state="done"]', { timeout: 120_000 });
    const chars = await page.locator('#gpt-output .char').allTextContents();
    expect(chars).toHaveLength(200);
    const outside = chars
      .join('')
      .split('')
      .filter((c) => !vocab.includes(c));
    expect(outside).toEqual([]);
    expect(await page.locator('#gpt-output .prompt').textContent()).toBe('THE FOX AND THE ');
    // The trace of the last step: the model's top candidates, then after each active processor.
    expect(
      await page.locator('#gpt-trace th').evaluateAll((ths) => ths.slice(0, 4).map((t) => t.textContent)),
    ).toEqual(['#', 'model', 'after temperature', 'after topP']);
    expect(await page.locator('#gpt-trace tr').count()).toBe(9); // header + top 8

    // Characters outside the alphabet are left out (and named); sliders change the processors.
    await page.fill('#gpt-prompt', 'Zebra café ');
    await page.fill('#gpt-length', '30');
    await page.fill('#gpt-temperature', '0.3');
    await page.fill('#gpt-top-p', '0.5');
    await page.fill('#gpt-seed', '3');
    await page.click('#gpt-run');
    await page.waitForSelector('#gpt-output[data-state="done"]', { timeout: 60_000 });
    const note = (await page.locator('#gpt-prompt-note').textContent()) ?? '';
    expect(note).toContain('"Z"');
    expect(note).toContain('"é"');
    expect(await page.locator('#gpt-output .prompt').textContent()).toBe('ebra caf ');
    const again = await page.locator('#gpt-output .char').allTextContents();
    expect(again).toHaveLength(30);
    expect(
      again
        .join('')
        .split('')
        .filter((c) => !vocab.includes(c)),
    ).toEqual([]);
    // After top-p 0.5 the kept candidates carry all the probability: the shown column sums to ~100%.
    const column = await page
      .locator('#gpt-trace tr')
      .evaluateAll((rows) => rows.slice(1).map((r) => r.querySelectorAll('td')[2]?.textContent ?? ''));
    const percents = column.map((t) => Number(t.trim().split(' ').pop()?.replace('%', '')));
    expect(percents.every((p) => Number.isFinite(p) && p >= 0 && p <= 100)).toBe(true);
    expect(percents.reduce((a, b) => a + b, 0)).toBeGreaterThan(99);
    expect(percents.reduce((a, b) => a + b, 0)).toBeLessThan(101);
  }, 240_000);

  it('denoises the embedded tiny shapes model step by step on a canvas', async () => {
    await open('diffusion');
    // The page starts one image per class, 20 DDIM steps, seed 1.
    await page.waitForSelector('#diff-canvas[data-state="done"]', { timeout: 120_000 });
    const stats = async (id: string) =>
      page.locator(id).evaluate((c) => {
        const canvas = c as HTMLCanvasElement;
        const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
        if (!data) return { drawn: 0, total: 0, dark: 0, light: 0 };
        let drawn = 0;
        let dark = 0;
        let light = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] === 0) continue;
          drawn++;
          if (data[i] < 64) dark++;
          if (data[i] > 192) light++;
        }
        return { drawn, total: data.length / 4, dark, light };
      });
    const main = await stats('#diff-canvas');
    // Ten 80×80 tiles with 6-pixel gaps: the tiles are fully painted, mostly dark background
    // with light strokes.
    expect(main.total).toBe((10 * 86 - 6) * 80);
    expect(main.drawn).toBe(10 * 80 * 80);
    expect(main.dark).toBeGreaterThan(main.drawn * 0.3);
    expect(main.light).toBeGreaterThan(main.drawn * 0.03);
    // The filmstrip: 20 steps × 2 rows of small tiles, all painted.
    const strip = await stats('#diff-strip');
    expect(strip.drawn).toBe(20 * 2 * 32 * 32);
    expect(strip.dark).toBeGreaterThan(0);
    expect(strip.light).toBeGreaterThan(0);
    const verdicts = await page.locator('#diff-verdicts .verdict').allTextContents();
    expect(verdicts).toHaveLength(10);
    const status = (await page.locator('#diff-step').textContent()) ?? '';
    const recognised = Number(/recognised (\d+)\/10/.exec(status)?.[1]);
    // The package's own test finds 94/100 DDIM-20 samples recognised; 8 of these 10 is the floor.
    expect(recognised).toBeGreaterThanOrEqual(8);
  }, 240_000);
});
