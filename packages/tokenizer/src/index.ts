/**
 * @attnkit/tokenizer: byte-level BPE identical to tiktoken, Hugging Face tokenizer.json (BPE,
 * WordPiece), BPE training, a character-level tokenizer and streaming decode, in pure TypeScript.
 *
 * @packageDocumentation
 */

export type {
  ApplyChatTemplateOptions,
  PretrainedDecodeOptions,
  SpecialTokenName,
  TokenizerConfig,
} from './auto-tokenizer.js';
export {
  AutoTokenizer,
  PretrainedTokenizer,
  readTokenizerConfig,
  SPECIAL_TOKEN_NAMES,
} from './auto-tokenizer.js';
export type { ChatMessage, ChatTool } from './chat-template.js';
export type { EncodingDefinition, SpecialTokenOptions, TokenInfo, TokenSpan } from './encoding.js';
export { Encoding, encodingForModel, getEncoding } from './encoding.js';
export type { FileContents, FileSource } from './files.js';
export type {
  AddedToken,
  BPEOptions,
  DecodeOptions,
  Decoder,
  EncodeOptions,
  Model,
  ModelToken,
  Normalizer,
  PaddingOptions,
  PostProcessor,
  PreTokenizer,
  SplitBehavior,
  TokenizerEncoding,
  TruncationOptions,
} from './hf/index.js';
export {
  BPEModel,
  BYTE_TO_CHAR,
  byteLevelToBytes,
  bytesToByteLevel,
  MAX_PADDED_LENGTH,
  NormalizedString,
  Tokenizer,
  WordLevelModel,
  WordPieceModel,
} from './hf/index.js';
export type { EncodingName } from './models.js';
export { ENCODING_NAMES, encodingNameForModel } from './models.js';
export { CL100K_PATTERN, O200K_PATTERN, R50K_PATTERN, splitPieces } from './pretokenize.js';
export type { RankTable } from './ranks.js';
export { formatTiktokenFile, parseTiktokenFile } from './ranks.js';
export type { TokenByteSource } from './streaming.js';
export { DecodeStream, StreamingDecoder, Utf8StreamDecoder } from './streaming.js';
export type { CharTokenizerJSON, TrainBPEOptions, TrainedBPE } from './train.js';
export { CharTokenizer, trainBPE } from './train.js';
