// Block-sparse attention layouts: which key blocks each query block sees. Constructors for the
// Sparse Transformer's strided and fixed patterns (Child et al. 2019), Longformer's sliding window
// plus global tokens (Beltagy et al. 2020) and BigBird's window + global + random blocks (Zaheer et
// al. 2020), all in units of blocks. scaledDotProductAttention hands a layout to tensor-core's
// attention op, whose fused kernel (backend-cpu, backend-webgpu) walks only the visible blocks.
import {
  type Backend,
  blockSparseIndex,
  type BlockSparseLayout as CoreBlockSparseLayout,
  fromValues,
  Generator,
  type Tensor,
} from '@attnkit/tensor-core';
import { assertPositiveInt } from './internal.js';

/**
 * A block-sparse attention pattern: the sequence is cut into blocks of `blockSize` positions, and
 * query block i sees the key blocks `visible[i]` (sorted, no duplicates). Query and key sequences
 * have `visible.length · blockSize` positions. (tensor-core's type, which its attention op takes.)
 */
export type BlockSparseLayout = CoreBlockSparseLayout;

function build(fn: string, blockSize: number, numBlocks: number, see: (i: number, j: number) => boolean) {
  assertPositiveInt(blockSize, 'blockSize', fn);
  assertPositiveInt(numBlocks, 'numBlocks', fn);
  const visible: number[][] = [];
  for (let i = 0; i < numBlocks; i++) {
    const row: number[] = [];
    for (let j = 0; j < numBlocks; j++) if (see(i, j)) row.push(j);
    visible.push(row);
  }
  return { blockSize, visible };
}

/**
 * The Sparse Transformer's strided pattern in blocks: query block i sees block j when
 * |i − j| < stride (the local band) or (i − j) is a multiple of `stride`; `causal` (default true)
 * keeps j ≤ i.
 */
export function stridedLayout(
  numBlocks: number,
  blockSize: number,
  options: { stride: number; causal?: boolean },
): BlockSparseLayout {
  const fn = 'stridedLayout';
  assertPositiveInt(options?.stride, 'stride', fn);
  const causal = options.causal ?? true;
  return build(
    fn,
    blockSize,
    numBlocks,
    (i, j) => (!causal || j <= i) && (Math.abs(i - j) < options.stride || (i - j) % options.stride === 0),
  );
}

/**
 * The Sparse Transformer's fixed pattern in blocks: query block i sees the blocks of its own chunk
 * of `stride` blocks (⌊j/stride⌋ = ⌊i/stride⌋) and the last `c` blocks of every chunk
 * (j mod stride ≥ stride − c, the summary blocks); `causal` (default true) keeps j ≤ i.
 */
export function fixedLayout(
  numBlocks: number,
  blockSize: number,
  options: { stride: number; c: number; causal?: boolean },
): BlockSparseLayout {
  const fn = 'fixedLayout';
  assertPositiveInt(options?.stride, 'stride', fn);
  assertPositiveInt(options.c, 'c', fn);
  if (options.c > options.stride) {
    throw new RangeError(`${fn}: 'c' (${options.c}) must be at most 'stride' (${options.stride})`);
  }
  const { stride, c } = options;
  const causal = options.causal ?? true;
  return build(
    fn,
    blockSize,
    numBlocks,
    (i, j) =>
      (!causal || j <= i) && (Math.floor(j / stride) === Math.floor(i / stride) || j % stride >= stride - c),
  );
}

function checkGlobal(
  fn: string,
  globalBlocks: readonly number[] | undefined,
  numBlocks: number,
): Set<number> {
  const g = new Set<number>();
  for (const b of globalBlocks ?? []) {
    if (!Number.isInteger(b) || b < 0 || b >= numBlocks) {
      throw new RangeError(`${fn}: global block ${String(b)} is outside [0, ${numBlocks})`);
    }
    g.add(b);
  }
  return g;
}

/**
 * Longformer in blocks: query block i sees the blocks within `window` of it (|i − j| ≤ window), and
 * global blocks see and are seen by every block.
 */
export function longformerLayout(
  numBlocks: number,
  blockSize: number,
  options: { window: number; globalBlocks?: readonly number[] },
): BlockSparseLayout {
  const fn = 'longformerLayout';
  if (!Number.isInteger(options?.window) || options.window < 0) {
    throw new RangeError(`${fn}: 'window' must be a non-negative integer, got ${String(options?.window)}`);
  }
  const g = checkGlobal(fn, options.globalBlocks, numBlocks);
  return build(fn, blockSize, numBlocks, (i, j) => Math.abs(i - j) <= options.window || g.has(i) || g.has(j));
}

/**
 * BigBird in blocks: {@link longformerLayout}'s window and global blocks, plus `randomBlocks`
 * further key blocks per non-global query block, drawn without replacement from those it does not
 * see yet by a generator seeded with `seed` (same seed, same layout).
 */
export function bigBirdLayout(
  numBlocks: number,
  blockSize: number,
  options: { window: number; globalBlocks?: readonly number[]; randomBlocks: number; seed?: number },
): BlockSparseLayout {
  const fn = 'bigBirdLayout';
  const base = longformerLayout(numBlocks, blockSize, options);
  if (!Number.isInteger(options.randomBlocks) || options.randomBlocks < 0) {
    throw new RangeError(
      `${fn}: 'randomBlocks' must be a non-negative integer, got ${String(options.randomBlocks)}`,
    );
  }
  const g = checkGlobal(fn, options.globalBlocks, numBlocks);
  const gen = new Generator(options.seed ?? 0);
  const visible = base.visible.map((row, i) => {
    if (g.has(i)) return row;
    const pool = Array.from({ length: numBlocks }, (_, j) => j).filter((j) => !row.includes(j));
    const extra: number[] = [];
    for (let r = 0; r < options.randomBlocks && pool.length > 0; r++) {
      const at = Math.min(pool.length - 1, Math.floor(gen.uniform() * pool.length));
      extra.push(pool.splice(at, 1)[0]);
    }
    return [...row, ...extra].sort((a, b) => a - b);
  });
  return { blockSize, visible };
}

/**
 * The boolean mask [Lq, Lk] (true = attend) a layout stands for, checked against the sequence
 * lengths: the block size must divide both, the layout must have Lq / blockSize query blocks with
 * key blocks in [0, Lk / blockSize), and every query block must see at least one key block. On
 * `backend` (the current one by default).
 */
export function blockSparseMask(
  layout: BlockSparseLayout,
  lq: number,
  lk: number,
  backend?: Backend,
  fn = 'blockSparseMask',
): Tensor {
  const { blockSize: bs, rowStart, cols } = blockSparseIndex(layout, lq, lk, fn);
  const data = new Uint8Array(lq * lk);
  for (let i = 0; i < lq / bs; i++) {
    for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
      const j = cols[e];
      for (let r = i * bs; r < (i + 1) * bs; r++) data.fill(1, r * lk + j * bs, r * lk + (j + 1) * bs);
    }
  }
  return fromValues(data, [lq, lk], 'bool', backend);
}
