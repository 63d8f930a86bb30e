import '@attnkit/backend-cpu';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CausalLM, type GenerateOutput, type GenerationConfig, generate } from '@attnkit/sampling';
import { manualSeed, noGrad, tensor } from '@attnkit/tensor-core';
import { init } from '@attnkit/tensor-core/nn';
import { CharTokenizer, GPT2LMHeadModel, loadPretrained } from '@attnkit/transformer';
import { progressStep, progressTotal } from './cli/progress.js';
import { record } from './cli/results.js';
import { settings } from './cli/settings.js';

/** The trained pair: apps/bench/assets/speculative/ (written by apps/bench/scripts/train_speculative_pair.py). */
const ASSETS = new URL('../assets/speculative/', import.meta.url);
/** The embedded tiny GPT's alphabet: the one character tokenizer of both models. */
const VOCAB = new URL('../../../packages/transformer/assets/tiny-gpt/vocab.json', import.meta.url);

/** One timed decoding: the best wall-clock and process CPU time of a few runs, and the output. */
interface Timed {
  ms: number;
  cpu: number;
  out: GenerateOutput;
}

/**
 * Speculative decoding (issue 15) against cached decoding of the same target alone, both through
 * @attnkit/sampling's generate() on the CPU backend, for the same number of new tokens and k = 2, 4
 * and 6 draft tokens a round: greedy (speculative decoding must return the target's own tokens;
 * checked per row) and seeded sampling at temperature 1 (the target's distribution, by the
 * rejection rule). Each row gives
 * - acceptance: generate()'s acceptanceRate (draft tokens kept / draft tokens proposed);
 * - a: the expected acceptance per token along the target's own output, both models given the
 *   same prefix (greedy: the draft's argmax equals the target's; sampling: Σ min(p, q)), the α of
 *   Leviathan et al. 2023;
 * - c: the cost of a draft step over a target step, from the CPU time of each model's cached
 *   decoding alone (measured in the same run, right after the target's);
 * - expected speed-up (1 − a^(k+1)) / ((1 − a)(ck + 1)) (Leviathan et al., eq. 1 over the cost
 *   ck + 1, which counts the target's verification of k + 1 tokens as one target step), beside the
 *   measured wall-clock and CPU-time speed-ups (best of several runs after a warm-up run).
 *
 * Models (apps/bench/assets/speculative/, trained by apps/bench/scripts/train_speculative_pair.py),
 * sharing one character tokenizer (the embedded tiny GPT's 61-character alphabet):
 * - target: a GPT-2 of 12 layers, 64 wide, trained on the fables corpus;
 * - draft: a GPT-2 of 2 layers, 64 wide, distilled from the target on the same text;
 * - self-draft at acceptance 1.0: the draft as the draft of a 12-layer model made of the draft's
 *   embeddings, its 2 layers, then 10 layers whose output projections are zero (they compute in
 *   full and add nothing to the residual stream) and the draft's final norm and head. That target
 *   costs what a 12-layer model costs and always agrees with the draft: the row measures the
 *   mechanism's speed-up at full acceptance.
 *
 * `--quick`: 24 new tokens, k = 4 only, one timed run each (a smoke run).
 */
export async function benchSpeculative(): Promise<void> {
  const quick = settings.quick;
  const ks = quick ? [4] : [2, 4, 6];
  const newTokens = quick ? 24 : 96;
  const runs = quick ? 1 : 5;
  const dir = (name: string) => fileURLToPath(new URL(`${name}/`, ASSETS));
  const target = await loadPretrained(dir('target'), { architecture: 'GPT2LMHeadModel' });
  const draft = await loadPretrained(dir('draft'), { architecture: 'GPT2LMHeadModel' });
  const inert = inertExtension(draft, target.config.nLayer);
  const { chars } = JSON.parse(readFileSync(VOCAB, 'utf8')) as { chars: string[] };
  const tokenizer = new CharTokenizer(chars);
  const promptText = 'THE FOX AND THE ';
  const prompt = [tokenizer.encode(promptText)];
  progressTotal(3 * (3 + ks.length));

  const timed = async (model: CausalLM, config: GenerationConfig, label: string): Promise<Timed> => {
    await generate(model, prompt, { ...config, maxNewTokens: newTokens }); // warm-up (JIT)
    let best: Timed = { ms: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY, out: { sequences: [] } };
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const out = await generate(model, prompt, { ...config, maxNewTokens: newTokens });
      const c = process.cpuUsage(c0);
      best = {
        ms: Math.min(best.ms, performance.now() - t0),
        cpu: Math.min(best.cpu, (c.user + c.system) / 1000),
        out,
      };
    }
    progressStep(label);
    return best;
  };

  /** The rows: greedy for both pairs (checked to give the target's own tokens), seeded sampling for the trained pair. */
  const rows: { name: string; target: GPT2LMHeadModel; layers: string; sampling: boolean }[] = [
    { name: 'trained 2-layer draft', target, layers: '12-layer trained target', sampling: false },
    { name: 'trained 2-layer draft', target, layers: '12-layer trained target', sampling: true },
    { name: 'self-draft (acceptance 1.0)', target: inert, layers: '12 layers, 10 inert', sampling: false },
  ];
  const SAMPLING: GenerationConfig = { doSample: true, temperature: 1, seed: 1 };
  console.log(
    `\n## speculative: speculative decoding vs cached decoding of the target alone, ${newTokens} new tokens after '${promptText.trim()}', best of ${runs} run${runs > 1 ? 's' : ''}`,
  );
  console.log(
    "Target: GPT-2, 12 layers × 64 wide, trained on the fables corpus; draft: GPT-2, 2 layers × 64 wide, distilled from it; one character tokenizer (61 symbols). acceptance = draft tokens kept / proposed (generate()); a = expected acceptance per token along the output (greedy: the draft's choice equals the target's; sampling at temperature 1: Σ min(p, q)); c = draft step / target step, CPU time of cached decoding; expected = (1 − a^(k+1)) / ((1 − a)(ck + 1)) (Leviathan et al.).",
  );
  console.log(
    '| target | decoding | draft | k | acceptance | a | c | wall ms | CPU ms | wall speed-up | CPU speed-up | expected speed-up |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  let targetText: number[] = [];
  for (const row of rows) {
    const mode = row.sampling ? 'sampling' : 'greedy';
    const base = row.sampling ? SAMPLING : {};
    const plain = await timed(row.target, base, `${row.layers} alone, ${mode}`);
    if (row.target === target && !row.sampling) targetText = plain.out.sequences[0];
    const draftPlain = await timed(draft, base, `draft alone, ${mode}`);
    const c = draftPlain.cpu / plain.cpu;
    const a = agreement(row.target, draft, plain.out.sequences[0], prompt[0].length, row.sampling);
    progressStep(`${row.name} agreement`);
    console.log(
      `| ${row.layers} | ${mode} | none: cached decoding | - | - | - | - | ${plain.ms.toFixed(0)} | ${plain.cpu.toFixed(0)} | 1.00x | 1.00x | - |`,
    );
    const series = (what: string) => `${row.name}, ${mode}, ${what}`;
    record({
      suite: 'speculative',
      case: `${row.layers}, cached ${mode}`,
      implementation: `attnkit cached ${mode} (target alone)`,
      metric: 'wall time',
      value: plain.ms,
      unit: 'ms',
      params: { tokens: newTokens },
    });
    for (const k of ks) {
      const r = await timed(
        row.target,
        { ...base, assistantModel: draft, numAssistantTokens: k },
        `${row.name} ${mode} k=${k}`,
      );
      const same = JSON.stringify(r.out.sequences) === JSON.stringify(plain.out.sequences);
      const expected = expectedSpeedUp(a, c, k);
      const acceptance = r.out.acceptanceRate ?? Number.NaN;
      console.log(
        `| ${row.layers} | ${mode} | ${row.name} | ${k} | ${acceptance.toFixed(2)} | ${a.toFixed(2)} | ${c.toFixed(2)} | ${r.ms.toFixed(0)} | ${r.cpu.toFixed(0)} | ${(plain.ms / r.ms).toFixed(2)}x | ${(plain.cpu / r.cpu).toFixed(2)}x | ${expected.toFixed(2)}x |`,
      );
      if (!row.sampling && !same)
        throw new Error(`speculative: ${row.name}, k=${k}: greedy output differs from the target's`);
      const at = {
        suite: 'speculative',
        case: `${row.name}, ${mode}, k=${k}`,
        params: { k, tokens: newTokens },
      };
      const figures: [string, string, number, string][] = [
        ['measured', 'speed-up', plain.ms / r.ms, 'x'],
        ['expected (Leviathan et al.)', 'speed-up', expected, 'x'],
        ['measured', 'wall time', r.ms, 'ms'],
        ['measured', 'CPU time', r.cpu, 'ms'],
        ['generate()', 'acceptance rate', acceptance, 'fraction'],
        ['along the output', 'expected acceptance a', a, 'fraction'],
        ['CPU time', 'draft/target step cost c', c, 'ratio'],
      ];
      for (const [what, metric, value, unit] of figures)
        record({ ...at, implementation: series(what), metric, value, unit });
    }
  }
  console.log(`\nThe target's greedy text: ${JSON.stringify(tokenizer.decode(targetText))}`);
  for (const block of inert.transformer.h.slice(draft.config.nLayer)) block.dispose();
  draft.dispose();
  target.dispose();
}

/** Leviathan et al. 2023, eq. (1) over (ck + 1): the expected wall-clock speed-up at agreement a. */
export function expectedSpeedUp(a: number, c: number, k: number): number {
  const tokensPerRound = a >= 1 ? k + 1 : (1 - a ** (k + 1)) / (1 - a);
  return tokensPerRound / (c * k + 1);
}

/**
 * The expected acceptance per token along `sequence` from `promptLength` on, both models given the
 * sequence before each position (one forward of each over the whole sequence): greedy, the fraction
 * of positions where the draft's argmax equals the target's; sampling (temperature 1), the mean of
 * Σ_v min(p_v, q_v), the α of Leviathan et al.
 */
function agreement(
  target: GPT2LMHeadModel,
  draft: GPT2LMHeadModel,
  sequence: number[],
  promptLength: number,
  sampling: boolean,
): number {
  const n = sequence.length - 1;
  const rowsOf = (model: GPT2LMHeadModel) =>
    noGrad(() => {
      const inputIds = tensor(Int32Array.from(sequence.slice(0, n)), [1, n], 'int32');
      const out = model.forward({ inputIds, useCache: false });
      const v = out.logits.shape[2];
      const data = out.logits.dataSync() as Float32Array;
      inputIds.dispose();
      out.logits.dispose();
      return Array.from({ length: n }, (_, i) => data.subarray(i * v, (i + 1) * v));
    });
  const t = rowsOf(target);
  const d = rowsOf(draft);
  let sum = 0;
  for (let i = promptLength - 1; i < n; i++) {
    if (sampling) {
      const p = softmax(t[i]);
      const q = softmax(d[i]);
      for (let j = 0; j < p.length; j++) sum += Math.min(p[j], q[j]);
    } else if (argmax(t[i]) === argmax(d[i])) sum++;
  }
  return sum / (n - promptLength + 1);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

function softmax(row: Float32Array): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of row) m = Math.max(m, x);
  const p = Float64Array.from(row, (x) => Math.exp(x - m));
  const z = p.reduce((acc, x) => acc + x, 0);
  return p.map((x) => x / z);
}

/**
 * A model of `nLayer` layers that computes exactly what `draft` computes: the draft's embeddings,
 * its layers, then seeded random layers whose attention and MLP output projections are zero (so
 * they add nothing to the residual stream, at the full cost of a layer), and the draft's final
 * norm and head (shared, not copied).
 */
function inertExtension(draft: GPT2LMHeadModel, nLayer: number): GPT2LMHeadModel {
  manualSeed(3);
  const model = new GPT2LMHeadModel({ ...draft.config, nLayer }).eval();
  const own = draft.config.nLayer;
  for (const block of model.transformer.h.slice(0, own)) block.dispose();
  for (const block of model.transformer.h.slice(own))
    for (const p of [
      block.attn.c_proj.weight,
      block.attn.c_proj.bias,
      block.mlp.c_proj.weight,
      block.mlp.c_proj.bias,
    ])
      init.zeros_(p);
  model.transformer.wte.dispose();
  model.transformer.wpe.dispose();
  model.transformer.ln_f.dispose();
  model.transformer.wte = draft.transformer.wte;
  model.transformer.wpe = draft.transformer.wpe;
  model.transformer.h = [...draft.transformer.h, ...model.transformer.h.slice(own)];
  model.transformer.ln_f = draft.transformer.ln_f;
  model.lm_head = draft.lm_head;
  return model;
}
