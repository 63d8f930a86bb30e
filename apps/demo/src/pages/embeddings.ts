import { alibiBias, RotaryEmbedding, sinusoidalPositionalEncoding } from '@attnkit/attention';
import { div, matmul, mul, ones, sqrt, sum, type Tensor } from '@attnkit/tensor-core';
import { tinyGPT } from '../model.js';
import { el, type Page } from '../page.js';
import { heatmapCanvas, slider, visibleChar } from '../ui.js';

const NEIGHBOURS = 8;

/** Reads a tensor's values and frees it. */
async function take(t: Tensor): Promise<Float32Array> {
  const v = Float32Array.from(await t.data());
  t.dispose();
  return v;
}

/** A figure: a heat map (replaced on update) with a caption. */
function figure(id: string, caption: string): { fig: HTMLElement; box: HTMLElement; cap: HTMLElement } {
  const box = el('div', { id, class: 'scroll' });
  const cap = el('figcaption', { class: 'stats' }, caption);
  return { fig: el('figure', { class: 'panel' }, box, cap), box, cap };
}

/** Embeddings and positions: what the model adds to each token before the first block. */
export const embeddingsPage: Page = {
  id: 'embeddings',
  title: 'Embeddings',
  summary:
    'Each token id looks up a learned vector; the position is added as a fixed pattern (sinusoids), a rotation of q and k (RoPE) or a distance penalty on the scores (ALiBi).',
  async render(root) {
    // ---- nearest neighbours in the tiny GPT's embedding table
    const { model, tokenizer } = await tinyGPT();
    const table = model.transformer.wte.weight; // [V, E]
    const [V, E] = table.shape;
    const charSelect = el('select', { id: 'emb-char', 'aria-label': 'Character' });
    tokenizer.chars.forEach((ch, i) => {
      charSelect.append(el('option', { value: String(i) }, `${visibleChar(ch)} (id ${i})`));
    });
    charSelect.value = String(Math.max(0, tokenizer.chars.indexOf('a')));
    const nnBox = el('ol', { id: 'emb-neighbours', class: 'neighbours' });
    // cosine similarity of every pair of rows: normalise the rows, then one matmul [V, V]
    const norms = sqrt(sum(mul(table, table), -1, true)); // [V, 1]
    const unit = div(table, norms);
    const cosine = await take(matmul(unit, unit.transpose(0, 1)));
    norms.dispose();
    unit.dispose();
    const showNeighbours = () => {
      const i = Number(charSelect.value);
      const row = Array.from(cosine.subarray(i * V, (i + 1) * V), (s, j) => ({ j, s })).filter(
        (x) => x.j !== i,
      );
      row.sort((a, b) => b.s - a.s);
      nnBox.replaceChildren(
        ...row
          .slice(0, NEIGHBOURS)
          .map(({ j, s }) =>
            el(
              'li',
              { 'data-char': tokenizer.chars[j], 'data-cos': String(s) },
              el('code', {}, visibleChar(tokenizer.chars[j])),
              ` ${s.toFixed(3)}`,
            ),
          ),
      );
    };
    charSelect.addEventListener('change', showNeighbours);
    root.append(
      el('h3', {}, 'Token embeddings: nearest neighbours'),
      el(
        'p',
        { class: 'note' },
        `The tiny GPT's embedding table has ${V} rows (one per character) of ${E} numbers. Characters the model uses alike end up with similar rows: the ${NEIGHBOURS} nearest by cosine similarity.`,
      ),
      el('div', { class: 'controls' }, el('label', {}, 'character ', charSelect)),
      nnBox,
    );
    showNeighbours();

    // ---- positional patterns
    const positions = slider('pos-positions', 'positions', 8, 128, 8, 64);
    const dims = slider('pos-dims', 'dimension', 4, 128, 4, 64);
    const base = slider('pos-base', 'base (log₁₀)', 1, 6, 0.1, 4, (v) => `10^${v.toFixed(1)}`);
    const heads = slider('pos-heads', 'ALiBi heads', 1, 16, 1, 8);
    const alibiHead = slider('pos-alibi-head', 'ALiBi head', 0, 15, 1, 0);
    const sin = figure('pos-sinusoidal', '');
    const rope = figure('pos-rope', '');
    const alibi = figure('pos-alibi', '');
    root.append(
      el('h3', {}, 'Positions'),
      el('div', { class: 'controls' }, positions.wrap, dims.wrap, base.wrap),
      el(
        'div',
        { class: 'panels' },
        sin.fig,
        rope.fig,
        el('div', {}, el('div', { class: 'controls' }, heads.wrap, alibiHead.wrap), alibi.fig),
      ),
    );

    let version = 0;
    const update = async () => {
      const mine = ++version;
      const L = Number(positions.input.value);
      const D = Number(dims.input.value);
      const theta = 10 ** Number(base.input.value);
      const H = Number(heads.input.value);
      alibiHead.input.max = String(H - 1);
      if (Number(alibiHead.input.value) > H - 1) {
        alibiHead.input.value = String(H - 1);
        alibiHead.input.dispatchEvent(new Event('input'));
      }
      const h = Number(alibiHead.input.value);
      const cell = Math.max(2, Math.floor(256 / Math.max(L, D)));
      // sinusoidal: PE [L, D]
      const pe = await take(sinusoidalPositionalEncoding(L, D, { base: theta }));
      // RoPE: rotate a vector of ones to every position; row i · row j depends only on i − j
      const r = new RotaryEmbedding({ rotaryDim: D, theta });
      const x = ones([1, 1, L, D]);
      const rotated = r.apply(x);
      const dots = await take(matmul(rotated, rotated.transpose(-2, -1)));
      x.dispose();
      rotated.dispose();
      // ALiBi: bias [1, H, L, L] of head h (hidden future shown as NaN, grey)
      const bias = await take(alibiBias(H, L, L));
      if (mine !== version) return;
      const mapH = bias
        .subarray(h * L * L, (h + 1) * L * L)
        .map((v, k) => (k % L > Math.floor(k / L) ? Number.NaN : v));
      sin.box.replaceChildren(
        heatmapCanvas(pe, L, D, {
          cell,
          min: -1,
          max: 1,
          label: 'sinusoidal positional encoding',
          id: 'pos-sinusoidal-canvas',
        }),
      );
      sin.cap.textContent = `Sinusoidal [${L} positions × ${D} dims], base ${theta.toPrecision(3)}: sin/cos at wavelengths growing with the dimension (blue +1, orange −1).`;
      rope.box.replaceChildren(
        heatmapCanvas(dots, L, L, {
          cell: Math.max(2, Math.floor(256 / L)),
          label: 'RoPE dot products',
          id: 'pos-rope-canvas',
        }),
      );
      rope.cap.textContent = `RoPE: q·k of the same vector rotated to positions i and j [${L} × ${L}]; it depends only on i − j (constant diagonals). Max ${D} at i = j.`;
      alibi.box.replaceChildren(
        heatmapCanvas(mapH, L, L, {
          cell: Math.max(2, Math.floor(256 / L)),
          label: 'ALiBi bias',
          id: 'pos-alibi-canvas',
        }),
      );
      alibi.cap.textContent = `ALiBi head ${h} of ${H}: bias slope·(j − i) added to the scores (slope ${(-(mapH[L] ?? 0)).toPrecision(3)}); grey = masked future.`;
      root.dataset.state = 'done';
      root.dataset.pe = JSON.stringify({ L, D, theta, first: Array.from(pe.subarray(D, 2 * D)) });
    };
    for (const s of [positions, dims, base, heads, alibiHead])
      s.input.addEventListener('input', () => void update());
    await update();
  },
};
