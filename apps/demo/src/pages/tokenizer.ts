import * as tokenizer from '@attnkit/tokenizer';
import { el, notYet, type Page } from '../page.js';

const ENCODINGS = ['r50k_base', 'cl100k_base', 'o200k_base'] as const;
const SAMPLE =
  'Attention is all you need. Tokenizers split text into pieces: "unbelievable" → un·believ·able? 🤖';

/** A readable label for a token's text: whitespace made visible. */
function visible(text: string): string {
  return text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
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
    input.addEventListener('input', update);
    select.addEventListener('change', update);
    await update();
  },
};
