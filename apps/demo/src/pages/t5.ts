// The encoder-decoder: the embedded tiny character-level T5 writing a number as English words,
// live. Greedy and beam outputs next to the reference numberToWords; the encoder's self-attention,
// the decoder's cross-attention over the input characters (captured around one teacher-forced
// forward of the greedy output), and T5's relative position buckets and learned bias per head.
import { captureAttention, RelativePositionBias, relativePositionBuckets } from '@attnkit/attention';
import { generate } from '@attnkit/sampling';
import { tensor } from '@attnkit/tensor-core';
import {
  numberToWords,
  type T5ForConditionalGeneration,
  type T5LayerSelfAttention,
  type TinyT5Tokenizer,
} from '@attnkit/transformer';
import { backendName } from '../backend.js';
import { el, type Page } from '../page.js';
import { tinyT5 } from '../t5.js';
import { heatmapCanvas, slider, visibleChar } from '../ui.js';

const DEFAULT_NUMBER = '342';
const BEAMS = 4;
const EOS = '</s>';

/** The maps of one run: encoder self-attention [H, Ls, Ls] and cross-attention [H, Lt, Ls] per layer. */
interface Maps {
  /** Input characters and the end token: the keys of both kinds of map. */
  source: string[];
  /** The decoder's outputs, one per row of a cross-attention map (the last is the end token). */
  target: string[];
  encoder: Float32Array[];
  cross: Float32Array[];
}

/** One T5 run on a number: the three outputs and the attention maps. */
interface Run {
  reference: string;
  greedy: number[];
  beams: { text: string; score: number }[];
  maps: Maps;
  ms: number;
}

/** The relative position bias module of a stack's first layer (the one every layer shares). */
function positionBias(model: T5ForConditionalGeneration, stack: 'encoder' | 'decoder'): RelativePositionBias {
  const first = model[stack].block[0].layer[0] as T5LayerSelfAttention;
  const rpb = first.SelfAttention.relative_attention_bias;
  if (!(rpb instanceof RelativePositionBias))
    throw new Error(`t5 view: the ${stack}'s first layer has no relative position bias`);
  return rpb;
}

/** Greedy and beam search on `text`, then one forward of the greedy output capturing every attention call. */
async function runT5(
  model: T5ForConditionalGeneration,
  tokenizer: TinyT5Tokenizer,
  text: string,
): Promise<Run> {
  const ids = tokenizer.encode(text);
  const t0 = performance.now();
  const greedy = await generate(model, [ids], { maxNewTokens: 40, doSample: false });
  const beam = await generate(model, [ids], {
    maxNewTokens: 40,
    doSample: false,
    numBeams: BEAMS,
    numReturnSequences: BEAMS,
  });
  const seq = greedy.sequences[0]; // [decoder start, …, end]
  // Teacher forcing on the greedy output: the decoder reads start + outputs and predicts outputs + end.
  const decoderIds = seq[seq.length - 1] === 1 ? seq.slice(0, -1) : seq;
  const src = tensor([ids], undefined, 'int32');
  const tgt = tensor([decoderIds], undefined, 'int32');
  let captured: ReturnType<typeof captureAttention<ReturnType<typeof model.forward>>>;
  try {
    captured = captureAttention(() => model.forward({ inputIds: src, decoderInputIds: tgt }));
  } finally {
    src.dispose();
    tgt.dispose();
  }
  const all = await Promise.all(
    captured.attentions.map(async (r) => Float32Array.from(await r.weights.data())),
  );
  captured.result.logits.dispose();
  (captured.result.pastKeyValues as { dispose(): void } | undefined)?.dispose();
  captured.result.encoderLastHiddenState?.dispose();
  captured.dispose();
  // Call order: each encoder layer's self-attention, then per decoder layer self- and cross-attention.
  const nEnc = model.encoder.block.length;
  const nDec = model.decoder.block.length;
  if (all.length !== nEnc + 2 * nDec)
    throw new Error(`t5 view: captured ${all.length} attention calls, expected ${nEnc + 2 * nDec}`);
  const outputs = [...decoderIds.slice(1).map((id) => tokenizer.decode([id])), EOS];
  return {
    reference: numberToWords(Number(text)),
    greedy: seq,
    beams: beam.sequences.map((s, i) => ({
      text: tokenizer.decode(s),
      score: beam.sequencesScores?.[i] ?? Number.NaN,
    })),
    maps: {
      source: [...Array.from(text), EOS],
      target: outputs,
      encoder: all.slice(0, nEnc),
      cross: Array.from({ length: nDec }, (_, l) => all[nEnc + 2 * l + 1]),
    },
    ms: performance.now() - t0,
  };
}

/** The tiny T5 writing numbers as words, with its attention and relative positions. */
export const t5Page: Page = {
  id: 't5',
  title: 'T5',
  summary:
    'An encoder-decoder: the encoder reads the whole input, the decoder writes one character at a time and looks back at the input through cross-attention. Positions are a learned bias per bucket of distance. The tiny T5 writes numbers as words, live.',
  async render(root) {
    const info = el('p', { id: 't5-info', class: 'stats' }, 'loading the tiny T5…');
    root.append(info);
    const { model, tokenizer } = await tinyT5();
    const c = model.config;
    const H = c.numHeads;

    const input = el('input', {
      id: 't5-input',
      type: 'text',
      inputmode: 'numeric',
      value: DEFAULT_NUMBER,
      maxlength: '3',
      'aria-label': 'A number from 0 to 999',
    });
    const run = el('button', { id: 't5-run', type: 'button' }, 'Write it in words');
    const note = el('p', { id: 't5-note', class: 'note', 'aria-live': 'polite' });
    const outputs = el('div', { id: 't5-outputs', class: 'scroll' });
    const encGrid = el('div', {
      id: 't5-enc-grid',
      class: 'map-grid',
      role: 'group',
      'aria-label': 'Encoder self-attention maps',
    });
    const crossGrid = el('div', {
      id: 't5-cross-grid',
      class: 'map-grid',
      role: 'group',
      'aria-label': 'Decoder cross-attention maps',
    });
    const detailTitle = el('h3', { id: 't5-detail-title' });
    const detail = el('div', { id: 't5-detail', class: 'scroll' });

    root.append(
      el('div', { class: 'controls' }, el('label', {}, 'number (0–999) ', input), run),
      note,
      outputs,
      el('h3', {}, 'Decoder cross-attention'),
      el(
        'p',
        { class: 'note' },
        'Which input characters each output character looks at: row = the character the decoder writes (teacher forcing on its greedy output), column = an input character; one map per decoder layer (rows) and head (columns). Pick a map (click, or Tab then Enter) to read its numbers.',
      ),
      crossGrid,
      el('h3', {}, 'Encoder self-attention'),
      el(
        'p',
        { class: 'note' },
        'The encoder is bidirectional: every input character sees every other, before and after it.',
      ),
      encGrid,
      detailTitle,
      detail,
    );

    let current: Run | undefined;
    let chosen: { kind: 'cross' | 'encoder'; layer: number; head: number } = {
      kind: 'cross',
      layer: 1,
      head: 0,
    };

    const showDetail = () => {
      if (!current) return;
      const { kind, layer, head } = chosen;
      const m = current.maps;
      const rows = kind === 'cross' ? m.target : m.source;
      const cols = m.source;
      const R = rows.length;
      const C = cols.length;
      const w = (kind === 'cross' ? m.cross : m.encoder)[layer].subarray(head * R * C, (head + 1) * R * C);
      detailTitle.textContent = `${kind === 'cross' ? 'Cross-attention' : 'Encoder self-attention'}, layer ${layer}, head ${head}`;
      const table = el('table', {
        id: 't5-map',
        class: 'heat',
        'data-kind': kind,
        'data-layer': String(layer),
        'data-head': String(head),
      });
      table.append(
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, kind === 'cross' ? 'output \\ input' : 'query \\ key'),
          ...cols.map((ch) => el('th', { scope: 'col' }, visibleChar(ch))),
        ),
      );
      for (let i = 0; i < R; i++) {
        const row = el('tr', {}, el('th', { scope: 'row' }, visibleChar(rows[i])));
        for (let j = 0; j < C; j++) {
          const v = w[i * C + j];
          row.append(
            el(
              'td',
              { style: `--w: ${v.toFixed(3)}`, title: v.toFixed(5), 'data-w': String(v) },
              v.toFixed(2),
            ),
          );
        }
        table.append(row);
      }
      detail.replaceChildren(table);
      for (const b of root.querySelectorAll<HTMLButtonElement>('button.attn-map')) {
        b.setAttribute(
          'aria-pressed',
          String(
            b.dataset.kind === kind && Number(b.dataset.layer) === layer && Number(b.dataset.head) === head,
          ),
        );
      }
    };

    /** Fills a grid with one heat map per layer and head. */
    const fillGrid = (
      grid: HTMLElement,
      kind: 'cross' | 'encoder',
      maps: Float32Array[],
      R: number,
      C: number,
    ) => {
      const cell = Math.max(4, Math.min(14, Math.floor(160 / Math.max(R, C * 3))));
      grid.replaceChildren();
      grid.style.setProperty('--heads', String(H));
      maps.forEach((values, l) => {
        grid.append(el('span', { class: 'map-label' }, `layer ${l}`));
        for (let h = 0; h < H; h++) {
          const btn = el(
            'button',
            {
              type: 'button',
              class: 'attn-map',
              'data-kind': kind,
              'data-layer': String(l),
              'data-head': String(h),
              'aria-pressed': 'false',
              title: `layer ${l}, head ${h}`,
            },
            heatmapCanvas(values.subarray(h * R * C, (h + 1) * R * C), R, C, {
              cell,
              min: 0,
              max: 1,
              label: `${kind === 'cross' ? 'cross-attention' : 'encoder self-attention'} of layer ${l}, head ${h}`,
            }),
            el('span', {}, `head ${h}`),
          );
          btn.addEventListener('click', () => {
            chosen = { kind, layer: l, head: h };
            showDetail();
          });
          grid.append(btn);
        }
      });
    };

    let version = 0;
    const update = async () => {
      const raw = input.value.trim();
      if (!/^\d{1,3}$/.test(raw)) {
        note.textContent = `“${raw}” is not a number from 0 to 999 (digits only); the model learnt 0–999.`;
        return;
      }
      note.textContent = '';
      const text = String(Number(raw)); // no leading zeros, as in training
      const mine = ++version;
      root.dataset.state = 'running';
      const next = await runT5(model, tokenizer, text);
      if (mine !== version || !root.isConnected) return;
      current = next;
      const greedyText = tokenizer.decode(next.greedy);
      const mark = (t: string) =>
        el(
          'td',
          { class: t === next.reference ? 'ok' : 'wrong' },
          t === next.reference ? '✓ matches' : '✗ differs',
        );
      const table = el('table', { class: 'trace', id: 't5-table' });
      table.append(
        el('tr', {}, el('th', {}, ''), el('th', {}, 'words'), el('th', {}, '')),
        el(
          'tr',
          { id: 't5-reference', 'data-text': next.reference },
          el('th', { scope: 'row' }, 'reference (numberToWords)'),
          el('td', {}, el('code', {}, next.reference)),
          el('td', {}),
        ),
        el(
          'tr',
          { id: 't5-greedy', 'data-text': greedyText, 'data-ids': JSON.stringify(next.greedy) },
          el('th', { scope: 'row' }, 'greedy'),
          el('td', {}, el('code', {}, greedyText)),
          mark(greedyText),
        ),
        ...next.beams.map((b, i) =>
          el(
            'tr',
            { class: 't5-beam', 'data-text': b.text, 'data-score': String(b.score) },
            el('th', { scope: 'row' }, `beam ${i + 1} of ${BEAMS} (${b.score.toFixed(3)})`),
            el('td', {}, el('code', {}, b.text)),
            i === 0 ? mark(b.text) : el('td', {}),
          ),
        ),
      );
      outputs.replaceChildren(table);
      const m = next.maps;
      fillGrid(crossGrid, 'cross', m.cross, m.target.length, m.source.length);
      fillGrid(encGrid, 'encoder', m.encoder, m.source.length, m.source.length);
      showDetail();
      info.textContent = `“${text}” → ${m.target.length} output characters: greedy, ${BEAMS}-beam search and one forward with captureAttention took ${next.ms.toFixed(0)} ms on ${backendName()}.`;
      root.dataset.state = 'done';
      root.dataset.number = text;
    };

    run.addEventListener('click', () => void update());
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') void update();
    });

    // ---- relative positions: buckets and the learned bias, from the model's own modules
    const stackSelect = el(
      'select',
      { id: 't5-rel-stack', 'aria-label': 'Stack' },
      el('option', { value: 'encoder' }, 'encoder (bidirectional)'),
      el('option', { value: 'decoder' }, 'decoder (causal)'),
    );
    const length = slider('t5-rel-length', 'positions', 2, 48, 1, 40);
    const relInfo = el('p', { id: 't5-rel-info', class: 'stats' });
    const bucketBox = el('div', { id: 't5-buckets-box', class: 'scroll' });
    const biasBox = el('div', { id: 't5-bias-box', class: 'map-grid' });
    const weightBox = el('div', { id: 't5-weights-box', class: 'scroll' });
    root.append(
      el('h3', {}, 'Relative positions: buckets and the learned bias'),
      el(
        'p',
        { class: 'note' },
        `T5 has no position embeddings: each head adds a learned number to the score of query i and key j, looked up by the bucket of j − i. Near distances get a bucket each; far ones share logarithmically wider buckets up to ${c.relativeAttentionMaxDistance}. The encoder's buckets are split between keys before and after the query; the decoder's are all for keys before it. This model has ${c.relativeAttentionNumBuckets} buckets.`,
      ),
      el('div', { class: 'controls' }, el('label', {}, 'stack ', stackSelect), length.wrap),
      relInfo,
      bucketBox,
      biasBox,
      weightBox,
    );

    let relVersion = 0;
    const showPositions = async () => {
      const mine = ++relVersion;
      const stack = stackSelect.value as 'encoder' | 'decoder';
      const L = Number(length.input.value);
      const rpb = positionBias(model, stack);
      const bucketsT = relativePositionBuckets(L, L, {
        bidirectional: rpb.bidirectional,
        numBuckets: rpb.numBuckets,
        maxDistance: rpb.maxDistance,
      });
      const biasT = rpb.forward(L, L); // [1, H, L, L]
      const [buckets, bias, weight] = await Promise.all([bucketsT.data(), biasT.data(), rpb.weight.data()]);
      bucketsT.dispose();
      biasT.dispose();
      if (mine !== relVersion || !root.isConnected) return;
      const nb = rpb.numBuckets;
      const cell = Math.max(3, Math.min(8, Math.floor(240 / L)));
      const bucketCanvas = heatmapCanvas(buckets, L, L, {
        cell,
        min: 0,
        max: nb - 1,
        label: `${stack} bucket of every (query, key) pair, ${L} positions`,
        id: 't5-buckets',
      });
      bucketCanvas.dataset.buckets = JSON.stringify(Array.from(buckets));
      // the bucket of each distance j − i, read off the first row (keys after query 0) and column
      const distances = el('table', { id: 't5-distance-buckets', class: 'trace' });
      const dRow = el('tr', {}, el('th', { scope: 'row' }, 'j − i'));
      const bRow = el('tr', {}, el('th', { scope: 'row' }, 'bucket'));
      for (let dist = -(L - 1); dist <= L - 1; dist++) {
        const b = dist >= 0 ? buckets[dist] : buckets[-dist * L];
        dRow.append(el('td', { class: 'num' }, String(dist)));
        bRow.append(el('td', { class: 'num', 'data-d': String(dist) }, String(b)));
      }
      distances.append(dRow, bRow);
      bucketBox.replaceChildren(
        el(
          'figure',
          { class: 'panel' },
          bucketCanvas,
          el(
            'figcaption',
            { class: 'stats' },
            `bucket of query i (row) and key j (column), 0 light … ${nb - 1} dark`,
          ),
        ),
        distances,
      );
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of bias) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      biasBox.replaceChildren();
      biasBox.style.setProperty('--heads', String(H));
      biasBox.append(el('span', { class: 'map-label' }, 'bias'));
      for (let h = 0; h < H; h++) {
        const canvas = heatmapCanvas(bias.subarray(h * L * L, (h + 1) * L * L), L, L, {
          cell: Math.max(2, Math.floor(cell / 2)),
          min: -m,
          max: m,
          label: `${stack} learned position bias of head ${h}`,
          id: `t5-bias-${h}`,
        });
        canvas.dataset.values = JSON.stringify(Array.from(bias.subarray(h * L * L, (h + 1) * L * L)));
        biasBox.append(
          el('figure', { class: 'panel' }, canvas, el('figcaption', { class: 'stats' }, `head ${h}`)),
        );
      }
      const wt = el('table', { id: 't5-bias-weights', class: 'trace' });
      wt.append(
        el(
          'tr',
          {},
          el('th', {}, 'bucket'),
          ...Array.from({ length: H }, (_, h) => el('th', {}, `head ${h}`)),
        ),
      );
      for (let b = 0; b < nb; b++) {
        wt.append(
          el(
            'tr',
            {},
            el('th', { scope: 'row' }, String(b)),
            ...Array.from({ length: H }, (_, h) =>
              el('td', { class: 'num', 'data-v': String(weight[b * H + h]) }, weight[b * H + h].toFixed(3)),
            ),
          ),
        );
      }
      weightBox.replaceChildren(wt);
      relInfo.textContent = `${stack}: ${L} positions; the learned bias per head (orange negative, blue positive, up to ±${m.toFixed(2)}) is weight[bucket, head], the table below (relative_attention_bias.weight).`;
      weightBox.dataset.stack = stack;
      weightBox.dataset.length = String(L);
    };
    stackSelect.addEventListener('change', () => void showPositions());
    length.input.addEventListener('input', () => void showPositions());

    await update();
    await showPositions();
  },
};
