// apps/bench's machine-readable results and report (issue 18 "apps/bench"): the hand-written SVG
// line plot (coordinates, ticks, legend, escaping, refusals), the bench-results.json schema check
// and writer, the Markdown report with its plots, and the --quick / --out options. Times are never
// asserted: the figures here are made up.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../apps/bench/src/cli/args.js';
import { checkSvg, linePlot, niceTicks } from '../apps/bench/src/cli/plot.js';
import { checkReport, plotSeries, REPORT_PLOTS, writeReport } from '../apps/bench/src/cli/report.js';
import {
  type BenchResults,
  machineInfo,
  RESULTS_SCHEMA_VERSION,
  record,
  recordedResults,
  validateResults,
  writeResults,
} from '../apps/bench/src/cli/results.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'attnkit-bench-report-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const root = fileURLToPath(new URL('..', import.meta.url));
function tempDirWithReport(): string {
  const dir = tempDir();
  writeReport(dir, sample());
  return dir;
}

function polylines(svg: string): string[] {
  return [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]);
}
function texts(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);
}

describe('linePlot', () => {
  it('maps points onto the plot area: linear axes from 0, round ticks, a legend entry per series', () => {
    const svg = linePlot({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'up',
          points: [
            [0, 0],
            [10, 10],
          ],
        },
        {
          name: 'flat',
          points: [
            [0, 5],
            [10, 5],
          ],
        },
      ],
    });
    checkSvg(svg);
    // 640 wide, margins 72 left / 32 right, plot 280 high from y = 36: x 0 → 72, 10 → 608; y 0 → 316, 10 → 36
    expect(polylines(svg)).toEqual(['72,316 608,36', '72,176 608,176']);
    expect(texts(svg, 'xtick')).toEqual(['0', '2', '4', '6', '8', '10']);
    expect(texts(svg, 'ytick')).toEqual(['0', '2', '4', '6', '8', '10']);
    expect(svg).toContain('>up</text>');
    expect(svg).toContain('>flat</text>');
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg.match(/class="legend"/g)).toHaveLength(2);
    // two different colours
    const strokes = [...svg.matchAll(/<polyline [^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(strokes).size).toBe(2);
  });

  it('log x: doubling sizes are evenly spaced and labelled with the measured values', () => {
    const svg = linePlot({
      title: 'matmul',
      xLabel: 'n',
      yLabel: 'GFLOP/s',
      logX: true,
      series: [
        {
          name: 'a',
          points: [
            [256, 1],
            [512, 2],
            [1024, 4],
          ],
        },
      ],
    });
    checkSvg(svg);
    const xs = polylines(svg)[0]
      .split(' ')
      .map((p) => Number(p.split(',')[0]));
    expect(xs).toEqual([72, 340, 608]);
    expect(texts(svg, 'xtick')).toEqual(['256', '512', '1024']);
    expect(svg).toContain('n (log scale)');
  });

  it('points-only and line-only series, with given log ticks (a fit over measurements)', () => {
    const svg = linePlot({
      title: 'scaling',
      xLabel: 'N',
      yLabel: 'loss',
      logX: true,
      logY: true,
      xTicks: [1e3, 1e4, 1e5],
      yTicks: [2, 3],
      series: [
        {
          name: 'measured',
          style: 'points',
          points: [
            [1e3, 3],
            [1e4, 2.5],
            [1e5, 2],
          ],
        },
        {
          name: 'fit',
          style: 'line',
          points: [
            [1e3, 3],
            [1e5, 2],
          ],
        },
      ],
    });
    checkSvg(svg);
    // the measurements are markers only, the fit a line only: one polyline, three data circles + a legend circle
    expect(polylines(svg)).toEqual(['72,36 608,316']);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toMatch(/<circle class="legend"/);
    expect(texts(svg, 'xtick')).toEqual(['1000', '10000', '100000']);
    expect(texts(svg, 'ytick')).toEqual(['2', '3']);
  });

  it('log y: ticks at powers of ten around the data', () => {
    const svg = linePlot({
      title: 't',
      xLabel: 'L',
      yLabel: 'ms',
      logY: true,
      series: [
        {
          name: 'a',
          points: [
            [1, 2],
            [2, 300],
          ],
        },
      ],
    });
    expect(texts(svg, 'ytick')).toEqual(['1', '10', '100', '1000']);
    // 2 ms sits log10(2)/3 of the way up from 1 ms: y = 316 - 280 * 0.1003 = 287.9
    expect(polylines(svg)[0].split(' ')[0]).toBe('72,287.9');
  });

  it('categorical x: one tick per category, centred in its slot', () => {
    const svg = linePlot({
      title: 'tokenizer',
      xLabel: 'encoding',
      yLabel: 'MB/s',
      categories: ['r50k_base', 'cl100k_base'],
      series: [
        {
          name: 'attnkit',
          points: [
            [0, 10],
            [1, 20],
          ],
        },
      ],
    });
    expect(texts(svg, 'xtick')).toEqual(['r50k_base', 'cl100k_base']);
    // slots [-0.5, 1.5] over 536 px: indices 0 and 1 at 72 + 134 and 72 + 402
    expect(polylines(svg)[0]).toBe('206,176 474,36');
  });

  it('escapes names and titles', () => {
    const svg = linePlot({
      title: 'a < b & c',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: `"q" <tag> & 'it'`, points: [[1, 1]] }],
    });
    checkSvg(svg);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('&quot;q&quot; &lt;tag&gt; &amp; &#39;it&#39;');
    expect(svg).not.toContain('<tag>');
  });

  it('refuses nothing to draw, non-finite points and non-positive values on a log axis', () => {
    const base = { title: 'p', xLabel: 'x', yLabel: 'y' };
    expect(() => linePlot({ ...base, series: [] })).toThrow(/'p': no points to draw/);
    expect(() => linePlot({ ...base, series: [{ name: 's', points: [] }] })).toThrow(/no points/);
    expect(() => linePlot({ ...base, series: [{ name: 's', points: [[1, Number.NaN]] }] })).toThrow(
      /series 's' has a point \(1, NaN\) that is not finite/,
    );
    expect(() => linePlot({ ...base, logY: true, series: [{ name: 's', points: [[1, 0]] }] })).toThrow(
      /at or below 0 on a log axis/,
    );
  });

  it('niceTicks: round steps that span the data', () => {
    expect(niceTicks(0, 30.55)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('checkSvg finds unbalanced tags and stray characters', () => {
    expect(() => checkSvg('<svg a="1"><g></svg>')).toThrow(/<\/svg> at offset \d+ closes <g>/);
    expect(() => checkSvg('<svg a="1"><g>')).toThrow(/one <svg/);
    expect(() => checkSvg('<svg a="1"><text>a < b</text></svg>')).toThrow(/stray '<'/);
    expect(() => checkSvg('<svg a="1"><text>a & b</text></svg>')).toThrow(/stray '&'/);
    expect(() => checkSvg('<svg a="1"><g></g></svg>')).not.toThrow();
  });
});

function sample(): BenchResults {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    date: '2026-12-03T08:00:00.000Z',
    command: 'attnkit-bench --quick',
    quick: true,
    machine: machineInfo(),
    versions: { '@attnkit/tensor-core': '0.0.0', 'onnxruntime-web': '1.30.0' },
    suites: [{ name: 'matmul', ok: true, seconds: 1.5 }],
    results: [
      {
        suite: 'matmul',
        case: 'n=64',
        implementation: 'attnkit',
        metric: 'GFLOP/s',
        value: 2,
        unit: 'GFLOP/s',
        params: { n: 64 },
      },
      {
        suite: 'matmul',
        case: 'n=128',
        implementation: 'attnkit',
        metric: 'GFLOP/s',
        value: 8,
        unit: 'GFLOP/s',
        params: { n: 128 },
      },
      {
        suite: 'matmul',
        case: 'n=64',
        implementation: 'peer | x',
        metric: 'GFLOP/s',
        value: 3,
        unit: 'GFLOP/s',
        params: { n: 64 },
      },
      {
        suite: 'tokenizer',
        case: 'r50k English encode',
        implementation: 'attnkit',
        metric: 'encode',
        value: 50,
        unit: 'MB/s',
        params: { encoding: 'r50k_base', text: 'English' },
      },
      {
        suite: 'tokenizer',
        case: 'cl100k English encode',
        implementation: 'attnkit',
        metric: 'encode',
        value: 60,
        unit: 'MB/s',
        params: { encoding: 'cl100k_base', text: 'English' },
      },
      {
        suite: 'transformer',
        case: 'decode mean',
        implementation: 'attnkit',
        metric: 'decode mean',
        value: 4,
        unit: 'ms/token',
      },
    ],
  };
}

describe('bench-results.json', () => {
  it('validateResults accepts a well-formed file and names the first field that is not', () => {
    expect(validateResults(sample()).results).toHaveLength(6);
    // biome-ignore lint/suspicious/noExplicitAny: the edits break the file's shape on purpose
    type Loose = Record<string, any>;
    const broken = (edit: (d: Loose) => void) => {
      const d = structuredClone(sample()) as Loose;
      edit(d);
      return () => validateResults(d);
    };
    expect(broken((d) => delete d.machine.cores)).toThrow('machine.cores should be a finite number');
    expect(broken((d) => (d.results[1].value = null))).toThrow('results[1].value should be a finite number');
    expect(broken((d) => (d.results[0].unit = ''))).toThrow('results[0].unit should be a non-empty string');
    expect(broken((d) => (d.results[0].params = { n: [1] }))).toThrow('results[0].params.n should be');
    expect(broken((d) => (d.schemaVersion = 99))).toThrow(
      `schemaVersion should be ${RESULTS_SCHEMA_VERSION}`,
    );
    expect(broken((d) => (d.suites[0].ok = 'yes'))).toThrow('suites[0].ok should be a boolean');
    expect(broken((d) => (d.versions['gpt-tokenizer'] = 4))).toThrow(
      "versions['gpt-tokenizer'] should be a string",
    );
    expect(() => validateResults([])).toThrow('should be a JSON object');
  });

  it('writeResults writes JSON that reads back equal, and refuses a malformed object', () => {
    const dir = tempDir();
    const file = join(dir, 'bench-results.json');
    writeResults(file, sample());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(sample());
    const bad = { ...sample(), date: 'yesterday' };
    expect(() => writeResults(join(dir, 'bad.json'), bad)).toThrow('date should be an ISO date');
    expect(readdirSync(dir)).toEqual(['bench-results.json']);
  });

  it('record keeps measured figures and skips the ones a peer could not produce', () => {
    const before = recordedResults().length;
    record({ suite: 's', case: 'c', implementation: 'i', metric: 'm', value: Number.NaN, unit: 'u' });
    record({
      suite: 's',
      case: 'c',
      implementation: 'i',
      metric: 'm',
      value: Number.POSITIVE_INFINITY,
      unit: 'u',
    });
    expect(recordedResults().length).toBe(before);
    const params = { n: 1 };
    record({ suite: 's', case: 'c', implementation: 'i', metric: 'm', value: 1, unit: 'u', params });
    params.n = 2; // copied when recorded
    expect(recordedResults().at(-1)).toEqual({
      suite: 's',
      case: 'c',
      implementation: 'i',
      metric: 'm',
      value: 1,
      unit: 'u',
      params: { n: 1 },
    });
  });
});

describe('bench-report.md', () => {
  it('plots only what the run measured, with a table of the points under each plot', () => {
    const dir = tempDir();
    const written = writeReport(dir, sample(), 'Made by a test.');
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      'bench-report.md',
      'matmul-gflops.svg',
      'tokenizer-encode.svg',
    ]);
    expect(checkReport(dir)).toBe(2);
    const md = readFileSync(join(dir, 'bench-report.md'), 'utf8');
    expect(md.startsWith('---\ntitle: Bench report\n---\n\n# attnkit bench report\n')).toBe(true);
    expect(md).toContain('Made by a test.');
    expect(md).toContain(
      'Produced by `attnkit-bench --quick` (from the repository root: `pnpm bench --quick`) on 2026-12-03T08:00:00.000Z; quick:',
    );
    expect(md).toContain(`${machineInfo().cores} × ${machineInfo().cpuModel}`);
    expect(md).toContain('![matmul: float32 n×n GFLOP/s](./matmul-gflops.svg)');
    expect(md).toContain('| n | attnkit | peer \\| x |');
    expect(md).toContain('| 64 | 2.00 | 3.00 |');
    expect(md).toContain('| 128 | 8.00 | - |');
    expect(md).toContain('| r50k_base | 50.00 |');
    expect(md).toContain('| onnxruntime-web | 1.30.0 |');
    // every figure, the unplotted one too
    expect(md).toContain('| decode mean | attnkit | decode mean | 4.00 | ms/token |');
    const svg = readFileSync(join(dir, 'matmul-gflops.svg'), 'utf8');
    expect(svg).toContain('peer | x');
  });

  it('shows the scaling laws (exponents and plots) when the folder holds scaling-laws.json', () => {
    const dir = tempDir();
    for (const f of [
      'scaling-laws.json',
      'scaling-laws-params.svg',
      'scaling-laws-data.svg',
      'scaling-laws-compute.svg',
    ])
      copyFileSync(join(root, 'docs/bench', f), join(dir, f));
    writeReport(dir, sample());
    expect(checkReport(dir)).toBe(5);
    const md = readFileSync(join(dir, 'bench-report.md'), 'utf8');
    const r = JSON.parse(readFileSync(join(dir, 'scaling-laws.json'), 'utf8'));
    expect(md).toContain('## Scaling laws');
    expect(md).toContain(
      `L(N) = E + A / N^alpha: alpha = ${r.sizeSweep.fit.alpha.toFixed(3)} ± ${r.sizeSweep.fit.stdErr.alpha.toFixed(3)}`,
    );
    expect(md).toContain('![Loss against model size](./scaling-laws-params.svg)');
    // one line per compute budget, with its loss-minimising size
    // (a JSON from before the sweep had several budgets holds one profile)
    for (const b of r.computeSweep.budgets ?? [r.computeSweep])
      expect(md).toContain(
        `- fixed compute C = ${b.flops.toExponential(2)} FLOPs (${b.runs.length} sizes): loss-minimising N ≈ ${Math.round(b.optimalN)}`,
      );
    // without the JSON: no section
    expect(readFileSync(join(tempDirWithReport(), 'bench-report.md'), 'utf8')).not.toContain('Scaling laws');
  });

  it('plotSeries groups by implementation (or the spec’s series) and orders points by x', () => {
    const spec = REPORT_PLOTS.find((p) => p.file === 'matmul-gflops.svg')!;
    const data = sample();
    data.results.reverse();
    expect(plotSeries(spec, data.results).series).toEqual([
      { name: 'peer | x', points: [[64, 3]] },
      {
        name: 'attnkit',
        points: [
          [64, 2],
          [128, 8],
        ],
      },
    ]);
    const tok = REPORT_PLOTS.find((p) => p.file === 'tokenizer-encode.svg')!;
    const s = plotSeries(tok, sample().results);
    expect(s.categories).toEqual(['r50k_base', 'cl100k_base']);
    expect(s.series).toEqual([
      {
        name: 'attnkit (English)',
        points: [
          [0, 50],
          [1, 60],
        ],
      },
    ]);
  });

  it('checkReport names a missing or malformed plot', () => {
    const dir = tempDir();
    writeReport(dir, sample());
    writeFileSync(join(dir, 'matmul-gflops.svg'), '<svg a="1"><g></svg>');
    expect(() => checkReport(dir)).toThrow(/matmul-gflops.svg: SVG: <\/svg> at offset/);
    rmSync(join(dir, 'matmul-gflops.svg'));
    expect(() => checkReport(dir)).toThrow(/shows matmul-gflops.svg, which is missing/);
  });
});

describe('bench command line', () => {
  it('--quick and --out', () => {
    expect(parseArgs(['--quick', 'matmul'])).toEqual({
      suites: ['matmul'],
      list: false,
      help: false,
      quick: true,
    });
    expect(parseArgs(['--out', 'o']).out).toBe('o');
    expect(parseArgs(['--out=o2', '--quick']).out).toBe('o2');
    expect(() => parseArgs(['--out'])).toThrow('--out needs a folder');
    expect(() => parseArgs(['--fast'])).toThrow("unknown option '--fast'");
  });
});
