// Diffusion, continued: forward noising over t with the schedule's curves, and four samplers side
// by side on the tiny shapes U-Net at the same seed and step budget.
import {
  type ClassConditionalPipeline,
  DDIMScheduler,
  DDPMScheduler,
  DPMSolverMultistepScheduler,
  denoise,
  drawShape,
  EulerDiscreteScheduler,
  type Scheduler,
  TINY_SHAPES_CLASSES,
} from '@attnkit/diffusion';
import { Generator, randn, tensor } from '@attnkit/tensor-core';
import { el } from '../page.js';
import { slider } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const TILE = 96;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A grayscale image in [−1, 1] on its own canvas, `TILE` pixels wide. */
function imageCanvas(pixels: ArrayLike<number>, side: number, id: string, label: string): HTMLCanvasElement {
  const canvas = el('canvas', {
    id,
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

/** The schedule's ᾱ_t and log10 SNR_t over t as two curves, with a marker at `t`. */
function scheduleCurves(alphaBar: Float64Array, t: number): SVGElement {
  const W = 320;
  const H = 140;
  const T = alphaBar.length;
  const x = (i: number) => 30 + (i / (T - 1)) * (W - 40);
  const snr = Array.from(alphaBar, (a) => Math.log10(a / (1 - a)));
  const lo = Math.max(-6, Math.min(...snr));
  const hi = Math.min(6, Math.max(...snr));
  const ySnr = (v: number) => 10 + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1)) * (H - 30);
  const yA = (v: number) => 10 + (1 - v) * (H - 30);
  const line = (ys: (i: number) => number) =>
    Array.from({ length: 101 }, (_, k) => {
      const i = Math.round((k / 100) * (T - 1));
      return `${x(i).toFixed(1)},${ys(i).toFixed(1)}`;
    }).join(' ');
  // the labels sit on the side of the marker with room
  const at: Record<string, string | number> =
    t < T / 2 ? { x: x(t) + 4 } : { x: x(t) - 4, 'text-anchor': 'end' };
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    class: 'diagram curves',
    id: 'noise-curves',
  });
  root.append(
    svg('polyline', { points: line((i) => yA(alphaBar[i])), class: 'curve abar', fill: 'none' }),
    svg('polyline', { points: line((i) => ySnr(snr[i])), class: 'curve snr', fill: 'none' }),
    svg('line', { x1: x(t), x2: x(t), y1: 6, y2: H - 18, class: 'edge' }),
    svg('text', { x: 30, y: H - 4, class: 'shape' }, 't = 0'),
    svg('text', { x: W - 60, y: H - 4, class: 'shape' }, `t = ${T - 1}`),
    svg('text', { ...at, y: 18, class: 'label abar' }, `ᾱ ${alphaBar[t].toFixed(3)}`),
    svg('text', { ...at, y: 34, class: 'label snr' }, `log₁₀ SNR ${snr[t].toFixed(2)}`),
  );
  return root;
}

/** Appends the noising and sampler-comparison sections to the diffusion view. */
export async function diffusionSections(root: HTMLElement, pipe: ClassConditionalPipeline, side: number) {
  const train = pipe.scheduler as Scheduler;
  const base = {
    numTrainTimesteps: train.config.numTrainTimesteps,
    betaSchedule: train.config.betaSchedule,
    predictionType: train.config.predictionType,
    timestepSpacing: train.config.timestepSpacing,
  };
  const T = train.alphasCumprod.length;

  // Forward noising: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, with a drawn shape and fixed noise.
  const tSlider = slider('noise-t', 't', 0, T - 1, 1, 250);
  const noiseClass = el('select', { id: 'noise-class', 'aria-label': 'Shape' });
  TINY_SHAPES_CLASSES.forEach((name, i) => {
    noiseClass.append(el('option', { value: String(i) }, name));
  });
  const noiseBox = el('div', { id: 'noise-box', class: 'map-pair' });
  const noiseT = randn([1, 1, side, side], { generator: new Generator(0) });
  const noise = Float32Array.from(await noiseT.data());
  noiseT.dispose();
  const showNoise = async () => {
    const t = Number(tSlider.input.value);
    const x0 = drawShape(
      Number(noiseClass.value),
      { cx: side / 2, cy: side / 2, radius: side * 0.3, angle: 0, thickness: 1.5, brightness: 1 },
      side,
    );
    const x0T = tensor(x0, [1, 1, side, side]);
    const epsT = tensor(noise, [1, 1, side, side]);
    const xtT = train.addNoise(x0T, epsT, [t]);
    const xt = Float32Array.from(await xtT.data());
    for (const x of [x0T, epsT, xtT]) x.dispose();
    noiseBox.dataset.t = String(t);
    noiseBox.dataset.alphaBar = String(train.alphasCumprod[t]);
    noiseBox.dataset.x0 = JSON.stringify(Array.from(x0));
    noiseBox.dataset.noise = JSON.stringify(Array.from(noise));
    noiseBox.dataset.xt = JSON.stringify(Array.from(xt));
    noiseBox.replaceChildren(
      el('figure', {}, imageCanvas(x0, side, 'noise-x0', 'the clean image x₀'), el('figcaption', {}, 'x₀')),
      el(
        'figure',
        {},
        imageCanvas(xt, side, 'noise-xt', `the noisy image at t = ${t}`),
        el('figcaption', {}, `x_${t}`),
      ),
      el(
        'figure',
        {},
        scheduleCurves(train.alphasCumprod, t),
        el('figcaption', {}, 'ᾱ_t (blue) and log₁₀ SNR_t, SNR = ᾱ/(1−ᾱ) (red)'),
      ),
    );
  };
  tSlider.input.addEventListener('input', () => void showNoise());
  noiseClass.addEventListener('change', () => void showNoise());

  // Samplers side by side.
  const samplerClass = el('select', { id: 'samplers-class', 'aria-label': 'Class' });
  TINY_SHAPES_CLASSES.forEach((name, i) => {
    samplerClass.append(el('option', { value: String(i) }, name));
  });
  const budget = slider('samplers-steps', 'steps', 2, 50, 1, 10);
  const samplerSeed = el('input', {
    id: 'samplers-seed',
    type: 'number',
    value: '1',
    min: '0',
    'aria-label': 'Seed',
  });
  const samplersRun = el('button', { id: 'samplers-run', type: 'button' }, 'Compare samplers');
  const samplersBox = el('div', { id: 'samplers-box', class: 'map-pair' });
  const makers: [string, () => Scheduler][] = [
    ['DDPM', () => new DDPMScheduler({ ...base, clipSample: true })],
    ['DDIM', () => new DDIMScheduler({ ...base, clipSample: true })],
    ['Euler', () => new EulerDiscreteScheduler(base)],
    ['DPM-Solver++', () => new DPMSolverMultistepScheduler(base)],
  ];
  const runSamplers = async () => {
    const steps = Number(budget.input.value);
    const seed = Math.max(0, Math.floor(Number(samplerSeed.value)) || 0);
    const cls = tensor(Int32Array.from([Number(samplerClass.value)]), [1], 'int32');
    const figures: HTMLElement[] = [];
    const results: Record<string, number[]> = {};
    try {
      for (const [name, make] of makers) {
        const t0 = performance.now();
        const x = await denoise((s, t) => pipe.unet.forward(s, t, cls), {
          scheduler: make(),
          numInferenceSteps: steps,
          shape: [1, 1, side, side],
          generator: new Generator(seed),
        });
        const px = Float32Array.from(await x.data());
        x.dispose();
        results[name] = Array.from(px);
        figures.push(
          el(
            'figure',
            { 'data-sampler': name },
            imageCanvas(px, side, `sampler-${name.replace(/\W/g, '')}`, `${name} sample`),
            el('figcaption', {}, `${name} · ${(performance.now() - t0).toFixed(0)} ms`),
          ),
        );
      }
    } finally {
      cls.dispose();
    }
    samplersBox.dataset.key = `${samplerClass.value}:${steps}:${seed}`;
    samplersBox.dataset.results = JSON.stringify(results);
    samplersBox.replaceChildren(...figures);
  };
  samplersRun.addEventListener('click', () => void runSamplers());

  root.append(
    el('h3', {}, 'Forward noising'),
    el(
      'p',
      { class: 'note' },
      'Training adds noise in one jump: x_t = √ᾱ_t · x₀ + √(1−ᾱ_t) · ε, with the model’s own cosine schedule (computed by its scheduler’s addNoise). Slide t.',
    ),
    el('div', { class: 'controls' }, el('label', {}, 'shape ', noiseClass), tSlider.wrap),
    noiseBox,
    el('h3', {}, 'Four samplers, same noise, same step budget'),
    el(
      'p',
      { class: 'note' },
      'DDPM (stochastic), DDIM (deterministic), Euler and DPM-Solver++ (2nd order) on the same U-Net from the same seed, without guidance (classifier-free guidance follows below).',
    ),
    el(
      'div',
      { class: 'controls' },
      el('label', {}, 'class ', samplerClass),
      budget.wrap,
      el('label', {}, 'seed ', samplerSeed),
      samplersRun,
    ),
    samplersBox,
  );
  await showNoise();
  await runSamplers();
}
