import type { Tensor } from '@attnkit/tensor-core';
import { checkAborted, checkVocab, type GenerationConfig, resolveMaxLength } from './config.js';
import { forwardLast, type PromptIds, toBatch } from './inputs.js';
import { type CausalLM, disposeCache } from './model.js';
import type { GenerateOutput } from './output.js';
import { applyProcessors, buildProcessors, eosList } from './processors/index.js';
import { checkLogits } from './select.js';

interface Hypothesis {
  tokens: number[];
  score: number;
}

/** Finished hypotheses of one prompt, scored as HF's BeamHypotheses: sum of log-probs / length^lengthPenalty. */
class BeamHypotheses {
  readonly hyps: Hypothesis[] = [];
  worst = Number.POSITIVE_INFINITY;
  constructor(
    readonly numBeams: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: boolean | 'never',
    readonly maxGenerated: number,
  ) {}
  add(tokens: number[], sumLogprobs: number, generatedLen: number): void {
    const score = sumLogprobs / Math.max(generatedLen, 1) ** this.lengthPenalty;
    if (this.hyps.length < this.numBeams || score > this.worst) {
      this.hyps.push({ tokens, score });
      this.hyps.sort((a, b) => b.score - a.score);
      if (this.hyps.length > this.numBeams) this.hyps.pop();
      this.worst = this.hyps[this.hyps.length - 1].score;
    }
  }
  isDone(bestSumLogprobs: number, generatedLen: number): boolean {
    if (this.hyps.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const len = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxGenerated : generatedLen;
    return this.worst >= bestSumLogprobs / Math.max(len, 1) ** this.lengthPenalty;
  }
}

function logSoftmaxInPlace(s: Float32Array): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < s.length; i++) if (s[i] > m) m = s[i];
  let z = 0;
  for (let i = 0; i < s.length; i++) z += Math.exp(s[i] - m);
  const lz = m + Math.log(z);
  for (let i = 0; i < s.length; i++) s[i] -= lz;
}

/**
 * Beam search as Hugging Face runs it: log-softmax scores, processors, the top 2·numBeams
 * candidates per prompt, finished hypotheses kept by length-normalised score, earlyStopping
 * true / false / 'never'.
 */
export async function beamSearch(
  model: CausalLM,
  inputIds: PromptIds,
  config: GenerationConfig,
  attentionMask?: Tensor,
): Promise<GenerateOutput> {
  const numBeams = config.numBeams ?? 1;
  if (config.doSample)
    throw new Error(
      'generate: beam sampling (numBeams > 1 with doSample) is not supported; use doSample: false',
    );
  const eos = eosList(config.eosTokenId);
  const pad = config.padTokenId ?? eos[0] ?? 0;
  const batch = await toBatch(inputIds, pad, attentionMask, { padTokenId: config.padTokenId, eos });
  const B = batch.rows.length;
  const width = batch.rows[0].length;
  const maxLength = resolveMaxLength(config, width);
  const lengthPenalty = config.lengthPenalty ?? 1;
  const numReturn = config.numReturnSequences ?? 1;
  const processors = buildProcessors(config);
  // beams: B * numBeams rows
  let rows = batch.rows.flatMap((r) => Array.from({ length: numBeams }, () => [...r]));
  let masks = batch.masks.flatMap((m) => Array.from({ length: numBeams }, () => [...m]));
  let real = rows.map((r, i) => r.filter((_, j) => masks[i][j] === 1));
  const beamScores = new Float64Array(B * numBeams);
  for (let b = 0; b < B; b++) for (let k = 1; k < numBeams; k++) beamScores[b * numBeams + k] = -1e9;
  const hyps = Array.from(
    { length: B },
    () => new BeamHypotheses(numBeams, lengthPenalty, config.earlyStopping ?? false, maxLength - width),
  );
  const done = new Array<boolean>(B).fill(false);
  const useCache = (config.useCache ?? true) && typeof model.reorderCache === 'function';
  let past: unknown;
  try {
    let step = 0;
    while (rows[0].length < maxLength && !done.every(Boolean)) {
      await checkAborted(config.signal);
      const feed = useCache && past != null ? 1 : rows[0].length;
      const res = await forwardLast(model, rows, masks, useCache ? past : undefined, feed);
      if (useCache) past = res.past;
      else disposeCache(res.past);
      const V = res.logits[0].length;
      if (step++ === 0) checkVocab(config, V);
      const curLen = rows[0].length + 1; // the length the candidates would reach
      const nextRows: number[][] = [];
      const nextMasks: number[][] = [];
      const nextReal: number[][] = [];
      const nextScores = new Float64Array(B * numBeams);
      const beamIdx: number[] = [];
      for (let b = 0; b < B; b++) {
        const base = b * numBeams;
        if (done[b]) {
          for (let k = 0; k < numBeams; k++) {
            nextRows.push([...rows[base + k], pad]);
            nextMasks.push([...masks[base + k], 0]); // a finished prompt's pads are masked
            nextReal.push(real[base + k]);
            nextScores[base + k] = 0;
            beamIdx.push(base + k);
          }
          continue;
        }
        // candidates: (score, beam, token), top 2*numBeams over numBeams*V
        const keep = Math.max(1, eos.length) + 1;
        const want = keep * numBeams;
        const cand: [number, number, number][] = [];
        for (let k = 0; k < numBeams; k++) {
          const s = res.logits[base + k];
          checkLogits(s, `step ${step - 1}, beam ${base + k}`);
          logSoftmaxInPlace(s);
          applyProcessors(processors, real[base + k], s, {
            promptLength: batch.promptLengths[b],
            maxLength: maxLength - (width - batch.promptLengths[b]),
          });
          const bs = beamScores[base + k];
          for (let t = 0; t < V; t++) {
            const sc = s[t] + bs;
            if (cand.length < want) {
              cand.push([sc, k, t]);
              if (cand.length === want)
                cand.sort((x, y) => y[0] - x[0] || x[1] * V + x[2] - (y[1] * V + y[2]));
            } else if (sc > cand[want - 1][0]) {
              cand[want - 1] = [sc, k, t];
              for (let j = want - 1; j > 0 && cand[j][0] > cand[j - 1][0]; j--)
                [cand[j], cand[j - 1]] = [cand[j - 1], cand[j]];
            }
          }
        }
        cand.sort((x, y) => y[0] - x[0] || x[1] * V + x[2] - (y[1] * V + y[2]));
        if (curLen >= maxLength) {
          // the last step: as transformers' stopping criteria, every one of the top numBeams
          // candidates finishes here (EOS or not), and nothing continues
          for (let rank = 0; rank < Math.min(numBeams, cand.length); rank++) {
            const [sc, k, t] = cand[rank];
            hyps[b].add([...rows[base + k], t], sc, curLen - width);
          }
          done[b] = true;
          for (let k = 0; k < numBeams; k++) {
            nextRows.push([...rows[base + k], pad]);
            nextMasks.push([...masks[base + k], 0]);
            nextReal.push(real[base + k]);
            beamIdx.push(base + k);
          }
          continue;
        }
        let filled = 0;
        for (let rank = 0; rank < cand.length && filled < numBeams; rank++) {
          const [sc, k, t] = cand[rank];
          if (eos.includes(t)) {
            if (rank >= numBeams) continue;
            hyps[b].add([...rows[base + k], t], sc, curLen - width);
            continue;
          }
          nextRows.push([...rows[base + k], t]);
          nextMasks.push([...masks[base + k], 1]);
          nextReal.push([...real[base + k], t]);
          nextScores[base + filled] = sc;
          beamIdx.push(base + k);
          filled++;
        }
        if (filled < numBeams)
          throw new Error(
            'generate: beam search ran out of candidates (every candidate was EOS); raise numBeams',
          );
        // transformers' early-stop heuristic compares with the best *running* beam (finished
        // candidates excluded), once the sequences are one token longer
        done[b] = hyps[b].isDone(nextScores[base], curLen - width);
      }
      rows = nextRows;
      masks = nextMasks;
      real = nextReal;
      beamScores.set(nextScores);
      if (useCache && past != null) {
        // the reordered cache is a new one: the old one is ours to free
        const reordered = model.reorderCache!(past, beamIdx);
        if (reordered !== past) disposeCache(past);
        past = reordered;
      }
    }
    // finalize: unfinished beams become hypotheses with their running scores
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      for (let k = 0; k < numBeams; k++) {
        const i = b * numBeams + k;
        hyps[b].add(rows[i], beamScores[i], rows[i].length - width);
      }
    }
    const sequences: number[][] = [];
    const sequencesScores: number[] = [];
    const longest = Math.max(...hyps.flatMap((h) => h.hyps.slice(0, numReturn).map((x) => x.tokens.length)));
    // transformers fills short hypotheses with `pad_token_id or eos_token_id[0]`: a pad id of 0 (T5's)
    // is replaced by the EOS id there (and only there)
    const fill = eos.length > 0 ? config.padTokenId || eos[0] : pad;
    for (const h of hyps) {
      for (const hyp of h.hyps.slice(0, numReturn)) {
        sequences.push([...hyp.tokens, ...new Array<number>(longest - hyp.tokens.length).fill(fill)]);
        sequencesScores.push(hyp.score);
      }
    }
    return { sequences, sequencesScores };
  } finally {
    disposeCache(past);
  }
}
