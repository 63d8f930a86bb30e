// Generation, continued: beam search drawn as a tree, and speculative decoding with a draft made
// from the tiny GPT's first block. Both run attnkit's own `generate` on the current backend.
import { generate } from '@attnkit/sampling';
import { tensor } from '@attnkit/tensor-core';
import type { CharTokenizer, GPT2LMHeadModel } from '@attnkit/transformer';
import { onCurrentBackend } from '../backend.js';
import { truncatedDraft } from '../draft.js';
import { el } from '../page.js';
import { slider, visibleChar } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * The returned beams as a prefix tree: one column per generated step, a node per distinct prefix,
 * each final beam a leaf labelled with its score.
 */
function beamTree(continuations: string[], scores: number[]): SVGElement {
  const colW = 26;
  const rowH = 30;
  const steps = Math.max(...continuations.map((s) => [...s].length));
  const W = (steps + 1) * colW + 90;
  const H = continuations.length * rowH + 10;
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    class: 'diagram beam-tree',
    id: 'beam-tree',
  });
  // y of a prefix: the mean row of the beams that share it
  const rowsOf = new Map<string, number[]>();
  continuations.forEach((s, b) => {
    const chars = [...s];
    for (let t = 0; t <= chars.length; t++) {
      const key = chars.slice(0, t).join('');
      rowsOf.set(key, [...(rowsOf.get(key) ?? []), b]);
    }
  });
  const y = (key: string) => {
    const rows = rowsOf.get(key) ?? [0];
    return 20 + (rows.reduce((a, r) => a + r, 0) / rows.length) * rowH;
  };
  const drawn = new Set<string>();
  continuations.forEach((s, b) => {
    const chars = [...s];
    for (let t = 1; t <= chars.length; t++) {
      const key = chars.slice(0, t).join('');
      if (drawn.has(key)) continue;
      drawn.add(key);
      const parent = chars.slice(0, t - 1).join('');
      root.append(
        svg('line', { x1: (t - 1) * colW + 10, y1: y(parent), x2: t * colW + 4, y2: y(key), class: 'edge' }),
      );
      const shared = (rowsOf.get(key) ?? []).length > 1;
      root.append(
        svg(
          'text',
          { x: t * colW + 6, y: y(key) + 4, class: shared ? 'label shared' : 'label' },
          visibleChar(chars[t - 1]),
        ),
      );
    }
    root.append(
      svg('text', { x: chars.length * colW + 26, y: y(s) + 4, class: 'shape' }, scores[b].toFixed(3)),
    );
  });
  root.append(svg('circle', { cx: 8, cy: y(''), r: 4, class: 'arrowhead' }));
  return root;
}

/** Appends the beam-search and speculative-decoding sections to the generation view. */
export async function decodingSections(
  root: HTMLElement,
  model: GPT2LMHeadModel,
  tokenizer: CharTokenizer,
  promptIds: () => number[],
): Promise<void> {
  const beams = slider('beam-count', 'beams', 2, 6, 1, 3);
  const beamLen = slider('beam-length', 'new characters', 2, 24, 1, 12);
  const beamRun = el('button', { id: 'beam-run', type: 'button' }, 'Run beam search');
  const beamInfo = el('p', { id: 'beam-info', class: 'stats' });
  const beamBox = el('div', { id: 'beam-box', class: 'scroll' });

  const draftLayers = slider('spec-layers', 'draft blocks', 1, model.config.nLayer - 1, 1, 1);
  const specK = slider('spec-k', 'draft tokens per round', 1, 8, 1, 4);
  const specRun = el('button', { id: 'spec-run', type: 'button' }, 'Run speculative decoding');
  const specInfo = el('p', { id: 'spec-info', class: 'stats' });
  const specOut = el('pre', { id: 'spec-output', class: 'generated' });
  const SPEC_NEW = 40;

  const runBeams = async () => {
    const ids = promptIds();
    const n = Number(beams.input.value);
    const t0 = performance.now();
    const out = await generate(model, [ids], {
      numBeams: n,
      numReturnSequences: n,
      maxNewTokens: Number(beamLen.input.value),
      doSample: false,
    });
    const ms = performance.now() - t0;
    const texts = out.sequences.map((s) => tokenizer.decode(s.slice(ids.length)));
    const scores = out.sequencesScores ?? texts.map(() => Number.NaN);
    beamBox.dataset.sequences = JSON.stringify(out.sequences);
    beamBox.dataset.scores = JSON.stringify(scores);
    beamInfo.textContent = `${n} beams after “${tokenizer.decode(ids)}”, ${beamLen.input.value} characters, in ${ms.toFixed(0)} ms: shared prefixes drawn once (bold), each leaf with its length-normalised log-probability.`;
    beamBox.replaceChildren(beamTree(texts, scores));
  };

  const runSpeculative = async () => {
    const ids = promptIds();
    const draft = await onCurrentBackend(truncatedDraft(model, Number(draftLayers.input.value)));
    const k = Number(specK.input.value);
    const t0 = performance.now();
    const out = await generate(model, [ids], {
      maxNewTokens: SPEC_NEW,
      doSample: false,
      assistantModel: draft,
      numAssistantTokens: k,
    });
    const ms = performance.now() - t0;
    const seq = out.sequences[0];
    // Where the draft's own greedy guess (on the accepted text so far) matched the target's token:
    // under greedy decoding exactly the draft tokens the target accepts.
    const input = tensor([seq.slice(0, -1)], undefined, 'int32');
    const d = draft.forward({ inputIds: input });
    input.dispose();
    const logits = await d.logits.data();
    d.logits.dispose();
    d.pastKeyValues?.dispose();
    const V = model.config.vocabSize;
    const agreed = seq.slice(ids.length).map((tok, i) => {
      const row = logits.subarray((ids.length - 1 + i) * V, (ids.length + i) * V);
      let best = 0;
      for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
      return best === tok;
    });
    specOut.dataset.sequence = JSON.stringify(seq);
    specOut.dataset.rate = String(out.acceptanceRate ?? Number.NaN);
    specOut.replaceChildren(
      el('span', { class: 'prompt' }, tokenizer.decode(ids)),
      ...seq
        .slice(ids.length)
        .map((tok, i) =>
          el('span', { class: `char ${agreed[i] ? 'accepted' : 'rejected'}` }, tokenizer.decode([tok])),
        ),
    );
    const nAgreed = agreed.filter(Boolean).length;
    specInfo.textContent = `acceptance rate ${((out.acceptanceRate ?? 0) * 100).toFixed(1)}% (accepted / proposed draft tokens) · the draft guessed ${nAgreed}/${agreed.length} characters (underlined green; red: the target's correction) · ${ms.toFixed(0)} ms · the text equals the target's own greedy output.`;
  };

  beamRun.addEventListener('click', () => void runBeams());
  specRun.addEventListener('click', () => void runSpeculative());
  root.append(
    el('h3', {}, 'Beam search'),
    el(
      'p',
      { class: 'note' },
      'Keep the n most probable continuations at every step instead of one; the returned beams form a tree of shared prefixes.',
    ),
    el('div', { class: 'controls' }, beams.wrap, beamLen.wrap, beamRun),
    beamInfo,
    beamBox,
    el('h3', {}, 'Speculative decoding'),
    el(
      'p',
      { class: 'note' },
      'A cheap draft (the tiny GPT cut after its first blocks) proposes k characters; the full model checks them all in one pass and keeps the agreeing prefix. Greedy here, so the text is exactly the full model’s.',
    ),
    el('div', { class: 'controls' }, draftLayers.wrap, specK.wrap, specRun),
    specInfo,
    specOut,
  );
  await runBeams();
  await runSpeculative();
}
