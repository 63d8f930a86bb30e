// The diffusion view's classifier-free guidance section in headless Chromium: build apps/demo with
// Vite (against the BUILT packages), serve it with `vite preview` on a free localhost port (the
// setup of demo-chromium.test.ts), drive the guidance-scale slider, and check what the page
// computed against the same pipeline and classifier run in Node. Run after `pnpm build`.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import '@attnkit/backend-cpu';
import { loadShapeClassifier, loadTinyShapesPipeline, TINY_SHAPES_CLASSES } from '@attnkit/diffusion';
import { Generator } from '@attnkit/tensor-core';
import { GUIDANCE_SCALES } from '../apps/demo/src/pages/diffusion-guidance.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const demo = join(root, 'apps/demo');
const CHROMIUM = '/usr/bin/chromium'; // Debian's package; no browser download
// Screenshots land here (git-ignored), for a person to look at.
const ARTIFACTS = join(root, 'tests/.artifacts');
// Mean |x(s = 5) − x(s = 1)| per pixel must exceed this: measured 0.335 (class triangle, seed 1).
const MARGIN = 0.15;

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
  outDir = mkdtempSync(join(tmpdir(), 'attnkit-demo-cfg-'));
  await build({ root: demo, logLevel: 'error', build: { outDir, emptyOutDir: true } });
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

afterEach(() => {
  expect(pageErrors).toEqual([]);
});

/** What the guidance section shows for one key `class:scale:seed`. */
async function shown(key: string) {
  const box = page.locator(`#cfg-box[data-key="${key}"]`);
  await box.waitFor({ timeout: 240_000 });
  return {
    samples: JSON.parse((await box.getAttribute('data-samples')) ?? '[]') as number[],
    recognised: Number(await box.getAttribute('data-recognised')),
    meanProb: Number(await box.getAttribute('data-mean-prob')),
    text: (await page.locator('#cfg-measure').textContent()) ?? '',
  };
}

describe('demo diffusion view: classifier-free guidance', () => {
  it('the guidance slider redraws the same seed live, and the classifier measure matches Node', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="overview"]');
    await page.click('nav a[data-page="diffusion"]');
    await page.waitForSelector('body[data-ready="diffusion"]');
    const cls = TINY_SHAPES_CLASSES.indexOf('triangle');
    // the section starts at scale 1 (no guidance), class triangle, seed 1
    const one = await shown(`${cls}:1:1`);
    expect(one.samples).toHaveLength(8 * 256);
    expect(one.text).toContain('guidance scale 1 (no guidance');
    await page.fill('#cfg-scale', String(GUIDANCE_SCALES.indexOf(5)));
    const five = await shown(`${cls}:5:1`);
    expect(five.text).toContain('guidance scale 5 (two passes per step');
    expect(five.text).toContain(`recognises ${five.recognised}/8 as triangle`);
    // the page's images and measure equal the pipeline and classifier run here in Node
    const pipe = await loadTinyShapesPipeline();
    const clf = await loadShapeClassifier();
    for (const [s, got] of [
      [1, one],
      [5, five],
    ] as const) {
      const { sample } = await pipe.generate({
        classLabels: new Array(8).fill(cls),
        numInferenceSteps: 20,
        guidanceScale: s,
        generator: new Generator(1),
      });
      const want = await sample.data();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.samples[i] - want[i]));
      expect(worst, `scale ${s}`).toBeLessThan(1e-4);
      const logits = await clf.forward(sample).data();
      let recognised = 0;
      let probSum = 0;
      for (let b = 0; b < 8; b++) {
        const row = Array.from(logits.subarray(b * 10, (b + 1) * 10));
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        probSum += Math.exp(row[cls] - m) / z;
        if (row.indexOf(m) === cls) recognised++;
      }
      expect(got.recognised, `scale ${s}`).toBe(recognised);
      expect(got.meanProb, `scale ${s}`).toBeCloseTo(probSum / 8, 5);
      sample.dispose();
    }
    // guidance moved the images: measured mean |x(s = 5) − x(s = 1)| per pixel
    const diff = five.samples.reduce((a, v, i) => a + Math.abs(v - one.samples[i]), 0) / five.samples.length;
    console.log(
      `demo guidance: mean |x(5) − x(1)| = ${diff.toFixed(4)} per pixel; measure ${one.meanProb.toFixed(3)} → ${five.meanProb.toFixed(3)}`,
    );
    expect(diff).toBeGreaterThan(MARGIN);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#cfg-box').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'demo-diffusion-guidance.png'), fullPage: true });
    pipe.unet.dispose();
    clf.dispose();
  }, 600_000);
});
