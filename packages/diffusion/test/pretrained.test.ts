import '@attnkit/backend-cpu';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, memory, type Tensor, tensor } from '@attnkit/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  ClassConditionalPipeline,
  DDIMScheduler,
  DDPMPipeline,
  drawShape,
  loadShapeClassifier,
  loadTinyShapesModel,
  loadTinyShapesPipeline,
  makeShapes,
  SHAPE_CLASSES,
  ShapeClassifier,
  TINY_SHAPES_CLASSES,
  tensorToRgba,
  UNet2DModel,
} from '../src/index.js';

const assets = fileURLToPath(new URL('../assets/tiny-shapes/', import.meta.url));

describe('makeShapes (the drawn 16×16 dataset)', () => {
  it('returns [n, 1, 16, 16] in [−1, 1] with balanced int32 labels, the same for the same seed', async () => {
    const a = makeShapes(30, { generator: new Generator(5) });
    expect(a.images.shape).toEqual([30, 1, 16, 16]);
    expect(a.images.dtype).toBe('float32');
    expect(a.labels.dtype).toBe('int32');
    expect(Array.from(await a.labels.data())).toEqual(Array.from({ length: 30 }, (_, i) => i % 10));
    const px = await a.images.data();
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of px) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(-1); // background
    expect(hi).toBeGreaterThan(0.4); // ink (brightness ≥ 0.75 at full coverage)
    expect(hi).toBeLessThanOrEqual(1);
    const again = makeShapes(30, { generator: new Generator(5) });
    expect(Array.from(await again.images.data())).toEqual(Array.from(px));
    const other = makeShapes(30, { generator: new Generator(6) });
    expect(Array.from(await other.images.data())).not.toEqual(Array.from(px));
    // every image has ink: no shape falls off the canvas
    for (let i = 0; i < 30; i++) {
      const img = px.subarray(i * 256, (i + 1) * 256);
      expect(img.filter((v) => v > 0).length, `image ${i}`).toBeGreaterThan(4);
    }
    for (const t of [a.images, a.labels, again.images, again.labels, other.images, other.labels]) t.dispose();
  });

  it('draws anti-aliased strokes with coverage clamp(t/2 − d + 1/2, 0, 1) (hand-derived pixels)', () => {
    const p = { cx: 8, cy: 8, radius: 5, angle: 0, thickness: 2, brightness: 1 };
    const plus = drawShape(SHAPE_CLASSES.indexOf('plus'), p, 16);
    // pixel (x 7, y 7): centre (7.5, 7.5) is 0.5 px from both bars → full coverage → +1
    expect(plus[7 * 16 + 7]).toBeCloseTo(1, 6);
    // pixel (x 10, y 9): centre (10.5, 9.5) is 1.5 px from the bar y = 8 → coverage 1 − 1.5 + 0.5 = 0 → −1
    expect(plus[9 * 16 + 10]).toBeCloseTo(-1, 6);
    // pixel (x 2, y 9): centre (2.5, 9.5), nearest point the bar's end (3, 8) at √(0.25 + 2.25) → −1
    expect(plus[9 * 16 + 2]).toBeCloseTo(-1, 6);
    const thick = drawShape(SHAPE_CLASSES.indexOf('plus'), { ...p, thickness: 2.5 }, 16);
    // same pixel with t = 2.5: coverage 1.25 − 1.5 + 0.5 = 0.25 → −1 + 2·0.25 = −0.5
    expect(thick[9 * 16 + 10]).toBeCloseTo(-0.5, 6);
    const ring = drawShape(SHAPE_CLASSES.indexOf('circle'), { ...p, thickness: 1 }, 16);
    // ring radius 0.9·5 = 4.5 px; pixel (12, 7) centre (12.5, 7.5) is |√(4.5² + 0.5²) − 4.5| from it
    const d = Math.abs(Math.hypot(4.5, 0.5) - 4.5);
    expect(ring[7 * 16 + 12]).toBeCloseTo(-1 + 2 * (0.5 - d + 0.5), 6);
    // a 90° rotation maps hbars onto vbars
    const h = drawShape(SHAPE_CLASSES.indexOf('hbars'), { ...p, angle: Math.PI / 2 }, 16);
    const v = drawShape(SHAPE_CLASSES.indexOf('vbars'), p, 16);
    for (let i = 0; i < 256; i++) expect(h[i]).toBeCloseTo(v[i], 5);
  });

  it('takes explicit labels and other sizes, and rejects bad input by name', async () => {
    const s = makeShapes(3, { labels: [4, 4, 9], size: 28, generator: new Generator(1) });
    expect(s.images.shape).toEqual([3, 1, 28, 28]);
    expect(Array.from(await s.labels.data())).toEqual([4, 4, 9]);
    s.images.dispose();
    s.labels.dispose();
    expect(() => makeShapes(0)).toThrow(/makeShapes: n must be a positive integer, got 0/);
    expect(() => makeShapes(2, { labels: [1] })).toThrow(
      /makeShapes: options.labels must have length n = 2, got 1/,
    );
    expect(() => makeShapes(1, { labels: [10] })).toThrow(
      /makeShapes: options.labels\[0\] must be an integer in \[0, 10\), got 10/,
    );
    expect(() => makeShapes(1, { size: 3 })).toThrow(
      /makeShapes: options.size must be an integer ≥ 4, got 3/,
    );
    expect(() =>
      drawShape(11, { cx: 8, cy: 8, radius: 5, angle: 0, thickness: 1, brightness: 1 }, 16),
    ).toThrow(/drawShape: label must be an integer in \[0, 10\), got 11/);
  });
});

describe('the committed shape classifier', () => {
  it('recognises fresh real images (a seed the training never used)', async () => {
    const clf = await loadShapeClassifier();
    expect(clf).toBeInstanceOf(ShapeClassifier);
    const { images, labels } = makeShapes(500, { generator: new Generator(424242) });
    const pred = await clf.predict(images);
    const want = await labels.data();
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === want[i]) ok++;
    console.log(`shape classifier: ${ok}/500 fresh real images correct (${((100 * ok) / 500).toFixed(1)}%)`);
    expect(ok / 500).toBeGreaterThanOrEqual(0.97);
    images.dispose();
    labels.dispose();
    clf.dispose();
  });

  it('rejects images of the wrong shape and bad configs by name', async () => {
    const clf = new ShapeClassifier();
    expect(() => clf.forward(tensor(new Float32Array(64), [1, 1, 8, 8]))).toThrow(
      /ShapeClassifier.forward: expected images \[B, 1, 16, 16\], got \[1, 1, 8, 8\]/,
    );
    expect(() => new ShapeClassifier({ sampleSize: 18 })).toThrow(/config.sampleSize must be divisible by 4/);
    clf.dispose();
  });
});

describe('the embedded tiny shapes diffusion model', () => {
  it('ships in diffusers layout, ≤ 10 MB, and loads with DDPMPipeline.fromPretrained', async () => {
    let bytes = 0;
    for (const f of [
      'model_index.json',
      'unet/config.json',
      'unet/diffusion_pytorch_model.safetensors',
      'scheduler/scheduler_config.json',
      'classifier/config.json',
      'classifier/model.safetensors',
    ]) {
      bytes += statSync(`${assets}${f}`).size;
    }
    expect(bytes).toBeLessThanOrEqual(10 * 1024 * 1024);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.files).toContain('assets');
    const index = JSON.parse(readFileSync(`${assets}model_index.json`, 'utf8'));
    expect(index.unet).toEqual(['diffusers', 'UNet2DModel']);
    const pipe = await DDPMPipeline.fromPretrained(assets);
    expect(pipe.unet.config.numClassEmbeds).toBe(11); // ten classes and the null class
    expect(pipe.unet.config.nullClassIndex).toBe(10);
    expect(pipe.unet.config.sampleSize).toBe(16);
    pipe.unet.dispose();
  });

  it('samples 100 class-conditioned images (DDIM, 20 steps) that the classifier recognises as their class', async () => {
    const pipe = await loadTinyShapesPipeline();
    expect(pipe).toBeInstanceOf(ClassConditionalPipeline);
    expect(pipe).toBeInstanceOf(DDPMPipeline);
    expect(pipe.scheduler).toBeInstanceOf(DDIMScheduler);
    const clf = await loadShapeClassifier();
    const wanted = Array.from({ length: 100 }, (_, i) => i % 10);
    const steps = 20;
    const previews: number[][] = [];
    const seen: number[] = [];
    const { sample, images } = await pipe.generate({
      classLabels: wanted,
      numInferenceSteps: steps,
      generator: new Generator(2024),
      onStep: async ({ step, numSteps, predOriginalSample }) => {
        expect(numSteps).toBe(steps);
        seen.push(step);
        // the demo's step-by-step preview: the x0 estimate of the first image, as RGBA
        const view = predOriginalSample.narrow(0, 0, 1);
        const [first] = await tensorToRgba(view);
        view.dispose();
        previews.push(Array.from(first.data.filter((_, k) => k % 4 === 0)));
      },
    });
    expect(seen).toEqual(Array.from({ length: steps }, (_, i) => i));
    expect(images).toHaveLength(100);
    expect(sample.shape).toEqual([100, 1, 16, 16]);
    // DDIM (eta 0) ends at ᾱ = 1 (set_alpha_to_one), so the last step returns its x0 estimate:
    // the last preview is the final image.
    const finalFirst = images[0].data.filter((_, k) => k % 4 === 0);
    expect(previews[steps - 1]).toEqual(Array.from(finalFirst));
    // the previews sharpen: the first x0 estimate differs from the final image more than the last-but-one does
    const dist = (a: number[]) => a.reduce((s, v, k) => s + Math.abs(v - finalFirst[k]), 0);
    expect(dist(previews[0])).toBeGreaterThan(dist(previews[steps - 2]));

    const pred = await clf.predict(sample);
    let ok = 0;
    const perClass = new Array(10).fill(0);
    for (let i = 0; i < 100; i++) {
      if (pred[i] === wanted[i]) {
        ok++;
        perClass[wanted[i]]++;
      }
    }
    console.log(
      `tiny shapes model: ${ok}/100 DDIM-${steps} samples recognised as their class; per class ${TINY_SHAPES_CLASSES.map((c, k) => `${c} ${perClass[k]}/10`).join(', ')}`,
    );
    expect(ok).toBeGreaterThanOrEqual(80);
    sample.dispose();
    pipe.unet.dispose();
    clf.dispose();
  }, 120_000);

  it('is seeded (same generator, same images) and holds memory flat across runs', async () => {
    const { unet, scheduler, classNames } = await loadTinyShapesModel();
    expect(unet).toBeInstanceOf(UNet2DModel);
    expect(classNames).toEqual(SHAPE_CLASSES);
    const pipe = new ClassConditionalPipeline(unet, DDIMScheduler.fromConfig(scheduler.toJSON()));
    const run = async (): Promise<Tensor> =>
      (await pipe.generate({ classLabels: [3, 7], numInferenceSteps: 5, generator: new Generator(9) }))
        .sample;
    const a = await run();
    const before = memory().cpu.numTensors;
    const b = await run();
    b.dispose();
    const c = await run();
    expect(memory().cpu.numTensors).toBe(before + 1); // only c (a was counted in before)
    expect(Array.from(await c.data())).toEqual(Array.from(await a.data()));
    a.dispose();
    c.dispose();
    await expect(pipe.generate({ classLabels: [10] })).rejects.toThrow(
      /ClassConditionalPipeline.generate: classLabels\[0\] must be an integer in \[0, 10\), got 10/,
    );
    await expect(pipe.generate({ classLabels: [1, 2], batchSize: 3 })).rejects.toThrow(
      /batchSize \(3\) must equal classLabels.length \(2\)/,
    );
    unet.dispose();
    await expect(loadTinyShapesModel({ baseUrl: '/nonexistent/tiny' })).rejects.toThrow(
      /loadTinyShapesModel: cannot read \/nonexistent\/tiny\/unet\/config.json/,
    );
  }, 60_000);
});
