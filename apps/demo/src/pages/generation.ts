import { type Candidate, type GenerationConfig, type ProcessorTrace, stream } from '@attnkit/sampling';
import { Generator } from '@attnkit/tensor-core';
import type { CharTokenizer } from '@attnkit/transformer';
import { tinyGPT } from '../model.js';
import { el, type Page } from '../page.js';
import { decodingSections } from './decoding.js';

const DEFAULT_PROMPT = 'THE FOX AND THE ';
const TOP_N = 8;

/** A readable label for one character: whitespace made visible. */
function visible(ch: string): string {
  return ch === ' ' ? '·' : ch === '\n' ? '↵' : ch;
}

function slider(id: string, label: string, min: number, max: number, step: number, value: number) {
  const input = el('input', {
    id,
    type: 'range',
    min: String(min),
    max: String(max),
    step: String(step),
    value: String(value),
    'aria-label': label,
  });
  const out = el('output', { for: id }, String(value));
  input.addEventListener('input', () => {
    out.textContent = input.value;
  });
  return { input, wrap: el('label', { class: 'slider' }, `${label} `, input, ' ', out) };
}

/** The trace of one step as a table: the top candidates before the processors and after each. */
function traceTable(trace: ProcessorTrace[], tokenizer: CharTokenizer, chosen: number): HTMLElement {
  const table = el('table', { class: 'trace' });
  if (trace.length === 0) {
    return el(
      'p',
      { class: 'note' },
      'No processor is active (temperature 1, top-p 1, top-k off): the character is drawn from the model’s own distribution.',
    );
  }
  const columns: { title: string; cands: Candidate[] }[] = [
    { title: 'model', cands: trace[0].before },
    ...trace.map((t) => ({ title: `after ${t.processor}`, cands: t.after })),
  ];
  table.append(el('tr', {}, el('th', {}, '#'), ...columns.map((c) => el('th', {}, c.title))));
  for (let r = 0; r < TOP_N; r++) {
    const row = el('tr', {}, el('th', {}, String(r + 1)));
    for (const col of columns) {
      const c = col.cands[r];
      if (!c) {
        row.append(el('td', {}, ''));
        continue;
      }
      const prob = Number.isFinite(c.prob) ? c.prob : 0;
      const cell = el(
        'td',
        { style: `--w: ${prob.toFixed(3)}`, class: c.tokenId === chosen ? 'chosen' : '' },
        el('code', {}, visible(tokenizer.decode([c.tokenId]))),
        ` ${(100 * prob).toFixed(1)}%`,
      );
      row.append(cell);
    }
    table.append(row);
  }
  return table;
}

/** Transformer blocks and generation: the embedded tiny GPT writing in the browser. */
export const generationPage: Page = {
  id: 'generation',
  title: 'Generation',
  summary:
    'Transformer blocks turn the text so far into next-character probabilities; processors reshape them and sampling picks one, over and over.',
  async render(root) {
    const info = el('p', { id: 'gpt-info', class: 'stats' }, 'loading the tiny GPT…');
    root.append(info);
    const { model, tokenizer, training } = await tinyGPT();
    const c = model.config;
    const alphabet = new Set(tokenizer.chars);
    const loss = training?.finalValidationLoss;
    const bigram = training?.baselines?.bigramAdd1;
    info.textContent =
      `The embedded tiny GPT (no download): ${c.nLayer} blocks, width ${c.nEmbd}, ${c.nHead} heads, ` +
      `${c.nPositions} positions, ${tokenizer.vocabSize} characters, ${model.numParameters().toLocaleString('en-US')} parameters` +
      (loss !== undefined
        ? `; held-out loss ${loss.toFixed(3)} nats/char${bigram !== undefined ? ` (bigram counts: ${bigram.toFixed(3)})` : ''}`
        : '') +
      '. Trained on a small corpus of fables: it writes fable-shaped text with invented words.';

    const prompt = el('textarea', { id: 'gpt-prompt', rows: '2', 'aria-label': 'Prompt' });
    prompt.value = DEFAULT_PROMPT;
    const promptNote = el('p', { id: 'gpt-prompt-note', class: 'note' });
    const temperature = slider('gpt-temperature', 'temperature', 0.1, 2, 0.05, 0.8);
    const topP = slider('gpt-top-p', 'top-p', 0.05, 1, 0.01, 0.95);
    const topK = slider('gpt-top-k', 'top-k (0 = off)', 0, tokenizer.vocabSize, 1, 0);
    const repetition = slider('gpt-repetition', 'repetition penalty', 1, 2, 0.05, 1);
    const presence = slider('gpt-presence', 'presence penalty', 0, 2, 0.05, 0);
    const seed = el('input', { id: 'gpt-seed', type: 'number', value: '7', min: '0', 'aria-label': 'Seed' });
    const length = el('input', {
      id: 'gpt-length',
      type: 'number',
      value: '200',
      min: '1',
      max: '2000',
      'aria-label': 'Characters to generate',
    });
    const run = el('button', { id: 'gpt-run', type: 'button' }, 'Generate');
    const stop = el('button', { id: 'gpt-stop', type: 'button' }, 'Stop');
    const output = el('pre', { id: 'gpt-output', class: 'generated' });
    const stats = el('p', { id: 'gpt-stats', class: 'stats' });
    const traceTitle = el('h3', {}, 'Next-character candidates');
    const traceHelp = el(
      'p',
      { class: 'note' },
      `The top ${TOP_N} candidates of the latest step (hover a generated character to see its step): the model's probabilities, then after each processor. The drawn character is highlighted. Sliders take effect at the next character.`,
    );
    const traceBox = el('div', { id: 'gpt-trace' });
    root.append(
      prompt,
      promptNote,
      el(
        'div',
        { class: 'controls' },
        temperature.wrap,
        topP.wrap,
        topK.wrap,
        repetition.wrap,
        presence.wrap,
        el('label', {}, 'seed ', seed),
        el('label', {}, 'characters ', length),
        run,
        stop,
      ),
      output,
      stats,
      traceTitle,
      traceHelp,
      traceBox,
    );

    const traces: { trace: ProcessorTrace[]; chosen: number }[] = [];
    const showTrace = (i: number) => {
      const t = traces[i];
      if (t) traceBox.replaceChildren(traceTable(t.trace, tokenizer, t.chosen));
    };
    output.addEventListener('mouseover', (e) => {
      const step = (e.target as HTMLElement).dataset?.step;
      if (step !== undefined) showTrace(Number(step));
    });

    let version = 0;
    stop.addEventListener('click', () => {
      version++;
      output.dataset.state = 'stopped';
    });

    const start = async () => {
      const mine = ++version;
      // Characters the model has never seen cannot be encoded: drop them and say which.
      const raw = prompt.value;
      const dropped = [...new Set(Array.from(raw).filter((ch) => !alphabet.has(ch)))];
      const text = Array.from(raw)
        .filter((ch) => alphabet.has(ch))
        .join('');
      promptNote.textContent = dropped.length
        ? `Left out (not among the model's ${alphabet.size} characters): ${dropped.map((d) => JSON.stringify(d)).join(' ')}`
        : '';
      let ids = tokenizer.encode(text.length ? text : DEFAULT_PROMPT);
      const total = Math.max(1, Math.min(2000, Math.floor(Number(length.value)) || 200));
      const generator = new Generator(Math.max(0, Math.floor(Number(seed.value)) || 0));
      traces.length = 0;
      output.replaceChildren(el('span', { class: 'prompt' }, tokenizer.decode(ids)));
      output.dataset.state = 'running';
      stats.textContent = '';
      const t0 = performance.now();
      // The model knows positions 0..nPositions-1: generation runs in windows that restart from the
      // last KEEP characters, with the KV cache inside each window (one new position per step).
      const keep = Math.max(1, Math.floor((c.nPositions * 2) / 3));
      let step = 0;
      while (step < total) {
        if (mine !== version || !root.isConnected) return;
        const context = ids.slice(-keep);
        const config: GenerationConfig = {
          maxNewTokens: Math.min(total - step, c.nPositions - context.length),
          doSample: true,
          temperature: Number(temperature.input.value),
          topP: Number(topP.input.value),
          generator,
          traceTopN: TOP_N,
        };
        const k = Number(topK.input.value);
        if (k > 0) config.topK = k;
        const rep = Number(repetition.input.value);
        if (rep !== 1) config.repetitionPenalty = rep;
        const pres = Number(presence.input.value);
        if (pres !== 0) config.presencePenalty = pres;
        for await (const chunk of stream(model, [context], config)) {
          if (mine !== version || !root.isConnected) return;
          const id = chunk.tokenIds[0];
          ids = ids.concat(id);
          traces.push({ trace: chunk.trace?.[0] ?? [], chosen: id });
          output.append(el('span', { class: 'char', 'data-step': String(step) }, tokenizer.decode([id])));
          showTrace(step);
          step++;
          const seconds = (performance.now() - t0) / 1000;
          stats.textContent = `${step}/${total} characters · ${(step / seconds).toFixed(0)} characters/s · windows of up to ${c.nPositions} positions restarted from the last ${keep} characters, KV cache within each`;
          // Let the browser paint the new character (and notice Stop) before the next one.
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      if (mine === version) output.dataset.state = 'done';
    };
    // A failure shows in the view; a view taken away (backend switch) just stops.
    const launch = () =>
      start().catch((err: unknown) => {
        if (!root.isConnected) return;
        stats.textContent = `failed: ${(err as Error).message}`;
        console.error(err);
      });
    run.addEventListener('click', () => void launch());
    void launch();
    const promptIds = () => {
      const text = Array.from(prompt.value)
        .filter((ch) => alphabet.has(ch))
        .join('');
      return tokenizer.encode(text.length ? text : DEFAULT_PROMPT);
    };
    await decodingSections(root, model, tokenizer, promptIds);
  },
};
