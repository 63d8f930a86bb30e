/** The result of encoding with a Hugging Face tokenizer (fields as `tokenizers.Encoding`, camelCase). */
export interface TokenizerEncoding {
  /** Token ids. */
  ids: number[];
  /** Token strings. */
  tokens: string[];
  /** Segment ids (0 for the first text, 1 for the pair text in BERT-style templates). */
  typeIds: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** 1 for tokens added by the post-processor (and padding), 0 for tokens of the text. */
  specialTokensMask: number[];
  /** UTF-16 span `[start, end)` of each token in its own input text; `[0, 0]` for added tokens. */
  offsets: Array<[number, number]>;
  /** Index of the pre-tokenised word each token comes from (null for added tokens). */
  wordIds: Array<number | null>;
  /** Which input (0 = text, 1 = pair) each token comes from (null for added tokens). */
  sequenceIds: Array<number | null>;
  /** Windows cut off by truncation, each encoded the same way (single inputs only). */
  overflowing: TokenizerEncoding[];
}

/** An empty encoding. */
export function emptyEncoding(): TokenizerEncoding {
  return {
    ids: [],
    tokens: [],
    typeIds: [],
    attentionMask: [],
    specialTokensMask: [],
    offsets: [],
    wordIds: [],
    sequenceIds: [],
    overflowing: [],
  };
}

/** Tokens `[a, b)` of an encoding. */
export function sliceEncoding(e: TokenizerEncoding, a: number, b: number): TokenizerEncoding {
  return {
    ids: e.ids.slice(a, b),
    tokens: e.tokens.slice(a, b),
    typeIds: e.typeIds.slice(a, b),
    attentionMask: e.attentionMask.slice(a, b),
    specialTokensMask: e.specialTokensMask.slice(a, b),
    offsets: e.offsets.slice(a, b),
    wordIds: e.wordIds.slice(a, b),
    sequenceIds: e.sequenceIds.slice(a, b),
    overflowing: [],
  };
}

/** Concatenation of encodings. */
export function concatEncodings(parts: TokenizerEncoding[]): TokenizerEncoding {
  if (parts.length === 1) return { ...parts[0], overflowing: [] };
  const out = emptyEncoding();
  const append = <T>(dst: T[], src: T[]) => {
    for (let i = 0; i < src.length; i++) dst.push(src[i]);
  };
  for (const p of parts) {
    append(out.ids, p.ids);
    append(out.tokens, p.tokens);
    append(out.typeIds, p.typeIds);
    append(out.attentionMask, p.attentionMask);
    append(out.specialTokensMask, p.specialTokensMask);
    append(out.offsets, p.offsets);
    append(out.wordIds, p.wordIds);
    append(out.sequenceIds, p.sequenceIds);
  }
  return out;
}
