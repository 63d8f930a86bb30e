#!/usr/bin/env node
// Scaling laws on the fables corpus (packages/transformer/assets/corpus/fables.txt), at toy scale:
// character-level GPT-2s trained seeded on the CPU backend, three sweeps as in Kaplan et al. 2020
// and Hoffmann et al. 2022 (Chinchilla):
//   size     models of 7 sizes (~10K to ~3.1M non-embedding parameters), the same token budget
//            each; fits L(N) = E + A / N^alpha
//   data     one model, evaluated every few steps of a constant-learning-rate run; fits
//            L(D) = E + B / D^beta over the tokens seen
//   compute  two fixed compute budgets C ≈ 6·N·D, 2.5x apart, each split between size and tokens
//            (D = C / 6N) over two-layer models of widths ~1.4x apart: the "IsoFLOP" profiles.
//            A sweep whose lowest loss falls at an end of its sizes adds the next size beyond that
//            end, so that the best size has a smaller and a larger one on either side. Each
//            profile's minimum comes from a least-squares parabola in ln N, with the standard
//            error of ln N_opt (delta method); two budgets give N_opt ∝ C^a
// N counts non-embedding parameters (Kaplan's convention). Fits are nonlinear least squares with
// standard errors (fitPowerLaw in @attnkit/transformer). Writes scaling-laws.json and SVG plots
// (points and fitted curves, log-log) into --out, rewriting the JSON after every run, and --resume
// reuses the runs of an earlier, interrupted JSON with the same settings.
//
//   pnpm build && node scripts/scaling-laws.mjs          # the committed docs/bench/scaling-laws.*
//   node scripts/scaling-laws.mjs --quick                # tiny sizes, seconds (CI), into a temp dir
//
// Options: --quick, --out DIR (docs/bench; a temp dir with --quick), --seed S (1), --resume, --quiet,
// --sweeps LIST (size,data,compute: a subset writes an incomplete JSON and no plots; two such runs
// into two folders can go side by side, their sweeps copied into one JSON that --resume completes),
// --budgets LIST (indices of the compute budgets to run, all by default; a subset is incomplete).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSvg, linePlot, niceTicks } from '../apps/bench/dist/cli/plot.js';
import '../packages/backend-cpu/dist/index.js';
import { manualSeed } from '../packages/tensor-core/dist/index.js';
import {
  causalLMLoss,
  fitPowerLaw,
  GPT2LMHeadModel,
  lmBatches,
  lmEvalBatches,
  powerLaw,
  train,
} from '../packages/transformer/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const known = new Set([
  '--quick',
  '--out',
  '--seed',
  '--resume',
  '--quiet',
  '--root',
  '--sweeps',
  '--budgets',
]);
for (const a of args) {
  if (a.startsWith('--') && !known.has(a)) {
    console.error(`scaling-laws: unknown option ${a} (expected one of ${[...known].join(', ')})`);
    process.exit(2);
  }
}
const root = opt('root', join(dirname(fileURLToPath(import.meta.url)), '..'));
const quick = args.includes('--quick');
const quiet = args.includes('--quiet');
const allSweeps = ['size', 'data', 'compute'];
const sweeps = new Set(opt('sweeps', allSweeps.join(',')).split(','));
for (const w of sweeps) {
  if (!allSweeps.includes(w)) {
    console.error(`scaling-laws: unknown sweep '${w}' in --sweeps (expected some of ${allSweeps.join(',')})`);
    process.exit(2);
  }
}
const seed = Number(opt('seed', 1));
const out = opt('out', quick ? join(tmpdir(), 'attnkit-scaling-laws-quick') : join(root, 'docs/bench'));
const t0 = Date.now();
const log = (s) => {
  if (!quiet) console.error(s);
};

// ---- data: characters, 90% train / 10% validation (the last tenth), as scripts/train-tiny-gpt.mjs
const corpusPath = 'packages/transformer/assets/corpus/fables.txt';
const text = readFileSync(join(root, corpusPath), 'utf8');
const chars = [...new Set(text)].sort();
const index = new Map(chars.map((c, i) => [c, i]));
const ids = Int32Array.from(text, (c) => index.get(c));
const split = Math.floor(ids.length * 0.9);
const trainIds = ids.subarray(0, split);
const valIds = ids.subarray(split);
const V = chars.length;

// ---- settings: the full sweep took 3,305 s on the 2-core machine (the committed run, shared with other jobs); --quick in seconds
const full = {
  batchSize: 16,
  blockSize: 64,
  evalBatches: Number.POSITIVE_INFINITY,
  // [width, layers, heads]: 7 sizes from ~10K to ~3.1M non-embedding parameters, ~2.6x apart
  sizes: [
    [16, 3, 2],
    [32, 2, 2],
    [48, 3, 4],
    [64, 4, 4],
    [96, 4, 4],
    [128, 6, 4],
    [192, 7, 6],
  ],
  // 100 steps: a 50-step pilot (2026-12-03) turned up past 450K (1.19M: 2.658 against 447K: 2.581)
  sizeSteps: 100,
  data: { model: [32, 2, 2], steps: 300, evalEvery: 20, warmupSteps: 20, fitFromStep: 40 },
  compute: {
    // the candidates of the fixed-compute sweeps, by size: two layers, width ~1.4x apart
    ladder: [
      [8, 2, 2],
      [12, 2, 2],
      [16, 2, 2],
      [24, 2, 2],
      [32, 2, 2],
      [48, 2, 4],
      [64, 2, 4],
      [96, 2, 4],
      [128, 2, 4],
    ],
    // budgets C (FLOPs) and the ladder entries each starts from; a sweep whose lowest loss is at
    // an end of its sizes adds the next ladder entry beyond that end, at most `maxExtra` times.
    // Below ~5e10 the runs are limited by optimizer steps, not size: in a trial at C = 8e9 the
    // smallest entry (1760 parameters, 740 steps) had the lowest loss. At 4.8e10 (trial, 3.8K to
    // 100K, then 1.8K added) the 3.8K model had the lowest loss, 2.208, between 1.8K (2.250) and
    // 6.6K (2.225); the parabola's minimum was N ≈ 2.7K (ln N ± 0.44)
    budgets: [
      { flops: 4.8e10, start: [0, 1, 2, 3, 4, 5] },
      { flops: 1.2e11, start: [1, 2, 3, 4, 5, 6] },
    ],
    maxExtra: 2,
  },
};
const small = {
  batchSize: 4,
  blockSize: 32,
  evalBatches: 4,
  sizes: [
    [8, 1, 2],
    [12, 1, 2],
    [16, 1, 2],
    [24, 1, 2],
    [32, 1, 2],
    [48, 1, 2],
  ],
  sizeSteps: 16,
  data: { model: [16, 1, 2], steps: 40, evalEvery: 4, warmupSteps: 2, fitFromStep: 8 },
  compute: {
    ladder: [
      [4, 1, 2],
      [8, 1, 2],
      [12, 1, 2],
      [16, 1, 2],
      [24, 1, 2],
      [32, 1, 2],
    ],
    budgets: [
      { flops: 2e7, start: [1, 2, 3, 4] },
      { flops: 8e7, start: [2, 3, 4, 5] },
    ],
    maxExtra: 1,
  },
};
const S = quick ? small : full;
const weightDecay = 0.1;
const betas = [0.9, 0.99];
/** Peak learning rate: 3e-3 up to width 64, then falling as 1/sqrt(width). */
const lrFor = (d) => 3e-3 * Math.min(1, Math.sqrt(64 / d));
const tokensPerStep = S.batchSize * S.blockSize;
const evalBatches = lmEvalBatches(valIds, { batchSize: 16, blockSize: S.blockSize }).slice(0, S.evalBatches);
const settings = {
  seed,
  quick,
  batchSize: S.batchSize,
  blockSize: S.blockSize,
  tokensPerStep,
  lr: '3e-3 * min(1, sqrt(64 / width))',
  schedule: 'linear warmup (5% of steps, at least 2) then cosine, except the data sweep (constant)',
  weightDecay,
  betas,
  maxGradNorm: 1,
  dropout: 0,
  evalWindows: evalBatches.reduce((s, b) => s + b.inputIds.shape[0], 0),
};

function nonEmbedding(model, d) {
  return model.numParameters() - (V + S.blockSize) * d;
}

/** A GPT-2 of width d, `layers` blocks and `heads` heads on the corpus's characters, no dropout. */
function makeModel([d, layers, heads]) {
  return new GPT2LMHeadModel({
    vocabSize: V,
    nPositions: S.blockSize,
    nEmbd: d,
    nLayer: layers,
    nHead: heads,
    residPdrop: 0,
    embdPdrop: 0,
    attnPdrop: 0,
    bosTokenId: null,
    eosTokenId: null,
  });
}

/** Trains one GPT-2 of width d, `layers` blocks and `heads` heads for `steps` steps. */
async function runOne([d, layers, heads], steps, extra = {}) {
  manualSeed(seed);
  const model = makeModel([d, layers, heads]);
  const lr = lrFor(d);
  const warmupSteps = extra.warmupSteps ?? Math.max(2, Math.round(steps * 0.05));
  const started = Date.now();
  const result = await train(model, {
    batches: lmBatches(trainIds, { batchSize: S.batchSize, blockSize: S.blockSize, seed }),
    loss: causalLMLoss,
    maxSteps: steps,
    lr,
    warmupSteps,
    schedule: extra.schedule ?? 'cosine',
    weightDecay,
    betas,
    maxGradNorm: 1,
    evalBatches,
    evalEvery: extra.evalEvery ?? 0,
  });
  const run = {
    width: d,
    layers,
    heads,
    parameters: model.numParameters(),
    nonEmbeddingParameters: nonEmbedding(model, d),
    steps,
    tokens: steps * tokensPerStep,
    flops: 6 * nonEmbedding(model, d) * steps * tokensPerStep,
    lr,
    warmupSteps,
    valLoss: result.finalEvalLoss,
    trainLoss: result.losses.slice(-Math.min(10, steps)).reduce((s, v) => s + v, 0) / Math.min(10, steps),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (extra.evalEvery) run.evalLosses = result.evalLosses.map(([s, l]) => [s * tokensPerStep, l]);
  for (const p of model.parameters()) p.dispose?.();
  log(
    `  d=${d} L=${layers}: N=${run.nonEmbeddingParameters} (total ${run.parameters}), ${steps} steps, val loss ${run.valLoss.toFixed(4)}, ${run.seconds}s`,
  );
  return run;
}

/** fitPowerLaw, or the reason it failed (recorded instead of a fit). */
function tryFit(x, y) {
  try {
    const f = fitPowerLaw(x, y);
    return {
      E: f.E,
      A: f.A,
      alpha: f.alpha,
      stdErr: f.stdErr,
      rss: f.rss,
      dof: f.dof,
      converged: f.converged,
    };
  } catch (e) {
    return { error: e.message };
  }
}

/** Inverse of a small symmetric positive-definite matrix (Gauss-Jordan with partial pivoting). */
function invert(m) {
  const n = m.length;
  const A = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    const d = A[c][c];
    for (let k = 0; k < 2 * n; k++) A[c][k] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c];
      for (let k = 0; k < 2 * n; k++) A[r][k] -= f * A[c][k];
    }
  }
  return A.map((row) => row.slice(n));
}

/**
 * Least-squares parabola y = a u² + b u + c in u = ln N, and its minimum u* = -b / 2a when it
 * opens upwards, with the standard error of u* from the coefficients' covariance
 * s² (XᵀX)⁻¹, s² = rss / (n - 3), by the delta method (the gradient of u* in (a, b) is (b / 2a², -1 / 2a)).
 */
function isoFlopMinimum(x, y) {
  const u = x.map(Math.log);
  const n = u.length;
  const X = u.map((v) => [v * v, v, 1]);
  const XtX = [0, 1, 2].map((i) => [0, 1, 2].map((j) => X.reduce((acc, row) => acc + row[i] * row[j], 0)));
  const Xty = [0, 1, 2].map((i) => X.reduce((acc, row, k) => acc + row[i] * y[k], 0));
  const inv = invert(XtX);
  const [a, b, c] = inv.map((row) => row.reduce((acc, v, j) => acc + v * Xty[j], 0));
  const rss = u.reduce((acc, v, k) => acc + (a * v * v + b * v + c - y[k]) ** 2, 0);
  const dof = n - 3;
  const parabola = { a, b, c, rss, dof };
  const none = { parabola, optimalN: null, optimalLoss: null, lnOptimalNStdErr: null, optimalNInside: false };
  if (!(a > 0)) return none;
  const uMin = -b / (2 * a);
  let se = null;
  if (dof > 0) {
    const s2 = rss / dof;
    const g = [b / (2 * a * a), -1 / (2 * a)];
    let v = 0;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) v += g[i] * g[j] * s2 * inv[i][j];
    se = Math.sqrt(v);
  }
  return {
    parabola,
    optimalN: Math.exp(uMin),
    optimalLoss: a * uMin * uMin + b * uMin + c,
    lnOptimalNStdErr: se,
    optimalNInside: uMin > Math.min(...u) && uMin < Math.max(...u),
  };
}

// ---- resume: runs of an earlier JSON with the same settings
const jsonPath = join(out, 'scaling-laws.json');
let previous = null;
if (args.includes('--resume') && existsSync(jsonPath)) {
  const old = JSON.parse(readFileSync(jsonPath, 'utf8'));
  if (JSON.stringify(old.settings) === JSON.stringify(settings)) previous = old;
  else log('--resume: the settings differ from the existing JSON; starting over');
}
const reuse = (list, d, layers, steps) =>
  list?.find((r) => r.width === d && r.layers === layers && r.steps === steps) ?? null;

mkdirSync(out, { recursive: true });
const report = {
  command: `node scripts/scaling-laws.mjs${quick ? ' --quick' : ''}`,
  corpus: corpusPath,
  characters: text.length,
  vocabSize: V,
  trainTokens: trainIds.length,
  valTokens: valIds.length,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
  settings,
  complete: false,
  wallSeconds: 0,
  sizeSweep: { tokens: S.sizeSteps * tokensPerStep, runs: [], fit: null },
  dataSweep: null,
  computeSweep: null,
};
const save = () => {
  report.wallSeconds = Math.round((Date.now() - t0) / 1000) + (previous?.wallSeconds ?? 0);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
};
log(
  `corpus ${text.length} chars, vocab ${V}, train ${trainIds.length}, val ${valIds.length}; ${tokensPerStep} tokens per step`,
);

// ---- 1. size sweep: the same tokens for every size
const sizeRuns = report.sizeSweep.runs;
if (sweeps.has('size')) {
  log(
    `size sweep: ${S.sizes.length} sizes, ${S.sizeSteps} steps (${S.sizeSteps * tokensPerStep} tokens) each`,
  );
  for (const size of S.sizes) {
    const old = reuse(previous?.sizeSweep?.runs, size[0], size[1], S.sizeSteps);
    report.sizeSweep.runs.push(old ?? (await runOne(size, S.sizeSteps)));
    save();
  }
  report.sizeSweep.fit = tryFit(
    sizeRuns.map((r) => r.nonEmbeddingParameters),
    sizeRuns.map((r) => r.valLoss),
  );
  save();
}

// ---- 2. data sweep: one model, evaluated along a constant-learning-rate run
if (sweeps.has('data')) {
  const { model, steps, evalEvery, warmupSteps, fitFromStep } = S.data;
  log(`data sweep: d=${model[0]} L=${model[1]}, ${steps} steps, evaluated every ${evalEvery}`);
  const old = previous?.dataSweep?.run?.steps === steps ? previous.dataSweep.run : null;
  const run = old ?? (await runOne(model, steps, { schedule: 'constant', evalEvery, warmupSteps }));
  const points = run.evalLosses.filter(([tokens]) => tokens >= fitFromStep * tokensPerStep);
  report.dataSweep = {
    run,
    fitFromTokens: fitFromStep * tokensPerStep,
    fit: tryFit(
      points.map((p) => p[0]),
      points.map((p) => p[1]),
    ),
  };
  save();
}

// ---- 3. fixed compute: C = 6 N D, D = C / 6N, at each budget; sizes are added beyond the end
// where the loss is lowest until the lowest loss has a larger and a smaller size on either side
if (sweeps.has('compute')) {
  const { ladder, budgets, maxExtra } = S.compute;
  const nOf = new Map();
  /** Non-embedding parameters of a ladder entry (from a model built and discarded). */
  const countN = ([d, layers, heads]) => {
    const key = `${d}/${layers}`;
    if (!nOf.has(key)) {
      const m = makeModel([d, layers, heads]);
      nOf.set(key, nonEmbedding(m, d));
      for (const p of m.parameters()) p.dispose?.();
    }
    return nOf.get(key);
  };
  report.computeSweep = { budgets: [], optimalNExponent: null };
  const chosen = opt('budgets', budgets.map((_, i) => i).join(','))
    .split(',')
    .map(Number);
  if (!chosen.every((i) => Number.isInteger(i) && i >= 0 && i < budgets.length)) {
    console.error(`scaling-laws: --budgets takes indices of the compute budgets, 0 to ${budgets.length - 1}`);
    process.exit(2);
  }
  for (const { flops, start } of budgets.filter((_, i) => chosen.includes(i))) {
    const budget = { flops, runs: [] };
    report.computeSweep.budgets.push(budget);
    const byIndex = new Map();
    const runAt = async (k) => {
      const size = ladder[k];
      const N = countN(size);
      const steps = Math.max(4, Math.round(flops / (6 * N * tokensPerStep)));
      const prev = previous?.computeSweep?.budgets?.find((b) => b.flops === flops)?.runs;
      const run = reuse(prev, size[0], size[1], steps) ?? (await runOne(size, steps));
      byIndex.set(k, run);
      budget.runs = [...byIndex.entries()].sort((p, q) => p[0] - q[0]).map((e) => e[1]);
      save();
    };
    log(`compute sweep: C = ${flops.toExponential(2)} FLOPs, ${start.length} sizes`);
    for (const k of start) await runAt(k);
    for (let extra = 0; extra < maxExtra; extra++) {
      const ks = [...byIndex.keys()].sort((p, q) => p - q);
      const best = ks.reduce((p, q) => (byIndex.get(q).valLoss < byIndex.get(p).valLoss ? q : p));
      let next = null;
      if (best === ks[0] && ks[0] > 0) next = ks[0] - 1;
      else if (best === ks[ks.length - 1] && best < ladder.length - 1) next = best + 1;
      if (next === null) break;
      log(`  lowest loss at an end of the sizes: adding d=${ladder[next][0]}`);
      await runAt(next);
    }
    const losses = budget.runs.map((r) => r.valLoss);
    const best = losses.indexOf(Math.min(...losses));
    budget.bracketed = best > 0 && best < losses.length - 1;
    Object.assign(
      budget,
      isoFlopMinimum(
        budget.runs.map((r) => r.nonEmbeddingParameters),
        losses,
      ),
    );
    save();
  }
  // N_opt ∝ C^a between the first and the last budget
  const [b0, b1] = [report.computeSweep.budgets[0], report.computeSweep.budgets.at(-1)];
  if (b0 !== b1 && b0.optimalN && b1.optimalN) {
    const span = Math.log(b1.flops / b0.flops);
    const se =
      b0.lnOptimalNStdErr !== null && b1.lnOptimalNStdErr !== null
        ? Math.sqrt(b0.lnOptimalNStdErr ** 2 + b1.lnOptimalNStdErr ** 2) / span
        : null;
    report.computeSweep.optimalNExponent = { a: Math.log(b1.optimalN / b0.optimalN) / span, stdErr: se };
  }
}
report.complete =
  sweeps.size === allSweeps.length && report.computeSweep.budgets.length === S.compute.budgets.length;
save();
if (!report.complete) {
  console.log(`wrote ${jsonPath} (sweeps ${[...sweeps].join(', ')} only: no plots)`);
  process.exit(0);
}

// ---- plots
const logSpace = (lo, hi, n) => Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));
const decadeTicks = (xs) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 3]) if (m * 10 ** e >= lo / 1.5 && m * 10 ** e <= hi * 1.5) ticks.push(m * 10 ** e);
  return ticks;
};
const lossTicks = (ys) => niceTicks(Math.min(...ys), Math.max(...ys), 4).filter((v) => v > 0);
const fitLabel = (f, sym, exp) =>
  f.error
    ? `fit failed: ${f.error}`
    : `fit: ${f.E.toFixed(2)} + ${f.A.toPrecision(3)} / ${sym}^${f.alpha.toFixed(3)}  (${exp} = ${f.alpha.toFixed(3)} ± ${f.stdErr.alpha.toFixed(3)})`;
function plot(file, title, xLabel, measured, fit, sym, exp, extra = []) {
  const xs = measured.map((p) => p[0]);
  const series = [{ name: 'validation loss (measured)', points: measured, style: 'points' }];
  if (!fit.error)
    series.push({
      name: fitLabel(fit, sym, exp),
      points: logSpace(Math.min(...xs), Math.max(...xs), 60).map((x) => [x, powerLaw(fit, x)]),
      style: 'line',
    });
  else series[0].name += ` (${fitLabel(fit, sym, exp)})`;
  series.push(...extra);
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const svg = linePlot({
    title,
    xLabel,
    yLabel: 'validation loss (nats/char)',
    series,
    logX: true,
    logY: true,
    xTicks: decadeTicks(xs),
    yTicks: lossTicks(ys),
  });
  checkSvg(svg);
  writeFileSync(join(out, file), svg);
}
plot(
  'scaling-laws-params.svg',
  `Loss vs model size (${report.sizeSweep.tokens} tokens each)`,
  'non-embedding parameters N',
  sizeRuns.map((r) => [r.nonEmbeddingParameters, r.valLoss]),
  report.sizeSweep.fit,
  'N',
  'alpha',
);
const ds = report.dataSweep;
plot(
  'scaling-laws-data.svg',
  `Loss vs tokens seen (N = ${ds.run.nonEmbeddingParameters}, constant learning rate)`,
  'training tokens D',
  ds.run.evalLosses.filter(([t]) => t >= ds.fitFromTokens),
  ds.fit,
  'D',
  'beta',
);
{
  const cs = report.computeSweep;
  const series = [];
  const all = cs.budgets.flatMap((b) => b.runs.map((r) => r.nonEmbeddingParameters));
  for (const b of cs.budgets) {
    const pts = b.runs.map((r) => [r.nonEmbeddingParameters, r.valLoss]);
    const xs = pts.map((p) => p[0]);
    const { a, b: lin, c } = b.parabola;
    series.push({ name: `C = ${b.flops.toExponential(1)} FLOPs (D = C / 6N)`, points: pts, style: 'points' });
    const min = b.optimalN
      ? `minimum at N ≈ ${Math.round(b.optimalN)}${b.lnOptimalNStdErr !== null ? ` (×/÷ ${Math.exp(b.lnOptimalNStdErr).toFixed(2)})` : ''}`
      : 'no minimum';
    series.push({
      name: `parabola in ln N at C = ${b.flops.toExponential(1)}: ${min}`,
      points: logSpace(Math.min(...xs), Math.max(...xs), 60)
        .map((x) => [x, a * Math.log(x) ** 2 + lin * Math.log(x) + c])
        .filter((p) => p[1] > 0),
      style: 'line',
    });
  }
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const svg = linePlot({
    title: 'IsoFLOP profiles: loss at fixed compute budgets',
    xLabel: 'non-embedding parameters N',
    yLabel: 'validation loss (nats/char)',
    series,
    logX: true,
    logY: true,
    xTicks: decadeTicks(all),
    yTicks: lossTicks(ys),
  });
  checkSvg(svg);
  writeFileSync(join(out, 'scaling-laws-compute.svg'), svg);
}

// ---- summary
const pm = (f, k) => (f.error ? `fit failed (${f.error})` : `${f[k].toFixed(3)} ± ${f.stdErr[k].toFixed(3)}`);
console.log(
  `L(N) = E + A / N^alpha: alpha = ${pm(report.sizeSweep.fit, 'alpha')}, E = ${pm(report.sizeSweep.fit, 'E')}`,
);
console.log(`L(D) = E + B / D^beta:  beta = ${pm(ds.fit, 'alpha')}, E = ${pm(ds.fit, 'E')}`);
for (const b of report.computeSweep.budgets)
  console.log(
    `fixed compute C = ${b.flops.toExponential(2)}: ${b.runs.length} sizes, loss-minimising N ≈ ${b.optimalN ? `${Math.round(b.optimalN)} (ln N ± ${b.lnOptimalNStdErr?.toFixed(2)}${b.optimalNInside ? ', inside the sizes' : ', outside the sizes'})` : 'none (the profile has no minimum)'}${b.bracketed ? '' : ', lowest loss at an end'}`,
  );
const ex = report.computeSweep.optimalNExponent;
if (ex) console.log(`N_opt ∝ C^a: a = ${ex.a.toFixed(2)} ± ${ex.stdErr?.toFixed(2)}`);
console.log(`wrote ${jsonPath} and 3 SVG plots in ${Math.round((Date.now() - t0) / 1000)} s`);
