/** Timing helpers for benchmark suites (never used by tests: tests do not assert times). */

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Untimed calls first, to let the JIT settle (default 3). */
  warmup?: number;
  /** Minimum number of timed calls (default 5). */
  minRuns?: number;
  /** Keep timing until this much time has passed, in ms (default 500). */
  minTimeMs?: number;
}

/** What {@link measure} observed: the median and the best time of one call, in milliseconds. */
export interface Measurement {
  medianMs: number;
  minMs: number;
  runs: number;
}

/**
 * Times `fn` (awaited when it returns a promise): a few warm-up calls, then at least `minRuns`
 * calls and at least `minTimeMs` in total. Reports the median, which resists the noise of a shared
 * machine better than the mean.
 */
export async function measure(fn: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const { warmup = 3, minRuns = 5, minTimeMs = 500 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minTimeMs) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianMs = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { medianMs, minMs: times[0], runs: times.length };
}
