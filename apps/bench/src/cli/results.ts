/**
 * Structured results of a bench run, written as `bench-results.json` beside the Markdown tables:
 * the machine, the versions of attnkit and of every peer, and every figure as one row (suite,
 * case, implementation, metric, value, unit), so that figures measured in the same run can be
 * compared, plotted ({@link ./report.ts}) or diffed between runs.
 *
 * Suites call {@link record} next to the table rows they print; main.ts collects the rows and
 * writes the file with {@link writeResults}. {@link validateResults} checks a parsed file against
 * the schema (used by main after writing, and by tests).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Bumped when the shape of {@link BenchResults} changes. */
export const RESULTS_SCHEMA_VERSION = 1;

/** One measured figure. */
export interface BenchResult {
  /** The suite that measured it (`matmul`, `attention`, ...). */
  suite: string;
  /** What was measured, e.g. `n=512` or `cl100k_base English encode`. */
  case: string;
  /** Who computed it: `attnkit backend-cpu, 2 threads`, `onnxruntime-web 1.30 wasm, 2 threads`, ... */
  implementation: string;
  /** The quantity: `GFLOP/s`, `time`, `peak memory`, `MB/s`, `ms/token`, ... */
  metric: string;
  value: number;
  /** `GFLOP/s`, `ms`, `MiB`, `MB/s`, `ms/token`, `tokens/s`, ... */
  unit: string;
  /** The case's parameters as numbers or strings (the x of a plot: `{ n: 512 }`, `{ L: 1024 }`). */
  params?: Record<string, number | string>;
}

/** The machine a run measured on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  arch: string;
  node: string;
}

/** The contents of `bench-results.json`. */
export interface BenchResults {
  schemaVersion: number;
  /** ISO time at which the file was written. */
  date: string;
  /** The command line (`attnkit-bench --quick`, ...). */
  command: string;
  /** True for `--quick` runs: tiny sizes, few repeats; figures are for smoke tests, not comparison. */
  quick: boolean;
  machine: MachineInfo;
  /** attnkit's packages and the peers, name → version, as installed for this run. */
  versions: Record<string, string>;
  /** Suites run, with `ok: false` and the error's first line when one failed. */
  suites: { name: string; ok: boolean; seconds: number; error?: string }[];
  results: BenchResult[];
}

const recorded: BenchResult[] = [];

/**
 * Records one figure of the running suite. Non-finite values (a peer that could not run) are
 * skipped: the JSON keeps only figures that were measured.
 */
export function record(result: BenchResult): void {
  if (!Number.isFinite(result.value)) return;
  recorded.push({ ...result, ...(result.params ? { params: { ...result.params } } : {}) });
}

/** Every figure recorded so far in this process. */
export function recordedResults(): readonly BenchResult[] {
  return recorded;
}

/** This machine, as {@link MachineInfo}. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() || 'unknown CPU',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: process.platform,
    arch: process.arch,
    node: process.version,
  };
}

/**
 * Versions of the bench app's dependencies (attnkit's packages and the peers), read from the
 * package.json of each as installed under `appDir/node_modules`; `unknown` where one cannot be
 * read.
 */
export function dependencyVersions(appDir: URL): Record<string, string> {
  const app = JSON.parse(readFileSync(new URL('package.json', appDir), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const out: Record<string, string> = {};
  for (const name of Object.keys(app.dependencies ?? {}).sort()) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, appDir), 'utf8'));
      out[name] = String(pkg.version);
    } catch {
      out[name] = 'unknown';
    }
  }
  return out;
}

/**
 * Checks that `data` is a well-formed {@link BenchResults} and returns it typed; throws an error
 * naming the first field that is missing or of the wrong type.
 */
export function validateResults(data: unknown): BenchResults {
  const fail = (where: string, expected: string): never => {
    throw new Error(`bench-results.json: ${where} should be ${expected}`);
  };
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  const str = (o: Record<string, unknown>, k: string, where: string) => {
    if (typeof o[k] !== 'string' || o[k] === '') fail(`${where}.${k}`, 'a non-empty string');
  };
  const finite = (o: Record<string, unknown>, k: string, where: string) => {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) fail(`${where}.${k}`, 'a finite number');
  };
  if (!isObj(data)) return fail('the file', 'a JSON object');
  if (data.schemaVersion !== RESULTS_SCHEMA_VERSION) fail('schemaVersion', String(RESULTS_SCHEMA_VERSION));
  str(data, 'date', '');
  if (Number.isNaN(Date.parse(String(data.date)))) fail('date', 'an ISO date');
  str(data, 'command', '');
  if (typeof data.quick !== 'boolean') fail('quick', 'a boolean');
  const m = data.machine;
  if (!isObj(m)) return fail('machine', 'an object');
  for (const k of ['cpuModel', 'platform', 'arch', 'node']) str(m, k, 'machine');
  for (const k of ['cores', 'memoryGiB']) finite(m, k, 'machine');
  if (!isObj(data.versions)) return fail('versions', 'an object of package name → version');
  for (const [k, v] of Object.entries(data.versions))
    if (typeof v !== 'string') fail(`versions['${k}']`, 'a string');
  if (!Array.isArray(data.suites)) return fail('suites', 'an array');
  for (const [i, s] of data.suites.entries()) {
    if (!isObj(s)) return fail(`suites[${i}]`, 'an object');
    str(s, 'name', `suites[${i}]`);
    if (typeof s.ok !== 'boolean') fail(`suites[${i}].ok`, 'a boolean');
    finite(s, 'seconds', `suites[${i}]`);
  }
  if (!Array.isArray(data.results)) return fail('results', 'an array');
  for (const [i, r] of data.results.entries()) {
    const where = `results[${i}]`;
    if (!isObj(r)) return fail(where, 'an object');
    for (const k of ['suite', 'case', 'implementation', 'metric', 'unit']) str(r, k, where);
    finite(r, 'value', where);
    if (r.params !== undefined) {
      if (!isObj(r.params)) return fail(`${where}.params`, 'an object');
      for (const [k, v] of Object.entries(r.params))
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
          fail(`${where}.params.${k}`, 'a string or a finite number');
    }
  }
  return data as unknown as BenchResults;
}

/** Writes `results` as pretty JSON to `file` after checking it with {@link validateResults}. */
export function writeResults(file: string, results: BenchResults): void {
  validateResults(JSON.parse(JSON.stringify(results)));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
