// pipeline('fill-mask') and pipeline('feature-extraction'): texts ─▶ a right-padded batch of ids
// with its attention mask ─▶ the encoder ─▶ the top tokens at [MASK] / pooled hidden states.
import { div, mul, noGrad, sqrt, sum, type Tensor, tensor, tidy } from '@attnkit/tensor-core';
import type { PretrainedTokenizer } from '@attnkit/tokenizer';
import { describe } from '../internal.js';
import type { PretrainedTasks } from '../loading.js';
import { BertModel } from '../models/bert.js';
import type { CLIPVisionModel, CLIPVisionModelWithProjection } from '../models/clip-vision.js';

/** A right-padded batch of encoded texts. */
interface TextBatch {
  ids: number[][];
  /** int32 [B, L] */
  inputIds: Tensor;
  /** int32 [B, L]: 1 for tokens, 0 for padding. */
  attentionMask: Tensor;
  /** int32 [B, L] segment ids. */
  tokenTypeIds: Tensor;
}

function texts(input: unknown, op: string): { list: string[]; batched: boolean } {
  if (typeof input === 'string') return { list: [input], batched: false };
  if (Array.isArray(input) && input.length > 0 && input.every((t) => typeof t === 'string'))
    return { list: input, batched: true };
  throw new TypeError(
    `${op}: the input must be a string or a non-empty list of strings, got ${describe(input)}`,
  );
}

function encodeBatch(tokenizer: PretrainedTokenizer, list: string[]): TextBatch {
  const encs = list.map((t) => tokenizer.encode(t));
  const L = Math.max(...encs.map((e) => e.ids.length));
  const pad = tokenizer.padToken !== undefined ? (tokenizer.tokenToId(tokenizer.padToken) ?? 0) : 0;
  const B = encs.length;
  const ids = new Int32Array(B * L).fill(pad);
  const mask = new Int32Array(B * L);
  const types = new Int32Array(B * L);
  encs.forEach((e, b) => {
    ids.set(e.ids, b * L);
    mask.fill(1, b * L, b * L + e.ids.length);
    types.set(e.typeIds, b * L);
  });
  return {
    ids: encs.map((e) => e.ids),
    inputIds: tensor(ids, [B, L], 'int32'),
    attentionMask: tensor(mask, [B, L], 'int32'),
    tokenTypeIds: tensor(types, [B, L], 'int32'),
  };
}

function disposeBatch(b: TextBatch): void {
  b.inputIds.dispose();
  b.attentionMask.dispose();
  b.tokenTypeIds.dispose();
}

// ---- fill-mask ----

/** The masked language models fill-mask runs (BERT with its MLM head). */
export type FillMaskModel = PretrainedTasks['fill-mask'];

/** Options of a fill-mask call. */
export interface FillMaskOptions {
  /** How many candidates to return. Default 5. */
  topK?: number;
}

/** One candidate for the masked token, as transformers.js returns it. */
export interface FillMaskOutput {
  /** Its probability. */
  score: number;
  /** Its id. */
  token: number;
  /** Its text. */
  token_str: string;
  /** The input with the mask filled, special tokens left out. */
  sequence: string;
}

/**
 * A fill-mask pipeline: the most likely tokens for the one mask token of each text.
 *
 * @example
 * ```ts
 * // a BertForMaskedLM folder with its tokenizer (here a tiny random one; bert-base-uncased loads the same way)
 * const unmasker = await pipeline('fill-mask', 'packages/transformer/test/fixtures/pipe-bert-mlm');
 * const out = await unmasker('The capital of France is [MASK].');
 * out.length; // => 5
 * console.log(out[0].token_str, out[0].score);
 * ```
 */
export interface FillMaskPipeline {
  (text: string, options?: FillMaskOptions): Promise<FillMaskOutput[]>;
  (texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[][]>;
  readonly task: 'fill-mask';
  readonly model: FillMaskModel;
  readonly tokenizer: PretrainedTokenizer;
  /** Frees the model's weights. */
  dispose(): void;
}

/** Builds the pipeline around a loaded model and tokenizer. */
export function fillMaskPipeline(model: FillMaskModel, tokenizer: PretrainedTokenizer): FillMaskPipeline {
  const OP = "pipeline('fill-mask')";
  const maskToken = tokenizer.specialTokens.mask_token;
  const maskId = maskToken !== undefined ? tokenizer.tokenToId(maskToken) : undefined;
  if (maskToken === undefined || maskId === undefined)
    throw new Error(`${OP}: the tokenizer has no mask_token (tokenizer_config.json); fill-mask needs one`);
  const padId = tokenizer.padToken !== undefined ? tokenizer.tokenToId(tokenizer.padToken) : undefined;

  async function call(text: string, options?: FillMaskOptions): Promise<FillMaskOutput[]>;
  async function call(texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[][]>;
  async function call(
    input: string | string[],
    options: FillMaskOptions = {},
  ): Promise<FillMaskOutput[] | FillMaskOutput[][]> {
    const { list, batched } = texts(input, OP);
    const topK = options.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1)
      throw new RangeError(`${OP}: topK must be an integer >= 1, got ${describe(topK)}`);
    const batch = encodeBatch(tokenizer, list);
    const positions = batch.ids.map((ids, i) => {
      const at = ids.flatMap((id, j) => (id === maskId ? [j] : []));
      if (at.length !== 1)
        throw new Error(
          `${OP}: text ${i} must hold exactly one ${maskToken} (the tokenizer's mask token), found ${at.length}: ${JSON.stringify(list[i])}`,
        );
      return at[0];
    });
    let logits: Float32Array;
    let V: number;
    let L: number;
    try {
      const out = tidy(() =>
        noGrad(
          () =>
            model.forward({
              inputIds: batch.inputIds,
              attentionMask: batch.attentionMask,
              tokenTypeIds: batch.tokenTypeIds,
            }).logits,
        ),
      );
      [, L, V] = out.shape;
      logits = Float32Array.from(await out.data());
      out.dispose();
    } finally {
      disposeBatch(batch);
    }
    const results = batch.ids.map((ids, b) => {
      const row = logits.subarray((b * L + positions[b]) * V, (b * L + positions[b] + 1) * V);
      let max = Number.NEGATIVE_INFINITY;
      for (const v of row) max = Math.max(max, v);
      let total = 0;
      for (const v of row) total += Math.exp(v - max);
      const order = Array.from(row.keys()).sort((x, y) => row[y] - row[x] || x - y);
      return order.slice(0, Math.min(topK, V)).map((token) => {
        const filled = ids.map((id, j) => (j === positions[b] ? token : id)).filter((id) => id !== padId);
        return {
          score: Math.exp(row[token] - max) / total,
          token,
          token_str: tokenizer.decode([token]),
          sequence: tokenizer.decode(filled, { skipSpecialTokens: true }),
        };
      });
    });
    return batched ? results : results[0];
  }

  return Object.assign(call, {
    task: 'fill-mask' as const,
    model,
    tokenizer,
    dispose: () => model.dispose(),
  });
}

// ---- feature-extraction ----

/** The encoders feature extraction runs (BERT, CLIP's text tower). */
export type FeatureExtractionModel = Exclude<
  PretrainedTasks['feature-extraction'],
  CLIPVisionModel | CLIPVisionModelWithProjection
>;

/** Options of a feature-extraction call, as transformers.js names them. */
export interface FeatureExtractionOptions {
  /**
   * 'none' (default): the last hidden states [B, L, D]; 'mean': their average over the real tokens
   * [B, D]; 'cls': the first token's [B, D].
   */
  pooling?: 'none' | 'mean' | 'cls';
  /** Divide each vector by its L2 norm. Default false. */
  normalize?: boolean;
}

/**
 * A feature-extraction pipeline: embeddings of texts, as a Tensor the caller owns.
 *
 * @example
 * ```ts
 * // all-MiniLM-L6-v2 gives [2, 384]; this tiny BERT has 32 features
 * const extractor = await pipeline('feature-extraction', 'packages/transformer/test/fixtures/pipe-bert');
 * const emb = await extractor(['a cat', 'a dog'], { pooling: 'mean', normalize: true });
 * emb.shape; // => [2, 32]
 * ```
 */
export interface FeatureExtractionPipeline {
  (input: string | string[], options?: FeatureExtractionOptions): Promise<Tensor>;
  readonly task: 'feature-extraction';
  readonly model: FeatureExtractionModel;
  readonly tokenizer: PretrainedTokenizer;
  /** Frees the model's weights. */
  dispose(): void;
}

const POOLINGS = ['none', 'mean', 'cls'];

/**
 * Builds the pipeline around a loaded encoder and tokenizer; `dispose` frees what holds the encoder
 * (the whole masked LM when the encoder is its `bert`).
 */
export function featureExtractionPipeline(
  model: FeatureExtractionModel,
  tokenizer: PretrainedTokenizer,
  dispose: () => void = () => model.dispose(),
): FeatureExtractionPipeline {
  const OP = "pipeline('feature-extraction')";
  async function call(input: string | string[], options: FeatureExtractionOptions = {}): Promise<Tensor> {
    const { list } = texts(input, OP);
    const pooling = options.pooling ?? 'none';
    if (!POOLINGS.includes(pooling))
      throw new Error(
        `${OP}: pooling must be one of ${POOLINGS.map((p) => `'${p}'`).join(', ')}, got ${describe(pooling)}`,
      );
    if (options.normalize !== undefined && typeof options.normalize !== 'boolean')
      throw new TypeError(`${OP}: normalize must be a boolean, got ${describe(options.normalize)}`);
    const batch = encodeBatch(tokenizer, list);
    try {
      return tidy(() =>
        noGrad(() => {
          const inputs = { inputIds: batch.inputIds, attentionMask: batch.attentionMask };
          const h =
            model instanceof BertModel
              ? model.forward({ ...inputs, tokenTypeIds: batch.tokenTypeIds }).lastHiddenState
              : model.forward(inputs).lastHiddenState; // [B, L, D]
          let x = h;
          if (pooling === 'mean') {
            const m = batch.attentionMask.cast('float32').unsqueeze(-1); // [B, L, 1]
            x = div(sum(mul(h, m), 1), sum(m, 1)); // [B, D]
          } else if (pooling === 'cls') {
            x = h.sliceDim(1, 0, 1).squeeze(1); // [B, D]
          }
          if (options.normalize) x = div(x, sqrt(sum(mul(x, x), -1, true)));
          return x;
        }),
      );
    } finally {
      disposeBatch(batch);
    }
  }
  return Object.assign(call, {
    task: 'feature-extraction' as const,
    model,
    tokenizer,
    dispose,
  });
}
