/**
 * Markdown tables for benchmark reports: every suite prints what it measured beside a peer measured
 * in the same run, with the ratio, so the output pastes into docs as it is.
 */

/** One cell: text as is, numbers with `digits` decimals. */
export type Cell = string | number;

/** Formats a number with a fixed number of decimals, or `n/a` when it is not finite. */
export function num(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/**
 * `ours / peer` as `1.53x` (higher is better when both are throughputs). For times, pass
 * `(peerTime, ourTime)` so that the ratio still reads "how many times faster attnkit is".
 */
export function ratio(ours: number, peer: number): string {
  return Number.isFinite(ours) && Number.isFinite(peer) && peer > 0 ? `${(ours / peer).toFixed(2)}x` : 'n/a';
}

/** Renders a markdown table. Numbers are printed with `digits` decimals. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  digits = 2,
): string {
  const text = rows.map((row) => row.map((c) => (typeof c === 'number' ? num(c, digits) : c)));
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of text) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** Prints a titled markdown table (title as a `##` heading). */
export function printTable(
  title: string,
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  digits = 2,
): void {
  console.log(`\n## ${title}\n\n${formatTable(headers, rows, digits)}`);
}
