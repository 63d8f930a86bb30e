import {
  applyProcessors,
  buildProcessors,
  type CausalLM,
  type GenerateOutput,
  type GenerationConfig,
  generate,
  type ProcessorContext,
  sampleFromScores,
  sampleKept,
} from '@attnkit/sampling';
import { Generator, manualSeed } from '@attnkit/tensor-core';
import { init } from '@attnkit/tensor-core/nn';
import { GPT2LMHeadModel } from '@attnkit/transformer';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';

/**
 * Per-token cost of the sampling stack (repetitionPenalty + temperature + topP, then a seeded draw)
 * against vocabulary size (1,000 and 10,000, then GPT-2's 50,257 and o200k's 200,000), beside a
 * straightforward full-sort implementation of the same math (what most JS samplers do) measured in
 * the same run. `--quick`: fewer calls, no speculative-decoding table.
 */
export async function benchSampling(): Promise<void> {
  console.log(
    '\n## sampling: per-token cost (repetitionPenalty 1.1 + temperature 0.8 + topP 0.9, then sample)',
  );
  console.log('| vocab | attnkit CPU ms/token | full-sort baseline CPU ms/token | speed-up |');
  console.log('|---|---|---|---|');
  for (const vocab of [1000, 10000, 50257, 200000]) {
    const g = new Generator(1);
    const rows = Array.from({ length: 8 }, () => Float32Array.from({ length: vocab }, () => g.normal() * 3));
    const history = Array.from({ length: 256 }, (_, i) => (i * 7919) % vocab);
    const processors = buildProcessors({
      doSample: true,
      repetitionPenalty: 1.1,
      temperature: 0.8,
      topP: 0.9,
    });
    const ctx: ProcessorContext = { promptLength: 16, maxLength: 1 << 20 };
    // one reused row buffer, as generate() reuses its logits row: no allocation in the timed loop
    const s = new Float32Array(vocab);
    let r = 0;
    const ours = time(() => {
      s.set(rows[r++ % rows.length]);
      applyProcessors(processors, history, s, ctx);
      if (ctx.kept) sampleKept(ctx.kept, g);
      else sampleFromScores(s, g);
    });
    const naive = time(() => {
      s.set(rows[r++ % rows.length]);
      naiveSample(s, history, g);
    });
    console.log(`| ${vocab} | ${ours.toFixed(3)} | ${naive.toFixed(3)} | ${(naive / ours).toFixed(2)}x |`);
    for (const [implementation, value] of [
      ['attnkit sampling', ours],
      ['full-sort baseline', naive],
    ] as const)
      record({
        suite: 'sampling',
        case: `vocab=${vocab}`,
        implementation,
        metric: 'time per token',
        value,
        unit: 'ms/token',
        params: { vocab },
      });
  }
  if (!settings.quick) await benchSpeculative();
}

/**
 * Speculative decoding against plain cached greedy decoding of the same target, wall-clock for 70
 * new tokens (greedy, so every row yields the target's own tokens; checked). The target is a
 * 12-layer GPT-2 (256 wide, 8 heads, the tiny GPT's 61-character vocabulary, random weights);
 * the drafts share its tokenizer:
 * - a separate random 2-layer GPT-2 with an untied head (it rarely agrees with the target: the
 *   low-acceptance case);
 * - the target's own first 2 layers with its embeddings, final norm and head (a layer-skip
 *   self-draft). In this target, layers 3-12 have zeroed output projections: they compute in full
 *   but add nothing to the residual stream, so the self-draft agrees with the target everywhere
 *   (acceptance 1.0) and the row measures the mechanism's speed-up at full acceptance;
 * - the target itself as its own draft (acceptance 1.0, no cheaper: the overhead of the method).
 */
async function benchSpeculative(): Promise<void> {
  const shape = { vocabSize: 61, nPositions: 128, nEmbd: 256, nHead: 8 };
  manualSeed(0);
  const target = new GPT2LMHeadModel({ ...shape, nLayer: 12 }).eval();
  for (const block of target.transformer.h.slice(2)) {
    for (const p of [
      block.attn.c_proj.weight,
      block.attn.c_proj.bias,
      block.mlp.c_proj.weight,
      block.mlp.c_proj.bias,
    ])
      init.zeros_(p);
  }
  const selfDraft = new GPT2LMHeadModel({ ...shape, nLayer: 2 }).eval();
  selfDraft.dispose();
  selfDraft.transformer.wte = target.transformer.wte;
  selfDraft.transformer.wpe = target.transformer.wpe;
  selfDraft.transformer.h = target.transformer.h.slice(0, 2);
  selfDraft.transformer.ln_f = target.transformer.ln_f;
  selfDraft.lm_head = target.lm_head;
  manualSeed(1);
  // untied: with a tied head both random models would predict "repeat the last token" and agree
  const randomDraft = new GPT2LMHeadModel({ ...shape, nLayer: 2, tieWordEmbeddings: false }).eval();
  const prompt = [[1, 2, 3, 4, 5, 6, 7, 8]];
  const base = { maxNewTokens: 70, numAssistantTokens: 5 };
  /** Best of 2 runs after a short warm-up: wall-clock and process CPU time (steadier on a shared machine). */
  const wall = async (model: CausalLM, config: GenerationConfig) => {
    await generate(model, prompt, { ...config, maxNewTokens: 8 });
    let ms = Number.POSITIVE_INFINITY;
    let cpu = Number.POSITIVE_INFINITY;
    let out: GenerateOutput = { sequences: [] };
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      out = await generate(model, prompt, config);
      const c = process.cpuUsage(c0);
      ms = Math.min(ms, performance.now() - t0);
      cpu = Math.min(cpu, (c.user + c.system) / 1000);
    }
    return { ms, cpu, out };
  };
  const plain = await wall(target, { maxNewTokens: 70 });
  console.log(
    '\n## sampling: speculative decoding, 70 new tokens, greedy, wall-clock (best of 2 runs): target GPT-2 12 layers × 256 wide, vocab 61',
  );
  console.log('| decoding | draft | acceptance | wall ms | wall speed-up | CPU ms | CPU speed-up |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| cached greedy (target alone) | - | - | ${plain.ms.toFixed(0)} | 1.00x | ${plain.cpu.toFixed(0)} | 1.00x |`,
  );
  for (const [label, draft] of [
    ['random 2-layer GPT-2', randomDraft],
    ['self-draft: the first 2 layers of the target', selfDraft],
    ['the target itself', target],
  ] as const) {
    const r = await wall(target, { ...base, assistantModel: draft });
    const same = JSON.stringify(r.out.sequences) === JSON.stringify(plain.out.sequences);
    console.log(
      `| speculative, 5 draft tokens a round, both KV caches | ${label} | ${r.out.acceptanceRate?.toFixed(2)} | ${r.ms.toFixed(0)} | ${(plain.ms / r.ms).toFixed(2)}x | ${r.cpu.toFixed(0)} | ${(plain.cpu / r.cpu).toFixed(2)}x${same ? '' : ' (OUTPUT DIFFERS)'} |`,
    );
  }
  randomDraft.dispose();
  target.dispose();
}

/** Median of 5 batches of CPU time (user + system) per call: steadier than wall time on a shared machine. */
function time(fn: () => void): number {
  const n = settings.quick ? 5 : 20;
  for (let i = 0; i < n; i++) fn();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const c = process.cpuUsage(c0);
    runs.push((c.user + c.system) / 1000 / n);
  }
  return runs.sort((a, b) => a - b)[2];
}

/** The textbook version: penalise, scale, sort everything, cut at top-p, renormalise, draw. */
function naiveSample(s: Float32Array, history: number[], g: Generator): number {
  for (const id of new Set(history)) s[id] = s[id] < 0 ? s[id] * 1.1 : s[id] / 1.1;
  for (let i = 0; i < s.length; i++) s[i] /= 0.8;
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
  const m = s[order[0]];
  let z = 0;
  const p = order.map((i) => {
    const e = Math.exp(s[i] - m);
    z += e;
    return e;
  });
  let cum = 0;
  let cut = order.length;
  for (let r = 0; r < order.length; r++) {
    if (cum >= 0.9) {
      cut = r;
      break;
    }
    cum += p[r] / z;
  }
  const u = g.uniform() * cum;
  let acc = 0;
  for (let r = 0; r < cut; r++) {
    acc += p[r] / z;
    if (acc > u) return order[r];
  }
  return order[cut - 1];
}
