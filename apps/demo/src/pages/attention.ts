import { captureAttention } from '@attnkit/attention';
import { add, keep, matmul, mul, softmax, type Tensor, tensor } from '@attnkit/tensor-core';
import { backendName } from '../backend.js';
import { tinyGPT } from '../model.js';
import { el, type Page } from '../page.js';
import { heatmapCanvas, slider, visibleChar } from '../ui.js';

const DEFAULT_PROMPT = 'THE FOX AND THE CROW';
/** The additive mask value for a hidden key (−∞ in the maths; a large negative float here). */
const MASKED = -1e9;

/** One forward pass of the tiny GPT on a prompt: the attention weights and Q/K/V of every layer. */
interface Capture {
  chars: string[];
  /** weights[layer] = softmax weights [H, L, L] as read back from the backend. */
  weights: Float32Array[];
  /** qkv[layer] = the c_attn output [1, L, 3E] (queries, keys, values side by side), kept. */
  qkv: Tensor[];
  ms: number;
  dispose(): void;
}

/** Per layer and per head, the tiny GPT's attention maps on the user's prompt, and one query's softmax. */
export const attentionPage: Page = {
  id: 'attention',
  title: 'Attention',
  summary:
    'Each position mixes in the earlier ones, weighted by softmax(q·k / √d); the causal mask hides the future. These are the tiny GPT’s own weights on your prompt.',
  async render(root) {
    const info = el('p', { id: 'attn-info', class: 'stats' }, 'loading the tiny GPT…');
    root.append(info);
    const { model, tokenizer } = await tinyGPT();
    const c = model.config;
    const e = c.nEmbd;
    const nh = c.nHead;
    const d = e / nh;
    const alphabet = new Set(tokenizer.chars);

    const prompt = el('input', {
      id: 'attn-prompt',
      type: 'text',
      value: DEFAULT_PROMPT,
      maxlength: String(c.nPositions),
      'aria-label': 'Prompt',
      class: 'wide',
    });
    const run = el('button', { id: 'attn-run', type: 'button' }, 'Run the model');
    const note = el('p', { id: 'attn-note', class: 'note' });
    const grid = el('div', {
      id: 'attn-grid',
      class: 'map-grid',
      role: 'group',
      'aria-label': 'Attention maps',
    });
    const detailTitle = el('h3', { id: 'attn-detail-title' });
    const detail = el('div', { id: 'attn-detail', class: 'scroll' });
    const query = slider('attn-query', 'query position', 0, 1, 1, 0);
    const softmaxBox = el('div', { id: 'attn-softmax-box', class: 'scroll' });
    root.append(
      el('div', { class: 'controls' }, el('label', { class: 'grow' }, 'prompt ', prompt), run),
      note,
      el(
        'p',
        { class: 'note' },
        'One map per layer (rows) and head (columns): row i is query position i, column j key position j, darker = more weight. Pick a map (click, or Tab then Enter) to read its numbers.',
      ),
      grid,
      detailTitle,
      detail,
      el('h3', {}, 'One query’s softmax step'),
      el(
        'p',
        { class: 'note' },
        'For the chosen query: the score q·k/√d against every key (q and k read from this layer’s projection), the causal mask, and softmax(score + mask), recomputed here next to the weights the model used.',
      ),
      el('div', { class: 'controls' }, query.wrap),
      softmaxBox,
    );

    let cap: Capture | undefined;
    let layer = 0;
    let head = 0;
    let firstRun = true;

    const forward = async (text: string): Promise<Capture> => {
      const ids = tokenizer.encode(text);
      const qkv: Tensor[] = [];
      const blocks = model.transformer.h;
      const originals = blocks.map((b) => b.attn.c_attn.forward);
      // Read each layer's q/k/v projection as the model computes it (the forward itself is unchanged).
      blocks.forEach((b, i) => {
        const proj = b.attn.c_attn;
        const orig = originals[i];
        proj.forward = (x, act) => {
          const y = orig.call(proj, x, act);
          qkv[i] = keep(y.detach());
          return y;
        };
      });
      const t0 = performance.now();
      let captured: ReturnType<typeof captureAttention<ReturnType<typeof model.forward>>>;
      const input = tensor([ids], undefined, 'int32');
      try {
        captured = captureAttention(() => model.forward({ inputIds: input }));
      } finally {
        blocks.forEach((b, i) => {
          b.attn.c_attn.forward = originals[i];
        });
        input.dispose();
      }
      const weights = await Promise.all(
        captured.attentions.map(async (r) => Float32Array.from(await r.weights.data())),
      );
      const ms = performance.now() - t0;
      captured.result.logits.dispose();
      captured.dispose();
      if (weights.length !== c.nLayer) {
        throw new Error(
          `attention page: captured ${weights.length} attention calls, expected ${c.nLayer} layers`,
        );
      }
      return {
        chars: Array.from(text),
        weights,
        qkv,
        ms,
        dispose: () => {
          for (const t of qkv) t.dispose();
        },
      };
    };

    const showDetail = () => {
      if (!cap) return;
      const L = cap.chars.length;
      const w = cap.weights[layer].subarray(head * L * L, (head + 1) * L * L);
      detailTitle.textContent = `Layer ${layer}, head ${head}: softmax weights`;
      const table = el('table', {
        id: 'attention-map',
        class: 'heat',
        'data-layer': String(layer),
        'data-head': String(head),
      });
      table.append(
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, 'query \\ key'),
          ...cap.chars.map((ch) => el('th', { scope: 'col' }, visibleChar(ch))),
        ),
      );
      for (let i = 0; i < L; i++) {
        const row = el('tr', {}, el('th', { scope: 'row' }, visibleChar(cap.chars[i])));
        for (let j = 0; j < L; j++) {
          const v = w[i * L + j];
          row.append(
            el(
              'td',
              { style: `--w: ${v.toFixed(3)}`, title: v.toFixed(5), 'data-w': String(v) },
              j <= i ? v.toFixed(2) : '',
            ),
          );
        }
        table.append(row);
      }
      detail.replaceChildren(table);
      for (const b of grid.querySelectorAll<HTMLButtonElement>('button.attn-map')) {
        b.setAttribute(
          'aria-pressed',
          String(Number(b.dataset.layer) === layer && Number(b.dataset.head) === head),
        );
      }
      void showSoftmax();
    };

    let softmaxVersion = 0;
    const showSoftmax = async () => {
      if (!cap) return;
      const mine = ++softmaxVersion;
      const L = cap.chars.length;
      const i = Math.min(L - 1, Number(query.input.value));
      let scale = c.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
      if (c.scaleAttnByInverseLayerIdx) scale /= layer + 1;
      const qkv = cap.qkv[layer];
      const q = qkv.sliceDim(1, i, i + 1).sliceDim(-1, head * d, (head + 1) * d); // [1, 1, d]
      const k = qkv.sliceDim(-1, e + head * d, e + (head + 1) * d); // [1, L, d]
      const scores = mul(matmul(q, k.transpose(-2, -1)), scale); // [1, 1, L]
      const maskValues = Array.from({ length: L }, (_, j) => (j <= i ? 0 : MASKED));
      const mask = tensor(maskValues, [1, 1, L]);
      const probs = softmax(add(scores, mask), -1);
      const [s, p] = await Promise.all([scores.data(), probs.data()]);
      for (const t of [q, k, scores, mask, probs]) t.dispose();
      if (mine !== softmaxVersion || !cap) return;
      const used = cap.weights[layer].subarray((head * L + i) * L, (head * L + i + 1) * L);
      const table = el('table', { id: 'attn-softmax', class: 'trace' });
      table.append(
        el(
          'tr',
          {},
          el('th', {}, 'key'),
          el('th', {}, 'q·k/√d'),
          el('th', {}, 'mask'),
          el('th', {}, 'softmax'),
          el('th', {}, 'model’s weight'),
        ),
      );
      for (let j = 0; j < L; j++) {
        table.append(
          el(
            'tr',
            { 'data-key': String(j) },
            el('th', {}, `${j} ${visibleChar(cap.chars[j])}`),
            el('td', { class: 'num', 'data-v': String(s[j]) }, s[j].toFixed(3)),
            el('td', { class: 'num' }, j <= i ? '0' : '−∞'),
            el(
              'td',
              { class: 'num', style: `--w: ${p[j].toFixed(3)}`, 'data-v': String(p[j]) },
              p[j].toFixed(4),
            ),
            el(
              'td',
              { class: 'num', style: `--w: ${used[j].toFixed(3)}`, 'data-v': String(used[j]) },
              used[j].toFixed(4),
            ),
          ),
        );
      }
      softmaxBox.replaceChildren(
        el(
          'p',
          { class: 'stats' },
          `query ${i} “${visibleChar(cap.chars[i])}”, layer ${layer}, head ${head}: ${i + 1} visible keys, weights sum to ${Array.from(
            p,
          )
            .reduce((a, b) => a + b, 0)
            .toFixed(4)}`,
        ),
        table,
      );
      softmaxBox.dataset.query = String(i);
    };

    const update = async () => {
      const raw = prompt.value;
      const dropped = [...new Set(Array.from(raw).filter((ch) => !alphabet.has(ch)))];
      let text = Array.from(raw)
        .filter((ch) => alphabet.has(ch))
        .join('')
        .slice(0, c.nPositions);
      if (!text.length) text = DEFAULT_PROMPT;
      note.textContent = dropped.length
        ? `Left out (not among the model's ${alphabet.size} characters): ${dropped.map((x) => JSON.stringify(x)).join(' ')}`
        : '';
      root.dataset.state = 'running';
      const next = await forward(text);
      cap?.dispose();
      cap = next;
      const L = cap.chars.length;
      info.textContent = `${c.nLayer} layers × ${c.nHead} heads on ${L} characters, head size ${d}: one forward pass with captureAttention took ${cap.ms.toFixed(1)} ms on ${backendName()}.`;
      const cell = Math.max(3, Math.min(12, Math.floor(144 / L)));
      grid.replaceChildren();
      grid.style.setProperty('--heads', String(nh));
      for (let l = 0; l < c.nLayer; l++) {
        grid.append(el('span', { class: 'map-label' }, `layer ${l}`));
        for (let h = 0; h < nh; h++) {
          const btn = el(
            'button',
            {
              type: 'button',
              class: 'attn-map',
              'data-layer': String(l),
              'data-head': String(h),
              'aria-pressed': 'false',
              title: `layer ${l}, head ${h}`,
            },
            heatmapCanvas(cap.weights[l].subarray(h * L * L, (h + 1) * L * L), L, L, {
              cell,
              min: 0,
              max: 1,
              label: `attention map of layer ${l}, head ${h}`,
            }),
            el('span', {}, `head ${h}`),
          );
          btn.addEventListener('click', () => {
            layer = l;
            head = h;
            showDetail();
          });
          grid.append(btn);
        }
      }
      query.input.max = String(L - 1);
      // the last query first (it sees the whole prompt); later prompts keep the chosen position
      if (firstRun || Number(query.input.value) > L - 1) query.input.value = String(L - 1);
      firstRun = false;
      query.input.dispatchEvent(new Event('input'));
      showDetail();
      root.dataset.state = 'done';
    };

    run.addEventListener('click', () => void update());
    prompt.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') void update();
    });
    query.input.addEventListener('input', () => void showSoftmax());
    await update();
  },
};
