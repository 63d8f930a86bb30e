/**
 * Run-wide settings the suites read: main.ts sets them from the command line before any suite runs.
 */
export const settings = {
  /**
   * `--quick`: every suite runs its smallest sizes with few repeats, so that the whole bench
   * finishes in a few minutes on two cores (CI runs it to keep the suites working).
   */
  quick: false,
};
