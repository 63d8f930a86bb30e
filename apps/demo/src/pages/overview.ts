import { add, noGrad, softmax, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import { backendName } from '../backend.js';
import { tinyGPT } from '../model.js';
import { el, type Page } from '../page.js';
import { heatmapCanvas, visibleChar } from '../ui.js';

const DEFAULT_PROMPT = 'THE FOX AND THE CROW';
const SVG = 'http://www.w3.org/2000/svg';

/** One part of the diagram: a tensor the forward pass produced on the prompt. */
interface Part {
  /** data-part: `wte`, `h.1.attn`, `logits`… */
  id: string;
  label: string;
  /** What it is, one line. */
  what: string;
  shape: number[];
  /** The values read back, [rows = L, cols = last dim]. */
  values: Float32Array;
  /** The view that explains this part. */
  view?: string;
  /** Drawn as a residual branch (indented). */
  branch?: boolean;
}

/** An SVG element with attributes. */
function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/**
 * Runs the tiny GPT's forward pass stage by stage (its own modules, in the order GPT2Model.forward
 * calls them) and reads back every intermediate tensor.
 */
async function forwardParts(ids: number[]): Promise<Part[]> {
  const { model } = await tinyGPT();
  const t = model.transformer;
  const L = ids.length;
  const E = model.config.nEmbd;
  const V = model.config.vocabSize;
  type Named = { id: string; label: string; what: string; view?: string; branch?: boolean; t: Tensor };
  const named: Named[] = noGrad(() =>
    tidy(() => {
      const input = tensor([ids], undefined, 'int32');
      const pos = tensor([Array.from({ length: L }, (_, i) => i)], undefined, 'int32');
      const tok = t.wte.forward(input);
      const pe = t.wpe.forward(pos);
      let h = add(tok, pe);
      const out: Named[] = [
        {
          id: 'wte',
          label: 'token embedding (wte)',
          what: 'one learned row per character id',
          view: 'embeddings',
          t: tok,
        },
        {
          id: 'wpe',
          label: 'position embedding (wpe)',
          what: 'one learned row per position 0..L−1',
          view: 'embeddings',
          t: pe,
        },
        { id: 'h0', label: 'h₀ = token + position', what: 'the residual stream enters block 0', t: h },
      ];
      t.h.forEach((block, i) => {
        const attn = block.attn.forward(block.ln_1.forward(h), null, null);
        const a = add(h, attn);
        const mlp = block.mlp.forward(block.ln_2.forward(a));
        h = add(a, mlp);
        out.push(
          {
            id: `h.${i}.attn`,
            label: `block ${i} · attention`,
            what: `causal self-attention of ln_1(h), ${model.config.nHead} heads, added to the stream`,
            view: 'attention',
            branch: true,
            t: attn,
          },
          {
            id: `h.${i}.mlp`,
            label: `block ${i} · MLP`,
            what: 'two linear layers with GELU on ln_2(h), added to the stream',
            branch: true,
            t: mlp,
          },
        );
      });
      const lnf = t.ln_f.forward(h);
      out.push(
        { id: 'ln_f', label: 'final LayerNorm (ln_f)', what: 'the last hidden state', t: lnf },
        {
          id: 'logits',
          label: 'logits (lm_head)',
          what: 'a score per vocabulary character at every position',
          view: 'generation',
          t: model.lm_head.forward(lnf),
        },
      );
      return out;
    }),
  );
  try {
    return await Promise.all(
      named.map(async (n) => ({
        id: n.id,
        label: n.label,
        what: n.what,
        view: n.view,
        branch: n.branch,
        shape: [...n.t.shape],
        values: Float32Array.from(await n.t.data()),
      })),
    ).then((parts) => {
      for (const p of parts) {
        const last = p.shape[p.shape.length - 1];
        if (last !== (p.id === 'logits' ? V : E)) throw new Error(`${p.id}: unexpected shape ${p.shape}`);
      }
      return parts;
    });
  } finally {
    for (const n of named) n.t.dispose();
  }
}

/** The tiny GPT as one diagram: every stage of its forward pass on your prompt, shapes and values. */
export const overviewPage: Page = {
  id: 'overview',
  title: 'Overview',
  summary:
    'The whole tiny GPT on your prompt: characters → embeddings + positions → blocks of attention and MLP → final norm → logits. Every box is a tensor computed now; pick one to see it.',
  async render(root) {
    const info = el('p', { id: 'ov-info', class: 'stats' }, 'loading the tiny GPT…');
    root.append(info);
    const { model, tokenizer } = await tinyGPT();
    const alphabet = new Set(tokenizer.chars);
    const prompt = el('input', {
      id: 'ov-prompt',
      type: 'text',
      value: DEFAULT_PROMPT,
      maxlength: String(model.config.nPositions),
      'aria-label': 'Prompt',
      class: 'wide',
    });
    const run = el('button', { id: 'ov-run', type: 'button' }, 'Run the model');
    const note = el('p', { id: 'ov-note', class: 'note' });
    const diagram = el('div', { id: 'ov-diagram', class: 'scroll' });
    const panel = el('div', { id: 'ov-panel', class: 'scroll', 'aria-live': 'polite' });
    const next = el('p', { id: 'ov-next', class: 'stats' });
    root.append(
      el('div', { class: 'controls' }, el('label', { class: 'grow' }, 'prompt ', prompt), run),
      note,
      el('div', { class: 'overview' }, diagram, el('div', {}, next, panel)),
    );

    let parts: Part[] = [];
    let chars: string[] = [];

    const showPart = (id: string) => {
      const p = parts.find((x) => x.id === id);
      if (!p) return;
      for (const g of diagram.querySelectorAll<SVGGElement>('g.part')) {
        g.setAttribute('aria-pressed', String(g.dataset.part === id));
      }
      const rows = p.shape[1];
      const cols = p.shape[2];
      // a diverging scale around 0, as wide as the largest magnitude
      let m = 0;
      for (const v of p.values) m = Math.max(m, Math.abs(v));
      const scaled = heatmapCanvas(p.values, rows, cols, {
        cell: Math.max(2, Math.min(10, Math.floor(560 / cols))),
        min: -m,
        max: m,
        label: `${p.label}: ${p.shape.join('×')} heat map`,
        id: 'ov-heatmap',
      });
      panel.dataset.part = p.id;
      panel.dataset.shape = p.shape.join(',');
      panel.dataset.values = JSON.stringify(Array.from(p.values));
      panel.replaceChildren(
        el('h3', { id: 'ov-panel-title' }, `${p.label} · [${p.shape.join(', ')}]`),
        el(
          'p',
          { class: 'note' },
          `${p.what}. Rows: the ${rows} positions (${chars.map(visibleChar).join('')}); columns: ${cols} ${p.id === 'logits' ? 'vocabulary characters' : 'features'}; blue > 0, orange < 0, |max| ${m.toFixed(3)}.`,
        ),
        scaled,
        ...(p.view
          ? [el('p', {}, el('a', { href: `#${p.view}`, id: 'ov-open-view' }, `open the ${p.view} view →`))]
          : []),
      );
    };

    const draw = () => {
      const W = 420;
      const boxH = 40;
      const gap = 14;
      const items: { part?: Part; label: string; shape: string }[] = [
        { label: `prompt “${chars.map(visibleChar).join('')}” → ids`, shape: `[1, ${chars.length}]` },
        ...parts.map((p) => ({ part: p, label: p.label, shape: `[${p.shape.join(', ')}]` })),
      ];
      const H = items.length * (boxH + gap);
      const root = svg('svg', {
        viewBox: `0 0 ${W} ${H}`,
        width: W,
        role: 'group',
        'aria-label': 'The tiny GPT, stage by stage',
        id: 'ov-svg',
        class: 'diagram',
      });
      root.append(
        svg(
          'defs',
          {},
          svg(
            'marker',
            {
              id: 'ov-arrow',
              viewBox: '0 0 8 8',
              refX: 7,
              refY: 4,
              markerWidth: 6,
              markerHeight: 6,
              orient: 'auto',
            },
            svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrowhead' }),
          ),
        ),
      );
      items.forEach((item, i) => {
        const y = i * (boxH + gap);
        const x = item.part?.branch ? 40 : 8;
        const w = W - x - 8;
        if (i > 0) {
          root.append(
            svg('line', {
              x1: W / 2,
              y1: y - gap,
              x2: W / 2,
              y2: y - 2,
              class: 'edge',
              'marker-end': 'url(#ov-arrow)',
            }),
          );
        }
        const g = svg(
          'g',
          { class: item.part ? 'part' : 'part static', transform: `translate(${x},${y})` },
          svg('rect', { width: w, height: boxH, rx: 6 }),
          svg('text', { x: 10, y: 17, class: 'label' }, item.label),
          svg('text', { x: 10, y: 33, class: 'shape' }, item.shape),
        );
        if (item.part?.branch) g.append(svg('text', { x: -26, y: 26, class: 'plus' }, '⊕'));
        if (item.part) {
          const id = item.part.id;
          g.dataset.part = id;
          g.setAttribute('tabindex', '0');
          g.setAttribute('role', 'button');
          g.setAttribute('aria-pressed', 'false');
          g.setAttribute('aria-label', `${item.label}, shape ${item.shape}`);
          g.addEventListener('click', () => showPart(id));
          g.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              showPart(id);
            }
          });
        }
        root.append(g);
      });
      diagram.replaceChildren(root);
    };

    const update = async () => {
      const kept = [...prompt.value].filter((ch) => alphabet.has(ch));
      const dropped = [...new Set([...prompt.value].filter((ch) => !alphabet.has(ch)))];
      note.textContent = dropped.length
        ? `left out (not in the model’s alphabet): ${dropped.map((c) => JSON.stringify(c)).join(' ')}`
        : '';
      if (!kept.length) {
        info.textContent = 'type at least one character of the model’s alphabet';
        return;
      }
      const t0 = performance.now();
      chars = kept;
      parts = await forwardParts(tokenizer.encode(kept.join('')));
      const ms = performance.now() - t0;
      const c = model.config;
      info.textContent = `${c.nLayer} blocks · ${c.nHead} heads · width ${c.nEmbd} · vocabulary ${c.vocabSize} · ${kept.length} positions · forward in ${ms.toFixed(0)} ms on ${backendName()}.`;
      // the next character: softmax of the last position's logits
      const logits = parts[parts.length - 1];
      const V = c.vocabSize;
      const lastRow = Array.from(logits.values.subarray((kept.length - 1) * V, kept.length * V));
      const rowT = tensor(lastRow);
      const probT = softmax(rowT);
      const probs = await probT.data();
      rowT.dispose();
      probT.dispose();
      const top = Array.from(probs, (p, i) => ({ p, i }))
        .sort((a, b) => b.p - a.p)
        .slice(0, 5);
      next.dataset.top = JSON.stringify(top.map((x) => x.i));
      next.textContent = `next character: ${top.map((x) => `${visibleChar(tokenizer.decode([x.i]))} ${(100 * x.p).toFixed(1)}%`).join(' · ')}`;
      draw();
      showPart(panel.dataset.part ?? 'logits');
    };
    run.addEventListener('click', () => void update());
    prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void update();
    });
    await update();
  },
};
