/**
 * A progress line for long suites, in the style of @attnkit/transformer's train() progress bar:
 * `attention [########..........] 5/12  cpu L=1024 flash causal  41.2 s`, redrawn in place on
 * stderr when stderr is a terminal (nothing is drawn otherwise, so piped output stays clean).
 *
 * main.ts starts one per suite ({@link runWithProgress}); a suite says how many steps it has with
 * {@link progressTotal} and reports each with {@link progressStep}. Both do nothing outside a run.
 * While the bar is drawn, console.log (and warn, error) clears it, prints, and draws it again, so the suite's tables
 * are never written onto the bar's line.
 */

/** Where the bar is drawn: process.stderr, or anything with write() (tests). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** What one line shows. */
export interface ProgressState {
  suite: string;
  /** Steps done. */
  done: number;
  /** Steps in all; 0 when the suite did not say. */
  total: number;
  /** What the last step was. */
  label: string;
  elapsedMs: number;
}

/** One line of the bar: `suite [####......] 3/8  label  12.3 s` (no bar when the total is unknown). */
export function progressLine(p: ProgressState, width = 20): string {
  const seconds = `${(p.elapsedMs / 1000).toFixed(1)} s`;
  const label = p.label ? `  ${p.label}` : '';
  if (p.total > 0) {
    const filled = Math.round((Math.min(p.done, p.total) / p.total) * width);
    return `${p.suite} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}${label}  ${seconds}`;
  }
  return `${p.suite} ${p.done} steps${label}  ${seconds}`;
}

/** The progress of one suite run, drawn on `stream` when it is a TTY. */
export class SuiteProgress {
  private state: ProgressState;
  private readonly start: number;
  private drawn = false;

  constructor(
    suite: string,
    private readonly stream: ProgressStream,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
    this.state = { suite, done: 0, total: 0, label: '', elapsedMs: 0 };
  }

  /** Sets the number of steps (adds to it when called again, for suites of several parts). */
  addTotal(n: number): void {
    if (Number.isInteger(n) && n > 0) this.state.total += n;
    this.draw();
  }

  /** One step done; `label` says which. */
  step(label: string): void {
    this.state.done++;
    this.state.label = label;
    this.draw();
  }

  /** Removes the line from the terminal. */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Draws the line again (after something else was printed). */
  draw(): void {
    if (!this.stream.isTTY) return;
    this.state.elapsedMs = this.now() - this.start;
    this.stream.write(`\r\x1b[K${progressLine(this.state)}`);
    this.drawn = true;
  }
}

let current: SuiteProgress | null = null;

/** Tells the running suite's bar how many steps it has (nothing outside a run). */
export function progressTotal(n: number): void {
  current?.addTotal(n);
}

/** Reports one step of the running suite (nothing outside a run). */
export function progressStep(label: string): void {
  current?.step(label);
}

/**
 * Runs `fn` with a progress bar for `suite` on `stream` (drawn only when it is a TTY); console.log
 * lines clear the bar and redraw it after them. The bar is removed when `fn` settles.
 */
export async function runWithProgress<T>(
  suite: string,
  fn: () => Promise<T> | T,
  stream: ProgressStream = process.stderr,
): Promise<T> {
  const bar = new SuiteProgress(suite, stream);
  const saved = { log: console.log, warn: console.warn, error: console.error };
  current = bar;
  if (stream.isTTY) {
    for (const name of ['log', 'warn', 'error'] as const) {
      const print = saved[name];
      console[name] = (...args: unknown[]) => {
        bar.clear();
        print(...args);
        bar.draw();
      };
    }
  }
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
    bar.clear();
    current = null;
  }
}
