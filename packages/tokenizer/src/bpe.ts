/**
 * Byte-pair encoding with tiktoken's rule, the way a learner reads it: start from single bytes and
 * repeatedly merge the adjacent pair whose concatenation has the lowest rank in the vocabulary
 * (the leftmost pair on a tie), until no adjacent pair is a token. The ranks of the parts are
 * the token ids.
 *
 * This loop is the reference. Encodings run {@link BytePairEncoder} (bpe-merge-tables.ts), which
 * finds the same merges with integer-keyed tables and a heap for long pieces; test/bpe.test.ts
 * checks the two equal on the corpus and random strings.
 */

import type { RankTable } from './ranks.js';

export { BytePairEncoder } from './bpe-merge-tables.js';

/** A token's bytes as a string key (one char per byte). */
function key(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

const lookups = new WeakMap<RankTable, Map<string, number>>();

/** A map from each token's bytes (as a key string) to its rank, built once per table. */
function rankMap(table: RankTable): Map<string, number> {
  let map = lookups.get(table);
  if (!map) {
    map = new Map();
    for (let r = 0; r < table.size; r++)
      if (table.present[r]) map.set(key(table.bytes, table.offsets[r], table.offsets[r + 1]), r);
    lookups.set(table, map);
  }
  return map;
}

/**
 * Merges the bytes of one pre-tokenised piece into token ids, by the plain loop: find the
 * lowest-rank adjacent pair, merge it, repeat.
 * @param piece The UTF-8 bytes of the piece.
 * @param table The encoding's ranks (e.g. `(await getEncoding('cl100k_base')).ranks`).
 * @example
 * ```ts
 * const enc = await getEncoding('cl100k_base');
 * bytePairMerge(new TextEncoder().encode(' hello'), enc.ranks); // => [24748]
 * ```
 */
export function bytePairMerge(piece: Uint8Array, table: RankTable): number[] {
  const ranks = rankMap(table);
  // Each part is a span [start, end) of the piece; at first, one byte each.
  const starts: number[] = [];
  for (let i = 0; i <= piece.length; i++) starts.push(i);
  for (;;) {
    // Find the adjacent pair whose concatenation has the lowest rank.
    let best = -1;
    let bestRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 2 < starts.length; i++) {
      const rank = ranks.get(key(piece, starts[i], starts[i + 2]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) break;
    // Merge it: the boundary between the two parts goes away.
    starts.splice(best + 1, 1);
  }
  const ids: number[] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const id = ranks.get(key(piece, starts[i], starts[i + 1]));
    if (id === undefined)
      throw new Error(
        `bytePairMerge: byte ${piece[starts[i]]} is not a token of this vocabulary (every single byte must be one)`,
      );
    ids.push(id);
  }
  return ids;
}
