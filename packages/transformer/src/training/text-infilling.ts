// BART's best denoising objective (Lewis et al. 2020, section 2.2): text infilling. Spans whose
// lengths are drawn from a Poisson distribution (λ = 3) are each replaced by a single mask token,
// about 30% of the tokens in all (BART's pre-training setting); the model rebuilds the whole
// original text. As transformers' run_bart_dlm_flax.py, spans of length 0 are dropped.
//
//   tokens:  The cute dog walks in the park
//   input:   The <mask> walks <mask> park
//   target:  The cute dog walks in the park
import { Generator } from '@attnkit/tensor-core';
import type { BatchSource } from './data.js';
import type { Seq2SeqBatch } from './losses.js';
import { collateSeq2Seq } from './span-corruption.js';

/** Options of {@link textInfilling}. */
export interface TextInfillingOptions {
  /** Fraction of tokens to mask (BART: 0.3). */
  maskRatio?: number;
  /** Mean span length (BART: 3). */
  poissonLambda?: number;
  maskTokenId: number;
  generator: Generator;
}

/** A Poisson(λ) draw (Knuth's method; λ is small). */
function poisson(lambda: number, g: Generator): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = g.uniform();
  while (p > limit) {
    k++;
    p *= g.uniform();
  }
  return k;
}

/**
 * One example of text infilling: `ceil(maskRatio · n)` tokens, in Poisson-length spans starting at
 * random distinct positions, are masked; each masked span becomes one mask token in the input.
 * Returns the corrupted input and which positions were masked.
 *
 * @example
 * ```ts
 * const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
 * const { input } = textInfilling(ids, { maskTokenId: 50264, generator: new Generator(0) });
 * input.includes(50264); // => true
 * ```
 */
export function textInfilling(
  tokens: readonly number[],
  options: TextInfillingOptions,
): { input: number[]; masked: boolean[] } {
  const who = 'textInfilling';
  const ratio = options.maskRatio ?? 0.3;
  const lambda = options.poissonLambda ?? 3;
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`${who}: maskRatio must be in (0, 1), got ${ratio}`);
  if (!(lambda > 0 && lambda <= 30))
    throw new RangeError(`${who}: poissonLambda must be in (0, 30], got ${lambda}`);
  const n = tokens.length;
  const g = options.generator;
  const masked = new Array<boolean>(n).fill(false);
  const want = Math.ceil(n * ratio);
  if (n === 0 || want === 0) return { input: [...tokens], masked };
  // enough span lengths to cover `want` tokens, zero lengths dropped, trimmed nearest to `want`
  let lengths: number[] = [];
  while (lengths.reduce((a, b) => a + b, 0) < want)
    lengths.push(...Array.from({ length: want }, () => poisson(lambda, g)));
  lengths = lengths.filter((l) => l > 0);
  let best = 0;
  let bestGap = Number.POSITIVE_INFINITY;
  let sum = 0;
  lengths.forEach((l, i) => {
    sum += l;
    const gap = Math.abs(sum - want);
    if (gap < bestGap) {
      bestGap = gap;
      best = i + 1;
    }
  });
  lengths = lengths.slice(0, Math.min(best, n));
  // distinct random start positions (a partial Fisher-Yates shuffle)
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < lengths.length; i++) {
    const j = i + g.randint(0, n - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  lengths.forEach((l, s) => {
    for (let k = order[s]; k < Math.min(n, order[s] + l); k++) masked[k] = true;
  });
  const input: number[] = [];
  tokens.forEach((t, i) => {
    if (!masked[i]) input.push(t);
    else if (i === 0 || !masked[i - 1]) input.push(options.maskTokenId);
  });
  return { input, masked };
}

/** Options of {@link textInfillingBatches}. */
export interface TextInfillingBatchOptions extends Omit<TextInfillingOptions, 'generator'> {
  batchSize: number;
  /** Tokens per window. */
  windowLength: number;
  padTokenId: number;
  /** Put around the input and the target (BART: `<s>` 0 and `</s>` 2); null for none. */
  bosTokenId: number | null;
  eosTokenId: number | null;
  /** The first decoder token (BART: `</s>`, 2). */
  decoderStartTokenId: number;
  seed?: number;
}

/**
 * Seeded text-infilling batches from a token stream: random windows, infilled inputs, the original
 * windows as targets (with BOS/EOS around both), padded; decoder inputs are the targets shifted
 * right behind the decoder start token. Feed them to {@link train} with {@link seq2seqLoss}.
 */
export function textInfillingBatches(
  tokens: ArrayLike<number>,
  options: TextInfillingBatchOptions,
): BatchSource<Seq2SeqBatch> {
  const who = 'textInfillingBatches';
  const { batchSize, windowLength } = options;
  for (const [k, v] of [
    ['batchSize', batchSize],
    ['windowLength', windowLength],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`${who}: ${k} must be a positive integer, got ${v}`);
  if (!tokens || tokens.length < windowLength)
    throw new RangeError(
      `${who}: need at least windowLength (${windowLength}) tokens, got ${tokens?.length ?? 0}`,
    );
  const g = new Generator(options.seed ?? 0);
  const wrap = (ids: number[]) => [
    ...(options.bosTokenId === null ? [] : [options.bosTokenId]),
    ...ids,
    ...(options.eosTokenId === null ? [] : [options.eosTokenId]),
  ];
  return () => {
    const examples = Array.from({ length: batchSize }, () => {
      const at = g.randint(0, tokens.length - windowLength + 1);
      const window = Array.from({ length: windowLength }, (_, i) => tokens[at + i]);
      const { input } = textInfilling(window, { ...options, generator: g });
      return { input: wrap(input), target: wrap(window) };
    });
    return collateSeq2Seq(examples, options.padTokenId, options.decoderStartTokenId);
  };
}
