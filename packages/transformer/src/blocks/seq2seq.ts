// What the encoder-decoder families (T5, BART) share when decoding: a cache with the decoder's
// growing self-attention keys/values and the cross-attention keys/values computed once from the
// encoder output (transformers' EncoderDecoderCache), additive padding masks, and the decoder bound
// to one encoded batch that @attnkit/sampling's generate() drives (its ConditionedDecoder).
//
//   source ids ─ encoder (once) ─▶ memory [B, Ls, E] ─▶ ConditionedSeq2SeqDecoder
//   decoder ids [B·k, 1] ─ forward(pastKeyValues) ─▶ logits [B·k, 1, V]   (k rows per source: beams)
import { KVCache, type LayerKVCache, scaledDotProductAttention } from '@attnkit/attention';
import type { CausalLMInputs, ConditionedDecoder } from '@attnkit/sampling';
import { eq, indexSelect, noGrad, type Tensor, tensor, where } from '@attnkit/tensor-core';
import { allOnes, fmtShape } from '../internal.js';
import { reorderModelCache } from './attention.js';

/** The most negative float32, as transformers fills masked scores (torch.finfo(float32).min). */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * Padding as an additive mask: `attentionMask` [B, Lk] (1 real, 0 padding) → float [B, 1, 1, Lk]
 * holding 0 for real keys and the float32 minimum for padding; null when nothing is padded.
 */
export function additivePaddingMask(attentionMask: Tensor | null | undefined): Tensor | null {
  if (!attentionMask || allOnes(attentionMask)) return null;
  const [b, lk] = attentionMask.shape;
  return noGrad(() => where(eq(attentionMask, 0), FLOAT32_MIN, 0).reshape([b, 1, 1, lk]));
}

/**
 * Cross-attention over the encoder output with the keys and values computed once: on the first
 * call (an empty `cache`) `project` makes them from the memory and the cache keeps them; later
 * calls reuse them.
 */
export function crossAttend(
  q: Tensor,
  project: () => { k: Tensor; v: Tensor },
  cache: LayerKVCache | null,
  options: { mask: Tensor | null; scale?: number },
): Tensor {
  let keys: Tensor;
  let values: Tensor;
  if (cache && cache.length > 0) {
    keys = cache.keys as Tensor;
    values = cache.values as Tensor;
  } else {
    ({ k: keys, v: values } = project());
    if (cache) noGrad(() => cache.append(keys.detach(), values.detach()));
  }
  return scaledDotProductAttention(q, keys, values, { mask: options.mask, scale: options.scale ?? null });
}

/**
 * The cache of an encoder-decoder's decoder (transformers' EncoderDecoderCache): the self-attention
 * keys/values of every decoded position, and the cross-attention keys/values of the encoder output
 * (filled on the first step, then reused).
 */
export class EncoderDecoderCache {
  readonly selfAttention: KVCache;
  readonly crossAttention: KVCache;

  constructor(readonly numLayers: number) {
    this.selfAttention = new KVCache({ numLayers });
    this.crossAttention = new KVCache({ numLayers });
  }

  /** Decoded positions held. */
  get length(): number {
    return this.selfAttention.length;
  }

  /** A new cache holding rows `beamIndices` of this one (beam search); this one is left as is. */
  reorder(beamIndices: readonly number[], who = 'EncoderDecoderCache.reorder'): EncoderDecoderCache {
    const out = new EncoderDecoderCache(this.numLayers);
    const self = reorderModelCache(this.selfAttention, beamIndices, who);
    const cross = reorderModelCache(this.crossAttention, beamIndices, who);
    (out as { selfAttention: KVCache }).selfAttention = self;
    (out as { crossAttention: KVCache }).crossAttention = cross;
    return out;
  }

  dispose(): void {
    this.selfAttention.dispose();
    this.crossAttention.dispose();
  }
}

/** Checks a `pastKeyValues` argument of an encoder-decoder: an {@link EncoderDecoderCache} of the same depth. */
export function seq2seqCacheArg(past: unknown, numLayers: number, fn: string): EncoderDecoderCache | null {
  if (past === undefined || past === null) return null;
  if (!(past instanceof EncoderDecoderCache)) {
    throw new TypeError(
      `${fn}: 'pastKeyValues' must be the EncoderDecoderCache a previous forward returned, got ${
        (past as object)?.constructor?.name ?? typeof past
      }`,
    );
  }
  if (past.numLayers !== numLayers) {
    throw new Error(`${fn}: 'pastKeyValues' holds ${past.numLayers} layers, the decoder has ${numLayers}`);
  }
  return past;
}

/** One decoder step as the families implement it (T5's and BART's forward with encoderOutputs). */
export type DecodeFn = (inputs: {
  decoderInputIds: Tensor;
  decoderAttentionMask: Tensor | null;
  encoderOutputs: Tensor;
  attentionMask: Tensor;
  /** The cache the previous step returned (an {@link EncoderDecoderCache} for T5 and BART), or null. */
  pastKeyValues: unknown;
}) => { logits: Tensor; pastKeyValues: unknown };

/**
 * The decoder of an encoder-decoder bound to one encoded batch, as `@attnkit/sampling`'s
 * generate() drives it (a causal LM over decoder tokens). Rows come grouped by source (k per
 * source for beams or several return sequences): the memory is repeated to match, once per k.
 */
export class ConditionedSeq2SeqDecoder implements ConditionedDecoder {
  private expanded = new Map<number, { memory: Tensor; mask: Tensor }>();

  constructor(
    private readonly memory: Tensor,
    private readonly memoryMask: Tensor,
    private readonly decode: DecodeFn,
    private readonly who: string,
    private readonly reorder: (past: unknown, beamIndices: readonly number[]) => unknown = (past, idx) => {
      if (!(past instanceof EncoderDecoderCache))
        throw new TypeError(`${who}.reorderCache: expected an EncoderDecoderCache`);
      return past.reorder(idx, `${who}.reorderCache`);
    },
  ) {}

  private rowsFor(rows: number): { memory: Tensor; mask: Tensor } {
    const b = this.memory.shape[0];
    if (rows === b) return { memory: this.memory, mask: this.memoryMask };
    if (rows % b !== 0) {
      throw new Error(
        `${this.who}: ${rows} decoder rows cannot be grouped over ${b} source rows ${fmtShape(this.memory.shape)}`,
      );
    }
    const k = rows / b;
    let e = this.expanded.get(k);
    if (!e) {
      e = noGrad(() => {
        const idx = tensor(
          Int32Array.from({ length: rows }, (_, i) => Math.floor(i / k)),
          [rows],
          'int32',
        );
        const out = { memory: indexSelect(this.memory, 0, idx), mask: indexSelect(this.memoryMask, 0, idx) };
        idx.dispose();
        return out;
      });
      this.expanded.set(k, e);
    }
    return e;
  }

  /** Decoder ids (the new ones when a cache is passed) → logits [rows, L, V] and the cache. */
  forward(inputs: CausalLMInputs): { logits: Tensor; pastKeyValues: unknown } {
    const { memory, mask } = this.rowsFor(inputs.inputIds.shape[0]);
    return this.decode({
      decoderInputIds: inputs.inputIds,
      decoderAttentionMask: inputs.attentionMask ?? null,
      encoderOutputs: memory,
      attentionMask: mask,
      pastKeyValues: inputs.pastKeyValues ?? null,
    });
  }

  /** A cache with its rows reordered (beam search). */
  reorderCache(pastKeyValues: unknown, beamIndices: readonly number[]): unknown {
    return this.reorder(pastKeyValues, beamIndices);
  }

  dispose(): void {
    for (const e of this.expanded.values()) {
      e.memory.dispose();
      e.mask.dispose();
    }
    this.expanded.clear();
    this.memory.dispose();
    this.memoryMask.dispose();
  }
}
