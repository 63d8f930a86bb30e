import * as tokenizer from '@attnkit/tokenizer';
import { tinyGPT } from '../model.js';
import { el, notYet, type Page } from '../page.js';
import { slider } from '../ui.js';

const ENCODINGS = ['r50k_base', 'cl100k_base', 'o200k_base'] as const;
const SAMPLE =
  'Attention is all you need. Tokenizers split text into pieces: "unbelievable" → un·believ·able? 🤖';

/** A readable label for a token's text: whitespace made visible. */
function visible(text: string): string {
  return text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
}

/** GPT-2's byte → printable character map (the byte-level spelling BPE merges are written in). */
const BYTE_CHAR: string[] = (() => {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
})();

/** The byte-level spelling of a text (space → Ġ, as the merges list writes it). */
function byteSpelling(text: string): string[] {
  return Array.from(new TextEncoder().encode(text), (b) => BYTE_CHAR[b]);
}

/** Applies one merge to every word: each adjacent (a, b) becomes a + b, left to right. */
function applyMerge(words: string[][], [a, b]: [string, string]): string[][] {
  return words.map((w) => {
    const out: string[] = [];
    for (let i = 0; i < w.length; i++) {
      if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
        out.push(a + b);
        i++;
      } else out.push(w[i]);
    }
    return out;
  });
}

/** Hex of a token's bytes: `68 65 6c`. */
function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Text → tokens: each token coloured, with its id under it. */
export const tokenizerPage: Page = {
  id: 'tokenizer',
  title: 'Tokens',
  summary: 'Text becomes a list of integer ids: byte-level BPE merges frequent byte pairs into tokens.',
  async render(root) {
    const tk = tokenizer as Partial<typeof tokenizer>;
    if (typeof tk.getEncoding !== 'function') {
      root.append(notYet('@attnkit/tokenizer', 'getEncoding'));
      return;
    }
    const getEncoding = tk.getEncoding;
    const select = el('select', { id: 'tok-encoding', 'aria-label': 'Encoding' });
    for (const name of ENCODINGS) select.append(el('option', { value: name }, name));
    select.value = 'cl100k_base';
    const input = el('textarea', { id: 'tok-input', rows: '4', 'aria-label': 'Text to tokenize' });
    input.value = SAMPLE;
    const stats = el('p', { id: 'tok-stats', class: 'stats' });
    const out = el('div', { id: 'tok-output', class: 'tokens' });
    root.append(el('div', { class: 'controls' }, el('label', {}, 'encoding ', select)), input, stats, out);

    let version = 0;
    const update = async () => {
      const mine = ++version;
      try {
        const enc = await getEncoding(select.value as (typeof ENCODINGS)[number]);
        if (mine !== version) return;
        const text = input.value;
        const pieces = enc.tokenize(text, { disallowedSpecial: [] });
        out.replaceChildren(
          ...pieces.map((p, i) =>
            el(
              'span',
              {
                class: 'token',
                style: `--hue: ${(i * 47) % 360}`,
                title: `id ${p.id}, chars ${p.start}-${p.end}`,
              },
              el('span', { class: 'piece' }, visible(p.text)),
              el('span', { class: 'id' }, String(p.id)),
            ),
          ),
        );
        const bytes = new TextEncoder().encode(text).length;
        stats.textContent = `${pieces.length} tokens · ${text.length} characters · ${bytes} bytes`;
      } catch (err) {
        if (mine === version) stats.textContent = `error: ${(err as Error).message}`;
      }
    };
    // Side by side: the three tiktoken encodings and the tiny GPT's characters on the same text.
    const compare = el('div', { id: 'tok-compare' });
    const { tokenizer: chars } = await tinyGPT();
    const alphabet = new Map(chars.chars.map((c, i) => [c, i]));
    const row = (name: string, tokens: { id: number; text: string; bytes: string }[]) =>
      el(
        'div',
        { class: 'compare-row', 'data-encoding': name, 'data-ids': JSON.stringify(tokens.map((t) => t.id)) },
        el('h4', {}, `${name} · ${tokens.length} tokens`),
        el(
          'div',
          { class: 'tokens' },
          ...tokens.map((t, i) =>
            el(
              'span',
              { class: 'token', style: `--hue: ${(i * 47) % 360}`, title: `bytes ${t.bytes}` },
              el('span', { class: 'piece' }, visible(t.text)),
              el('span', { class: 'id' }, t.id < 0 ? '—' : String(t.id)),
              el('span', { class: 'bytes' }, t.bytes),
            ),
          ),
        ),
      );
    let compareVersion = 0;
    const updateCompare = async () => {
      const mine = ++compareVersion;
      const text = input.value;
      const rows: HTMLElement[] = [];
      for (const name of ENCODINGS) {
        const enc = await getEncoding(name);
        const pieces = enc.tokenize(text, { disallowedSpecial: [] });
        rows.push(
          row(
            name,
            pieces.map((p) => ({ id: p.id, text: p.text, bytes: hex(p.bytes) })),
          ),
        );
      }
      const enc = new TextEncoder();
      rows.push(
        row(
          'tiny GPT characters',
          [...text].map((c) => ({ id: alphabet.get(c) ?? -1, text: c, bytes: hex(enc.encode(c)) })),
        ),
      );
      if (mine === compareVersion) compare.replaceChildren(...rows);
    };

    // BPE training on the user's text, one merge at a time.
    const bpeSize = slider('bpe-merges', 'merges to learn', 1, 200, 1, 40);
    const bpeStep = slider('bpe-step', 'after merge', 0, 40, 1, 40);
    const bpeInfo = el('p', { id: 'bpe-info', class: 'stats' });
    const bpeWords = el('div', { id: 'bpe-words', class: 'tokens' });
    const bpeList = el('ol', { id: 'bpe-merges-list', class: 'merges' });
    let merges: [string, string][] = [];
    let states: string[][][] = [];
    const showStep = () => {
      const k = Math.min(Number(bpeStep.input.value), merges.length);
      const words = states[k] ?? [];
      const tokens = words.flat();
      bpeWords.dataset.step = String(k);
      bpeWords.dataset.tokens = JSON.stringify(tokens);
      bpeInfo.textContent =
        k === 0
          ? `before any merge: ${tokens.length} byte tokens`
          : `merge ${k}/${merges.length}: “${merges[k - 1][0]}” + “${merges[k - 1][1]}” → “${merges[k - 1].join('')}” · ${tokens.length} tokens`;
      bpeWords.replaceChildren(
        ...tokens.map((t, i) =>
          el(
            'span',
            {
              class: `token${k > 0 && t === merges[k - 1].join('') ? ' merged' : ''}`,
              style: `--hue: ${(i * 47) % 360}`,
            },
            el('span', { class: 'piece' }, t),
          ),
        ),
      );
      for (const [i, li] of Array.from(bpeList.children).entries())
        li.classList.toggle('current', i === k - 1);
    };
    const train = () => {
      const text = input.value;
      if (!text) return;
      const trained = tokenizer.trainBPE([text], {
        vocabSize: 256 + Number(bpeSize.input.value),
        minFrequency: 2,
      });
      merges = trained.merges;
      let words = tokenizer.splitPieces(text, tokenizer.R50K_PATTERN).map(byteSpelling);
      states = [words];
      for (const m of merges) {
        words = applyMerge(words, m);
        states.push(words);
      }
      bpeStep.input.max = String(merges.length);
      bpeStep.input.value = String(Math.min(Number(bpeStep.input.value), merges.length));
      bpeStep.input.dispatchEvent(new Event('input'));
      bpeList.dataset.merges = JSON.stringify(merges);
      bpeList.replaceChildren(...merges.map(([a, b]) => el('li', {}, `${a} + ${b}`)));
      showStep();
    };
    bpeStep.input.addEventListener('input', showStep);
    bpeSize.input.addEventListener('change', train);
    const trainButton = el('button', { id: 'bpe-train', type: 'button' }, 'Train BPE on this text');
    trainButton.addEventListener('click', train);

    root.append(
      el('h3', {}, 'The same text, four tokenizers'),
      el(
        'p',
        { class: 'note' },
        'Each token with its id and its UTF-8 bytes (hex); the tiny GPT reads one character at a time (— : not in its alphabet).',
      ),
      compare,
      el('h3', {}, 'Training BPE on your text, merge by merge'),
      el(
        'p',
        { class: 'note' },
        'Start from the bytes of each word (Ġ is a space, in GPT-2’s byte spelling), then repeatedly merge the most frequent adjacent pair. Step through the merges.',
      ),
      el('div', { class: 'controls' }, bpeSize.wrap, trainButton, bpeStep.wrap),
      bpeInfo,
      bpeWords,
      el('details', {}, el('summary', {}, 'all merges in order'), bpeList),
    );
    input.addEventListener('input', update);
    input.addEventListener('input', () => void updateCompare());
    select.addEventListener('change', update);
    await update();
    await updateCompare();
    train();
  },
};
