// The diffusion view's classifier-free guidance section in headless Chromium (apps/demo built with
// Vite against the BUILT packages and served on a free localhost port, as tests/demo-harness.ts
// sets it up; run after `pnpm build`): drive the guidance-scale slider, and check what the page
// computed against the same pipeline and classifier run in Node.
import { describe, expect, it } from 'vitest';
import '@attnkit/backend-cpu';
import { loadShapeClassifier, loadTinyShapesPipeline, TINY_SHAPES_CLASSES } from '@attnkit/diffusion';
import { Generator } from '@attnkit/tensor-core';
import { GUIDANCE_SCALES } from '../apps/demo/src/pages/diffusion-guidance.js';
import { page, screenshot, url, useDemoApp } from './demo-harness.js';

// Mean |x(s = 5) − x(s = 1)| per pixel must exceed this: measured 0.335 (class triangle, seed 1).
const MARGIN = 0.15;

// The guidance section runs on the cpu backend here: the backend switch need not offer webgpu.
useDemoApp({ name: 'demo-cfg', webgpu: false });

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
    await page.locator('#cfg-box').scrollIntoViewIfNeeded();
    await screenshot('diffusion-guidance');
    pipe.unet.dispose();
    clf.dispose();
  }, 600_000);
});
