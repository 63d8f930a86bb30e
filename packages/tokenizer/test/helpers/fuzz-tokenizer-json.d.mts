/** Types of fuzz-tokenizer-json.mjs (plain JavaScript so that a worker thread can run it). */
export function rng(seed: number): () => number;
export function mutate(base: unknown, r: () => number): { json: Record<string, unknown>; what: string };
export const TEXTS: Array<[string, string | null]>;
export function badError(e: unknown): string | null;
export function runFuzz(
  Tokenizer: { fromJSON(json: string | Record<string, unknown>): unknown },
  bases: Array<{ name: string; json: unknown }>,
  seed: number,
  count: number,
  onCase?: (i: number, label: string) => void,
): { built: number; refused: number; encodeRefused: number; failures: string[] };
