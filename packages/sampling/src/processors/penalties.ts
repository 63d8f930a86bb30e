import type { LogitsProcessor, ProcessorContext } from './processor.js';

const NEG_INF = Number.NEGATIVE_INFINITY;

/**
 * The CTRL repetition penalty (Keskar et al. 2019; HF RepetitionPenaltyLogitsProcessor): every token
 * already in the sequence has its score divided by `penalty` when positive, multiplied when negative.
 */
export class RepetitionPenaltyProcessor implements LogitsProcessor {
  readonly name = 'repetitionPenalty';
  constructor(readonly penalty: number) {
    if (!(penalty > 0) || !Number.isFinite(penalty))
      throw new RangeError(`repetitionPenalty must be a positive number, got ${penalty}`);
  }
  process(ids: readonly number[], scores: Float32Array): void {
    const seen = new Set<number>();
    for (const id of ids) {
      if (seen.has(id) || id < 0 || id >= scores.length) continue;
      seen.add(id);
      const s = scores[id];
      scores[id] = s < 0 ? s * this.penalty : s / this.penalty;
    }
  }
}

/**
 * OpenAI's presence and frequency penalties: `score -= count * frequencyPenalty + (count > 0) *
 * presencePenalty`, counting only generated tokens (not the prompt), as the OpenAI API does.
 */
export class PresenceFrequencyPenaltyProcessor implements LogitsProcessor {
  readonly name = 'presenceFrequencyPenalty';
  constructor(
    readonly presencePenalty: number,
    readonly frequencyPenalty: number,
  ) {
    for (const [k, v] of [
      ['presencePenalty', presencePenalty],
      ['frequencyPenalty', frequencyPenalty],
    ] as const) {
      if (!Number.isFinite(v) || v < -2 || v > 2) throw new RangeError(`${k} must be in [-2, 2], got ${v}`);
    }
  }
  process(ids: readonly number[], scores: Float32Array, ctx: ProcessorContext): void {
    const counts = new Map<number, number>();
    for (let i = ctx.promptLength; i < ids.length; i++) counts.set(ids[i], (counts.get(ids[i]) ?? 0) + 1);
    for (const [id, c] of counts) {
      if (id >= 0 && id < scores.length) scores[id] -= c * this.frequencyPenalty + this.presencePenalty;
    }
  }
}

/** Bans any token that would repeat an n-gram already in the sequence (HF NoRepeatNGramLogitsProcessor). */
export class NoRepeatNGramProcessor implements LogitsProcessor {
  readonly name = 'noRepeatNgramSize';
  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`noRepeatNgramSize must be a positive integer, got ${n}`);
  }
  process(ids: readonly number[], scores: Float32Array): void {
    const n = this.n;
    if (ids.length + 1 < n) return;
    const prefixStart = ids.length - n + 1;
    for (let s = 0; s + n <= ids.length; s++) {
      let match = true;
      for (let j = 0; j < n - 1; j++) {
        if (ids[s + j] !== ids[prefixStart + j]) {
          match = false;
          break;
        }
      }
      if (match) {
        const banned = ids[s + n - 1];
        if (banned >= 0 && banned < scores.length) scores[banned] = NEG_INF;
      }
    }
  }
}

/**
 * Bans token sequences (HF NoBadWordsLogitsProcessor): a one-token entry is always banned; a longer
 * one bans its last token when the sequence ends with the rest.
 */
export class BadWordsProcessor implements LogitsProcessor {
  readonly name = 'badWordsIds';
  constructor(readonly badWordsIds: readonly (readonly number[])[]) {
    if (
      !Array.isArray(badWordsIds) ||
      badWordsIds.some(
        (w) => !Array.isArray(w) || w.length === 0 || w.some((t) => !Number.isInteger(t) || t < 0),
      )
    ) {
      throw new TypeError('badWordsIds must be a list of non-empty lists of non-negative token ids');
    }
  }
  process(ids: readonly number[], scores: Float32Array): void {
    for (const word of this.badWordsIds) {
      const last = word[word.length - 1];
      const pre = word.length - 1;
      if (pre > ids.length) continue;
      let match = true;
      for (let j = 0; j < pre; j++) {
        if (ids[ids.length - pre + j] !== word[j]) {
          match = false;
          break;
        }
      }
      if (match && last < scores.length) scores[last] = NEG_INF;
    }
  }
}

/** Adds a fixed bias to chosen tokens (OpenAI's logit_bias; -100 bans in practice). */
export class LogitBiasProcessor implements LogitsProcessor {
  readonly name = 'logitBias';
  private entries: [number, number][];
  constructor(bias: Readonly<Record<number, number>> | ReadonlyMap<number, number>) {
    const entries =
      bias instanceof Map
        ? [...bias.entries()]
        : Object.entries(bias).map(([k, v]) => [Number(k), v] as [number, number]);
    for (const [k, v] of entries) {
      if (!Number.isInteger(k) || k < 0)
        throw new TypeError(`logitBias: token id ${k} must be a non-negative integer`);
      if (typeof v !== 'number' || Number.isNaN(v))
        throw new TypeError(`logitBias: bias of token ${k} must be a number, got ${v}`);
    }
    this.entries = entries;
  }
  process(_ids: readonly number[], scores: Float32Array): void {
    for (const [id, b] of this.entries) if (id < scores.length) scores[id] += b;
  }
}

/** Forbids EOS until the whole sequence has `minLength` tokens (HF MinLengthLogitsProcessor). */
export class MinLengthProcessor implements LogitsProcessor {
  readonly name = 'minLength';
  constructor(
    readonly minLength: number,
    readonly eosTokenIds: readonly number[],
  ) {}
  process(ids: readonly number[], scores: Float32Array): void {
    if (ids.length < this.minLength)
      for (const e of this.eosTokenIds) if (e < scores.length) scores[e] = NEG_INF;
  }
}

/** Forbids EOS until `minNewTokens` tokens were generated (HF MinNewTokensLengthLogitsProcessor). */
export class MinNewTokensProcessor implements LogitsProcessor {
  readonly name = 'minNewTokens';
  constructor(
    readonly minNewTokens: number,
    readonly eosTokenIds: readonly number[],
  ) {}
  process(ids: readonly number[], scores: Float32Array, ctx: ProcessorContext): void {
    if (ids.length - ctx.promptLength < this.minNewTokens) {
      for (const e of this.eosTokenIds) if (e < scores.length) scores[e] = NEG_INF;
    }
  }
}

/** Forces `bosTokenId` as the first generated token when the sequence has one token (HF ForcedBOSTokenLogitsProcessor). */
export class ForcedBOSProcessor implements LogitsProcessor {
  readonly name = 'forcedBosTokenId';
  constructor(readonly bosTokenId: number) {}
  process(ids: readonly number[], scores: Float32Array): void {
    if (ids.length === 1) forceToken(scores, this.bosTokenId);
  }
}

/** Forces EOS as the last token when maxLength is about to be reached (HF ForcedEOSTokenLogitsProcessor). */
export class ForcedEOSProcessor implements LogitsProcessor {
  readonly name = 'forcedEosTokenId';
  constructor(readonly eosTokenIds: readonly number[]) {}
  process(ids: readonly number[], scores: Float32Array, ctx: ProcessorContext): void {
    if (ids.length === ctx.maxLength - 1) {
      scores.fill(NEG_INF);
      for (const e of this.eosTokenIds) if (e < scores.length) scores[e] = 0;
    }
  }
}

/** Never emits these tokens (HF SuppressTokensLogitsProcessor; Whisper's `suppress_tokens`). */
export class SuppressTokensProcessor implements LogitsProcessor {
  readonly name = 'suppressTokens';
  constructor(readonly tokenIds: readonly number[]) {}
  process(_ids: readonly number[], scores: Float32Array): void {
    for (const t of this.tokenIds) if (t < scores.length) scores[t] = NEG_INF;
  }
}

/**
 * Forbids these tokens as the first generated one (HF SuppressTokensAtBeginLogitsProcessor;
 * Whisper's `begin_suppress_tokens`, e.g. EOS and the blank). The first generated position is the
 * prompt's length, one later when the prompt is a single token and a BOS is forced (as transformers
 * sets `begin_index`).
 */
export class SuppressTokensAtBeginProcessor implements LogitsProcessor {
  readonly name = 'beginSuppressTokens';
  constructor(
    readonly tokenIds: readonly number[],
    readonly afterForcedBos: boolean,
  ) {}
  process(ids: readonly number[], scores: Float32Array, ctx: ProcessorContext): void {
    const begin = ctx.promptLength + (this.afterForcedBos && ctx.promptLength === 1 ? 1 : 0);
    if (ids.length !== begin) return;
    for (const t of this.tokenIds) if (t < scores.length) scores[t] = NEG_INF;
  }
}

function forceToken(scores: Float32Array, id: number): void {
  scores.fill(NEG_INF);
  if (id >= 0 && id < scores.length) scores[id] = 0;
}
