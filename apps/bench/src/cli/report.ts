/**
 * The Markdown report of a bench run (`bench-report.md`): the machine and versions, then one SVG
 * line plot per figure that the run measured (written next to the report by {@link linePlot}), each
 * with the table of its points, then every figure of the run, suite by suite.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSvg, linePlot } from './plot.js';
import type { BenchResult, BenchResults } from './results.js';

/** Which results one plot shows, and how. */
export interface PlotSpec {
  /** SVG file name, written next to the report. */
  file: string;
  title: string;
  suite: string;
  /** Results with this metric are plotted... */
  metric: string;
  /** ...at x = params[xParam]. */
  xParam: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  /** x is a string parameter (an encoding name): a categorical axis in first-seen order. */
  categorical?: boolean;
  /** The series a result belongs to (default: its implementation). */
  seriesOf?: (r: BenchResult) => string;
}

/** The plots of the report, in order; a plot without data in the run is left out. */
export const REPORT_PLOTS: readonly PlotSpec[] = [
  {
    file: 'matmul-gflops.svg',
    title: 'matmul: float32 n×n GFLOP/s',
    suite: 'matmul',
    metric: 'GFLOP/s',
    xParam: 'n',
    xLabel: 'n',
    yLabel: 'GFLOP/s',
    logX: true,
  },
  {
    file: 'attention-time.svg',
    title: 'attention forward time (B=1, H=12, d=64)',
    suite: 'attention',
    metric: 'time',
    xParam: 'L',
    xLabel: 'sequence length L',
    yLabel: 'ms',
    logX: true,
    logY: true,
  },
  {
    file: 'attention-memory.svg',
    title: 'attention peak memory, causal (plain vs flash)',
    suite: 'attention',
    metric: 'peak memory',
    xParam: 'L',
    xLabel: 'sequence length L',
    yLabel: 'MiB',
    logX: true,
    logY: true,
  },
  {
    file: 'transformer-prefill.svg',
    title: 'GPT-2-shaped model: prefill time',
    suite: 'transformer',
    metric: 'prefill time',
    xParam: 'prompt',
    xLabel: 'prompt length (tokens)',
    yLabel: 'ms',
    logX: true,
  },
  {
    file: 'transformer-decode.svg',
    title: 'GPT-2-shaped model: KV-cached decode',
    suite: 'transformer',
    metric: 'decode time',
    xParam: 'tokens',
    xLabel: 'tokens generated',
    yLabel: 'ms/token',
  },
  {
    file: 'tokenizer-encode.svg',
    title: 'tokenizer encode throughput',
    suite: 'tokenizer',
    metric: 'encode',
    xParam: 'encoding',
    xLabel: 'encoding',
    yLabel: 'MB/s',
    categorical: true,
    seriesOf: (r) => `${r.implementation} (${r.params?.text ?? ''})`,
  },
  {
    file: 'sampling-vocab.svg',
    title: 'sampling: cost per token against vocabulary size',
    suite: 'sampling',
    metric: 'time per token',
    xParam: 'vocab',
    xLabel: 'vocabulary size',
    yLabel: 'ms/token (CPU time)',
    logX: true,
  },
  {
    file: 'speculative-speedup.svg',
    title: 'speculative decoding: speed-up over cached decoding of a 12-layer target, measured and expected',
    suite: 'speculative',
    metric: 'speed-up',
    xParam: 'k',
    xLabel: 'draft tokens per round k',
    yLabel: 'speed-up (×)',
  },
];

/** The series of one plot spec from the run's results (empty when the run did not measure it). */
export function plotSeries(
  spec: PlotSpec,
  results: readonly BenchResult[],
): { series: { name: string; points: [number, number][] }[]; categories?: string[]; unit: string } {
  const rows = results.filter(
    (r) => r.suite === spec.suite && r.metric === spec.metric && r.params?.[spec.xParam] !== undefined,
  );
  const categories = spec.categorical
    ? [...new Set(rows.map((r) => String(r.params![spec.xParam])))]
    : undefined;
  const bySeries = new Map<string, [number, number][]>();
  for (const r of rows) {
    const name = spec.seriesOf ? spec.seriesOf(r) : r.implementation;
    const xv = r.params![spec.xParam];
    const x = categories ? categories.indexOf(String(xv)) : Number(xv);
    if (!Number.isFinite(x)) continue;
    if (!bySeries.has(name)) bySeries.set(name, []);
    bySeries.get(name)!.push([x, r.value]);
  }
  const series = [...bySeries].map(([name, points]) => ({
    name,
    points: points.sort((a, b) => a[0] - b[0]),
  }));
  return { series, categories, unit: rows[0]?.unit ?? '' };
}

const cell = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
const md = (s: string) => s.replace(/\|/g, '\\|');

/**
 * Writes `bench-report.md` and its SVG plots into `dir` (created if needed) and returns the paths
 * written. `note` is a paragraph placed under the heading (where and how the run was made).
 */
export function writeReport(dir: string, data: BenchResults, note = ''): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const m = data.machine;
  const lines: string[] = [
    '---',
    'title: Bench report',
    '---',
    '',
    '# attnkit bench report',
    '',
    ...(note ? [note, ''] : []),
    `Produced by \`${data.command}\` (from the repository root: \`pnpm bench ${data.command.replace(/^attnkit-bench ?/, '')}\`) on ${data.date}${data.quick ? '; quick: tiny sizes and few repeats, so the figures show that the suites run, not how fast attnkit is' : ''}.`,
    '',
    `Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}-${m.arch}, node ${m.node}.`,
    '',
    'Every figure below was measured in this one run, attnkit beside its peers; single runs on a shared machine are noisy. The same figures are in `bench-results.json`.',
    '',
    '| package | version |',
    '|---|---|',
    ...Object.entries(data.versions).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '| suite | result | seconds |',
    '|---|---|---|',
    ...data.suites.map(
      (s) => `| ${s.name} | ${s.ok ? 'ok' : `failed: ${md(s.error ?? '')}`} | ${s.seconds.toFixed(1)} |`,
    ),
  ];
  for (const spec of REPORT_PLOTS) {
    const { series, categories, unit } = plotSeries(spec, data.results);
    if (series.length === 0) continue;
    const svg = linePlot({
      title: spec.title,
      xLabel: spec.xLabel,
      yLabel: spec.yLabel,
      series,
      logX: spec.logX,
      logY: spec.logY,
      categories,
    });
    const path = join(dir, spec.file);
    writeFileSync(path, svg);
    written.push(path);
    lines.push('', `## ${spec.title}`, '', `![${spec.title}](./${spec.file})`, '');
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const xName = (x: number) => (categories ? categories[x] : String(x));
    lines.push(`| ${spec.xLabel} | ${series.map((s) => md(s.name)).join(' | ')} |`);
    lines.push(`|---|${series.map(() => '---|').join('')}`);
    for (const x of xs) {
      const vals = series.map((s) => {
        const p = s.points.find((q) => q[0] === x);
        return p ? cell(p[1]) : '-';
      });
      lines.push(`| ${xName(x)} | ${vals.join(' | ')} |`);
    }
    lines.push('', `Values in ${unit}.`);
  }
  lines.push(...scalingLawsSection(dir));
  lines.push('', '## Every figure of the run');
  for (const suite of [...new Set(data.results.map((r) => r.suite))]) {
    lines.push(
      '',
      `### ${suite}`,
      '',
      '| case | implementation | metric | value | unit |',
      '|---|---|---|---|---|',
    );
    for (const r of data.results.filter((x) => x.suite === suite))
      lines.push(
        `| ${md(r.case)} | ${md(r.implementation)} | ${md(r.metric)} | ${cell(r.value)} | ${md(r.unit)} |`,
      );
  }
  const report = join(dir, 'bench-report.md');
  writeFileSync(report, `${lines.join('\n')}\n`);
  written.push(report);
  return written;
}

/**
 * The report's section on scaling laws when `dir` holds the output of `scripts/scaling-laws.mjs`
 * (scaling-laws.json and its three plots): the fitted exponents with their standard errors, the
 * loss-minimising size at each fixed compute budget, and the plots; no lines when it does not.
 */
export function scalingLawsSection(dir: string): string[] {
  const path = join(dir, 'scaling-laws.json');
  if (!existsSync(path)) return [];
  const r = JSON.parse(readFileSync(path, 'utf8'));
  type Fit = { E: number; A: number; alpha: number; stdErr: { E: number; alpha: number }; error?: string };
  const law = (f: Fit, sym: string, exp: string) =>
    f.error
      ? `no fit (${md(f.error)})`
      : `L(${sym}) = E + A / ${sym}^${exp}: ${exp} = ${f.alpha.toFixed(3)} ± ${f.stdErr.alpha.toFixed(3)}, E = ${f.E.toFixed(3)} ± ${f.stdErr.E.toFixed(3)}`;
  type IsoFlop = {
    flops: number;
    runs: { nonEmbeddingParameters: number; valLoss: number }[];
    optimalN: number | null;
    lnOptimalNStdErr?: number | null;
    optimalNInside?: boolean;
    bracketed?: boolean;
  };
  // a JSON written before the sweep had several budgets holds one profile, without the error of
  // its minimum; whether the minimum is bracketed then comes from its runs
  const cs = r.computeSweep;
  const budgets = ((cs.budgets ?? [cs]) as IsoFlop[]).map((b) => {
    const n = b.runs.map((run) => run.nonEmbeddingParameters);
    const losses = b.runs.map((run) => run.valLoss);
    const best = losses.indexOf(Math.min(...losses));
    return {
      ...b,
      lnOptimalNStdErr: b.lnOptimalNStdErr ?? null,
      optimalNInside:
        b.optimalNInside ??
        (b.optimalN !== null && b.optimalN > Math.min(...n) && b.optimalN < Math.max(...n)),
      bracketed: b.bracketed ?? (best > 0 && best < losses.length - 1),
    };
  });
  const isoFlop = (b: (typeof budgets)[number]) =>
    b.optimalN === null
      ? 'no minimum (the parabola in ln N opens downwards)'
      : `loss-minimising N ≈ ${Math.round(b.optimalN)}${b.lnOptimalNStdErr === null ? '' : ` (ln N ± ${b.lnOptimalNStdErr.toFixed(2)}, i.e. ${Math.round(b.optimalN / Math.exp(b.lnOptimalNStdErr))} to ${Math.round(b.optimalN * Math.exp(b.lnOptimalNStdErr))})`}, ${b.optimalNInside && b.bracketed ? 'inside the sizes swept, with larger losses on both sides' : 'not bracketed by the sizes swept (an extrapolation)'}`;
  return [
    '',
    '## Scaling laws',
    '',
    `Produced by \`${r.command}\` (${r.wallSeconds} s): character-level GPTs on the fables corpus, N in non-embedding parameters; see the guide docs/guides/15-pretraining-and-scaling-laws.md.`,
    '',
    `- size sweep (${r.sizeSweep.runs.length} sizes, ${r.sizeSweep.tokens} tokens each): ${law(r.sizeSweep.fit, 'N', 'alpha')}`,
    `- data sweep (N = ${r.dataSweep.run.nonEmbeddingParameters}): ${law(r.dataSweep.fit, 'D', 'beta')}`,
    ...budgets.map(
      (b) => `- fixed compute C = ${b.flops.toExponential(2)} FLOPs (${b.runs.length} sizes): ${isoFlop(b)}`,
    ),
    ...(cs.optimalNExponent
      ? [
          `- compute-optimal size against compute: N_opt ∝ C^a, a = ${cs.optimalNExponent.a.toFixed(2)}${cs.optimalNExponent.stdErr === null ? '' : ` ± ${cs.optimalNExponent.stdErr.toFixed(2)}`}`,
        ]
      : []),
    '',
    '![Loss against model size](./scaling-laws-params.svg)',
    '',
    '![Loss against tokens seen](./scaling-laws-data.svg)',
    '',
    '![IsoFLOP profiles](./scaling-laws-compute.svg)',
  ];
}

/**
 * Checks a written report: `dir/bench-report.md` exists, and every image it links exists in `dir`
 * and is a well-formed SVG ({@link checkSvg}). Throws an error naming the first problem; returns
 * the number of plots.
 */
export function checkReport(dir: string): number {
  const report = join(dir, 'bench-report.md');
  if (!existsSync(report)) throw new Error(`bench report: ${report} is missing`);
  const text = readFileSync(report, 'utf8');
  if (!text.startsWith('---\ntitle: ') || !text.includes('\n# attnkit bench report\n'))
    throw new Error(
      `bench report: ${report} should start with a title front matter and '# attnkit bench report'`,
    );
  const images = [...text.matchAll(/!\[[^\]]*\]\(\.\/([^)]+)\)/g)].map((m) => m[1]);
  for (const file of images) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`bench report: it shows ${file}, which is missing from ${dir}`);
    try {
      checkSvg(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`bench report: ${file}: ${(err as Error).message}`);
    }
  }
  return images.length;
}
