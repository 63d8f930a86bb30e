import { captureAttention, scaledDotProductAttention } from '@attnkit/attention';
import { add, keep, matmul, mul, noGrad, softmax, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
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

    /** Runs after the chosen map changes (the mask section follows the chosen layer and head). */
    let afterDetail = () => {};
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
      afterDetail();
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

    // The mask: causal and sliding window, applied by scaledDotProductAttention to the chosen
    // layer/head's own q, k, v.
    const causal = el('input', { id: 'mask-causal', type: 'checkbox', checked: '' });
    const win = slider('mask-window', 'window (0 = off)', 0, c.nPositions, 1, 0);
    const maskBox = el('div', { id: 'mask-box', class: 'map-pair' });
    let maskVersion = 0;
    const showMask = async () => {
      if (!cap) return;
      const mine = ++maskVersion;
      const L = cap.chars.length;
      const w = Number(win.input.value) || null;
      let scale = c.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
      if (c.scaleAttnByInverseLayerIdx) scale /= layer + 1;
      const qkv = cap.qkv[layer];
      const weightsT = noGrad(() =>
        tidy(() => {
          const part = (o: number) => qkv.sliceDim(-1, o + head * d, o + (head + 1) * d).reshape(1, 1, L, d);
          return scaledDotProductAttention(part(0), part(e), part(2 * e), {
            causal: causal.checked,
            windowSize: w,
            scale,
            returnWeights: true,
          }).weights;
        }),
      );
      const weights = Float32Array.from(await weightsT.data());
      weightsT.dispose();
      if (mine !== maskVersion) return;
      const visible = new Float32Array(L * L);
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          let ok = !causal.checked || j <= i;
          if (ok && w !== null) ok = causal.checked ? j > i - w : Math.abs(j - i) < w;
          visible[i * L + j] = ok ? 1 : 0;
        }
      }
      const cell = Math.max(4, Math.min(14, Math.floor(240 / L)));
      maskBox.dataset.weights = JSON.stringify(Array.from(weights));
      maskBox.dataset.layer = String(layer);
      maskBox.dataset.head = String(head);
      maskBox.dataset.key = `${causal.checked ? 'causal' : 'full'}:${w ?? 0}`;
      maskBox.replaceChildren(
        el(
          'figure',
          {},
          heatmapCanvas(visible, L, L, {
            cell,
            min: 0,
            max: 1,
            label: 'which keys each query sees',
            id: 'mask-canvas',
          }),
          el(
            'figcaption',
            {},
            `mask: ${causal.checked ? 'causal' : 'bidirectional'}${w ? `, window ${w}` : ''}`,
          ),
        ),
        el(
          'figure',
          {},
          heatmapCanvas(weights, L, L, {
            cell,
            min: 0,
            max: 1,
            label: 'weights under this mask',
            id: 'mask-weights',
          }),
          el('figcaption', {}, `layer ${layer}, head ${head}: softmax weights under this mask`),
        ),
      );
    };
    causal.addEventListener('change', () => void showMask());
    win.input.addEventListener('input', () => void showMask());

    // The KV cache: each step feeds one new token; every layer appends its key and value rows.
    const stepBtn = el('button', { id: 'kv-step', type: 'button' }, 'Generate one token');
    const resetBtn = el('button', { id: 'kv-reset', type: 'button' }, 'Restart from the prompt');
    const kvInfo = el('p', { id: 'kv-info', class: 'stats' });
    const kvBox = el('div', { id: 'kv-box', class: 'scroll' });
    let kvCache: {
      dispose(): void;
      length: number;
      layer(i: number): { keys: Tensor | null; capacity: number };
    } | null = null;
    let kvLogits: Tensor | null = null;
    let kvText = '';
    let kvPrompt = 0;
    const showCache = async () => {
      if (!kvCache) return;
      const keys = kvCache.layer(0).keys; // [1, H, len, d]
      if (!keys) return;
      const len = kvCache.length;
      const k0 = keys.sliceDim(1, 0, 1);
      const data = Float32Array.from(await k0.data());
      k0.dispose();
      kvBox.dataset.len = String(len);
      kvBox.dataset.text = kvText;
      kvBox.dataset.keys = JSON.stringify(Array.from(data));
      kvInfo.textContent = `${len} cached positions (${kvPrompt} from the prompt, ${len - kvPrompt} generated) in each of ${c.nLayer} layers · buffer capacity ${kvCache.layer(0).capacity} · text “${kvText}”`;
      kvBox.replaceChildren(
        heatmapCanvas(data, len, d, {
          cell: 8,
          label: `layer 0, head 0 cached keys: ${len} × ${d}`,
          id: 'kv-canvas',
        }),
      );
    };
    const kvRestart = async () => {
      kvCache?.dispose();
      kvLogits?.dispose();
      kvText = cap ? cap.chars.join('') : DEFAULT_PROMPT;
      kvPrompt = kvText.length;
      const input = tensor([tokenizer.encode(kvText)], undefined, 'int32');
      const out = model.forward({ inputIds: input });
      input.dispose();
      kvCache = out.pastKeyValues as unknown as typeof kvCache;
      kvLogits = out.logits;
      await showCache();
    };
    const kvStep = async () => {
      if (!kvCache || !kvLogits) await kvRestart();
      if (!kvCache || !kvLogits) return;
      if (kvCache.length >= c.nPositions) {
        kvInfo.textContent = `the cache is full: the model has ${c.nPositions} positions`;
        return;
      }
      const V = c.vocabSize;
      const all = await kvLogits.data();
      const last = all.subarray(all.length - V);
      let best = 0;
      for (let i = 1; i < V; i++) if (last[i] > last[best]) best = i;
      kvText += tokenizer.decode([best]);
      const input = tensor([[best]], undefined, 'int32');
      const out = model.forward({ inputIds: input, pastKeyValues: kvCache });
      input.dispose();
      kvLogits.dispose();
      kvLogits = out.logits;
      await showCache();
    };
    stepBtn.addEventListener('click', () => void kvStep());
    resetBtn.addEventListener('click', () => void kvRestart());

    root.append(
      el('h3', {}, 'Masks: causal and sliding window'),
      el(
        'p',
        { class: 'note' },
        'Left: which keys (columns) each query (rows) may see. Right: the chosen head’s weights recomputed by scaledDotProductAttention under that mask from the model’s own q, k, v.',
      ),
      el('div', { class: 'controls' }, el('label', {}, causal, ' causal'), win.wrap),
      maskBox,
      el('h3', {}, 'The KV cache while generating'),
      el(
        'p',
        { class: 'note' },
        'Each step runs the model on one new token only: its keys and values are appended to the cache, and its query attends over all cached rows. Shown: layer 0, head 0’s cached keys, one row per position (greedy decoding).',
      ),
      el('div', { class: 'controls' }, stepBtn, resetBtn),
      kvInfo,
      kvBox,
    );
    afterDetail = () => void showMask();
    await update();
    await showMask();
    await kvRestart();
  },
};
