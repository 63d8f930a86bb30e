// scripts/scaling-laws.mjs --quick: the three sweeps at tiny sizes, run as CI would (against the
// built packages: `pnpm build` first), then the shape of scaling-laws.json and the SVG plots.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitPowerLaw } from '@attnkit/transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSvg } from '../apps/bench/src/cli/plot.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'attnkit-scaling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  width: number;
  layers: number;
  parameters: number;
  nonEmbeddingParameters: number;
  steps: number;
  tokens: number;
  flops: number;
  valLoss: number;
  evalLosses?: [number, number][];
}
interface Fit {
  E: number;
  A: number;
  alpha: number;
  stdErr: { E: number; A: number; alpha: number };
  error?: string;
}
interface Report {
  complete: boolean;
  settings: { tokensPerStep: number; quick: boolean };
  sizeSweep: { tokens: number; runs: Run[]; fit: Fit };
  dataSweep: { run: Run; fitFromTokens: number; fit: Fit };
  computeSweep: {
    budgets: IsoFlop[];
    optimalNExponent: { a: number; stdErr: number | null } | null;
  };
}
interface IsoFlop {
  flops: number;
  runs: Run[];
  parabola: { a: number; b: number; c: number; rss: number; dof: number };
  optimalN: number | null;
  optimalLoss: number | null;
  lnOptimalNStdErr: number | null;
  optimalNInside: boolean;
  bracketed: boolean;
}

/** Checks the size and data sweeps, which every report holds, quick or full, old or new. */
function checkReport(r: Report, quick: boolean): void {
  expect(r.complete).toBe(true);
  expect(r.settings.quick).toBe(quick);
  const size = r.sizeSweep.runs;
  expect(size.length).toBeGreaterThanOrEqual(6);
  for (let i = 0; i < size.length; i++) {
    const run = size[i];
    expect(run.tokens).toBe(r.sizeSweep.tokens);
    expect(run.tokens).toBe(run.steps * r.settings.tokensPerStep);
    expect(run.flops).toBe(6 * run.nonEmbeddingParameters * run.tokens);
    expect(run.nonEmbeddingParameters).toBeLessThan(run.parameters);
    expect(Number.isFinite(run.valLoss)).toBe(true);
    if (i > 0) expect(run.nonEmbeddingParameters).toBeGreaterThan(size[i - 1].nonEmbeddingParameters);
  }
  for (const fit of [r.sizeSweep.fit, r.dataSweep.fit]) {
    if (fit.error) continue;
    for (const k of ['E', 'A', 'alpha'] as const) {
      expect(Number.isFinite(fit[k])).toBe(true);
      expect(fit.stdErr[k]).toBeGreaterThanOrEqual(0);
    }
  }
  const points = r.dataSweep.run.evalLosses ?? [];
  expect(points.length).toBeGreaterThanOrEqual(4);
  for (let i = 1; i < points.length; i++) expect(points[i][0]).toBeGreaterThan(points[i - 1][0]);
}

/** Checks the IsoFLOP profiles of a report of the current format (two budgets or more). */
function checkIsoFlops(r: Report): void {
  expect(r.computeSweep.budgets.length).toBeGreaterThanOrEqual(2);
  for (const cs of r.computeSweep.budgets) {
    expect(cs.runs.length).toBeGreaterThanOrEqual(4);
    // D = C / 6N, to the rounding of whole steps
    for (const run of cs.runs)
      expect(Math.abs(run.flops - cs.flops) / cs.flops).toBeLessThan(
        run.steps > 4 ? 0.5 / run.steps + 1e-9 : 1,
      );
    for (let i = 1; i < cs.runs.length; i++)
      expect(cs.runs[i].nonEmbeddingParameters).toBeGreaterThan(cs.runs[i - 1].nonEmbeddingParameters);
    const { a, b, c, rss, dof } = cs.parabola;
    for (const v of [a, b, c, rss]) expect(Number.isFinite(v)).toBe(true);
    expect(dof).toBe(cs.runs.length - 3);
    // a least-squares fit: the residuals are orthogonal to 1, u and u² (the normal equations)
    const u = cs.runs.map((run) => Math.log(run.nonEmbeddingParameters));
    const res = cs.runs.map((run, i) => a * u[i] ** 2 + b * u[i] + c - run.valLoss);
    expect(res.reduce((s, v) => s + v * v, 0)).toBeCloseTo(rss, 9);
    for (let k = 0; k <= 2; k++) {
      const dot = res.reduce((s, v, i) => s + v * u[i] ** k, 0);
      expect(Math.abs(dot)).toBeLessThan(1e-8 * Math.max(1, ...u.map((v) => v ** k)));
    }
    const losses = cs.runs.map((run) => run.valLoss);
    const best = losses.indexOf(Math.min(...losses));
    expect(cs.bracketed).toBe(best > 0 && best < losses.length - 1);
    if (cs.optimalN !== null) {
      expect(a).toBeGreaterThan(0);
      expect(Math.log(cs.optimalN)).toBeCloseTo(-b / (2 * a), 9);
      expect(cs.optimalNInside).toBe(
        Math.log(cs.optimalN) > Math.min(...u) && Math.log(cs.optimalN) < Math.max(...u),
      );
    } else expect(a).toBeLessThanOrEqual(0);
  }
}

describe('scripts/scaling-laws.mjs', () => {
  it('--quick writes a complete report of the three sweeps and three well-formed plots', () => {
    const stdout = execFileSync(
      process.execPath,
      [join(root, 'scripts/scaling-laws.mjs'), '--quick', '--quiet', '--out', dir],
      { encoding: 'utf8' },
    );
    expect(stdout).toMatch(/L\(N\) = E \+ A \/ N\^alpha: /);
    const r = JSON.parse(readFileSync(join(dir, 'scaling-laws.json'), 'utf8')) as Report;
    checkReport(r, true);
    checkIsoFlops(r);
    for (const name of ['params', 'data', 'compute']) {
      const svg = readFileSync(join(dir, `scaling-laws-${name}.svg`), 'utf8');
      checkSvg(svg);
      expect(svg).toContain('validation loss');
    }
  });

  // The committed run is the script's full default sweep: seven sizes from ~10K to ~3M, the data
  // sweep, and two IsoFLOP profiles, each bracketed (a larger loss on both sides of the best size).
  it('the committed full run (docs/bench) is complete, spans 10K to 3M parameters, brackets both IsoFLOP minima and matches its own fits', () => {
    const r = JSON.parse(readFileSync(join(root, 'docs/bench/scaling-laws.json'), 'utf8')) as Report & {
      command: string;
      wallSeconds: number;
    };
    checkReport(r, false);
    checkIsoFlops(r);
    // the default command, not a subset of sweeps or budgets joined by hand
    expect(r.command).toBe('node scripts/scaling-laws.mjs');
    const n = r.sizeSweep.runs.map((run) => run.nonEmbeddingParameters);
    expect(n.length).toBeGreaterThanOrEqual(6);
    expect(Math.min(...n)).toBeLessThan(1e4);
    expect(Math.max(...n)).toBeGreaterThan(3e6);
    const refit = fitPowerLaw(
      n,
      r.sizeSweep.runs.map((run) => run.valLoss),
    );
    expect(refit.alpha).toBeCloseTo(r.sizeSweep.fit.alpha, 6);
    expect(refit.stdErr.alpha).toBeCloseTo(r.sizeSweep.fit.stdErr.alpha, 6);
    // bigger models reach lower loss on the same tokens: the exponent is positive, beyond its error
    expect(r.sizeSweep.fit.alpha).toBeGreaterThan(2 * r.sizeSweep.fit.stdErr.alpha);
    expect(r.dataSweep.fit.alpha).toBeGreaterThan(2 * r.dataSweep.fit.stdErr.alpha);
    // every fixed-compute profile is a U: its lowest loss has larger ones on both sides, and the
    // parabola's minimum lies inside the sizes swept
    for (const cs of r.computeSweep.budgets) {
      expect(cs.bracketed).toBe(true);
      expect(cs.optimalNInside).toBe(true);
      expect(cs.lnOptimalNStdErr).toBeGreaterThan(0);
    }
    // N_opt ∝ C^a from the two minima: a = Δ ln N_opt / Δ ln C
    const [b0, b1] = r.computeSweep.budgets;
    const a = Math.log((b1.optimalN as number) / (b0.optimalN as number)) / Math.log(b1.flops / b0.flops);
    expect(r.computeSweep.optimalNExponent?.a).toBeCloseTo(a, 9);
    // the budget for the whole run: under an hour of this 2-core machine
    expect(r.wallSeconds).toBeLessThan(3600);
    for (const name of ['params', 'data', 'compute'])
      checkSvg(readFileSync(join(root, `docs/bench/scaling-laws-${name}.svg`), 'utf8'));
  });

  it('refuses an unknown option by name', () => {
    expect(() =>
      execFileSync(process.execPath, [join(root, 'scripts/scaling-laws.mjs'), '--sizes', '3'], {
        encoding: 'utf8',
        stdio: 'pipe',
      }),
    ).toThrow(/unknown option --sizes/);
  });

  it('refuses an unknown sweep and a compute budget out of range, naming what it expected', () => {
    const run =
      (...a: string[]) =>
      () =>
        execFileSync(process.execPath, [join(root, 'scripts/scaling-laws.mjs'), '--quick', '--quiet', ...a], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
    expect(run('--sweeps', 'size,model')).toThrow(
      /unknown sweep 'model' in --sweeps \(expected some of size,data,compute\)/,
    );
    expect(run('--sweeps', 'compute', '--budgets', '2', '--out', dir)).toThrow(
      /--budgets takes indices of the compute budgets, 0 to 1/,
    );
  });
});
