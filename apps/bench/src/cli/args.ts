/** Command-line parsing for the bench CLI: `attnkit-bench [--list] [--help] [suite ...]`. */

/** What the command line asked for. */
export interface BenchArgs {
  /** Suites to run, in the order given; empty means all. */
  suites: string[];
  list: boolean;
  help: boolean;
}

/** Parses argv (without `node` and the script). Unknown `--flags` are an error. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { suites: [], list: false, help: false };
  for (const a of argv) {
    if (a === '--list') args.list = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--') continue;
    else if (a.startsWith('-'))
      throw new Error(`attnkit-bench: unknown option '${a}' (expected --list, --help or suite names)`);
    else args.suites.push(a);
  }
  return args;
}
