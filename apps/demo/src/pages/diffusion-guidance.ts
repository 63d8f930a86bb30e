// Diffusion, guided: classifier-free guidance on the tiny shapes U-Net. The same eight starting
// noises of one class at a chosen guidance scale, computed live, and how sure the shape classifier
// is that they show that class.
import {
  ClassConditionalPipeline,
  DDIMScheduler,
  type ShapeClassifier,
  TINY_SHAPES_CLASSES,
} from '@attnkit/diffusion';
import { Generator } from '@attnkit/tensor-core';
import { el } from '../page.js';
import { slider } from '../ui.js';

/** The guidance scales on the slider; s ≤ 1 is no guidance (one conditional pass). */
export const GUIDANCE_SCALES = [1, 2, 3, 5, 7.5] as const;
const SAMPLES = 8;
const STEPS = 20;
const TILE = 64;

/** A grayscale image in [−1, 1] on its own canvas, `TILE` pixels wide. */
function tileCanvas(pixels: ArrayLike<number>, side: number, label: string): HTMLCanvasElement {
  const canvas = el('canvas', {
    width: String(TILE),
    height: String(TILE),
    role: 'img',
    'aria-label': label,
  });
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const scale = TILE / side;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const g = Math.round(Math.min(1, Math.max(-1, pixels[y * side + x])) * 127.5 + 127.5);
      ctx.fillStyle = `rgb(${g},${g},${g})`;
      ctx.fillRect(x * scale, y * scale, scale, scale);
    }
  }
  return canvas;
}

/**
 * The classifier's probability of class `cls` for each row of [B, K] logits (softmax), and
 * whether `cls` is its best guess.
 */
function judge(logits: Float32Array, k: number, cls: number): { prob: number; best: boolean }[] {
  const out: { prob: number; best: boolean }[] = [];
  for (let b = 0; b < logits.length / k; b++) {
    const row = Array.from(logits.subarray(b * k, (b + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, c) => a + c, 0);
    out.push({ prob: e[cls] / z, best: row.indexOf(m) === cls });
  }
  return out;
}

/** Appends the classifier-free guidance section to the diffusion view. */
export async function guidanceSection(
  root: HTMLElement,
  pipe: ClassConditionalPipeline,
  classifier: ShapeClassifier,
  side: number,
) {
  // its own scheduler: the page's other loops may be stepping theirs at the same time
  const guided = new ClassConditionalPipeline(pipe.unet, DDIMScheduler.fromConfig(pipe.scheduler.toJSON()));
  const nullClass = pipe.unet.config.nullClassIndex;
  const classSelect = el('select', { id: 'cfg-class', 'aria-label': 'Class' });
  TINY_SHAPES_CLASSES.forEach((name, i) => {
    classSelect.append(el('option', { value: String(i) }, name));
  });
  classSelect.value = String(TINY_SHAPES_CLASSES.indexOf('triangle'));
  const scale = slider('cfg-scale', 'guidance scale', 0, GUIDANCE_SCALES.length - 1, 1, 0, (i) =>
    String(GUIDANCE_SCALES[i]),
  );
  const seed = el('input', { id: 'cfg-seed', type: 'number', value: '1', min: '0', 'aria-label': 'Seed' });
  const box = el('div', { id: 'cfg-box', class: 'map-pair' });
  const measure = el('p', { id: 'cfg-measure', class: 'stats' });

  let version = 0;
  const show = async () => {
    const mine = ++version;
    const cls = Number(classSelect.value);
    const s = GUIDANCE_SCALES[Number(scale.input.value)];
    const sd = Math.max(0, Math.floor(Number(seed.value)) || 0);
    measure.textContent = `guidance scale ${s}: denoising…`;
    const t0 = performance.now();
    const { sample } = await guided.generate({
      classLabels: new Array<number>(SAMPLES).fill(cls),
      numInferenceSteps: STEPS,
      guidanceScale: s,
      generator: new Generator(sd),
    });
    try {
      if (mine !== version || !root.isConnected) return;
      const px = Float32Array.from(await sample.data());
      const logits = classifier.forward(sample);
      const verdicts = judge(Float32Array.from(await logits.data()), TINY_SHAPES_CLASSES.length, cls);
      logits.dispose();
      if (mine !== version) return;
      const seconds = (performance.now() - t0) / 1000;
      const n = side * side;
      const recognised = verdicts.filter((v) => v.best).length;
      const meanProb = verdicts.reduce((a, v) => a + v.prob, 0) / verdicts.length;
      box.dataset.key = `${cls}:${s}:${sd}`;
      box.dataset.samples = JSON.stringify(Array.from(px));
      box.dataset.recognised = String(recognised);
      box.dataset.meanProb = String(meanProb);
      box.replaceChildren(
        ...verdicts.map((v, b) =>
          el(
            'figure',
            { class: v.best ? 'verdict ok' : 'verdict wrong' },
            tileCanvas(px.subarray(b * n, (b + 1) * n), side, `${TINY_SHAPES_CLASSES[cls]} sample ${b + 1}`),
            el('figcaption', {}, `${v.best ? '✓' : '✗'} ${(100 * v.prob).toFixed(0)}%`),
          ),
        ),
      );
      measure.textContent =
        `guidance scale ${s}${s <= 1 ? ' (no guidance: one conditional pass)' : ` (two passes per step: the null class and ${TINY_SHAPES_CLASSES[cls]})`}` +
        ` · ${SAMPLES} samples, ${STEPS} DDIM steps in ${seconds.toFixed(1)} s · the classifier recognises ${recognised}/${SAMPLES} as ${TINY_SHAPES_CLASSES[cls]}, mean p(${TINY_SHAPES_CLASSES[cls]}) = ${(100 * meanProb).toFixed(1)}%`;
    } finally {
      sample.dispose();
    }
  };
  // A failure shows in the view; a view taken away (backend switch) just stops.
  const launch = () =>
    show().catch((err: unknown) => {
      if (!root.isConnected) return;
      measure.textContent = `failed: ${(err as Error).message}`;
      console.error(err);
    });
  scale.input.addEventListener('input', () => void launch());
  classSelect.addEventListener('change', () => void launch());
  seed.addEventListener('change', () => void launch());

  root.append(
    el('h3', {}, 'Classifier-free guidance'),
    el(
      'p',
      { class: 'note' },
      `The model was also trained without its class: a share of the training labels was replaced by a null class (embedding row ${nullClass}), so it predicts both with the class and unconditionally. ` +
        'Guidance runs both in one batch and extrapolates away from the unconditional guess: ' +
        'x̂ = x̂_uncond + s · (x̂_class − x̂_uncond). At s ≤ 1 there is no guidance; larger s trades variety for shapes that look more like their class. ' +
        'The same seed gives the same starting noise at every scale.',
    ),
    el(
      'div',
      { class: 'controls' },
      el('label', {}, 'class ', classSelect),
      scale.wrap,
      el('label', {}, 'seed ', seed),
    ),
    box,
    measure,
  );
  await launch();
}
