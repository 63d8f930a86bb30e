/**
 * Hugging Face `tokenizer.json` support: {@link Tokenizer} and its parts.
 * @packageDocumentation
 */
export { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from './byte-level.js';
export type { Decoder } from './decoders.js';
export type { TokenizerEncoding } from './encoding.js';
export type { BPEOptions, Model, ModelToken } from './models.js';
export { BPEModel, WordLevelModel, WordPieceModel } from './models.js';
export type { SplitBehavior } from './normalized-string.js';
export { NormalizedString } from './normalized-string.js';
export type { Normalizer } from './normalizers.js';
export type { PostProcessor } from './post-processors.js';
export type { PreTokenizer } from './pre-tokenizers.js';
export type {
  AddedToken,
  DecodeOptions,
  EncodeOptions,
  PaddingOptions,
  TruncationOptions,
} from './tokenizer.js';
export { MAX_PADDED_LENGTH, Tokenizer } from './tokenizer.js';
