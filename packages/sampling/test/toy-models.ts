import type { CausalLM, CausalLMInputs, CausalLMOutputs } from '@attnkit/sampling';
import { type Tensor, tensor } from '@attnkit/tensor-core';

/** A hand-chosen bigram table over 6 tokens: row r holds the next-token logits after token r. */
export const TABLE = [
  [2.0, 1.0, 0.5, 0.0, -1.0, -3.0],
  [0.0, 0.3, 2.5, 1.0, 0.2, -0.5],
  [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
  [3.0, -2.0, 0.1, 0.4, 1.5, 0.0],
  [0.5, 0.5, -0.5, 2.0, 0.0, 1.0],
  [0.0, 0.0, 0.0, 0.0, 0.0, 4.0],
];

/**
 * A bigram model: the next-token logits depend only on the last token, from a fixed table
 * (logits[prev][next]). Its distributions are known exactly, which the statistical tests need.
 */
export class BigramModel implements CausalLM {
  calls = 0;
  constructor(readonly table: number[][]) {}
  get vocabSize(): number {
    return this.table.length;
  }
  async forward({ inputIds }: CausalLMInputs): Promise<CausalLMOutputs> {
    this.calls++;
    const [b, l] = inputIds.shape;
    const ids = await inputIds.data();
    const V = this.vocabSize;
    const out = new Float32Array(b * l * V);
    for (let i = 0; i < b * l; i++) out.set(this.table[ids[i]], i * V);
    return { logits: tensor(out, [b, l, V]) };
  }
}

/**
 * A model whose next token depends on the whole prefix (a running hash), with an optional KV-cache
 * stand-in: the cache holds the running state of each row as a tensor, so generation with and
 * without the cache must agree exactly.
 */
export class PrefixHashModel implements CausalLM {
  constructor(readonly vocab: number) {}
  private logitsFor(state: number): Float32Array {
    const out = new Float32Array(this.vocab);
    for (let v = 0; v < this.vocab; v++) out[v] = Math.sin(state * 0.37 + v * 1.3) * 3;
    return out;
  }
  async forward({ inputIds, attentionMask, pastKeyValues }: CausalLMInputs): Promise<CausalLMOutputs> {
    const [b, l] = inputIds.shape;
    const ids = await inputIds.data();
    const total = attentionMask ? attentionMask.shape[1] : l;
    const mask = attentionMask ? await attentionMask.data() : new Int32Array(b * total).fill(1);
    const past = pastKeyValues as { state: Tensor } | undefined;
    const prev = past ? await past.state.data() : new Float32Array(b);
    const states = Float64Array.from(prev);
    const out = new Float32Array(b * l * this.vocab);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < l; j++) {
        const m = mask[i * total + (total - l + j)];
        if (m) states[i] = (states[i] * 31 + ids[i * l + j] + 7) % 1009;
        out.set(this.logitsFor(states[i]), (i * l + j) * this.vocab);
      }
    }
    past?.state.dispose();
    const cache = {
      state: tensor(Float32Array.from(states), [b]),
      dispose() {
        this.state.dispose();
      },
    };
    return { logits: tensor(out, [b, l, this.vocab]), pastKeyValues: cache };
  }
  reorderCache(past: unknown, beamIndices: readonly number[]): unknown {
    const p = past as { state: Tensor; dispose(): void };
    const s = p.state.dataSync();
    const state = tensor(
      Float32Array.from(beamIndices, (i) => s[i]),
      [beamIndices.length],
    );
    p.dispose();
    return { state, dispose: () => state.dispose() };
  }
}

/** Chi-square critical values at p = 0.001 by degrees of freedom (from standard tables). */
export const CHI2_CRIT_0_001: Record<number, number> = {
  1: 10.828,
  2: 13.816,
  3: 16.266,
  4: 18.467,
  5: 20.515,
  6: 22.458,
  7: 24.322,
  8: 26.124,
  9: 27.877,
  10: 29.588,
  11: 31.264,
  12: 32.909,
  15: 37.697,
  20: 45.315,
};

/** Pearson's chi-square statistic of observed counts against expected probabilities (bins with p > 0). */
export function chiSquare(counts: number[], probs: number[], n: number): { stat: number; df: number } {
  let stat = 0;
  let df = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      if (counts[i] !== 0) return { stat: Number.POSITIVE_INFINITY, df: 1 };
      continue;
    }
    const e = probs[i] * n;
    stat += (counts[i] - e) ** 2 / e;
    df++;
  }
  return { stat, df };
}

/**
 * A model whose next-token logits depend on the whole prefix (a hash of it), with a real KV-cache
 * stand-in: the cache holds each row's tokens, `cropCache` truncates it. A cache left holding
 * rejected tokens changes every later output, so speculative decoding's rollback is observable.
 */
export class HistoryModel implements CausalLM {
  /** Tokens fed to forward, over all calls. */
  fed = 0;
  constructor(
    readonly vocab: number,
    readonly salt = 0,
    readonly sharpness = 1,
  ) {}
  logitsFor(prefix: readonly number[]): Float32Array {
    let h = 17 + this.salt;
    for (const t of prefix) h = (h * 31 + t + 7) % 1009;
    const out = new Float32Array(this.vocab);
    for (let v = 0; v < this.vocab; v++) out[v] = Math.sin(h * 0.37 + v * 1.3) * 2 * this.sharpness;
    return out;
  }
  async forward({ inputIds, pastKeyValues }: CausalLMInputs): Promise<CausalLMOutputs> {
    const [b, l] = inputIds.shape;
    const ids = await inputIds.data();
    this.fed += b * l;
    const past =
      (pastKeyValues as { rows: number[][] } | undefined)?.rows ?? Array.from({ length: b }, () => []);
    const rows = past.map((r, i) => [...r, ...Array.from(ids.subarray(i * l, (i + 1) * l))]);
    const out = new Float32Array(b * l * this.vocab);
    for (let i = 0; i < b; i++)
      for (let j = 0; j < l; j++)
        out.set(this.logitsFor(rows[i].slice(0, rows[i].length - l + j + 1)), (i * l + j) * this.vocab);
    return { logits: tensor(out, [b, l, this.vocab]), pastKeyValues: { rows } };
  }
  cropCache(past: unknown, length: number): unknown {
    return { rows: (past as { rows: number[][] }).rows.map((r) => r.slice(0, length)) };
  }
}
