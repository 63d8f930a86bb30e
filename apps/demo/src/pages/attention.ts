import '@attnkit/backend-cpu';
import { scaledDotProductAttention } from '@attnkit/attention';
import { manualSeed, randn, tensor } from '@attnkit/tensor-core';
import { el, type Page } from '../page.js';

const WORDS = ['The', 'cat', 'sat', 'on', 'the', 'mat'];

/** Causal self-attention on toy embeddings + sinusoidal positions, as a heat map. */
export const attentionPage: Page = {
  id: 'attention',
  title: 'Attention',
  summary: 'Each token mixes in the others, weighted by softmax(q·k / √d); a causal mask hides the future.',
  async render(root) {
    const L = WORDS.length;
    const d = 16;
    manualSeed(0);
    const emb = await randn([L, d]).data();
    const x = new Float32Array(L * d);
    for (let p = 0; p < L; p++) {
      for (let i = 0; i < d; i++) {
        const angle = p / 10000 ** ((2 * Math.floor(i / 2)) / d);
        x[p * d + i] = 0.5 * emb[p * d + i] + (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
      }
    }
    const q = tensor(Array.from(x), [1, 1, L, d]);
    const { weights } = scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
    const w = weights ? await weights.data() : new Float32Array(L * L);
    const table = el('table', { id: 'attention-map', class: 'heat' });
    table.append(el('tr', {}, el('th', {}, 'query \\ key'), ...WORDS.map((t) => el('th', {}, t))));
    for (let i = 0; i < L; i++) {
      const row = el('tr', {}, el('th', {}, WORDS[i]));
      for (let j = 0; j < L; j++) {
        const v = w[i * L + j];
        row.append(
          el('td', { style: `--w: ${v.toFixed(3)}`, title: v.toFixed(3) }, j <= i ? v.toFixed(2) : ''),
        );
      }
      table.append(row);
    }
    root.append(table);
  },
};
