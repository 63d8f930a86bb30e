import { Generator, getDefaultGenerator, tensor } from '@attnkit/tensor-core';
import { checkAborted, type GenerationConfig, resolveMaxLength } from './config.js';
import { type PromptIds, toBatch } from './inputs.js';
import { type CausalLM, disposeCache } from './model.js';
import type { GenerateOutput } from './output.js';
import { applyProcessors, buildProcessors, eosList } from './processors/index.js';
import { softmaxRow } from './processors/processor.js';
import { argmaxRow, sampleIndex } from './select.js';

/** Logits of the last `n` positions of one sequence (no cache: the whole sequence is run). */
async function lastLogits(model: CausalLM, ids: readonly number[], n: number): Promise<Float32Array[]> {
  const L = ids.length;
  const inputIds = tensor(Int32Array.from(ids), [1, L], 'int32');
  const attentionMask = tensor(new Int32Array(L).fill(1), [1, L], 'int32');
  const positionIds = tensor(
    Int32Array.from({ length: L }, (_, i) => i),
    [1, L],
    'int32',
  );
  try {
    const out = await model.forward({ inputIds, attentionMask, positionIds });
    disposeCache(out.pastKeyValues);
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

/**
 * Speculative decoding (Leviathan et al. 2023): the draft model proposes `numAssistantTokens`
 * tokens, the target scores them in one pass, each is accepted with probability min(1, p/q) and the
 * first rejection is resampled from norm(max(0, p − q)), so the output follows the target's
 * distribution exactly. Greedy when doSample is false (a draft token is kept when it is the target's
 * argmax). Batch size 1, as in Hugging Face.
 */
export async function speculativeGenerate(
  target: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
): Promise<GenerateOutput> {
  const draft = config.assistantModel!;
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
  const gen =
    config.generator ?? (config.seed !== undefined ? new Generator(config.seed) : getDefaultGenerator());
  const sampling = !!config.doSample && config.temperature !== 0;
  const ctx = { promptLength, maxLength };
  const dist = (ids: readonly number[], logits: Float32Array): Float64Array => {
    applyProcessors(processors, ids, logits, ctx);
    if (sampling) return softmaxRow(logits);
    const onehot = new Float64Array(logits.length);
    onehot[argmaxRow(logits)] = 1;
    return onehot;
  };
  let proposed = 0;
  let accepted = 0;
  let finished = false;
  while (seq.length < maxLength && !finished) {
    await checkAborted(config.signal);
    const k = Math.min(gamma, maxLength - seq.length - 1);
    // 1. draft proposes k tokens
    const drafts: number[] = [];
    const qs: Float64Array[] = [];
    for (let j = 0; j < k; j++) {
      const ctxIds = [...seq, ...drafts];
      const [logits] = await lastLogits(draft, ctxIds, 1);
      const q = dist(ctxIds, logits);
      const x = sampling ? sampleIndex(q, gen) : argmaxRow(Float32Array.from(q));
      qs.push(q);
      drafts.push(x);
      if (eos.includes(x)) break;
    }
    // 2. target scores all positions at once
    const all = [...seq, ...drafts];
    const targetLogits = await lastLogits(target, all, drafts.length + 1);
    const ps = targetLogits.map((l, j) => dist(all.slice(0, seq.length + j), l));
    // 3. accept / reject
    proposed += drafts.length;
    let j = 0;
    for (; j < drafts.length; j++) {
      const x = drafts[j];
      const p = ps[j][x];
      const q = qs[j][x];
      const ok = sampling ? gen.uniform() < Math.min(1, q > 0 ? p / q : 1) : p === 1;
      if (!ok) break;
      seq.push(x);
      accepted++;
      if (eos.includes(x)) {
        finished = true;
        break;
      }
    }
    if (finished || seq.length >= maxLength) break;
    if (j < drafts.length) {
      // rejected: resample from the residual max(0, p - q)
      const residual = new Float64Array(ps[j].length);
      let total = 0;
      for (let t = 0; t < residual.length; t++) {
        residual[t] = Math.max(0, ps[j][t] - qs[j][t]);
        total += residual[t];
      }
      const x =
        total > 0
          ? sampling
            ? sampleIndex(residual, gen)
            : argmaxRow(Float32Array.from(residual))
          : argmaxRow(Float32Array.from(ps[j]));
      seq.push(x);
      if (eos.includes(x)) finished = true;
    } else {
      // every draft accepted: one more token from the target for free
      const p = ps[drafts.length];
      const x = sampling ? sampleIndex(p, gen) : argmaxRow(Float32Array.from(p));
      seq.push(x);
      if (eos.includes(x)) finished = true;
    }
  }
  return { sequences: [seq], acceptanceRate: proposed ? accepted / proposed : 0 };
}
