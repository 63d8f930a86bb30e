#!/usr/bin/env node
// Scaling laws on the fables corpus (packages/transformer/assets/corpus/fables.txt), at toy scale:
// character-level GPT-2s trained seeded on the CPU backend, three sweeps as in Kaplan et al. 2020
// and Hoffmann et al. 2022 (Chinchilla):
//   size     models of 6 sizes (~7K to ~2.2M non-embedding parameters), the same token budget each;
//            fits L(N) = E + A / N^alpha
//   data     one model, evaluated every few steps of a constant-learning-rate run; fits
//            L(D) = E + B / D^beta over the tokens seen
//   compute  a fixed compute budget C ≈ 6·N·D split between size and tokens (D = C / 6N): the
//            "IsoFLOP" profile, with its minimum from a parabola in ln N
// N counts non-embedding parameters (Kaplan's convention). Fits are nonlinear least squares with
// standard errors (fitPowerLaw in @attnkit/transformer). Writes scaling-laws.json and SVG plots
// (points and fitted curves, log-log) into --out, rewriting the JSON after every run, and --resume
// reuses the runs of an earlier, interrupted JSON with the same settings.
//
//   pnpm build && node scripts/scaling-laws.mjs          # the committed docs/bench/scaling-laws.*
//   node scripts/scaling-laws.mjs --quick                # tiny sizes, seconds (CI), into a temp dir
//
// Options: --quick, --out DIR (docs/bench; a temp dir with --quick), --seed S (1), --resume, --quiet.
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
const known = new Set(['--quick', '--out', '--seed', '--resume', '--quiet', '--root']);
for (const a of args) {
  if (a.startsWith('--') && !known.has(a)) {
    console.error(`scaling-laws: unknown option ${a} (expected one of ${[...known].join(', ')})`);
    process.exit(2);
  }
}
const root = opt('root', join(dirname(fileURLToPath(import.meta.url)), '..'));
const quick = args.includes('--quick');
const quiet = args.includes('--quiet');
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

// ---- settings: the full sweep fits in about half an hour of one quiet core; --quick in seconds
const full = {
  batchSize: 16,
  blockSize: 64,
  evalBatches: Number.POSITIVE_INFINITY,
  // [width, layers, heads]
  sizes: [
    [16, 2, 2],
    [32, 2, 2],
    [48, 3, 4],
    [64, 4, 4],
    [128, 4, 4],
    [192, 5, 6],
  ],
  sizeSteps: 100,
  data: { model: [32, 2, 2], steps: 300, evalEvery: 20, warmupSteps: 20, fitFromStep: 40 },
  // the budget: the 200K model for 40 steps
  compute: { sizes: [1, 2, 3, 4], budgetSize: 3, budgetSteps: 40 },
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
  compute: { sizes: [0, 2, 4, 5], budgetSize: 3, budgetSteps: 8 },
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

/** Trains one GPT-2 of width d, `layers` blocks and `heads` heads for `steps` steps. */
async function runOne([d, layers, heads], steps, extra = {}) {
  manualSeed(seed);
  const model = new GPT2LMHeadModel({
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

/** Least-squares parabola y = a u² + b u + c in u = ln x; its minimum when it opens upwards. */
function isoFlopMinimum(x, y) {
  const u = x.map(Math.log);
  const n = u.length;
  const s = (k) => u.reduce((acc, v) => acc + v ** k, 0);
  const t = (k) => u.reduce((acc, v, i) => acc + v ** k * y[i], 0);
  // normal equations for (a, b, c)
  const M = [
    [s(4), s(3), s(2), t(2)],
    [s(3), s(2), s(1), t(1)],
    [s(2), s(1), n, t(0)],
  ];
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k < 4; k++) M[r][k] -= f * M[c][k];
    }
  }
  const [a, b, c] = M.map((row, i) => row[3] / row[i]);
  const parabola = { a, b, c };
  if (!(a > 0)) return { parabola, optimalN: null, optimalLoss: null };
  const uMin = -b / (2 * a);
  return { parabola, optimalN: Math.exp(uMin), optimalLoss: a * uMin * uMin + b * uMin + c };
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
log(`size sweep: ${S.sizes.length} sizes, ${S.sizeSteps} steps (${S.sizeSteps * tokensPerStep} tokens) each`);
for (const size of S.sizes) {
  const old = reuse(previous?.sizeSweep?.runs, size[0], size[1], S.sizeSteps);
  report.sizeSweep.runs.push(old ?? (await runOne(size, S.sizeSteps)));
  save();
}
const sizeRuns = report.sizeSweep.runs;
report.sizeSweep.fit = tryFit(
  sizeRuns.map((r) => r.nonEmbeddingParameters),
  sizeRuns.map((r) => r.valLoss),
);
save();

// ---- 2. data sweep: one model, evaluated along a constant-learning-rate run
{
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

// ---- 3. fixed compute: C = 6 N D, D = C / 6N
{
  const { sizes, budgetSize, budgetSteps } = S.compute;
  const probe = S.sizes[budgetSize];
  const budgetN = sizeRuns.find((r) => r.width === probe[0] && r.layers === probe[1]).nonEmbeddingParameters;
  const flops = 6 * budgetN * budgetSteps * tokensPerStep;
  log(`compute sweep: C = ${flops.toExponential(3)} FLOPs over ${sizes.length} sizes`);
  const runs = [];
  for (const k of sizes) {
    const size = S.sizes[k];
    const N = sizeRuns.find((r) => r.width === size[0] && r.layers === size[1]).nonEmbeddingParameters;
    const steps = Math.max(4, Math.round(flops / (6 * N * tokensPerStep)));
    const old = reuse(previous?.computeSweep?.runs, size[0], size[1], steps);
    runs.push(old ?? (await runOne(size, steps)));
    report.computeSweep = { flops, runs };
    save();
  }
  report.computeSweep = {
    flops,
    runs,
    ...isoFlopMinimum(
      runs.map((r) => r.nonEmbeddingParameters),
      runs.map((r) => r.valLoss),
    ),
  };
}
report.complete = true;
save();

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
  const pts = cs.runs.map((r) => [r.nonEmbeddingParameters, r.valLoss]);
  const xs = pts.map((p) => p[0]);
  const { a, b, c } = cs.parabola;
  const series = [
    {
      name: `validation loss at C = ${cs.flops.toExponential(2)} FLOPs (D = C / 6N)`,
      points: pts,
      style: 'points',
    },
    {
      name: `parabola in ln N${cs.optimalN ? `, minimum at N ≈ ${Math.round(cs.optimalN)}` : ' (no minimum)'}`,
      points: logSpace(Math.min(...xs), Math.max(...xs), 60).map((x) => [
        x,
        a * Math.log(x) ** 2 + b * Math.log(x) + c,
      ]),
      style: 'line',
    },
  ];
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const svg = linePlot({
    title: 'IsoFLOP profile: loss at a fixed compute budget',
    xLabel: 'non-embedding parameters N',
    yLabel: 'validation loss (nats/char)',
    series,
    logX: true,
    logY: true,
    xTicks: decadeTicks(xs),
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
console.log(
  `fixed compute C = ${report.computeSweep.flops.toExponential(3)}: loss-minimising N ≈ ${report.computeSweep.optimalN ? Math.round(report.computeSweep.optimalN) : 'none (the profile has no minimum)'}`,
);
console.log(`wrote ${jsonPath} and 3 SVG plots in ${Math.round((Date.now() - t0) / 1000)} s`);
