import type { ProcessorTrace } from './processors/index.js';

/** What generate() returns. */
export interface GenerateOutput {
  /**
   * Prompt (left-padded as given) followed by the generated tokens, per returned sequence
   * (numReturnSequences rows per prompt, next to each other).
   */
  sequences: number[][];
  /** Processed scores of each step ([step][row]), with `outputScores`. */
  scores?: Float32Array[][];
  /** Beam search: the final score of each returned sequence. */
  sequencesScores?: number[];
  /** With `traceTopN`: for each step and row, what every processor did to the top candidates. */
  trace?: ProcessorTrace[][][];
  /** Speculative decoding: accepted draft tokens / proposed draft tokens. */
  acceptanceRate?: number;
}
