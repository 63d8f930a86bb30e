// Batching for training: random windows of a token stream (language modelling), and shuffled
// mini-batches of examples with a collate function (any task). Both are seeded.
import { Generator, type Tensor, tensor } from '@attnkit/tensor-core';

/** Makes the batch of training step `step` (0-based). Batches are disposed by {@link train} after use. */
export type BatchSource<B> = (step: number) => B;

/** A causal-LM batch: `inputIds` [B, T]; `labels` [B, T] (the model shifts them; -100 is ignored). */
export interface LMBatch {
  inputIds: Tensor;
  labels: Tensor;
}

/**
 * Random windows of `blockSize` tokens from a token stream, `batchSize` per batch (nanoGPT's
 * get_batch), seeded: the same seed gives the same batches.
 *
 * @example
 * ```ts
 * const tokens = Array.from({ length: 5000 }, (_, i) => i % 50); // a tokenized corpus
 * const batches = lmBatches(tokens, { batchSize: 16, blockSize: 64, seed: 1 });
 * const { inputIds, labels } = batches(0);
 * [inputIds.shape, labels.shape]; // => [[16, 64], [16, 64]]
 * ```
 */
export function lmBatches(
  tokens: ArrayLike<number>,
  options: { batchSize: number; blockSize: number; seed?: number },
): BatchSource<LMBatch> {
  const { batchSize, blockSize } = options;
  for (const [k, v] of [
    ['batchSize', batchSize],
    ['blockSize', blockSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`lmBatches: ${k} must be a positive integer, got ${v}`);
  }
  if (!tokens || tokens.length < blockSize + 1) {
    throw new RangeError(
      `lmBatches: need more than blockSize (${blockSize}) tokens, got ${tokens?.length ?? 0}`,
    );
  }
  const g = new Generator(options.seed ?? 0);
  return () => {
    const ids = new Int32Array(batchSize * blockSize);
    for (let b = 0; b < batchSize; b++) {
      const start = g.randint(0, tokens.length - blockSize + 1);
      for (let i = 0; i < blockSize; i++) ids[b * blockSize + i] = tokens[start + i];
    }
    const inputIds = tensor(ids, [batchSize, blockSize], 'int32');
    return { inputIds, labels: tensor(ids, [batchSize, blockSize], 'int32') };
  };
}

/**
 * Consecutive non-overlapping windows covering a token stream (for evaluation): every token is
 * predicted once, except each window's first.
 */
export function lmEvalBatches(
  tokens: ArrayLike<number>,
  options: { batchSize: number; blockSize: number },
): LMBatch[] {
  const { batchSize, blockSize } = options;
  const windows: number[] = [];
  for (let s = 0; s + blockSize <= tokens.length; s += blockSize) windows.push(s);
  const out: LMBatch[] = [];
  for (let i = 0; i < windows.length; i += batchSize) {
    const rows = windows.slice(i, i + batchSize);
    const ids = new Int32Array(rows.length * blockSize);
    rows.forEach((s, r) => {
      for (let j = 0; j < blockSize; j++) ids[r * blockSize + j] = tokens[s + j];
    });
    out.push({
      inputIds: tensor(ids, [rows.length, blockSize], 'int32'),
      labels: tensor(ids, [rows.length, blockSize], 'int32'),
    });
  }
  return out;
}

/**
 * Shuffled mini-batches of `examples`, reshuffled every epoch (seeded), each made into tensors by
 * `collate`. Step `s` reads batch `s mod batchesPerEpoch` of its epoch.
 *
 * @example
 * ```ts
 * const pairs = Array.from({ length: 100 }, (_, i) => [i, 2 * i]);
 * const toTensors = (rows: number[][]) => tensor(rows.flat(), [rows.length, 2], 'int32');
 * const batches = exampleBatches(pairs, 32, (rows) => toTensors(rows), { seed: 0 });
 * batches(0).shape; // => [32, 2]
 * ```
 */
export function exampleBatches<E, B>(
  examples: readonly E[],
  batchSize: number,
  collate: (rows: E[]) => B,
  options: { seed?: number; dropLast?: boolean } = {},
): BatchSource<B> {
  if (!Array.isArray(examples) || examples.length === 0) {
    throw new RangeError('exampleBatches: examples must be a non-empty array');
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`exampleBatches: batchSize must be a positive integer, got ${batchSize}`);
  }
  const g = new Generator(options.seed ?? 0);
  const full = Math.floor(examples.length / batchSize);
  const perEpoch = options.dropLast === false ? Math.ceil(examples.length / batchSize) : Math.max(1, full);
  let order: number[] = [];
  let epoch = -1;
  return (step) => {
    const e = Math.floor(step / perEpoch);
    while (epoch < e) {
      order = examples.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = g.randint(0, i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      epoch++;
    }
    const k = step % perEpoch;
    return collate(order.slice(k * batchSize, (k + 1) * batchSize).map((i) => examples[i]));
  };
}
