import { generate } from '@attnkit/sampling';
import { manualSeed } from '@attnkit/tensor-core';
import { CharTokenizer } from '@attnkit/tokenizer';
import { causalLMLoss, GPT2LMHeadModel, type LogitsModel, lmBatches, train } from '@attnkit/transformer';
// The fables the embedded tiny GPT learned from, shipped in @attnkit/transformer (MIT).
import fables from '../../../../packages/transformer/assets/corpus/fables.txt?raw';
import { backendName } from '../backend.js';
import { el, type Page } from '../page.js';
import { slider } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const HEIGHT = 220;
const PAD = 36;
const SAMPLE_PROMPT = 'THE ';
/** Shortest text to train on: a few 32-character windows. */
const MIN_TEXT = 64;

/** An SVG element with attributes. */
function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Draws the loss curve (steps on x, nats/char on y) into `root`. */
function drawLoss(root: SVGSVGElement, losses: number[], maxSteps: number, ceiling: number): void {
  const lo = 0;
  const hi = Math.max(ceiling, ...losses);
  const x = (s: number) => PAD + ((WIDTH - 2 * PAD) * s) / Math.max(1, maxSteps);
  const y = (v: number) => HEIGHT - PAD + ((v - lo) / (hi - lo)) * -(HEIGHT - 2 * PAD);
  const kids: SVGElement[] = [
    svg('line', {
      x1: String(PAD),
      y1: String(HEIGHT - PAD),
      x2: String(WIDTH - PAD),
      y2: String(HEIGHT - PAD),
      class: 'axis',
    }),
    svg('line', {
      x1: String(PAD),
      y1: String(PAD),
      x2: String(PAD),
      y2: String(HEIGHT - PAD),
      class: 'axis',
    }),
  ];
  for (const v of [0, hi / 2, hi]) {
    const t = svg('text', { x: String(PAD - 4), y: String(y(v) + 4), 'text-anchor': 'end', class: 'tick' });
    t.textContent = v.toFixed(1);
    kids.push(t);
  }
  for (const s of [0, Math.round(maxSteps / 2), maxSteps]) {
    const t = svg('text', {
      x: String(x(s)),
      y: String(HEIGHT - PAD + 16),
      'text-anchor': 'middle',
      class: 'tick',
    });
    t.textContent = String(s);
    kids.push(t);
  }
  const points = losses.map((v, i) => `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  kids.push(svg('polyline', { points, class: 'loss-line' }));
  root.replaceChildren(...kids);
  root.dataset.losses = JSON.stringify(losses.map((v) => Number(v.toFixed(5))));
}

/** Training: a small GPT learning the fables in the page, with a live loss curve and samples. */
export const trainingPage: Page = {
  id: 'training',
  title: 'Training',
  summary:
    'Training is next-character prediction: cross-entropy on random windows of the text, its gradient by backpropagation, and an AdamW step, over and over.',
  async render(root) {
    const fableChars = CharTokenizer.fromText(fables).vocabSize;
    const corpus = el('select', { id: 'train-corpus', 'aria-label': 'Training text' });
    corpus.append(
      el('option', { value: 'fables' }, 'the fables'),
      el('option', { value: 'mine' }, 'my text'),
    );
    const ownText = el('textarea', {
      id: 'train-text',
      rows: '4',
      'aria-label': 'Your training text',
      placeholder: `Paste at least ${MIN_TEXT} characters to train on.`,
    });
    ownText.hidden = true;
    corpus.addEventListener('change', () => {
      ownText.hidden = corpus.value !== 'mine';
    });
    const steps = slider('train-steps', 'steps', 10, 1000, 10, 200);
    const every = slider('train-every', 'sample every', 5, 200, 5, 25);
    const lr = slider('train-lr', 'learning rate (log₁₀)', -4, -2, 0.1, -2.5, (v) =>
      (10 ** v).toExponential(1),
    );
    const seed = el('input', {
      id: 'train-seed',
      type: 'number',
      value: '1',
      min: '0',
      'aria-label': 'Seed',
    });
    const start = el('button', { id: 'train-run', type: 'button' }, 'Train');
    const stop = el('button', { id: 'train-stop', type: 'button', disabled: '' }, 'Stop');
    const status = el('p', { id: 'train-status', class: 'stats', 'aria-live': 'polite' });
    const chart = svg('svg', {
      id: 'train-loss',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      'aria-label': 'Training loss per step',
      class: 'chart',
    });
    const samples = el('ol', { id: 'train-samples', class: 'samples' });
    root.append(
      el(
        'p',
        { class: 'note' },
        `A fresh GPT-2 (2 blocks, width 48, 4 heads, 32-character windows, batches of 16, one id per distinct character) on the ${fables.length.toLocaleString('en-US')} characters of fables the embedded model learned from (${fableChars} distinct characters, so the untrained loss is near ln ${fableChars} = ${Math.log(fableChars).toFixed(2)} nats/char), or on text you paste.`,
      ),
      el('div', { class: 'controls' }, el('label', {}, 'train on ', corpus)),
      ownText,
      el(
        'div',
        { class: 'controls' },
        steps.wrap,
        every.wrap,
        lr.wrap,
        el('label', {}, 'seed ', seed),
        start,
        stop,
      ),
      status,
      chart,
      el('h3', {}, 'Samples while it learns'),
      samples,
    );
    drawLoss(chart, [], Number(steps.input.value), Math.log(fableChars));

    let stopped = false;
    stop.addEventListener('click', () => {
      stopped = true;
    });
    const run = async () => {
      stopped = false;
      start.disabled = true;
      stop.disabled = false;
      root.dataset.state = 'running';
      samples.replaceChildren();
      const text = corpus.value === 'mine' ? ownText.value : fables;
      if (Array.from(text).length < MIN_TEXT) {
        status.textContent = `paste at least ${MIN_TEXT} characters to train on (got ${Array.from(text).length})`;
        root.dataset.state = 'failed';
        start.disabled = false;
        stop.disabled = true;
        return;
      }
      const tokenizer = CharTokenizer.fromText(text);
      const tokens = tokenizer.encode(text);
      // the samples start from "THE " where the text has those characters, else from its first one
      const known = new Set(tokenizer.chars);
      const prompt = Array.from(SAMPLE_PROMPT).every((ch) => known.has(ch))
        ? SAMPLE_PROMPT
        : Array.from(text)[0];
      const maxSteps = Number(steps.input.value);
      const sampleEvery = Number(every.input.value);
      const s = Math.max(0, Math.floor(Number(seed.value)) || 0);
      manualSeed(s);
      const model = new GPT2LMHeadModel({
        vocabSize: tokenizer.vocabSize,
        nPositions: 64,
        nEmbd: 48,
        nLayer: 2,
        nHead: 4,
        residPdrop: 0,
        embdPdrop: 0,
        attnPdrop: 0,
      });
      const losses: number[] = [];
      const where = backendName();
      const sample = async (step: number) => {
        const { sequences } = await generate(model, [tokenizer.encode(prompt)], {
          maxNewTokens: 48,
          doSample: true,
          temperature: 0.8,
          seed: s,
        });
        samples.append(
          el(
            'li',
            { 'data-step': String(step) },
            el('span', { class: 'stats' }, `step ${step}: `),
            el('code', {}, tokenizer.decode(sequences[0])),
          ),
        );
        model.train();
      };
      try {
        await train(model, {
          batches: lmBatches(tokens, { batchSize: 16, blockSize: 32, seed: s }),
          loss: (m, batch) => causalLMLoss(m as LogitsModel, batch),
          maxSteps,
          lr: 10 ** Number(lr.input.value),
          warmupSteps: Math.min(10, maxSteps),
          onProgress: async (p) => {
            losses.push(p.loss);
            drawLoss(chart, losses, maxSteps, Math.log(tokenizer.vocabSize));
            const rate = (p.step / p.elapsedMs) * 1000;
            status.textContent = `step ${p.step}/${maxSteps} · loss ${p.loss.toFixed(3)} nats/char · ${rate.toFixed(1)} steps/s on ${where}`;
            if (p.step % sampleEvery === 0 || p.step === maxSteps) await sample(p.step);
            // let the page paint (and notice Stop) between steps
            await new Promise((r) => setTimeout(r, 0));
            if (stopped || !root.isConnected) throw new Error('stopped');
          },
        });
        root.dataset.state = 'done';
      } catch (err) {
        const message = (err as Error).message;
        root.dataset.state = message === 'stopped' ? 'stopped' : 'failed';
        if (message !== 'stopped') status.textContent = `training failed on ${where}: ${message}`;
      } finally {
        model.dispose();
        start.disabled = false;
        stop.disabled = true;
      }
    };
    start.addEventListener('click', () => void run());
  },
};
