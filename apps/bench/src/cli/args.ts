/** Command-line parsing for the bench CLI: `attnkit-bench [--list] [--help] [--quick] [--out DIR] [suite ...]`. */

/** What the command line asked for. */
export interface BenchArgs {
  /** Suites to run, in the order given; empty means all. */
  suites: string[];
  list: boolean;
  help: boolean;
  /** Tiny sizes and few repeats: a smoke run of the suites (CI), not figures to compare. */
  quick: boolean;
  /** Where bench-results.json, bench-report.md and the plots go; undefined: the default folder. */
  out?: string;
}

/** Parses argv (without `node` and the script). Unknown `--flags` are an error. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { suites: [], list: false, help: false, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--list') args.list = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--out' || a.startsWith('--out=')) {
      const dir = a === '--out' ? argv[++i] : a.slice('--out='.length);
      if (!dir) throw new Error(`attnkit-bench: --out needs a folder (e.g. --out bench-out)`);
      args.out = dir;
    } else if (a === '--') continue;
    else if (a.startsWith('-'))
      throw new Error(
        `attnkit-bench: unknown option '${a}' (expected --list, --help, --quick, --out DIR or suite names)`,
      );
    else args.suites.push(a);
  }
  return args;
}
