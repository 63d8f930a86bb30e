/**
 * Builds Hugging Face tokenizer.json objects (real format: byte-level vocab strings, merges list,
 * added tokens) from js-tiktoken's rank data, independently of the code under test, so that a
 * tokenizer.json-driven BPE can be checked against js-tiktoken itself.
 *
 * Merges are recovered the way minbpe does: for every token (in rank order), byte-pair merge its
 * bytes using only lower-ranked tokens; the two parts left are the merge that created it.
 */

import cl100k from 'js-tiktoken/ranks/cl100k_base';
import r50k from 'js-tiktoken/ranks/r50k_base';

/** GPT-2's bytes_to_unicode, written from its definition. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++)
    out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  return out;
}

function parse(bpeRanks: string): string[] {
  // rank -> binary string (one char per byte)
  const byRank: string[] = [];
  for (const line of bpeRanks.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const first = Number(parts[1]);
    for (let i = 2; i < parts.length; i++)
      byRank[first + i - 2] = Buffer.from(parts[i], 'base64').toString('latin1');
  }
  return byRank;
}

function recoverMerges(byRank: string[]): Array<[string, string]> {
  const rank = new Map<string, number>();
  byRank.forEach((t, r) => {
    if (t !== undefined) rank.set(t, r);
  });
  const merges: Array<[string, string]> = [];
  for (let r = 0; r < byRank.length; r++) {
    const tok = byRank[r];
    if (tok === undefined || tok.length === 1) continue;
    let parts = [...tok];
    for (;;) {
      let best = -1;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rr = rank.get(parts[i] + parts[i + 1]);
        if (rr !== undefined && rr < r && (best < 0 || rr < best)) {
          best = rr;
          at = i;
        }
      }
      if (at < 0) break;
      parts = [...parts.slice(0, at), parts[at] + parts[at + 1], ...parts.slice(at + 2)];
    }
    if (parts.length !== 2) throw new Error(`cannot recover the merge for rank ${r}`);
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}

const cache = new Map<string, { vocab: Record<string, number>; merges: string[] }>();

function vocabAndMerges(name: 'r50k_base' | 'cl100k_base') {
  const hit = cache.get(name);
  if (hit) return hit;
  const data = name === 'r50k_base' ? r50k : cl100k;
  const byRank = parse(data.bpe_ranks);
  const bc = byteChars();
  const spell = (bin: string) => [...bin].map((c) => bc[c.charCodeAt(0)]).join('');
  const vocab: Record<string, number> = {};
  byRank.forEach((t, r) => {
    if (t !== undefined) vocab[spell(t)] = r;
  });
  const merges = recoverMerges(byRank).map(([a, b]) => `${spell(a)} ${spell(b)}`);
  const out = { vocab, merges };
  cache.set(name, out);
  return out;
}

/** GPT-2's tokenizer.json, built from r50k_base. */
export function gpt2TokenizerJson(): Record<string, unknown> {
  const { vocab, merges } = vocabAndMerges('r50k_base');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: { ...vocab, '<|endoftext|>': 50256 },
      merges,
    },
  };
}

/** A Llama-3-style tokenizer.json (Split regex + ByteLevel, ignore_merges, BOS template), on cl100k_base. */
export function llama3StyleTokenizerJson(): Record<string, unknown> {
  const { vocab, merges } = vocabAndMerges('cl100k_base');
  const bos = 100257;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: bos,
        content: '<|begin_of_text|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
          },
          behavior: 'Isolated',
          invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: {
            '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [bos], tokens: ['<|begin_of_text|>'] },
          },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: merges.map((m) => m.split(' ')),
    },
  };
}
