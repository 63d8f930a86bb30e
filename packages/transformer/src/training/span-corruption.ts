// T5's pre-training objective (Raffel et al. 2020, section 3.1.4): span corruption. About 15% of
// the tokens, in spans of mean length 3, are cut out of the input; each span is replaced by one
// sentinel token, and the target lists the sentinels each followed by the tokens it hides (the
// algorithm of T5's `random_spans_noise_mask` and transformers' run_t5_mlm_flax.py).
//
//   tokens:  The  cute dog walks in the park
//   input:   The <X> walks in <Y> park </s>
//   target:  <X> cute dog <Y> the </s>
import { Generator, tensor } from '@attnkit/tensor-core';
import type { BatchSource } from './data.js';
import type { Seq2SeqBatch } from './losses.js';

/** Options of {@link spanCorruption}. */
export interface SpanCorruptionOptions {
  /** Fraction of tokens to corrupt (T5: 0.15). */
  noiseDensity?: number;
  /** Mean length of a corrupted span (T5: 3). */
  meanNoiseSpanLength?: number;
  /** The id of the i-th sentinel (i = 0, 1, ...): T5's `<extra_id_i>` is vocabSize − 1 − i. */
  sentinelId: (i: number) => number;
  /** Appended to the input and the target (T5: `</s>`, 1); null for none. */
  eosTokenId: number | null;
  generator: Generator;
}

/** Splits `numItems` into `numSegments` non-empty segments at random; returns their lengths. */
function randomSegmentation(numItems: number, numSegments: number, g: Generator): number[] {
  // numSegments − 1 boundaries among the numItems − 1 gaps, shuffled
  const first = Array.from({ length: numItems - 1 }, (_, i) => i < numSegments - 1);
  for (let i = first.length - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    [first[i], first[j]] = [first[j], first[i]];
  }
  const lengths = [1];
  for (const f of first) {
    if (f) lengths.push(1);
    else lengths[lengths.length - 1]++;
  }
  return lengths;
}

/**
 * Which of `length` tokens are noise: alternating non-noise and noise spans, starting with
 * non-noise, `round(length · noiseDensity)` noise tokens (at least 1, at most length − 1) in
 * `round(noise / meanNoiseSpanLength)` spans (at least 1), as T5's random_spans_noise_mask.
 */
export function randomSpansNoiseMask(
  length: number,
  noiseDensity: number,
  meanNoiseSpanLength: number,
  g: Generator,
): boolean[] {
  const who = 'randomSpansNoiseMask';
  if (!Number.isInteger(length) || length < 2)
    throw new RangeError(`${who}: length must be an integer >= 2, got ${length}`);
  if (!(noiseDensity > 0 && noiseDensity < 1))
    throw new RangeError(`${who}: noiseDensity must be in (0, 1), got ${noiseDensity}`);
  if (!(meanNoiseSpanLength >= 1))
    throw new RangeError(`${who}: meanNoiseSpanLength must be >= 1, got ${meanNoiseSpanLength}`);
  let noise = Math.round(length * noiseDensity);
  noise = Math.min(Math.max(noise, 1), length - 1);
  const nonNoise = length - noise;
  const spans = Math.max(Math.round(Math.min(noise, nonNoise) / meanNoiseSpanLength), 1);
  const noiseLengths = randomSegmentation(noise, spans, g);
  const nonNoiseLengths = randomSegmentation(nonNoise, spans, g);
  const mask: boolean[] = [];
  for (let s = 0; s < spans; s++) {
    for (let i = 0; i < nonNoiseLengths[s]; i++) mask.push(false);
    for (let i = 0; i < noiseLengths[s]; i++) mask.push(true);
  }
  return mask;
}

/**
 * One example of span corruption: the input with each noise span replaced by a sentinel, and the
 * target with each kept span replaced by a sentinel (so it lists sentinel, hidden tokens, ...),
 * both ending with EOS.
 *
 * @example
 * ```ts
 * const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
 * const g = new Generator(0);
 * const { input, target } = spanCorruption(ids, { sentinelId: (i) => 32099 - i, eosTokenId: 1, generator: g });
 * input.includes(32099) && target[0] === 32099; // => true
 * ```
 */
export function spanCorruption(
  tokens: readonly number[],
  options: SpanCorruptionOptions,
): { input: number[]; target: number[] } {
  const mask = randomSpansNoiseMask(
    tokens.length,
    options.noiseDensity ?? 0.15,
    options.meanNoiseSpanLength ?? 3,
    options.generator,
  );
  // the input hides the noise spans; the target hides the kept spans
  const build = (hideNoise: boolean) => {
    const hidden = (i: number) => mask[i] === hideNoise;
    const out: number[] = [];
    let sentinel = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (!hidden(i)) out.push(tokens[i]);
      else if (i === 0 || !hidden(i - 1)) out.push(options.sentinelId(sentinel++)); // a span starts
    }
    if (options.eosTokenId !== null) out.push(options.eosTokenId);
    return out;
  };
  return { input: build(true), target: build(false) };
}

/** Options of {@link spanCorruptionBatches}. */
export interface SpanCorruptionBatchOptions extends Omit<SpanCorruptionOptions, 'generator'> {
  batchSize: number;
  /** Tokens per window before corruption. */
  windowLength: number;
  /** The pad id (T5: 0), also the decoder start token. */
  padTokenId: number;
  /** The first decoder token (default padTokenId, as T5). */
  decoderStartTokenId?: number;
  seed?: number;
}

/**
 * Seeded span-corruption batches from a token stream: random windows of `windowLength` tokens,
 * corrupted, padded to the longest input and target of the batch; decoder inputs are the targets
 * shifted right behind the start token; padded labels are -100. Feed them to {@link train} with
 * {@link seq2seqLoss}.
 */
export function spanCorruptionBatches(
  tokens: ArrayLike<number>,
  options: SpanCorruptionBatchOptions,
): BatchSource<Seq2SeqBatch> {
  const who = 'spanCorruptionBatches';
  const { batchSize, windowLength, padTokenId } = options;
  for (const [k, v] of [
    ['batchSize', batchSize],
    ['windowLength', windowLength],
  ] as const)
    if (!Number.isInteger(v) || v < 2) throw new RangeError(`${who}: ${k} must be an integer >= 2, got ${v}`);
  if (!tokens || tokens.length < windowLength)
    throw new RangeError(
      `${who}: need at least windowLength (${windowLength}) tokens, got ${tokens?.length ?? 0}`,
    );
  const g = new Generator(options.seed ?? 0);
  const start = options.decoderStartTokenId ?? padTokenId;
  return () => {
    const examples = Array.from({ length: batchSize }, () => {
      const at = g.randint(0, tokens.length - windowLength + 1);
      const window = Array.from({ length: windowLength }, (_, i) => tokens[at + i]);
      return spanCorruption(window, { ...options, generator: g });
    });
    return collateSeq2Seq(examples, padTokenId, start);
  };
}

/** Pads (input, target) pairs into a {@link Seq2SeqBatch}: masks, shifted decoder inputs, -100 labels. */
export function collateSeq2Seq(
  examples: readonly { input: readonly number[]; target: readonly number[] }[],
  padTokenId: number,
  decoderStartTokenId: number,
): Seq2SeqBatch {
  const b = examples.length;
  const ls = Math.max(...examples.map((e) => e.input.length));
  const lt = Math.max(...examples.map((e) => e.target.length));
  const ids = new Int32Array(b * ls).fill(padTokenId);
  const mask = new Int32Array(b * ls);
  const dec = new Int32Array(b * lt).fill(padTokenId);
  const decMask = new Int32Array(b * lt);
  const labels = new Int32Array(b * lt).fill(-100);
  examples.forEach((e, r) => {
    e.input.forEach((t, j) => {
      ids[r * ls + j] = t;
      mask[r * ls + j] = 1;
    });
    e.target.forEach((t, j) => {
      labels[r * lt + j] = t;
      dec[r * lt + j] = j === 0 ? decoderStartTokenId : e.target[j - 1];
      decMask[r * lt + j] = 1;
    });
  });
  return {
    inputIds: tensor(ids, [b, ls], 'int32'),
    attentionMask: tensor(mask, [b, ls], 'int32'),
    decoderInputIds: tensor(dec, [b, lt], 'int32'),
    decoderAttentionMask: tensor(decMask, [b, lt], 'int32'),
    labels: tensor(labels, [b, lt], 'int32'),
  };
}
