// The demo's later views and its offline use, in Debian's headless Chromium through playwright-core
// (set up by tests/demo-harness.ts, as demo-chromium.test.ts: apps/demo built with Vite against
// the BUILT packages, served with `vite preview` on a free localhost port). The T5 view's outputs
// and attention maps equal the same model run in Node; after one online visit the app renders and
// computes with the server gone and the browser offline.
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import '@attnkit/backend-cpu';
import { captureAttention, RelativePositionBias, relativePositionBuckets } from '@attnkit/attention';
import { generate } from '@attnkit/sampling';
import { tensor } from '@attnkit/tensor-core';
import { loadTinyT5, numberToWords, type T5LayerSelfAttention } from '@attnkit/transformer';
import { browser, page, screenshot, serve, url, useDemoApp, watch } from './demo-harness.js';

useDemoApp({ name: 'demo-views' });

/** The map shown in the T5 view's detail table, row by row. */
async function shownT5Map(p: Page): Promise<number[][]> {
  return p
    .locator('#t5-map tr')
    .evaluateAll((rows) =>
      rows.slice(1).map((r) => Array.from(r.querySelectorAll('td'), (td) => Number(td.dataset.w))),
    );
}

/** Every map of a grid (`cross` or `encoder`), clicked one by one: maps[layer * H + head][row][col]. */
async function allT5Maps(p: Page, kind: 'cross' | 'encoder'): Promise<number[][][]> {
  const buttons = p.locator(`#t5 button.attn-map[data-kind="${kind}"]`);
  const n = await buttons.count();
  const maps: number[][][] = [];
  for (let i = 0; i < n; i++) {
    const b = buttons.nth(i);
    await b.click();
    const [layer, head] = [await b.getAttribute('data-layer'), await b.getAttribute('data-head')];
    await p.waitForSelector(`#t5-map[data-kind="${kind}"][data-layer="${layer}"][data-head="${head}"]`);
    expect(await b.getAttribute('aria-pressed')).toBe('true');
    maps.push(await shownT5Map(p));
  }
  return maps;
}

/** Types a number into the T5 view and waits for its outputs. */
async function writeNumber(p: Page, n: string): Promise<void> {
  await p.fill('#t5-input', n);
  await p.press('#t5-input', 'Enter');
  await p.waitForSelector(`section#t5 .body[data-number="${n}"][data-state="done"]`);
}

/** The T5 in Node (package sources, cpu): greedy and beam outputs and the maps of the greedy output. */
async function nodeT5(n: string) {
  const { model, tokenizer } = await loadTinyT5();
  const ids = tokenizer.encode(n);
  const greedy = (await generate(model, [ids], { maxNewTokens: 40, doSample: false })).sequences[0];
  const beam = await generate(model, [ids], {
    maxNewTokens: 40,
    doSample: false,
    numBeams: 4,
    numReturnSequences: 4,
  });
  const src = tensor([ids], undefined, 'int32');
  const tgt = tensor([greedy.slice(0, -1)], undefined, 'int32');
  const cap = captureAttention(() => model.forward({ inputIds: src, decoderInputIds: tgt }));
  const weights = await Promise.all(cap.attentions.map(async (r) => Array.from(await r.weights.data())));
  cap.dispose();
  const H = model.config.numHeads;
  const Ls = ids.length;
  const Lt = greedy.length - 1;
  // call order: encoder layers 0, 1; decoder layer 0 self, cross; layer 1 self, cross
  const split = (w: number[], rows: number, cols: number) =>
    Array.from({ length: H }, (_, h) =>
      Array.from({ length: rows }, (_, i) => w.slice((h * rows + i) * cols, (h * rows + i + 1) * cols)),
    );
  return {
    greedy,
    greedyText: tokenizer.decode(greedy),
    beams: beam.sequences.map((s) => tokenizer.decode(s)),
    scores: beam.sequencesScores ?? [],
    encoder: [weights[0], weights[1]].flatMap((w) => split(w, Ls, Ls)),
    cross: [weights[3], weights[5]].flatMap((w) => split(w, Lt, Ls)),
  };
}

const maxDiff = (a: number[][][], b: number[][][]) => {
  expect(a.map((m) => m.map((r) => r.length))).toEqual(b.map((m) => m.map((r) => r.length)));
  let worst = 0;
  a.forEach((m, i) => {
    m.forEach((r, j) => {
      r.forEach((v, k) => {
        worst = Math.max(worst, Math.abs(v - b[i][j][k]));
      });
    });
  });
  return worst;
};

describe('demo views in headless Chromium', () => {
  it('T5: writes numbers as words like the Node run, with its cross-attention and position buckets', async () => {
    // reachable by URL
    await page.goto(`${url}#t5`);
    await page.waitForSelector('body[data-ready="t5"]');
    expect(await page.title()).toBe('T5 · attnkit demo');
    expect(await page.locator('nav a[aria-current="page"]').getAttribute('data-page')).toBe('t5');
    expect(await page.inputValue('#t5-input')).toBe('342');

    for (const n of ['342', '7', '90', '815']) {
      if (n !== '342') await writeNumber(page, n);
      const want = await nodeT5(n);
      expect(await page.locator('#t5-reference').getAttribute('data-text')).toBe(numberToWords(Number(n)));
      expect(JSON.parse((await page.locator('#t5-greedy').getAttribute('data-ids')) ?? '[]')).toEqual(
        want.greedy,
      );
      expect(await page.locator('#t5-greedy').getAttribute('data-text')).toBe(want.greedyText);
      const beams = page.locator('#t5-table tr.t5-beam');
      expect(await beams.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.text))).toEqual(
        want.beams,
      );
      const scores = await beams.evaluateAll((rs) => rs.map((r) => Number((r as HTMLElement).dataset.score)));
      for (let i = 0; i < scores.length; i++) expect(Math.abs(scores[i] - want.scores[i])).toBeLessThan(1e-4);
      // the trained model gets these right (training.json: held-out exact match)
      expect(want.greedyText).toBe(numberToWords(Number(n)));

      // cross-attention: 2 decoder layers × 4 heads, one row per output character (the greedy
      // output and the end token), one column per input character (and the end token)
      const cross = await allT5Maps(page, 'cross');
      expect(cross).toHaveLength(8);
      for (const m of cross) {
        expect(m).toHaveLength(want.greedy.length - 1);
        for (const row of m) {
          expect(row).toHaveLength(n.length + 1);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        }
      }
      expect(maxDiff(cross, want.cross)).toBeLessThan(1e-5);
      const encoder = await allT5Maps(page, 'encoder');
      expect(encoder).toHaveLength(8);
      expect(maxDiff(encoder, want.encoder)).toBeLessThan(1e-5);
    }
    expect(
      await page.locator('#t5-cross-grid button.attn-map canvas').first().getAttribute('data-rows'),
    ).toBe(String('eight hundred fifteen'.length + 1));
    await screenshot('t5');

    // Bad input is named, not run.
    await page.fill('#t5-input', '12a');
    await page.press('#t5-input', 'Enter');
    await expect.poll(() => page.locator('#t5-note').textContent()).toContain('not a number from 0 to 999');

    // Relative positions, from the model's own modules: the encoder's buckets are bidirectional
    // (8 per side for 16 buckets, exact up to distance 3, the last bucket from max_distance 32 on),
    // the decoder's causal (keys after the query in bucket 0); bias[h][i][j] = weight[bucket, h].
    const { model } = await loadTinyT5();
    const L = 40;
    for (const stack of ['encoder', 'decoder'] as const) {
      await page.selectOption('#t5-rel-stack', stack);
      await page.fill('#t5-rel-length', String(L));
      await page.waitForSelector(`#t5-weights-box[data-stack="${stack}"][data-length="${L}"]`);
      const buckets = JSON.parse(
        (await page.locator('#t5-buckets').getAttribute('data-buckets')) ?? '[]',
      ) as number[];
      expect(buckets).toHaveLength(L * L);
      const at = (i: number, j: number) => buckets[i * L + j];
      expect(at(5, 5)).toBe(0);
      expect(at(5, 2)).toBe(3); // three keys back: an exact bucket
      if (stack === 'encoder') {
        expect(at(2, 5)).toBe(8 + 3); // three keys ahead: the other half
        expect(at(0, 39)).toBe(15);
        expect(at(39, 0)).toBe(7);
      } else {
        expect(at(2, 5)).toBe(0);
        expect(at(39, 0)).toBe(15);
      }
      const rpb = (model[stack].block[0].layer[0] as T5LayerSelfAttention).SelfAttention
        .relative_attention_bias as RelativePositionBias;
      expect(rpb).toBeInstanceOf(RelativePositionBias);
      const node = relativePositionBuckets(L, L, {
        bidirectional: stack === 'encoder',
        numBuckets: 16,
        maxDistance: 32,
      });
      expect(buckets).toEqual(Array.from(await node.data()));
      const weight = await rpb.weight.data(); // [16, H]
      for (let h = 0; h < 4; h++) {
        const bias = JSON.parse(
          (await page.locator(`#t5-bias-${h}`).getAttribute('data-values')) ?? '[]',
        ) as number[];
        expect(bias).toHaveLength(L * L);
        for (let k = 0; k < L * L; k++) expect(bias[k]).toBeCloseTo(weight[buckets[k] * 4 + h], 6);
      }
      await screenshot(`t5-positions-${stack}`);
    }

    // On webgpu (SwiftShader) the view runs again with the same outputs and maps within 1e-3.
    await writeNumber(page, '342');
    const cpuCross = await allT5Maps(page, 'cross');
    const cpuEncoder = await allT5Maps(page, 'encoder');
    const cpuGreedy = await page.locator('#t5-greedy').getAttribute('data-ids');
    const beamRows = page.locator('#t5-table tr.t5-beam');
    const beamsOf = () =>
      beamRows.evaluateAll((rs) =>
        rs.map((r) => [(r as HTMLElement).dataset.text, Number((r as HTMLElement).dataset.score)] as const),
      );
    const cpuBeams = await beamsOf();
    await expect.poll(() => page.locator('#backend option').allTextContents()).toContain('webgpu');
    await page.selectOption('#backend', 'webgpu');
    await page.waitForSelector('body[data-backend="webgpu"][data-ready="t5"]', { timeout: 120_000 });
    expect(await page.locator('#t5-info').textContent()).toContain('on webgpu.');
    expect(await page.locator('#t5-greedy').getAttribute('data-ids')).toBe(cpuGreedy);
    const gpuCross = await allT5Maps(page, 'cross');
    expect(maxDiff(gpuCross, cpuCross)).toBeLessThan(1e-3);
    expect(maxDiff(await allT5Maps(page, 'encoder'), cpuEncoder)).toBeLessThan(1e-3);
    const gpuBeams = await beamsOf();
    expect(gpuBeams.map((b) => b[0])).toEqual(cpuBeams.map((b) => b[0]));
    for (let i = 0; i < gpuBeams.length; i++)
      expect(Math.abs(gpuBeams[i][1] - cpuBeams[i][1])).toBeLessThan(1e-3);
    await screenshot('t5-webgpu');
  }, 480_000);

  it('T5 view by keyboard: the navigation link, then the number field and Enter', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="overview"]');
    await page.focus('nav a[data-page="t5"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-ready="t5"]');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('T5');
    await page.focus('#t5-input');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('19');
    await page.keyboard.press('Enter');
    await page.waitForSelector('section#t5 .body[data-number="19"][data-state="done"]');
    expect(await page.locator('#t5-greedy').getAttribute('data-text')).toBe('nineteen');
    // Dark mode at a phone's width: nothing is wider than the screen (wide maps scroll in their box).
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot('t5-phone-dark');
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  }, 240_000);

  it('first render from a cold cache: the Overview draws before the service worker starts, time printed', async () => {
    // A fresh context has an empty HTTP cache and no service worker: what a first visit downloads.
    const context = await (browser as Browser).newContext();
    const p = await context.newPage();
    watch(p);
    try {
      await p.goto(url);
      await p.waitForSelector('body[data-ready="overview"]');
      const t = await p.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const view = performance.getEntriesByName('attnkit:first-view')[0];
        return {
          dom: nav.domContentLoadedEventEnd,
          fcp: fcp ? fcp.startTime : Number.NaN,
          view: view ? view.startTime : Number.NaN,
          controlled: navigator.serviceWorker.controller !== null,
        };
      });
      // the first view is rendered (its heading and its live diagram) and marked, after the first
      // paint; the worker, registered only after that mark, does not yet control this first page's load
      expect(await p.locator('section#overview h2').textContent()).toBe('Overview');
      expect(await p.locator('#ov-svg g.part[role="button"]').count()).toBeGreaterThan(5);
      expect(t.view).toBeGreaterThan(0);
      expect(t.fcp).toBeLessThanOrEqual(t.view);
      console.log(
        `demo cold-cache first render (localhost, this machine): first contentful paint ${t.fcp.toFixed(0)} ms, ` +
          `Overview computed and drawn ${t.view.toFixed(0)} ms after navigation start (DOMContentLoaded ${t.dom.toFixed(0)} ms)`,
      );
      await screenshot('first-render', p);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('works offline after one online visit: reload with the server gone renders views and computes', async () => {
    // A server of its own, so that it can be shut down (context.setOffline does not reach a
    // service worker's own fetches in Chromium, playwright#2311: with the server gone a page that
    // still needed the network would fail for real).
    const own = await serve();
    const context = await (browser as Browser).newContext();
    const p = await context.newPage();
    watch(p);
    try {
      await p.goto(own.url);
      await p.waitForSelector('body[data-ready="overview"]');
      // the worker has cached every file of the build and controls the page (clients.claim)
      await p.waitForSelector('body[data-offline="ready"]', { timeout: 120_000 });
      expect(await p.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${own.url}sw.js`);
      const cached = await p.evaluate(async () => {
        const keys = await caches.keys();
        const cache = await caches.open(keys.find((k) => k.startsWith('attnkit-demo-')) ?? '');
        return (await cache.keys()).map((r) => new URL(r.url).pathname);
      });
      // the models' weights and the lazily loaded tiktoken tables are in it
      expect(cached.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThanOrEqual(4);
      expect(cached.some((f) => /cl100k_base-.*\.js$/.test(f))).toBe(true);

      await own.server.close();
      await context.setOffline(true);
      await p.reload();
      await p.waitForSelector('body[data-ready="overview"]');
      expect(await p.locator('section#overview h2').textContent()).toBe('Overview');
      expect(await p.locator('#ov-svg g.part[role="button"]').count()).toBeGreaterThan(5);
      await screenshot('offline-overview', p);
      await p.click('nav a[data-page="t5"]');
      await p.waitForSelector('body[data-ready="t5"]');
      expect(await p.locator('#t5-greedy').getAttribute('data-text')).toBe('three hundred forty-two');
      await p.fill('#t5-input', '56');
      await p.press('#t5-input', 'Enter');
      await p.waitForSelector('section#t5 .body[data-number="56"][data-state="done"]');
      expect(await p.locator('#t5-greedy').getAttribute('data-text')).toBe('fifty-six');
      await screenshot('offline-t5', p);
      // a lazily imported chunk (the default tokenizer's rank table) comes from the cache too
      await p.click('nav a[data-page="tokenizer"]');
      await p.waitForSelector('body[data-ready="tokenizer"]');
      await p.selectOption('#tok-encoding', 'cl100k_base');
      await p.fill('#tok-input', 'hello world');
      await expect
        .poll(() => p.locator('#tok-output .token .id').allTextContents())
        .toEqual(['15339', '1917']);
    } finally {
      await context.close();
      await own.server.close();
    }
  }, 300_000);
});
