import {
  applyProcessors,
  buildProcessors,
  type ProcessorContext,
  sampleFromScores,
  sampleKept,
} from '@attnkit/sampling';
import { Generator } from '@attnkit/tensor-core';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';

/**
 * Per-token cost of the sampling stack (repetitionPenalty + temperature + topP, then a seeded draw)
 * against vocabulary size (1,000 and 10,000, then GPT-2's 50,257 and o200k's 200,000), beside a
 * straightforward full-sort implementation of the same math (what most JS samplers do) measured in
 * the same run. `--quick`: fewer calls. Speculative decoding has its own suite (./speculative.ts).
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
