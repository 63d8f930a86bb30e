// Speculative decoding (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative
// Decoding"; Chen et al. 2023, "Accelerating Large Language Model Decoding with Speculative
// Sampling"): a small draft model proposes k tokens one by one, the target scores all k in one
// forward pass, and each draft token x is kept with probability min(1, p(x)/q(x)); the first
// rejected one is replaced by a draw from norm(max(0, p - q)), and when all k are kept the target's
// distribution after them gives one more token. The output follows the target's distribution
// exactly (its greedy output, under greedy decoding). Both models keep a KV cache: the draft
// extends its own by one token per proposal, the target extends its own by the k proposals in one
// pass, and both are cropped back to the accepted tokens after each round.
import { Generator, getDefaultGenerator, tensor } from '@attnkit/tensor-core';
import { checkAborted, type GenerationConfig, resolveMaxLength } from './config.js';
import { type PromptIds, toBatch } from './inputs.js';
import { type CausalLM, disposeCache } from './model.js';
import type { GenerateOutput } from './output.js';
import { applyProcessors, buildProcessors, eosList } from './processors/index.js';
import { softmaxRow } from './processors/processor.js';
import { argmaxRow, checkLogits, sampleIndex } from './select.js';

/**
 * One model's view of the sequence: its KV cache and how many leading tokens the cache covers.
 * Without `cropCache` (or with useCache false) the model is run over the whole sequence each time.
 */
class CachedModel {
  private past: unknown = undefined;
  private covered = 0;
  private readonly cached: boolean;
  constructor(
    readonly model: CausalLM,
    useCache: boolean,
  ) {
    this.cached = useCache && typeof model.cropCache === 'function';
  }

  /** The logits of the last `n` positions of `ids`, feeding the model only what its cache lacks. */
  async logits(ids: readonly number[], n: number): Promise<Float32Array[]> {
    const from = this.cached ? Math.min(this.covered, ids.length - n) : 0;
    const L = ids.length - from;
    const inputIds = tensor(Int32Array.from(ids.slice(from)), [1, L], 'int32');
    const attentionMask = tensor(new Int32Array(ids.length).fill(1), [1, ids.length], 'int32');
    const positionIds = tensor(
      Int32Array.from({ length: L }, (_, i) => from + i),
      [1, L],
      'int32',
    );
    try {
      const out = await this.model.forward({
        inputIds,
        attentionMask,
        positionIds,
        pastKeyValues: this.cached ? this.past : undefined,
      });
      if (this.cached) {
        this.past = out.pastKeyValues;
        this.covered = ids.length;
      } else disposeCache(out.pastKeyValues);
      const V = out.logits.shape[2];
      const tail = out.logits.sliceDim(1, L - n);
      const data = (await tail.data()) as Float32Array;
      tail.dispose();
      out.logits.dispose();
      return Array.from({ length: n }, (_, i) => data.slice(i * V, (i + 1) * V));
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
      positionIds.dispose();
    }
  }

  /** Forgets every position from `length` on (rejected draft tokens). */
  rollBack(length: number): void {
    if (!this.cached || this.covered <= length) return;
    if (this.past != null) this.past = this.model.cropCache!(this.past, length);
    this.covered = length;
  }

  dispose(): void {
    disposeCache(this.past);
    this.past = undefined;
  }
}

/**
 * Speculative decoding with `config.assistantModel` as the draft (Hugging Face's assisted
 * generation). Batch size 1, as in Hugging Face. Called by generate() with the merged config.
 */
export async function speculativeGenerate(
  targetModel: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
): Promise<GenerateOutput> {
  const draftModel = config.assistantModel!;
  const eos = eosList(config.eosTokenId);
  const batch = await toBatch(inputIds, config.padTokenId ?? eos[0] ?? 0);
  if (batch.rows.length !== 1)
    throw new Error(
      `generate: speculative decoding (assistantModel) takes one prompt, got a batch of ${batch.rows.length}`,
    );
  if (batch.masks[0].includes(0))
    throw new Error('generate: speculative decoding (assistantModel) takes an unpadded prompt');
  const seq = [...batch.rows[0]];
  const promptLength = seq.length;
  const maxLength = resolveMaxLength(config, promptLength);
  const gamma = config.numAssistantTokens ?? 5;
  const processors = buildProcessors(config);
  const draftProcessors = buildProcessors(config); // the same settings, its own instances
  const gen =
    config.generator ?? (config.seed !== undefined ? new Generator(config.seed) : getDefaultGenerator());
  const sampling = !!config.doSample && config.temperature !== 0;
  const useCache = config.useCache ?? true;
  const ctx = { promptLength, maxLength };
  /** Processed scores of the token after `ids` (in place). */
  const scores = (list: typeof processors, ids: readonly number[], logits: Float32Array): Float32Array => {
    checkLogits(logits, `position ${ids.length}`);
    applyProcessors(list, ids, logits, ctx);
    return logits;
  };
  const target = new CachedModel(targetModel, useCache);
  const draft = new CachedModel(draftModel, useCache);
  let proposed = 0;
  let accepted = 0;
  let finished = false;
  try {
    while (seq.length < maxLength && !finished) {
      await checkAborted(config.signal);
      const k = Math.min(gamma, maxLength - seq.length - 1);
      // 1. the draft proposes k tokens, one forward step each over its cache
      const drafts: number[] = [];
      const qs: Float64Array[] = [];
      for (let j = 0; j < k; j++) {
        const ids = [...seq, ...drafts];
        const [logits] = await draft.logits(ids, 1);
        const s = scores(draftProcessors, ids, logits);
        const q = sampling ? softmaxRow(s) : null;
        const x = q ? sampleIndex(q, gen) : argmaxRow(s);
        if (q) qs.push(q);
        drafts.push(x);
        if (eos.includes(x)) break;
      }
      // 2. the target scores the k proposals (and the position after them) in one forward pass
      const all = [...seq, ...drafts];
      const targetLogits = await target.logits(all, drafts.length + 1);
      const ts = targetLogits.map((l, j) => scores(processors, all.slice(0, seq.length + j), l));
      // 3. keep draft tokens while the target agrees (greedy) or the coin says so (sampling)
      proposed += drafts.length;
      let j = 0;
      let next = -1;
      for (; j < drafts.length; j++) {
        const x = drafts[j];
        if (sampling) {
          const p = softmaxRow(ts[j]);
          const q = qs[j];
          if (!(gen.uniform() < Math.min(1, p[x] / q[x]))) {
            next = sampleIndex(residual(p, q), gen); // rejected: draw from norm(max(0, p - q))
            break;
          }
        } else if (x !== argmaxRow(ts[j])) {
          next = argmaxRow(ts[j]); // rejected: the target's own choice
          break;
        }
        seq.push(x);
        accepted++;
        if (eos.includes(x)) {
          finished = true;
          break;
        }
      }
      // 4. both caches forget the rejected proposals
      target.rollBack(seq.length);
      draft.rollBack(seq.length);
      if (finished || seq.length >= maxLength) break;
      // every proposal kept: the target's distribution after them gives one more token
      if (next < 0)
        next = sampling ? sampleIndex(softmaxRow(ts[drafts.length]), gen) : argmaxRow(ts[drafts.length]);
      seq.push(next);
      if (eos.includes(next)) finished = true;
    }
  } finally {
    target.dispose();
    draft.dispose();
  }
  return { sequences: [seq], acceptanceRate: proposed ? accepted / proposed : 0 };
}

/** max(0, p - q), or p itself when q covers p everywhere (then p = q and nothing was rejected). */
function residual(p: Float64Array, q: Float64Array): Float64Array {
  const r = new Float64Array(p.length);
  let total = 0;
  for (let t = 0; t < p.length; t++) {
    r[t] = Math.max(0, p[t] - q[t]);
    total += r[t];
  }
  return total > 0 ? r : p;
}
