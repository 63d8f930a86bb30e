import {
  type ClassConditionalPipeline,
  loadShapeClassifier,
  loadTinyShapesPipeline,
  type ShapeClassifier,
  TINY_SHAPES_CLASSES,
} from '@attnkit/diffusion';
import { Generator, type Tensor } from '@attnkit/tensor-core';
import { onCurrentBackend } from '../backend.js';
import { el, type Page } from '../page.js';
import { diffusionSections } from './diffusion-extras.js';
import { guidanceSection } from './diffusion-guidance.js';

const SCALE = 5; // screen pixels per image pixel
const GAP = 6;

let loading: Promise<{ pipe: ClassConditionalPipeline; classifier: ShapeClassifier }> | undefined;

/** Loads the embedded tiny shapes model and its classifier once (files shipped in @attnkit/diffusion). */
function loadModels() {
  loading ??= Promise.all([loadTinyShapesPipeline(), loadShapeClassifier()]).then(([pipe, classifier]) => ({
    pipe,
    classifier,
  }));
  return loading;
}

/** Draws a grayscale image in [−1, 1] (side × side values) at (x, y), SCALE times larger. */
function drawTile(
  ctx: CanvasRenderingContext2D,
  pixels: ArrayLike<number>,
  side: number,
  x: number,
  y: number,
) {
  const img = ctx.createImageData(side * SCALE, side * SCALE);
  for (let py = 0; py < side * SCALE; py++) {
    for (let px = 0; px < side * SCALE; px++) {
      const v = pixels[Math.floor(py / SCALE) * side + Math.floor(px / SCALE)];
      const g = Math.round(Math.min(1, Math.max(-1, v)) * 127.5 + 127.5);
      const o = (py * side * SCALE + px) * 4;
      img.data[o] = g;
      img.data[o + 1] = g;
      img.data[o + 2] = g;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, x, y);
}

/** Softmax of each row of [B, K] logits → the best class and its probability. */
function verdicts(logits: Float32Array, k: number): { best: number; prob: number }[] {
  const out: { best: number; prob: number }[] = [];
  for (let b = 0; b < logits.length / k; b++) {
    const row = Array.from(logits.subarray(b * k, (b + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, c) => a + c, 0);
    const best = row.indexOf(m);
    out.push({ best, prob: e[best] / z });
  }
  return out;
}

/** Diffusion: the embedded tiny shapes model denoising step by step on a canvas. */
export const diffusionPage: Page = {
  id: 'diffusion',
  title: 'Diffusion',
  summary:
    'Start from noise; a network predicts the clean image, a scheduler (DDIM) steps towards it, and the noise fades step by step.',
  async render(root) {
    const info = el('p', { id: 'diff-info', class: 'stats' }, 'loading the tiny shapes model…');
    root.append(info);
    const { pipe, classifier } = await loadModels();
    await onCurrentBackend(pipe.unet);
    await onCurrentBackend(classifier);
    const unet = pipe.unet;
    const side = Array.isArray(unet.config.sampleSize) ? unet.config.sampleSize[0] : unet.config.sampleSize;
    if (typeof side !== 'number') throw new Error('diffusion page: the U-Net config has no sample size');
    info.textContent =
      `The embedded tiny model (no download): a class-conditional U-Net with ${unet.numParameters().toLocaleString('en-US')} parameters ` +
      `drawing ${side}×${side} grayscale shapes of ${TINY_SHAPES_CLASSES.length} classes, and a small classifier that judges each result.`;

    const classSelect = el('select', { id: 'diff-class', 'aria-label': 'Class' });
    classSelect.append(el('option', { value: 'all' }, 'one of each class'));
    TINY_SHAPES_CLASSES.forEach((name, i) => {
      classSelect.append(el('option', { value: String(i) }, `4 × ${name}`));
    });
    const steps = el('input', {
      id: 'diff-steps',
      type: 'range',
      min: '5',
      max: '50',
      step: '1',
      value: '20',
      'aria-label': 'DDIM steps',
    });
    const stepsOut = el('output', { for: 'diff-steps' }, '20');
    steps.addEventListener('input', () => {
      stepsOut.textContent = steps.value;
    });
    const seed = el('input', { id: 'diff-seed', type: 'number', value: '1', min: '0', 'aria-label': 'Seed' });
    const run = el('button', { id: 'diff-run', type: 'button' }, 'Denoise');
    const status = el('p', { id: 'diff-step', class: 'stats' });
    const canvas = el('canvas', { id: 'diff-canvas', 'aria-label': 'Samples being denoised' });
    const verdictRow = el('div', { id: 'diff-verdicts', class: 'verdicts' });
    const stripTitle = el('h3', {}, 'The first sample, step by step');
    const stripHelp = el(
      'p',
      { class: 'note' },
      'Top row: the noisy sample x_t after each step. Bottom row: the network’s guess of the clean image at that step.',
    );
    const strip = el('canvas', { id: 'diff-strip', 'aria-label': 'Denoising steps of the first sample' });
    root.append(
      el(
        'div',
        { class: 'controls' },
        el('label', {}, 'classes ', classSelect),
        el('label', { class: 'slider' }, 'DDIM steps ', steps, ' ', stepsOut),
        el('label', {}, 'seed ', seed),
        run,
      ),
      status,
      canvas,
      verdictRow,
      stripTitle,
      stripHelp,
      strip,
    );

    let version = 0;
    const start = async () => {
      const mine = ++version;
      run.disabled = true;
      canvas.dataset.state = 'running';
      try {
        const labels =
          classSelect.value === 'all'
            ? TINY_SHAPES_CLASSES.map((_, i) => i)
            : Array.from({ length: 4 }, () => Number(classSelect.value));
        const numSteps = Math.floor(Number(steps.value)) || 20;
        const tile = side * SCALE;
        canvas.width = labels.length * (tile + GAP) - GAP;
        canvas.height = tile;
        const miniScale = Math.max(1, Math.floor(SCALE / 2));
        const mini = side * miniScale;
        strip.width = numSteps * (mini + 2);
        strip.height = 2 * mini + 2;
        const ctx = canvas.getContext('2d');
        const sctx = strip.getContext('2d');
        if (!ctx || !sctx) throw new Error('diffusion page: no 2D canvas context');
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        sctx.clearRect(0, 0, strip.width, strip.height);
        verdictRow.replaceChildren();
        const n = side * side;
        const t0 = performance.now();
        const { sample } = await pipe.generate({
          classLabels: labels,
          numInferenceSteps: numSteps,
          generator: new Generator(Math.max(0, Math.floor(Number(seed.value)) || 0)),
          onStep: async ({ step, numSteps: total, timestep, sample: x, predOriginalSample }) => {
            // the view was taken away (backend switch): stop denoising
            if (!root.isConnected) throw new Error('the diffusion view was closed');
            if (mine !== version) return;
            const values = await x.data();
            const guess = await predOriginalSample.data();
            labels.forEach((_, b) => {
              drawTile(ctx, values.subarray(b * n, (b + 1) * n), side, b * (tile + GAP), 0);
            });
            // the filmstrip: x_t and the predicted clean image of the first sample, drawn small
            const small = document.createElement('canvas');
            small.width = tile;
            small.height = tile;
            const smallCtx = small.getContext('2d');
            if (smallCtx) {
              for (const [row, src] of [values, guess].entries()) {
                drawTile(smallCtx, src.subarray(0, n), side, 0, 0);
                sctx.imageSmoothingEnabled = false;
                sctx.drawImage(small, 0, 0, tile, tile, step * (mini + 2), row * (mini + 2), mini, mini);
              }
            }
            status.textContent = `step ${step + 1}/${total} (timestep ${timestep})`;
            await new Promise((r) => setTimeout(r, 0)); // let the canvas paint
          },
        });
        if (mine !== version) {
          sample.dispose();
          return;
        }
        const seconds = (performance.now() - t0) / 1000;
        const logits: Tensor = classifier.forward(sample);
        const judged = verdicts(Float32Array.from(await logits.data()), TINY_SHAPES_CLASSES.length);
        logits.dispose();
        sample.dispose();
        const recognised = judged.filter((v, b) => v.best === labels[b]).length;
        verdictRow.replaceChildren(
          ...judged.map((v, b) =>
            el(
              'span',
              {
                class: v.best === labels[b] ? 'verdict ok' : 'verdict wrong',
                style: `width: ${tile}px; margin-right: ${GAP}px`,
              },
              el('span', {}, TINY_SHAPES_CLASSES[labels[b]]),
              el(
                'span',
                {},
                v.best === labels[b]
                  ? `✓ ${(100 * v.prob).toFixed(0)}%`
                  : `✗ seen ${TINY_SHAPES_CLASSES[v.best]} ${(100 * v.prob).toFixed(0)}%`,
              ),
            ),
          ),
        );
        status.textContent = `${labels.length} images, ${numSteps} DDIM steps in ${seconds.toFixed(1)} s · the classifier recognised ${recognised}/${labels.length}`;
        canvas.dataset.state = 'done';
      } finally {
        if (mine === version) run.disabled = false;
      }
    };
    // A failure shows in the view; a view taken away (backend switch) just stops.
    const launch = () =>
      start().catch((err: unknown) => {
        if (!root.isConnected) return;
        status.textContent = `failed: ${(err as Error).message}`;
        console.error(err);
      });
    run.addEventListener('click', () => void launch());
    void launch();
    await diffusionSections(root, pipe, side);
    await guidanceSection(root, pipe, classifier, side);
  },
};
